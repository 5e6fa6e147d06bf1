"""Test envs: InvertedPendulum that crashes or emits NaN after some steps, or reports success.

Used as `env.id: helpers.faulty_envs:Faulty-v0`: gymnasium imports the module, which registers the id
(`tests/` is on the path of the tests and, through `helpers.processes`, of the processes they start).

For fault injection from outside a run (`helpers.faults`): `crash_flag` makes the crash happen once only
(the first env to create that file raises; a resumed run goes on), and `eval_marker` marks evaluations: when
the training envs step in vec env worker processes (`n_envs` > 1), the env in the main process is the
evaluation env, and each of its resets appends a line to `<eval_marker>/evals-<pid>` (an evaluation of N
episodes resets N + 1 times) and each of its steps sleeps `eval_step_s`, so that an evaluation lasts long
enough to be caught.
"""

import multiprocessing
import os
import time
from pathlib import Path

import gymnasium as gym
import numpy as np


class Faulty(gym.Wrapper):
    def __init__(self, crash_at: int | None = None, nan_at: int | None = None, success_after: int | None = None,
                 crash_flag: str | None = None, eval_marker: str | None = None, eval_step_s: float = 0.0):
        super().__init__(gym.make("InvertedPendulum-v5"))
        self.crash_at, self.nan_at, self.success_after, self.steps = crash_at, nan_at, success_after, 0
        self.crash_flag, self.eval_step_s = crash_flag, eval_step_s
        self.episode_steps = 0
        self.main = multiprocessing.parent_process() is None  # not a vec env worker
        self.marker = Path(eval_marker) / f"evals-{os.getpid()}" if eval_marker and self.main else None

    def reset(self, **kwargs):
        self.episode_steps = 0
        if self.marker is not None:
            with open(self.marker, "a") as f:
                f.write(f"{time.time()}\n")
        return self.env.reset(**kwargs)

    def step(self, action):
        self.steps += 1
        if self.crash_at is not None and self.steps >= self.crash_at and self._first_crash():
            raise RuntimeError(f"injected crash at step {self.steps}")
        if self.main and self.eval_step_s:
            time.sleep(self.eval_step_s)
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.episode_steps += 1
        if self.success_after is not None and (terminated or truncated):  # success: balanced long enough
            info = {**info, "is_success": self.episode_steps >= self.success_after}
        if self.nan_at is not None and self.steps >= self.nan_at:
            obs = np.full_like(obs, np.nan)
        return obs, reward, terminated, truncated, info

    def _first_crash(self) -> bool:
        if self.crash_flag is None:
            return True
        try:
            os.close(os.open(self.crash_flag, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            self.crash_at = None  # another env (or an earlier launch) crashed already
            return False
        return True


def make_faulty(**kwargs) -> gym.Env:
    return Faulty(**kwargs)  # a function entry point: gymnasium reads `metadata` off a class


if "Faulty-v0" not in gym.registry:
    gym.register("Faulty-v0", entry_point=make_faulty)
