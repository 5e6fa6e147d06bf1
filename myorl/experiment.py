"""An experiment: a curriculum of stages trained one after another, each handing its weights on."""

from __future__ import annotations

import json
import logging
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
        plans = self.plans()
        out = Path(self.output_dir)
        files.write_text(out / "experiment.yaml", OmegaConf.to_yaml(OmegaConf.structured(self.as_config())))
        torch.set_num_threads(self.settings.torch_threads)
        observer = Observers(self.observers)
        observer.experiment_started(self, out)
        results: list[StageResult] = []
        previous_dir, offset, error = None, 0, None
        try:
            for plan in plans:
                log.info("stage %d/%d '%s': %s, budget %s steps", plan.index + 1, len(plans), plan.name,
                         plan.env.id, f"{plan.budget:,}")
                stage_dir = out / "stages" / plan.dirname
                result = train_stage(plan, self.settings, stage_dir, previous_dir, observer, offset,
                                     tensorboard_dir=out / "tensorboard")
                log.info(result.line(plan))
                results.append(result)
                previous_dir, offset = stage_dir, offset + result.timesteps
        except BaseException as exc:
            error = exc
            raise
        finally:
            summary = self._summarise(out, results)
            observer.experiment_ended(summary, error)
        return summary

    def _summarise(self, out: Path, results: list[StageResult]) -> Summary:
        """`summary.json` from the stage records on disk (so an interrupted stage is in it too)."""
        records = [json.loads(p.read_text()) for p in sorted((out / "stages").glob("*/stage.json"))]
        stages = [StageResult(**r) for r in records] or results
        summary = Summary(self.curriculum.name, stages[-1].best_metric if stages else None, stages)
        files.write_json(out / "summary.json", asdict(summary))
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
                   normalize=obj.normalize, handover=obj.handover, observers=[tracker] if tracker else [])
