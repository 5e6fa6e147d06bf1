"""MyoSuite Baoding with a fixed task: hold, counter-clockwise or clockwise.

MyoSuite's Baoding env only knows `task_choice="fixed"` (always counter-clockwise) or `"random"`;
it has no clockwise option. `myorl/Baoding-v1` takes `task: hold|ccw|cw|random` and sets the env's
task before every reset; every step's `info["task"]` names the episode's task. All other kwargs go to
the MyoSuite env (`base_id`, P1 by default).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

TASKS = ("hold", "ccw", "cw", "random")


def _tasks() -> dict[str, Any]:
    from myosuite.envs.myo.tasks.challenge.baoding import Task

    return {"hold": Task.HOLD, "ccw": Task.BAODING_CCW, "cw": Task.BAODING_CW}


class FixedBaodingTask(gym.Wrapper):
    """Sets `which_task` before each reset so the goal trajectory follows the chosen direction."""

    def __init__(self, env: gym.Env, task: str):
        super().__init__(env)
        self._task = _tasks()[task]

    def reset(self, **kwargs: Any):
        self.env.unwrapped.which_task = self._task
        return self.env.reset(**kwargs)


class TaskInInfo(gym.Wrapper):
    """Puts the episode's task (`hold`, `ccw` or `cw`) into every step's `info["task"]`.

    MyoSuite's random mode draws the task per episode and says so nowhere else (evaluations of the
    super model compare it with the direction the model detected).
    """

    def __init__(self, env: gym.Env):
        super().__init__(env)
        self._names = {task: name for name, task in _tasks().items()}

    def step(self, action: Any):
        obs, reward, terminated, truncated, info = self.env.step(action)
        return obs, reward, terminated, truncated, {**info, "task": self._names[self.env.unwrapped.which_task]}


def make_baoding(task: str = "ccw", base_id: str = "myoChallengeBaodingP1-v1", **kwargs: Any) -> gym.Env:
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got '{task}'")
    import myosuite  # noqa: F401  (registers the MyoSuite ids)

    if task == "random":
        return TaskInInfo(gym.make(base_id, task_choice="random", **kwargs))
    return TaskInInfo(FixedBaodingTask(gym.make(base_id, task_choice="fixed", **kwargs), task))


if "myorl/Baoding-v1" not in gym.registry:
    gym.register("myorl/Baoding-v1", entry_point=make_baoding, max_episode_steps=200)
