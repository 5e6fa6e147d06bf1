"""Read a finished (or stopped) run back from its run dir: config, stage plans, models, records.

A run dir is what `myorl.run` leaves: `experiment.yaml` (the resolved config), `summary.json` and
`stages/NN_<name>/`. Everything here only reads; a wrong path fails with one MyorlError line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.vec_env import VecNormalize

from myorl.algos import ALGORITHMS
from myorl.config import HandoverModel
from myorl.envs import load_statistics
from myorl.errors import MyorlError
from myorl.experiment import Experiment
from myorl.handover import read_model
from myorl.stage import StagePlan, plan_stage

CONFIG = "experiment.yaml"


@dataclass
class Stage:
    """One stage of a run on disk, with the plan it was trained under."""

    run: Run
    plan: StagePlan
    dir: Path

    @property
    def name(self) -> str:
        return self.plan.name

    @property
    def seed(self) -> int:
        """The seed the stage trained with (its evaluation env adds `EVAL_SEED_OFFSET`)."""
        return self.run.experiment.settings.seed + self.plan.index

    def record(self) -> dict[str, Any] | None:
        """`stage.json`, or None while the stage has not ended."""
        path = self.dir / "stage.json"
        return json.loads(path.read_text()) if path.is_file() else None

    def evaluations(self) -> dict[str, np.ndarray] | None:
        """`evaluations.npz` as arrays, or None before the first evaluation."""
        path = self.dir / "evaluations.npz"
        if not path.is_file():
            return None
        with np.load(path, allow_pickle=True) as data:
            return {key: data[key] for key in data.files}

    def model_path(self, which: HandoverModel | str) -> Path:
        which = HandoverModel(which).value
        path = self.dir / f"{which}_model.zip"
        if not path.is_file():
            other = "last" if which == "best" else "best"
            raise MyorlError(f"stage '{self.name}' of run '{self.run.dir}' has no {which} model ({path.name} "
                             f"is missing); try model={other}")
        return path

    def load_model(self, which: HandoverModel | str) -> BaseAlgorithm:
        """The stage's best or last model, as the class it was trained with, on the CPU."""
        path = self.model_path(which)
        read_model(path)  # the one place that tells a corrupt model file, with its fix
        return ALGORITHMS[self.plan.algo.name].load(path, device="cpu")

    def load_statistics(self, which: HandoverModel | str) -> VecNormalize | None:
        """The VecNormalize statistics saved with that model; None when the stage did not normalise."""
        if not (self.plan.normalize.obs or self.plan.normalize.reward):
            return None
        return load_statistics(self.dir / f"{HandoverModel(which).value}_vecnormalize.pkl")


@dataclass
class Run:
    """A run dir and the experiment it recorded."""

    dir: Path

    @classmethod
    def open(cls, path: Path | str) -> Run:
        path = Path(path)
        if not path.exists():
            raise MyorlError(f"run dir '{path}' does not exist")
        if not (path / CONFIG).is_file():
            below = sorted(p.parent for depth in ("*", "*/*") for p in path.glob(f"{depth}/{CONFIG}"))
            hint = (f"; it holds {len(below)} runs (a sweep?), e.g. {below[0]}" if below
                    else "; give a run dir such as outputs/<curriculum>/<date_time>")
            raise MyorlError(f"'{path}' is not a myorl run (it has no {CONFIG}){hint}")
        return cls(path)

    @cached_property
    def config(self) -> Any:
        try:
            return OmegaConf.load(self.dir / CONFIG)
        except (OmegaConfBaseException, OSError, ValueError) as exc:
            raise MyorlError(f"'{self.dir / CONFIG}' is unreadable ({type(exc).__name__}: {exc})") from None

    @cached_property
    def experiment(self) -> Experiment:
        try:
            return Experiment.from_config(self.config, self.dir)
        except OmegaConfBaseException as exc:
            raise MyorlError(f"'{self.dir / CONFIG}' does not fit myorl's config schema: "
                             f"{str(exc).splitlines()[0]}") from None

    @property
    def curriculum(self) -> str:
        return self.experiment.curriculum.name

    def plan(self, index: int) -> StagePlan:
        exp = self.experiment
        return plan_stage(index, exp.curriculum.stages[index], exp.algo, exp.settings, exp.normalize, exp.handover)

    def stages(self) -> list[Stage]:
        """The stages that have a stage dir, in curriculum order."""
        found = []
        for index, config in enumerate(self.experiment.curriculum.stages):
            path = self.dir / "stages" / f"{index:02d}_{config.name}"
            if path.is_dir():
                found.append(Stage(self, self.plan(index), path))
        return found

    def stage(self, which: str | int | None = None) -> Stage:
        """A stage by name, index or dir name; None: the last stage trained."""
        stages = self.stages()
        if not stages:
            raise MyorlError(f"run '{self.dir}' has no trained stage yet (no stages/NN_<name>/ dir)")
        if which is None:
            return stages[-1]
        key = str(which)
        for stage in stages:
            if key in (stage.name, stage.dir.name, str(stage.plan.index)):
                return stage
        names = [s.name for s in stages]
        planned = [s.name for s in self.experiment.curriculum.stages]
        hint = " (it is in the curriculum but was not trained)" if key in planned else ""
        raise MyorlError(f"run '{self.dir}' has no stage '{key}'{hint}; its stages: {', '.join(names)}")


def open_stage(path: Path | str, which: str | int | None = None) -> Stage:
    """A stage from a run dir (`which` picks it; default the last) or from a stage dir itself."""
    path = Path(path)
    if path.parent.name == "stages" and (path.parent.parent / CONFIG).is_file():
        return Run.open(path.parent.parent).stage(path.name if which is None else which)
    return Run.open(path).stage(which)


def find_runs(path: Path | str) -> list[Run]:
    """The run at `path`, or every run below it (a multirun sweep dir, or a folder of runs)."""
    path = Path(path)
    if not path.exists():
        raise MyorlError(f"'{path}' does not exist")
    if (path / CONFIG).is_file():
        return [Run(path)]
    runs = sorted((Run(p.parent) for p in path.rglob(CONFIG) if ".hydra" not in p.parts),
                  key=lambda r: _natural(r.dir.relative_to(path)))
    if not runs:
        raise MyorlError(f"'{path}' holds no myorl run (no {CONFIG} in it or below it)")
    return runs


def _natural(path: Path) -> list:
    """Sort key: sweep job dirs 0, 1, 2, ..., 10 in number order."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in path.parts]
