"""Metrics of one evaluation: run a policy for some episodes and report every metric a convergence check may watch.

Besides returns and lengths, every numeric key of the env's `info` (MyoSuite's reward terms such as
`solved`, `pos_dist_1`, `alive`, `act_reg`, the Baoding env's `effort`) is averaged over the evaluation's
steps and reported as `info/<key>`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, cast

import numpy as np
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.vec_env import VecEnv

from myorl.config import Metric
from myorl.errors import MyorlError


@dataclass
class Evaluation:
    mean_reward: float
    std_reward: float
    mean_ep_length: float
    success_rate: float | None = None  # episodes whose last info had is_success=True
    solved_fraction: float | None = None  # steps with info["solved"] / horizon, averaged over episodes
    episode_rewards: tuple[float, ...] = ()
    episode_lengths: tuple[int, ...] = ()
    info: dict[str, float] = field(default_factory=dict)  # every numeric info key, averaged over the steps

    def metric(self, metric: Metric | str) -> float:
        value = getattr(self, Metric(metric).value)
        if value is None:
            raise MyorlError(f"the env reports no '{Metric(metric).value}' (no info['is_success'] / "
                             "info['solved']); use convergence.metric=mean_reward")
        return float(value)

    def as_dict(self) -> dict[str, float]:
        """The scalar metrics (those the env reports), info means as `info/<key>`."""
        scalars = {k: v for k, v in asdict(self).items() if isinstance(v, float)}
        return {**scalars, **{f"info/{k}": v for k, v in self.info.items()}}


IGNORED_INFO = {"TimeLimit.truncated", "mujoco_unstable"}  # bookkeeping, not a measure of the agent


def _number(value: Any) -> float | None:
    """A numeric scalar of an info dict as a float (bools as 0/1); None for arrays, dicts and strings."""
    if isinstance(value, (bool, int, float, np.number)) or (isinstance(value, np.ndarray) and value.ndim == 0):
        return float(value)
    return None


class InfoMeans:
    """Running sums of every numeric info key: `add(info)` per step, `means()` at the end."""

    def __init__(self) -> None:
        self.sums: dict[str, float] = {}
        self.counts: dict[str, int] = {}

    def add(self, info: dict[str, Any]) -> None:
        # Called every env step: floats (np.float64 too) take the short path, other types `_number`'s checks
        sums, counts = self.sums, self.counts
        for key, value in info.items():
            if key in IGNORED_INFO:
                continue
            if not isinstance(value, float):  # np.float64 is a float
                value = _number(value)
                if value is None:
                    continue
            sums[key] = sums.get(key, 0.0) + value
            counts[key] = counts.get(key, 0) + 1

    def means(self) -> dict[str, float]:
        return {key: float(self.sums[key] / self.counts[key]) for key in self.sums}


class _InfoCollector:
    """`evaluate_policy` callback: per-episode success flags and solved-step counts."""

    def __init__(self, n_envs: int, then: Callable[[dict[str, Any], dict[str, Any]], None] | None = None):
        self.then = then  # the caller's own callback, after ours
        self.successes: list[float] = []
        self.solved_steps = np.zeros(n_envs)
        self.solved: list[tuple[float, int]] = []  # (solved steps, episode length) per episode
        self.lengths = np.zeros(n_envs, dtype=int)
        self.reports_solved = False
        self.info = InfoMeans()

    def __call__(self, local: dict[str, Any], _globals: dict[str, Any]) -> None:
        i, info, done = local["i"], local["info"], local["done"]
        self.lengths[i] += 1
        self.info.add(info)
        if "solved" in info:
            self.reports_solved = True
            self.solved_steps[i] += float(info["solved"])
        if done:
            if "is_success" in info:
                self.successes.append(float(info["is_success"]))
            self.solved.append((self.solved_steps[i], int(self.lengths[i])))
            self.solved_steps[i], self.lengths[i] = 0.0, 0
        if self.then is not None:
            self.then(local, _globals)


def evaluate(model: Any, env: VecEnv, episodes: int, deterministic: bool = True,
             callback: Callable[[dict[str, Any], dict[str, Any]], None] | None = None) -> Evaluation:
    """Run `episodes` episodes on `env` (Monitor-wrapped, so rewards are raw returns).

    RecurrentPPO's LSTM state is handled by SB3's `evaluate_policy`; `model` may be anything with
    SB3's `predict`. The solved fraction divides by the env's horizon (`spec.max_episode_steps`), so
    an episode cut short by a drop scores low. `callback` sees every step as `evaluate_policy`'s does.
    """
    collector = _InfoCollector(env.num_envs, callback)
    returned = evaluate_policy(model, env, n_eval_episodes=episodes, deterministic=deterministic,
                               return_episode_rewards=True, callback=collector)
    rewards, lengths = cast(tuple[list[float], list[int]], returned)  # lists with return_episode_rewards
    spec = env.get_attr("spec")[0]
    horizon = getattr(spec, "max_episode_steps", None) or 0
    solved = [steps / max(length, horizon) for steps, length in collector.solved]
    return Evaluation(
        mean_reward=float(np.mean(rewards)),
        std_reward=float(np.std(rewards)),
        mean_ep_length=float(np.mean(lengths)),
        success_rate=float(np.mean(collector.successes)) if collector.successes else None,
        solved_fraction=float(np.mean(solved)) if collector.reports_solved and solved else None,
        episode_rewards=tuple(float(r) for r in rewards),
        episode_lengths=tuple(int(n) for n in lengths),
        info=collector.info.means(),
    )
