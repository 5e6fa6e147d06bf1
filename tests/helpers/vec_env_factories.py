"""Env factories for tests/test_vec_env.py, in a module that imports little (workers import it)."""

from __future__ import annotations

import os
import time
from typing import Any

import gymnasium as gym


class ResetRecorder(gym.Wrapper):
    """Remembers the seed and options of its last reset (to check what the vec env passed)."""

    def reset(self, **kwargs: Any) -> Any:
        self.last_seed, self.last_options = kwargs.get("seed"), kwargs.get("options")
        return self.env.reset(**kwargs)

    def scaled(self, x: float, factor: float = 1.0) -> float:
        return x * factor


class DictObs(gym.ObservationWrapper):
    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.observation_space = gym.spaces.Dict({"x": env.observation_space})

    def observation(self, observation: Any) -> Any:
        return {"x": observation}


class Hang(gym.Wrapper):
    """Sleeps in its `hang_at`-th step: a worker that stops answering."""

    def __init__(self, env: gym.Env, hang_at: int) -> None:
        super().__init__(env)
        self.hang_at, self.steps = hang_at, 0

    def step(self, action: Any) -> Any:
        self.steps += 1
        if self.steps == self.hang_at:
            time.sleep(60)
        return self.env.step(action)


def recorded(env_id: str, **kwargs: Any) -> gym.Env:
    return ResetRecorder(gym.make(env_id, **kwargs))


def dict_obs() -> gym.Env:
    return DictObs(gym.make("InvertedPendulum-v5"))


def hanging(hang_at: int) -> gym.Env:
    return Hang(gym.make("InvertedPendulum-v5"), hang_at)


def rendering() -> gym.Env:
    os.environ.setdefault("MUJOCO_GL", "egl")  # before mujoco is imported in the worker
    return gym.make("InvertedPendulum-v5", render_mode="rgb_array", width=64, height=48)


def _refuse() -> None:
    raise ImportError("no module named 'only_in_the_parent'")


class LoadsBadly:
    """Pickles fine, fails to unpickle: a stand-in for a factory whose module the worker cannot import."""

    def __reduce__(self) -> Any:
        return _refuse, ()
