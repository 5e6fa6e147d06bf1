"""Scores per task: for envs whose infos name each episode's task (`myorl/Baoding-v1`: hold, cw or ccw).

`TaskScores` is an `evaluate_policy` callback (`myorl.metrics.evaluate(..., callback=...)`): for every
finished episode it keeps the task, the return and the solved fraction (steps with `info["solved"]` over
the env's horizon, as `Evaluation.solved_fraction` counts them), and `per_task()` averages them per task.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from stable_baselines3.common.vec_env import VecEnv

from myorl.metrics import Evaluation, evaluate


@dataclass
class TaskScores:
    """Per env: the running episode's solved steps, length and return; per finished episode, its task and scores."""

    horizon: int  # the env's max_episode_steps (0: unknown, the episode's own length is used)
    then: Callable[[dict[str, Any], dict[str, Any]], None] | None = None  # the caller's callback, after ours
    tasks: list[list[str | None]] = field(default_factory=list)  # per env, per finished episode
    episodes: list[tuple[str | None, float | None, float]] = field(default_factory=list)  # (task, solved, return)
    _running: dict[int, list[float]] = field(default_factory=dict)  # env -> [solved steps, length, return]

    def __call__(self, local: dict[str, Any], global_: dict[str, Any]) -> None:
        i, info, done = local["i"], local["info"], local["done"]
        solved, length, ret = self._running.setdefault(i, [0.0, 0.0, 0.0])
        has_solved = "solved" in info
        self._running[i] = [solved + float(info.get("solved", 0.0)), length + 1, ret + float(local["reward"])]
        if not has_solved:
            self._running[i][0] = float("nan")
        if done:
            steps, length, ret = self._running.pop(i)
            while len(self.tasks) <= i:
                self.tasks.append([])
            task = info.get("task")
            self.tasks[i].append(task if isinstance(task, str) else None)
            episode_return = float(info["episode"]["r"]) if "episode" in info else ret
            fraction = None if np.isnan(steps) else steps / max(length, self.horizon)
            self.episodes.append((self.tasks[i][-1], fraction, episode_return))
        if self.then is not None:
            self.then(local, global_)

    def per_task(self) -> dict[str, dict[str, Any]] | None:
        """{task: {episodes, solved_fraction, mean_reward}} when the env names tasks, else None."""
        named = [e for e in self.episodes if e[0] is not None]
        if not named:
            return None
        out: dict[str, dict[str, Any]] = {}
        for task in sorted({e[0] for e in named if e[0] is not None}, key=_task_order):
            mine = [e for e in named if e[0] == task]
            solved = [e[1] for e in mine if e[1] is not None]
            out[task] = {"episodes": len(mine), "solved_fraction": float(np.mean(solved)) if solved else None,
                         "mean_reward": float(np.mean([e[2] for e in mine]))}
        return out


def _task_order(task: str) -> tuple[int, str]:
    known = ("hold", "cw", "ccw")  # Baoding's tasks in the order the README shows them; others by name
    return (known.index(task), "") if task in known else (len(known), task)


def evaluate_by_task(policy: Any, env: VecEnv, episodes: int, deterministic: bool = True,
                     callback: Callable[[dict[str, Any], dict[str, Any]], None] | None = None
                     ) -> tuple[Evaluation, dict[str, dict[str, Any]] | None]:
    """`myorl.metrics.evaluate` plus the scores per task (None when the env's infos name no task)."""
    spec = env.get_attr("spec")[0]
    scores = TaskScores(int(getattr(spec, "max_episode_steps", None) or 0), callback)
    evaluation = evaluate(policy, env, episodes, deterministic, callback=scores)
    return evaluation, scores.per_task()


def per_task_line(per_task: dict[str, dict[str, Any]] | None) -> str | None:
    """`solved per task: hold 0.512 (7), cw 0.000 (6), ccw 0.031 (7)` (episodes in brackets)."""
    if not per_task or all(t["solved_fraction"] is None for t in per_task.values()):
        return None
    return "solved per task: " + ", ".join(f"{task} {t['solved_fraction']:.3f} ({t['episodes']})"
                                           for task, t in per_task.items())
