"""When has a stage converged? A small state machine plus the SB3 callback that feeds it.

SB3's EvalCallback falls short here: it watches only the mean reward or `is_success`, saves the best
model without the VecNormalize statistics that belong to it, and StopTrainingOnNoModelImprovement
has no tolerance (strict '>'). `EvaluationCallback` keeps to SB3's callback protocol and reuses
`evaluate_policy` and `sync_envs_normalization`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import VecEnv, sync_envs_normalization

from myorl import files
from myorl.config import ConvergenceConfig, EvalConfig
from myorl.evaluation import Evaluation, evaluate


@dataclass
class ConvergenceCheck:
    """Feed it one metric value per evaluation; it says when the stage is done and why.

    `target`: the metric reached `config.target`. `plateau`: `config.patience` evaluations in a row
    did not beat the reference by more than `min_delta`, and at least `min_timesteps` have passed.
    """

    config: ConvergenceConfig
    best: float = -math.inf  # best metric so far (the best model is saved on a new best)
    best_timestep: int | None = None
    reference: float = -math.inf  # last value that counted as an improvement (for plateau)
    stale: int = 0  # evaluations since the last improvement

    def update(self, value: float, timesteps: int) -> tuple[bool, str | None]:
        """Returns (is a new best, reason to stop or None)."""
        new_best = value > self.best
        if new_best:
            self.best, self.best_timestep = value, timesteps
        if value > self.reference + self.config.min_delta or self.reference == -math.inf:
            self.reference, self.stale = value, 0
        else:
            self.stale += 1
        if self.config.target is not None and value >= self.config.target:
            return new_best, "target"
        if (self.config.patience is not None and self.stale >= self.config.patience
                and timesteps >= self.config.min_timesteps):
            return new_best, "plateau"
        return new_best, None

    def state(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k != "config"}


@dataclass
class EvalRecord:
    """All evaluations of a stage, as written to `evaluations.npz`."""

    timesteps: list[int] = field(default_factory=list)
    metric: list[float] = field(default_factory=list)
    results: list[tuple[float, ...]] = field(default_factory=list)  # per-episode returns
    ep_lengths: list[tuple[int, ...]] = field(default_factory=list)
    scalars: list[dict[str, float]] = field(default_factory=list)

    def add(self, timesteps: int, metric: float, evaluation: Evaluation) -> None:
        self.timesteps.append(timesteps)
        self.metric.append(metric)
        self.results.append(evaluation.episode_rewards)
        self.ep_lengths.append(evaluation.episode_lengths)
        self.scalars.append(evaluation.as_dict())

    def save(self, path: Path) -> None:
        extra = {key: np.array([s.get(key, np.nan) for s in self.scalars])
                 for key in ("success_rate", "solved_fraction") if any(key in s for s in self.scalars)}
        files.save_npz(path, timesteps=np.array(self.timesteps), metric=np.array(self.metric),
                       results=np.array(self.results, dtype=object) if _ragged(self.results) else np.array(self.results),
                       ep_lengths=np.array(self.ep_lengths, dtype=object) if _ragged(self.ep_lengths)
                       else np.array(self.ep_lengths), **extra)


def _ragged(rows: list) -> bool:
    return len({len(r) for r in rows}) > 1


class EvaluationCallback(BaseCallback):
    """Every `eval.freq` env steps: evaluate, save a new best, and stop once the stage converged.

    `on_best(model_dir)` saves the best model and the statistics of that moment; `on_eval` lets the
    stage runner log or checkpoint after each evaluation.
    """

    def __init__(self, eval_env: VecEnv, eval_cfg: EvalConfig, check: ConvergenceCheck, record: EvalRecord,
                 evaluations_path: Path, on_best: Callable[[], None],
                 on_eval: Callable[[int, Evaluation, float], None] | None = None):
        super().__init__()
        self.eval_env, self.eval_cfg, self.check, self.record = eval_env, eval_cfg, check, record
        self.evaluations_path, self.on_best, self.on_eval = evaluations_path, on_best, on_eval
        self.last_eval_at = record.timesteps[-1] if record.timesteps else 0
        self.reason: str | None = None

    def _on_step(self) -> bool:
        if self.num_timesteps - self.last_eval_at >= self.eval_cfg.freq:
            self.evaluate_now()
        return self.reason is None

    def _on_training_end(self) -> None:
        # A stage that ran out of budget between evaluations still gets its final model evaluated.
        if self.reason is None and self.num_timesteps > self.last_eval_at:
            self.evaluate_now()

    def evaluate_now(self) -> None:
        sync_envs_normalization(self.training_env, self.eval_env)
        evaluation = evaluate(self.model, self.eval_env, self.eval_cfg.episodes, self.eval_cfg.deterministic)
        value = evaluation.metric(self.check.config.metric)
        self.last_eval_at = self.num_timesteps
        self.record.add(self.num_timesteps, value, evaluation)
        new_best, self.reason = self.check.update(value, self.num_timesteps)
        if new_best:
            self.on_best()
        self.record.save(self.evaluations_path)
        for key, val in evaluation.as_dict().items():
            self.logger.record(f"eval/{key}", val)
        self.logger.record("eval/metric", value)
        self.logger.dump(self.num_timesteps)
        if self.on_eval is not None:
            self.on_eval(self.num_timesteps, evaluation, value)


class EveryNSteps(BaseCallback):
    """Calls `fn` every `n` env steps (all envs together)."""

    def __init__(self, n: int, fn: Callable[[], None]):
        super().__init__()
        self.n, self.fn, self.last = n, fn, 0

    def _init_callback(self) -> None:
        self.last = self.num_timesteps

    def _on_step(self) -> bool:
        if self.num_timesteps - self.last >= self.n:
            self.last = self.num_timesteps
            self.fn()
        return True
