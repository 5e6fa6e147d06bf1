"""Detect numerical faults early: NaN/inf in observations, rewards or weights, MuJoCo instability.

A fault ends the stage with status `failed` (the best model so far stays on disk). SB3's VecCheckNan
raises a generic ValueError without naming the env or a fix; these checks say what happened.
"""

from __future__ import annotations

import math

import gymnasium as gym
import mujoco
import numpy as np
import torch
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper

from myorl.callbacks import NoLocals
from myorl.errors import MyorlError

BADQACC = mujoco.mjtWarning.mjWARN_BADQACC


class StageFault(MyorlError):
    """A numerical fault during training."""


class MujocoInstability(gym.Wrapper):
    """Marks a step `info["mujoco_unstable"]` when MuJoCo warned of a bad acceleration (and reset itself)."""

    def __init__(self, env: gym.Env):
        super().__init__(env)
        self._warnings = 0
        self._data: object | None = None  # the env's MjData the warning record below belongs to
        self._stat: object | None = None  # MuJoCo's bad-acceleration warning record, found once per data

    def _count(self) -> int:
        # Found again when the env's MjData changes (the step's cost is one attribute read otherwise)
        data = getattr(self.env.unwrapped, "data", None)  # None: not a MuJoCo env
        if data is not self._data:
            self._data = data
            try:
                self._stat = data.warning[BADQACC] if data is not None else None
            except (AttributeError, IndexError, TypeError):
                self._stat = None
        return int(self._stat.number) if self._stat is not None else 0  # type: ignore[attr-defined]

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        count = self._count()
        if count > self._warnings:
            info = {**info, "mujoco_unstable": True}
        self._warnings = count
        return obs, reward, terminated, truncated, info


class VecFaultCheck(VecEnvWrapper):
    """Raises a StageFault on non-finite observations or rewards, or an unstable MuJoCo simulation."""

    def __init__(self, venv: VecEnv, env_id: str):
        super().__init__(venv)
        self.env_id = env_id

    def reset(self):
        obs = self.venv.reset()
        self._check(obs, None, [])
        return obs

    def step_wait(self):
        obs, rewards, dones, infos = self.venv.step_wait()
        self._check(obs, rewards, infos)
        return obs, rewards, dones, infos

    def _check(self, obs, rewards, infos) -> None:
        if _all_finite(obs, rewards) and not any("mujoco_unstable" in info for info in infos):
            return  # the common case, in one reduction
        if not _finite(obs):
            raise StageFault(f"env '{self.env_id}' returned a NaN/inf observation (an unstable simulation?); "
                             "check the env kwargs or lower the action scale")
        if rewards is not None and not _finite(rewards):
            raise StageFault(f"env '{self.env_id}' returned a NaN/inf reward; check its reward terms")
        if any("mujoco_unstable" in info for info in infos):
            raise StageFault(f"MuJoCo simulation of '{self.env_id}' became unstable (bad acceleration); "
                             "check the env kwargs (timestep, frame_skip, masses)")


def _all_finite(obs: np.ndarray, rewards: np.ndarray | None) -> bool:
    """Are observations and rewards all finite? One sum over both (NaN/inf propagate through it); False
    also when finite values overflow the sum, and the caller then checks each element."""
    try:
        total = _sum(obs) + (0.0 if rewards is None else _sum(rewards))
    except (AttributeError, TypeError):  # not one array (dict observations): checked one by one
        return False
    return math.isfinite(total)


def _sum(values: np.ndarray) -> float:
    # Small arrays (a MuJoCo state, rewards) sum faster as Python floats (doubles) than by a numpy reduction
    if values.size <= 1024:
        return sum(values.ravel().tolist())
    return float(values.sum(dtype=np.float64))


def _finite(values: np.ndarray) -> bool:
    """All finite? A sum is one cheap reduction and NaN/inf propagate through it; only when the sum is not
    finite (a NaN, an inf, or finite values overflowing it) is every element checked."""
    return math.isfinite(values.sum(dtype=np.float64)) or bool(np.isfinite(values).all())


class FiniteWeights(NoLocals):
    """Stops with a StageFault once a training update left NaN/inf in the policy (a diverged loss)."""

    def _on_rollout_start(self) -> None:
        for name, param in self.model.policy.named_parameters():
            if not torch.isfinite(param).all():
                raise StageFault(f"the policy's '{name}' became NaN/inf in training (the loss diverged); "
                                 "lower algo.learning_rate or algo.max_grad_norm")

    def _on_step(self) -> bool:
        return True
