"""Observers of an experiment: tracking (W&B) and sweeps (Optuna pruning) plug in here.

An observer hears each stage start, each evaluation and each stage end. Raising from `evaluated`
stops the stage: the stage is recorded with `myorl.status.status_of(exc)` (a `StopStage` subclass
chooses its status, e.g. pruned) and the exception propagates out of `Experiment.run` once the
stage's files are written. The entry point (`myorl.run`) decides which observers a run gets.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stable_baselines3.common.base_class import BaseAlgorithm

    from myorl.metrics import Evaluation
    from myorl.plan import StagePlan
    from myorl.rundir import StageRecord, Summary


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

    def stage_ended(self, plan: StagePlan, record: StageRecord, stage_dir: Path) -> None: ...

    def experiment_ended(self, summary: Summary, error: BaseException | None) -> None: ...


class Observers(Observer):
    """Several observers as one, called in order."""

    def __init__(self, observers: list[Observer]):
        self.observers = list(observers)

    def experiment_started(self, experiment: Any, output_dir: Path) -> None:
        for o in self.observers:
            o.experiment_started(experiment, output_dir)

    def stage_started(self, plan: StagePlan, model: BaseAlgorithm, stage_dir: Path, offset: int) -> None:
        for o in self.observers:
            o.stage_started(plan, model, stage_dir, offset)

    def evaluated(self, event: EvalEvent) -> None:
        for o in self.observers:
            o.evaluated(event)

    def stage_ended(self, plan: StagePlan, record: StageRecord, stage_dir: Path) -> None:
        for o in self.observers:
            o.stage_ended(plan, record, stage_dir)

    def experiment_ended(self, summary: Summary, error: BaseException | None) -> None:
        for o in self.observers:
            o.experiment_ended(summary, error)

