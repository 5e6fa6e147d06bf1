"""The Optuna job side: a run reporting to its trial, and stopping when the trial is pruned.

The sweeper (`hydra_plugins/myorl_optuna_sweeper`, `hydra/sweeper=optuna`) asks Optuna for trials and launches
one job per trial and seed, possibly in other processes or on other machines (joblib, submitit). Each job
gets the storage URL, study name and trial number in its `optuna` config section; `observers` turns that
into a `TrialReporter`, which reports every evaluation at the curriculum's cumulative timesteps and raises
`Pruned` (an `optuna.TrialPruned` that is also a `myorl.status.StopStage`) when the pruner says so. The
experiment then records the stage `pruned`.
"""

from __future__ import annotations

import logging
import math

import optuna

from myorl.config import Metric, OptunaTrialConfig
from myorl.observers import EvalEvent, Observer
from myorl.status import Status, StopStage

log = logging.getLogger(__name__)


class Pruned(StopStage, optuna.TrialPruned):
    """The trial was pruned: the stage stops with status `pruned` (the sweeper sees an optuna.TrialPruned).

    `partial_objective`: the best metric of the stage it stopped (what `summary.json`'s objective says). The
    sweeper records the mean over the trial's seeds as the trial's user attr `partial_objective`; it survives
    the pickling a joblib or submitit launcher does (an exception's attributes do).
    """

    status = Status.pruned

    def __init__(self, message: str, partial_objective: float | None = None) -> None:
        super().__init__(message)
        self.partial_objective = partial_objective


class TrialReporter(Observer):
    """Reports evaluations to an Optuna trial and stops the run when the trial should be pruned."""

    def __init__(self, trial: optuna.trial.Trial, report: bool = True):
        self.trial = trial
        self.report = report
        self.stage: int | None = None  # the stage of `best`
        self.best: float | None = None  # the stage's best metric so far

    def evaluated(self, event: EvalEvent) -> None:
        if event.plan.index != self.stage:
            self.stage, self.best = event.plan.index, None
        if math.isfinite(event.metric):
            self.best = event.metric if self.best is None else max(self.best, event.metric)
            if self.report:
                self.trial.report(event.metric, step=event.total_timesteps)
        if self.trial.should_prune():
            log.info("trial %d pruned at %s curriculum steps (%s %.4g)", self.trial.number,
                     f"{event.total_timesteps:,}", Metric(event.plan.convergence.metric).value, event.metric)
            raise Pruned(f"pruned by {type(self.trial.study.pruner).__name__} at "
                         f"{event.total_timesteps} curriculum steps", partial_objective=self.best)


def attach(link: OptunaTrialConfig) -> optuna.trial.Trial:
    """The running trial `link` names, from any process that reaches the storage.

    Optuna hands out `Trial` objects only through `study.ask()`; a job launched elsewhere rejoins its trial
    through the storage API (study id from the name, trial id from the number) and the public constructor.
    """
    from hydra.utils import instantiate

    assert link.storage is not None and link.study_name is not None and link.trial is not None
    storage = optuna.storages.get_storage(link.storage)
    pruner = instantiate(dict(link.pruner)) if link.pruner else optuna.pruners.NopPruner()
    # The sampler is never asked here: the random one keeps loading the study cheap.
    study = optuna.load_study(study_name=link.study_name, storage=storage, pruner=pruner,
                              sampler=optuna.samplers.RandomSampler())
    study_id = storage.get_study_id_from_name(link.study_name)
    return optuna.trial.Trial(study, storage.get_trial_id_from_study_id_trial_number(study_id, link.trial))


def observers(link: OptunaTrialConfig) -> list[Observer]:
    """A `TrialReporter` when the run is an Optuna trial (`optuna.storage` set), else nothing."""
    if not link or link.storage is None:
        return []
    return [TrialReporter(attach(link), report=link.report)]
