"""An experiment: a curriculum of stages trained one after another, each handing its weights on."""

from __future__ import annotations

import logging
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf

from myorl import files
from myorl.algos import algo_config
from myorl.config import (
    CurriculumConfig,
    HandoverConfig,
    MyorlConfig,
    NormalizeConfig,
    PPOConfig,
    RunSettings,
)
from myorl.errors import MyorlError
from myorl.observers import Observer, Observers
from myorl.stage import StagePlan, StageResult, check_spaces, plan_stage, train_stage
from myorl.tracking import make_tracker

log = logging.getLogger(__name__)


@dataclass
class Summary:
    curriculum: str
    objective: float | None  # the last stage's best evaluation metric: what sweepers maximise
    stages: list[StageResult]


@dataclass
class Experiment:
    curriculum: CurriculumConfig
    algo: PPOConfig
    output_dir: Path
    settings: RunSettings = field(default_factory=RunSettings)
    normalize: NormalizeConfig = field(default_factory=NormalizeConfig)
    handover: HandoverConfig = field(default_factory=HandoverConfig)
    observers: list[Observer] = field(default_factory=list)  # tracking, sweeps
    resume: bool = False  # go on with the run in output_dir: skip finished stages, continue from checkpoints

    def plans(self) -> list[StagePlan]:
        """Every stage resolved and validated: bad input fails here, before any training."""
        if not self.curriculum.stages:
            raise MyorlError(f"curriculum '{self.curriculum.name}' has no stages")
        plans = [plan_stage(i, stage, self.algo, self.settings, self.normalize, self.handover)
                 for i, stage in enumerate(self.curriculum.stages)]
        check_spaces(plans)
        return plans

    def run(self) -> Summary:
        """Train every stage in order; each starts from the one before. Returns the summary."""
        plans, out = self.plans(), Path(self.output_dir)  # bad input fails here, before any training
        observer = Observers(self.observers)
        with files.locked(out):  # one process per run dir
            check_output_dir(out, self.as_config(), self.resume)
            files.write_text(out / "experiment.yaml", OmegaConf.to_yaml(OmegaConf.structured(self.as_config())))
            torch.set_num_threads(self.settings.torch_threads)
            observer.experiment_started(self, out)
            previous_dir, offset = None, 0
            try:
                for plan in plans:
                    stage_dir = out / "stages" / plan.dirname
                    result = finished_stage(stage_dir) if self.resume else None
                    if result:
                        log.info("stage %d/%d '%s': already %s, skipped", plan.index + 1, len(plans), plan.name,
                                 result.status)
                    else:
                        log.info("stage %d/%d '%s': %s, budget %s steps", plan.index + 1, len(plans), plan.name,
                                 plan.env.id, f"{plan.budget:,}")
                        result = train_stage(plan, self.settings, stage_dir, previous_dir, observer, offset,
                                             tensorboard_dir=out / "tensorboard", resume=self.resume)
                        log.info(result.line(plan))
                    previous_dir, offset = stage_dir, offset + result.timesteps
            finally:  # also when a stage failed, was interrupted or pruned
                summary = write_summary(out, self.curriculum.name)
                observer.experiment_ended(summary, sys.exc_info()[1])
        return summary

    def as_config(self) -> dict[str, Any]:
        return {"curriculum": asdict(self.curriculum), "algo": asdict(self.algo), "normalize": asdict(self.normalize),
                "handover": asdict(self.handover), **asdict(self.settings)}

    @classmethod
    def from_config(cls, cfg: MyorlConfig | DictConfig | dict, output_dir: Path | str,
                    sweep: str | None = None) -> Experiment:
        """From a composed Hydra config (or the same keys as a dict / MyorlConfig), tracker included."""
        merged = OmegaConf.merge(OmegaConf.structured(MyorlConfig), cfg)
        resolved = OmegaConf.to_container(merged, resolve=True, enum_to_str=True)
        algo = algo_config(OmegaConf.to_container(merged.algo, resolve=True))  # type: ignore[arg-type]
        merged.algo = {}
        obj: MyorlConfig = OmegaConf.to_object(merged)  # type: ignore[assignment]
        settings = RunSettings(**{k: getattr(obj, k) for k in RunSettings.__dataclass_fields__})
        tracker = make_tracker(obj.tracking, resolved, sweep)  # type: ignore[arg-type]
        return cls(curriculum=obj.curriculum, algo=algo, output_dir=Path(output_dir), settings=settings,
                   normalize=obj.normalize, handover=obj.handover, observers=[tracker] if tracker else [],
                   resume=obj.resume)


def write_summary(out: Path, curriculum: str) -> Summary:
    """`summary.json` from the stage records on disk, so skipped and stopped stages are in it too."""
    stages = [StageResult(**files.read_json(p)) for p in sorted((out / "stages").glob("*/stage.json"))]
    summary = Summary(curriculum, stages[-1].best_metric if stages else None, stages)
    files.write_json(out / "summary.json", asdict(summary))
    return summary


DONE = ("converged", "budget_exhausted")


def finished_stage(stage_dir: Path) -> StageResult | None:
    """The record of a stage that ended (converged or out of budget), else None."""
    record = stage_dir / "stage.json"
    if not record.exists():
        return None
    result = StageResult(**files.read_json(record))
    return result if result.status in DONE else None


def check_output_dir(out: Path, config: dict[str, Any], resume: bool) -> None:
    """A new run needs a fresh dir; a resumed one needs an earlier run of the same curriculum and algo."""
    saved_file = out / "experiment.yaml"
    if not resume:
        if list((out / "stages").glob("*/stage.json")):
            raise MyorlError(f"'{out}' already holds a run; add resume=true to go on with it, "
                             "or choose another hydra.run.dir")
        return
    if not saved_file.exists():
        raise MyorlError(f"'{out}' is not a myorl run (no experiment.yaml); resume=true needs the run dir "
                         "of an earlier run: hydra.run.dir=<that dir> resume=true")
    saved = OmegaConf.to_container(OmegaConf.load(saved_file), resolve=True)
    now = OmegaConf.to_container(OmegaConf.structured(config), resolve=True, enum_to_str=True)
    old_stages = [(s["name"], s["env"]) for s in saved["curriculum"]["stages"]]  # type: ignore[index]
    new_stages = [(s["name"], s["env"]) for s in now["curriculum"]["stages"]]  # type: ignore[index]
    for what, old, new in [("curriculum", saved["curriculum"]["name"], now["curriculum"]["name"]),  # type: ignore[index]
                           ("algo", saved["algo"]["name"], now["algo"]["name"]),  # type: ignore[index]
                           ("stages (names and envs)", old_stages, new_stages)]:
        if old != new:
            raise MyorlError(f"resume=true: the run in '{out}' has another {what} ({old} -> {new}); resume it "
                             "with the same curriculum and algo, or start a new run dir")
    for key, (old, new) in _differences(saved, now).items():
        log.warning("resume: %s changed: %s -> %s", key, old, new)


def _differences(a: Any, b: Any, prefix: str = "") -> dict[str, tuple[Any, Any]]:
    if isinstance(a, dict) and isinstance(b, dict):
        out: dict[str, tuple[Any, Any]] = {}
        for key in sorted(set(a) | set(b)):
            out.update(_differences(a.get(key), b.get(key), f"{prefix}{key}."))
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        out = {}
        for i, (x, y) in enumerate(zip(a, b)):
            out.update(_differences(x, y, f"{prefix}{i}."))
        return out
    return {} if a == b else {prefix.rstrip("."): (a, b)}
