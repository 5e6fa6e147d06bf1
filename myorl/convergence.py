"""When has a stage converged, and how did it end? A small state machine fed one metric per evaluation.

`target`: the metric reached `config.target`. `plateau`: `config.patience` evaluations in a row did not
beat the reference by more than `min_delta`, and at least `min_timesteps` have passed. A stage whose
best metric never exceeded `config.floor` learned nothing worth handing on: when it would end (on a
plateau or at its budget) it ends `stalled` instead.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from myorl import files
from myorl.config import ConvergenceConfig
from myorl.metrics import Evaluation
from myorl.status import Status


@dataclass
class ConvergenceCheck:
    config: ConvergenceConfig
    best: float = -math.inf  # best metric so far (the best model is saved on a new best)
    best_timestep: int | None = None
    reference: float = -math.inf  # last value that counted as an improvement (for plateau)
    stale: int = 0  # evaluations since the last improvement
    stop_reason: str | None = None  # target | plateau, once the stage should stop

    def update(self, value: float, timesteps: int) -> bool:
        """Feed one evaluation; returns whether it is a new best. Sets `stop_reason` when done."""
        new_best = value > self.best
        if new_best:
            self.best, self.best_timestep = value, timesteps
        if value > self.reference + self.config.min_delta or self.reference == -math.inf:
            self.reference, self.stale = value, 0
        else:
            self.stale += 1
        if self.config.target is not None and value >= self.config.target:
            self.stop_reason = "target"
        elif (self.config.patience is not None and self.stale >= self.config.patience
              and timesteps >= self.config.min_timesteps):
            self.stop_reason = "plateau"
        return new_best

    def outcome(self) -> tuple[Status, str | None]:
        """How the stage ended, once training stopped (on a stop reason or at its budget)."""
        floor = self.config.floor
        if self.stop_reason != "target" and floor is not None and not self.best > floor:
            shown = "no evaluation" if self.best_timestep is None else f"best {self.best:.4g}"
            return Status.stalled, f"{shown}, never above convergence.floor {floor:g}"
        if self.stop_reason is not None:
            return Status.converged, self.stop_reason
        return Status.budget_exhausted, None

    def state(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k != "config"}


@dataclass
class EvalHistory:
    """All evaluations of a stage, as written to `evaluations.npz`."""

    timesteps: list[int] = field(default_factory=list)
    metric: list[float] = field(default_factory=list)
    results: list[tuple[float, ...]] = field(default_factory=list)  # per-episode returns
    ep_lengths: list[tuple[int, ...]] = field(default_factory=list)
    scalars: list[dict[str, float]] = field(default_factory=list)  # every scalar of each Evaluation
    wall_seconds: list[float] = field(default_factory=list)  # the stage's training time at each evaluation

    def add(self, timesteps: int, metric: float, evaluation: Evaluation, wall_seconds: float) -> None:
        self.timesteps.append(timesteps)
        self.wall_seconds.append(round(wall_seconds, 3))
        self.metric.append(metric)
        self.results.append(evaluation.episode_rewards)
        self.ep_lengths.append(evaluation.episode_lengths)
        self.scalars.append(evaluation.as_dict())

    def save(self, path: Path) -> None:
        """`timesteps`, `metric`, `results`, `ep_lengths` (SB3's EvalCallback names), `wall_seconds` and one
        array per scalar the evaluations reported (`mean_reward`, `info/solved`, ...; NaN where one did not)."""
        keys = list(dict.fromkeys(k for s in self.scalars for k in s))
        extra = {key: np.array([s.get(key, np.nan) for s in self.scalars]) for key in keys}
        if len(self.wall_seconds) == len(self.timesteps):  # checkpoints of older versions had none
            extra["wall_seconds"] = np.array(self.wall_seconds)
        files.save_npz(path, **extra, timesteps=np.array(self.timesteps), metric=np.array(self.metric),
                       results=_array(self.results), ep_lengths=_array(self.ep_lengths))


def _array(rows: list[Any]) -> np.ndarray:
    """Rows of equal length as a 2-D array; ragged ones (episode counts differ) as an object array."""
    return np.array(rows, dtype=object) if len({len(r) for r in rows}) > 1 else np.array(rows)
