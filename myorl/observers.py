"""Observers of an experiment: tracking (W&B) and sweeps (Optuna pruning) plug in here.

An observer hears each stage start, each evaluation and each stage end. Raising from `evaluated`
stops the stage: the stage is recorded with `stop_status(exc)` (e.g. "pruned") and the exception
propagates out of `Experiment.run` once the stage's files are written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stable_baselines3.common.base_class import BaseAlgorithm

    from myorl.evaluation import Evaluation
    from myorl.stage import StagePlan, StageResult


@dataclass
class EvalEvent:
    plan: StagePlan
    timesteps: int  # within the stage
    total_timesteps: int  # across the curriculum so far
    metric: float  # the value the convergence check watches
    evaluation: Evaluation


class Observer:
    """No-op base: override what you need."""

    def experiment_started(self, experiment: Any, output_dir: Path) -> None: ...

    def stage_started(self, plan: StagePlan, model: BaseAlgorithm, stage_dir: Path, offset: int) -> None:
        """`offset`: curriculum timesteps before this stage. `model.logger` may get more output formats."""

    def evaluated(self, event: EvalEvent) -> None: ...

    def stage_ended(self, plan: StagePlan, result: StageResult, stage_dir: Path) -> None: ...

    def experiment_ended(self, summary: Any, error: BaseException | None) -> None: ...


class Observers(Observer):
    """Several observers as one, called in order."""

    def __init__(self, observers: list[Observer]):
        self.observers = list(observers)

    def experiment_started(self, experiment, output_dir):
        for o in self.observers:
            o.experiment_started(experiment, output_dir)

    def stage_started(self, plan, model, stage_dir, offset):
        for o in self.observers:
            o.stage_started(plan, model, stage_dir, offset)

    def evaluated(self, event):
        for o in self.observers:
            o.evaluated(event)

    def stage_ended(self, plan, result, stage_dir):
        for o in self.observers:
            o.stage_ended(plan, result, stage_dir)

    def experiment_ended(self, summary, error):
        for o in self.observers:
            o.experiment_ended(summary, error)


def stop_status(exc: BaseException) -> tuple[str, str]:
    """(status, reason) of a stage stopped by `exc`."""
    name = type(exc).__name__
    if name == "TrialPruned":  # optuna's, without importing optuna here
        return "pruned", str(exc) or "pruned by the sweeper"
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted", "interrupted"
    return "failed", f"{name}: {exc}"
