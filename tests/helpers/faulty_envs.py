"""Test envs: InvertedPendulum that crashes or emits NaN after some steps, or reports success.

Used as `env.id: helpers.faulty_envs:Faulty-v0`: gymnasium imports the module, which registers the id
(`tests/` is on the path of the tests and, through `helpers.processes`, of the processes they start).
"""

import gymnasium as gym
import numpy as np


class Faulty(gym.Wrapper):
    def __init__(self, crash_at: int | None = None, nan_at: int | None = None, success_after: int | None = None):
        super().__init__(gym.make("InvertedPendulum-v5"))
        self.crash_at, self.nan_at, self.success_after, self.steps = crash_at, nan_at, success_after, 0
        self.episode_steps = 0

    def reset(self, **kwargs):
        self.episode_steps = 0
        return self.env.reset(**kwargs)

    def step(self, action):
        self.steps += 1
        if self.crash_at is not None and self.steps >= self.crash_at:
            raise RuntimeError(f"injected crash at step {self.steps}")
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.episode_steps += 1
        if self.success_after is not None and (terminated or truncated):  # success: balanced long enough
            info = {**info, "is_success": self.episode_steps >= self.success_after}
        if self.nan_at is not None and self.steps >= self.nan_at:
            obs = np.full_like(obs, np.nan)
        return obs, reward, terminated, truncated, info


def make_faulty(**kwargs) -> gym.Env:
    return Faulty(**kwargs)  # a function entry point: gymnasium reads `metadata` off a class


if "Faulty-v0" not in gym.registry:
    gym.register("Faulty-v0", entry_point=make_faulty)
