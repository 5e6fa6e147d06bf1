"""Fault injection for tests: InvertedPendulum that crashes or emits NaN after some steps.

Used as `env.id: faulty_envs:Faulty-v0` (the module registers the id when gymnasium imports it).
"""

import gymnasium as gym
import numpy as np


class Faulty(gym.Wrapper):
    def __init__(self, crash_at: int | None = None, nan_at: int | None = None):
        super().__init__(gym.make("InvertedPendulum-v5"))
        self.crash_at, self.nan_at, self.steps = crash_at, nan_at, 0

    def step(self, action):
        self.steps += 1
        if self.crash_at is not None and self.steps >= self.crash_at:
            raise RuntimeError(f"injected crash at step {self.steps}")
        obs, reward, terminated, truncated, info = self.env.step(action)
        if self.nan_at is not None and self.steps >= self.nan_at:
            obs = np.full_like(obs, np.nan)
        return obs, reward, terminated, truncated, info


def make_faulty(**kwargs) -> gym.Env:
    return Faulty(**kwargs)  # a function entry point: gymnasium reads `metadata` off a class


if "Faulty-v0" not in gym.registry:
    gym.register("Faulty-v0", entry_point=make_faulty)
