"""An experiment: a curriculum of stages trained one after another, each handing its weights on."""

from __future__ import annotations

import errno
import logging
import sys
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig

from myorl import provenance
from myorl.config import (
    CurriculumConfig,
    HandoverConfig,
    HandoverModel,
    MyorlConfig,
    NormalizeConfig,
    PPOConfig,
    RunSettings,
    to_config,
)
from myorl.errors import MyorlError
from myorl.observers import Observer, Observers
from myorl.plan import StagePlan, check_init_from, check_spaces, plan_curriculum, select_stages
from myorl.rundir import RunDir, StageDir, Summary
from myorl.stage import StageContext, train_stage
from myorl.status import Status

log = logging.getLogger(__name__)

ON_STALL = ("stop", "continue")


class StageStalled(MyorlError):
    """A stage learned nothing worth handing on (its metric never exceeded `convergence.floor`)."""


@dataclass
class Experiment:
    curriculum: CurriculumConfig
    algo: PPOConfig
    output_dir: Path
    settings: RunSettings = field(default_factory=RunSettings)
    normalize: NormalizeConfig = field(default_factory=NormalizeConfig)
    handover: HandoverConfig = field(default_factory=HandoverConfig)
    observers: list[Observer] = field(default_factory=list)  # tracking, sweeps: wired by the entry point
    resume: bool = False  # go on with the run in output_dir: skip finished stages, continue from checkpoints
    on_stall: str = "stop"  # stop | continue: what a stalled stage does to the rest of the curriculum
    init_from: Path | str | None = None  # a stage dir: the first trained stage starts from its model and statistics
    init_from_model: HandoverModel = HandoverModel.best
    start_stage: str | int | None = None  # train from this stage (name or index) on
    provenance: dict[str, Any] | None = field(default=None, init=False, repr=False)  # this launch's, set by run()

    def plans(self) -> list[StagePlan]:
        """The stages to train (from `start_stage` on), each resolved and validated and its env made once:
        bad input fails here, before any training."""
        if self.on_stall not in ON_STALL:
            raise MyorlError(f"on_stall must be one of {ON_STALL}, got '{self.on_stall}'")
        plans = select_stages(plan_curriculum(self.curriculum, self.algo, self.settings, self.normalize,
                                              self.handover), self.start_stage)
        initial = None
        if self.init_from is not None:
            first = plans[0]
            plans[0] = replace(first, handover=replace(first.handover, model=HandoverModel(self.init_from_model)))
            initial = check_init_from(Path(self.init_from), self.init_from_model, plans[0])
        check_spaces(plans, initial)
        return plans

    def run(self) -> Summary:
        """Train every stage in order; each starts from the one before. Returns the summary."""
        plans, run_dir = self.plans(), RunDir(Path(self.output_dir))  # bad input fails here, before any training
        observer = Observers(self.observers)
        with run_dir.locked():  # one process per run dir
            run_dir.check_before_writing(self.as_config(), self.resume)
            if self.resume:  # every file the resume reads, before anything is written
                run_dir.check_resumable(plans)
                run_dir.remove_partial_files()
            run_dir.write_config(self.as_config())
            torch.set_num_threads(self.settings.torch_threads)
            self.provenance = provenance.record(run_dir.path, self.resume)
            observer.experiment_started(self, run_dir.path)
            context = StageContext(self.settings, run_dir, observer, resume=self.resume,
                                   previous=StageDir(Path(self.init_from)) if self.init_from else None)
            try:
                for plan in plans:
                    record = run_dir.stage(plan).finished_record() if self.resume else None
                    if record:
                        log.info("stage %d/%d '%s': already %s, skipped", plan.index + 1, len(plans), plan.name,
                                 record.status.value)
                    else:
                        log.info("stage %d/%d '%s': %s, budget %s steps", plan.index + 1, len(plans), plan.name,
                                 plan.env.id, f"{plan.budget:,}")
                        record = train_stage(plan, context)
                        log.info(record.line(plan.index))
                    if record.status is Status.stalled and self.on_stall == "stop":
                        raise StageStalled(f"stage '{plan.name}' stalled ({record.reason}); the curriculum stops "
                                           "here. Fix the stage (reward, budget, hyperparameters) or add "
                                           "on_stall=continue to go on anyway")
                    context.previous, context.offset = run_dir.stage(plan), context.offset + record.timesteps
            except OSError as exc:
                if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
                    raise
                raise MyorlError(f"no space left on device writing into '{exc.filename or run_dir.path}'; free "
                                 "disk space, then resume=true goes on from the latest checkpoint") from None
            finally:  # also when a stage failed, stalled, was interrupted or pruned
                summary = self._write_summary(run_dir, stopped=sys.exc_info()[1])
                observer.experiment_ended(summary, sys.exc_info()[1])
        return summary

    def _write_summary(self, run_dir: RunDir, stopped: BaseException | None) -> Summary:
        """`summary.json`; when the run is being stopped by an error, a failure to write it (a full disk) is
        only logged, so that the error reported is the one that stopped the run."""
        try:
            return run_dir.write_summary(self.curriculum.name)
        except MyorlError as exc:
            if stopped is None:
                raise
            log.warning("%s", exc)
            return run_dir.summary(self.curriculum.name)

    def as_config(self) -> dict[str, Any]:
        """The resolved config this experiment runs with, as written to `experiment.yaml`."""
        return {"curriculum": asdict(self.curriculum), "algo": asdict(self.algo), "normalize": asdict(self.normalize),
                "handover": asdict(self.handover), "on_stall": self.on_stall,
                "init_from": str(self.init_from) if self.init_from else None,
                "init_from_model": HandoverModel(self.init_from_model).value,
                "start_stage": None if self.start_stage is None else str(self.start_stage), **asdict(self.settings)}

    @classmethod
    def from_config(cls, cfg: MyorlConfig | DictConfig | dict[str, Any], output_dir: Path | str) -> Experiment:
        """From a composed Hydra config (or the same keys as a dict / MyorlConfig); no observers."""
        config = to_config(cfg)
        settings = RunSettings(**{k: getattr(config, k) for k in RunSettings.__dataclass_fields__})
        return cls(curriculum=config.curriculum, algo=config.algo, output_dir=Path(output_dir), settings=settings,
                   normalize=config.normalize, handover=config.handover, resume=config.resume,
                   on_stall=config.on_stall, init_from=config.init_from, init_from_model=config.init_from_model,
                   start_stage=config.start_stage)
