"""The run dir: every file a run writes and reads is named here, and only here.

    <run>/experiment.yaml          the resolved config the core ran with
          summary.json             curriculum, objective, every stage's record
          tracking.json            the launch's W&B group (when tracking)
          distill.json             a distilled run's record (`myorl.distill`): teacher vs student
          tensorboard/<stage>/     SB3's logger
          stages/NN_<name>/        one folder per stage (`StageDir`):
              best_model.zip  best_vecnormalize.pkl  last_model.zip  last_vecnormalize.pkl
              evaluations.npz  stage.json  tracking.json  evaluation.json  video_<model>.mp4
              checkpoints/<timesteps>/   model.zip  vecnormalize.pkl  state.json  continuation.pkl
                                         (`CheckpointDir`; `myorl.checkpoints` says what each holds)

`RunDir`/`StageDir` write and read these files (atomically, through `myorl.files`); `Run`/`Stage` read a
finished or stopped run back for the tools (evaluate, compare, the super model), with the plan each
stage trained under. A wrong path fails with one MyorlError line.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.vec_env import VecEnv, VecNormalize

from myorl import algos, files
from myorl.config import HandoverModel, MyorlConfig, flatten, to_config
from myorl.envs import load_statistics
from myorl.errors import MyorlError
from myorl.plan import StagePlan, plan_curriculum
from myorl.status import Status

log = logging.getLogger(__name__)

CONFIG = "experiment.yaml"
CHECKPOINT_PREFIX = "checkpoint:"  # a model reference: checkpoint:<timesteps> or checkpoint:latest


# --------------------------------------------------------------------------- records
@dataclass
class StageRecord:
    """What `stage.json` holds."""

    name: str
    status: Status
    reason: str | None  # target | plateau (converged), or why it stopped
    timesteps: int
    metric: str
    best_metric: float | None
    best_timestep: int | None
    wall_seconds: float
    paths: dict[str, str] = field(default_factory=dict)  # relative to the stage dir
    resumed_from_timesteps: int | None = None  # the checkpoint this stage went on from, if resumed

    def __post_init__(self) -> None:
        self.status = Status(self.status)  # read from JSON as a string

    def line(self, index: int) -> str:
        why = f" ({self.reason})" if self.reason else ""
        best = "none" if self.best_metric is None else f"{self.best_metric:.4g} @ {self.best_timestep:,}"
        return (f"stage {index + 1} '{self.name}': {self.status.value}{why} after {self.timesteps:,} steps, "
                f"best {self.metric} {best}, {self.wall_seconds:.0f}s")

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "status": self.status.value}


@dataclass
class Summary:
    """What `summary.json` holds."""

    curriculum: str
    objective: float | None  # the last stage's best evaluation metric: what sweepers maximise
    stages: list[StageRecord]

    def as_json(self) -> dict[str, Any]:
        return {"curriculum": self.curriculum, "objective": self.objective,
                "stages": [s.as_json() for s in self.stages]}


# --------------------------------------------------------------------------- writing
@dataclass(frozen=True)
class CheckpointDir:
    """One checkpoint: `checkpoints/<timesteps>/` with the model, its statistics, `state.json` and
    `continuation.pkl` (random streams, env states)."""

    path: Path

    @property
    def model(self) -> Path:
        return self.path / "model.zip"

    @property
    def statistics(self) -> Path:
        return self.path / "vecnormalize.pkl"

    @property
    def state(self) -> Path:
        return self.path / "state.json"

    @property
    def continuation(self) -> Path:
        return self.path / "continuation.pkl"

    @property
    def timesteps(self) -> int:
        return int(self.path.name)

    def read_state(self) -> dict[str, Any]:
        try:
            state = files.read_json(self.state)
        except (OSError, ValueError) as exc:
            raise MyorlError(f"checkpoint '{self.path}' is corrupt ({type(exc).__name__}); delete that folder "
                             "to resume from the one before it") from None
        if not isinstance(state, dict) or "timesteps" not in state:
            raise MyorlError(f"checkpoint '{self.path}' has an unreadable state.json; delete that folder to "
                             "resume from the one before it")
        return state


@dataclass(frozen=True)
class StageDir:
    """The folder of one stage: `stages/NN_<name>/`."""

    path: Path

    def model(self, which: HandoverModel | str) -> Path:
        return self.path / f"{HandoverModel(which).value}_model.zip"

    def statistics(self, which: HandoverModel | str) -> Path:
        return self.path / f"{HandoverModel(which).value}_vecnormalize.pkl"

    @property
    def record_file(self) -> Path:
        return self.path / "stage.json"

    @property
    def evaluations_file(self) -> Path:
        return self.path / "evaluations.npz"

    @property
    def tracking_file(self) -> Path:
        return self.path / "tracking.json"

    @property
    def evaluation_file(self) -> Path:
        return self.path / "evaluation.json"

    def video(self, which: HandoverModel | str) -> Path:
        """`video_best.mp4`, `video_last.mp4`, or `video_checkpoint_<timesteps>.mp4` for `checkpoint:<timesteps>`."""
        if isinstance(which, str) and which.startswith(CHECKPOINT_PREFIX):
            return self.path / f"video_checkpoint_{int(which[len(CHECKPOINT_PREFIX):])}.mp4"
        return self.path / f"video_{HandoverModel(which).value}.mp4"

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    def save_model(self, which: HandoverModel | str, model: BaseAlgorithm, env: VecEnv) -> None:
        """The model and the normalisation statistics of this very moment (when the env normalises)."""
        files.save_model(model, self.model(which))
        files.save_statistics(env, self.statistics(which))

    def write_record(self, record: StageRecord) -> None:
        record.paths = {p.name.split(".")[0]: p.name for p in sorted(self.path.iterdir())
                        if p.is_file() and not p.name.startswith(".")}
        files.write_json(self.record_file, record.as_json())

    def read_record(self) -> StageRecord | None:
        """`stage.json`, or None while the stage has not ended."""
        if not self.record_file.is_file():
            return None
        try:
            return StageRecord(**files.read_json(self.record_file))
        except (OSError, ValueError, TypeError) as exc:
            raise MyorlError(f"'{self.record_file}' is corrupt ({type(exc).__name__}); delete it to train the "
                             "stage again from its checkpoint") from None

    def finished_record(self) -> StageRecord | None:
        """The record of a stage that ended as planned (a resume skips it), else None."""
        record = self.read_record()
        return record if record is not None and record.status.finished else None

    def read_evaluations(self) -> dict[str, np.ndarray] | None:
        """`evaluations.npz` as arrays, or None before the first evaluation."""
        if not self.evaluations_file.is_file():
            return None
        with np.load(self.evaluations_file, allow_pickle=True) as data:
            return {key: data[key] for key in data.files}

    def remove_partial_files(self) -> None:
        """Drop the temporary files a killed process left behind (never complete files)."""
        if not self.path.is_dir():
            return
        for tmp in self.path.rglob(".*.tmp"):
            tmp.unlink(missing_ok=True)
        if self.checkpoints.is_dir():
            for tmp in self.checkpoints.glob(".tmp-*"):
                shutil.rmtree(tmp, ignore_errors=True)


@dataclass(frozen=True)
class RunDir:
    """A run's folder: what `myorl.run` writes into `hydra.run.dir`."""

    path: Path

    @property
    def config_file(self) -> Path:
        return self.path / CONFIG

    @property
    def summary_file(self) -> Path:
        return self.path / "summary.json"

    @property
    def tracking_file(self) -> Path:
        return self.path / "tracking.json"

    @property
    def tensorboard(self) -> Path:
        return self.path / "tensorboard"

    @property
    def distill_file(self) -> Path:
        """A distilled run's record (`python -m myorl.distill`): teacher, budget, rounds, teacher vs student."""
        return self.path / "distill.json"

    def stage(self, plan: StagePlan) -> StageDir:
        return StageDir(self.path / "stages" / plan.dirname)

    def stage_dirs(self) -> list[StageDir]:
        root = self.path / "stages"
        return [StageDir(p) for p in sorted(root.iterdir()) if p.is_dir()] if root.is_dir() else []

    @contextmanager
    def locked(self) -> Iterator[None]:
        """One process per run dir."""
        with files.locked(self.path):
            yield

    def write_config(self, config: dict[str, Any]) -> None:
        files.write_text(self.config_file, OmegaConf.to_yaml(OmegaConf.structured(config)))

    def read_config(self) -> MyorlConfig:
        try:
            saved = OmegaConf.load(self.config_file)
            if not isinstance(saved, DictConfig):
                raise ValueError("not a mapping")
            return to_config(saved)
        except (OmegaConfBaseException, OSError, ValueError) as exc:
            raise MyorlError(f"'{self.config_file}' is unreadable or does not fit myorl's config schema "
                             f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})") from None

    def check_before_writing(self, config: dict[str, Any], resume: bool) -> None:
        """A new run needs a fresh dir; a resumed one needs an earlier run of the same curriculum and algo."""
        if not resume:
            if any(stage.record_file.exists() for stage in self.stage_dirs()):
                raise MyorlError(f"'{self.path}' already holds a run; add resume=true to go on with it, "
                                 "or choose another hydra.run.dir")
            return
        if not self.config_file.exists():
            raise MyorlError(f"'{self.path}' is not a myorl run (no {CONFIG}); resume=true needs the run dir "
                             "of an earlier run: hydra.run.dir=<that dir> resume=true")
        saved = OmegaConf.to_container(self.read_config_node(), resolve=True)
        now = OmegaConf.to_container(OmegaConf.structured(config), resolve=True, enum_to_str=True)
        assert isinstance(saved, dict) and isinstance(now, dict)
        checks = [("curriculum", saved["curriculum"]["name"], now["curriculum"]["name"]),
                  ("algo", saved["algo"]["name"], now["algo"]["name"]),
                  ("stages (names and envs)", [(s["name"], s["env"]) for s in saved["curriculum"]["stages"]],
                   [(s["name"], s["env"]) for s in now["curriculum"]["stages"]])]
        for what, old, new in checks:
            if old != new:
                raise MyorlError(f"resume=true: the run in '{self.path}' has another {what} ({old} -> {new}); "
                                 "resume it with the same curriculum and algo, or start a new run dir")
        before, after = flatten(saved), flatten(now)
        for key in sorted(set(before) | set(after)):
            if before.get(key) != after.get(key):
                log.warning("resume: %s changed: %s -> %s", key, before.get(key), after.get(key))

    def read_config_node(self) -> Any:
        try:
            return OmegaConf.load(self.config_file)
        except (OmegaConfBaseException, OSError, ValueError) as exc:
            raise MyorlError(f"'{self.config_file}' is unreadable ({type(exc).__name__}); it cannot be resumed: "
                             "start a new run dir") from None

    def write_summary(self, curriculum: str) -> Summary:
        """`summary.json` from the stage records on disk, so skipped and stopped stages are in it too."""
        stages = [r for r in (s.read_record() for s in self.stage_dirs()) if r is not None]
        summary = Summary(curriculum, stages[-1].best_metric if stages else None, stages)
        files.write_json(self.summary_file, summary.as_json())
        return summary


# --------------------------------------------------------------------------- reading back
@dataclass
class Stage:
    """One stage of a run on disk, with the plan it was trained under."""

    run: Run
    plan: StagePlan
    dir: StageDir

    @property
    def name(self) -> str:
        return self.plan.name

    @property
    def path(self) -> Path:
        return self.dir.path

    def model_path(self, which: HandoverModel | str) -> Path:
        path = self.dir.model(which)
        if not path.is_file():
            other = "last" if HandoverModel(which) == HandoverModel.best else "best"
            raise MyorlError(f"stage '{self.name}' of run '{self.run.path}' has no {HandoverModel(which).value} "
                             f"model ({path.name} is missing); try model={other}")
        return path

    def load_model(self, which: HandoverModel | str) -> BaseAlgorithm:
        """The stage's best or last model, as the class it was trained with, on the CPU."""
        return algos.load_model(self.plan.algo, self.model_path(which))

    def load_statistics(self, which: HandoverModel | str) -> VecNormalize | None:
        """The VecNormalize statistics saved with that model; None when the stage did not normalise."""
        return load_statistics(self.dir.statistics(which)) if self.plan.normalize.enabled else None

    def checkpoints(self) -> list[CheckpointDir]:
        """The stage's complete checkpoints, oldest first (half-written ones are hidden and left out)."""
        root = self.dir.checkpoints
        found = [CheckpointDir(p) for p in root.iterdir() if p.is_dir() and p.name.isdigit()] if root.is_dir() else []
        return sorted(found, key=lambda c: c.timesteps)

    def checkpoint(self, timesteps: int | str) -> CheckpointDir:
        """The checkpoint at `timesteps` (an int, its digits, or 'latest')."""
        found = self.checkpoints()
        if not found:
            raise MyorlError(f"stage '{self.name}' of run '{self.run.path}' has no checkpoints "
                             f"({self.dir.checkpoints} is missing or empty); use model=best or model=last")
        if str(timesteps) == "latest":
            return found[-1]
        if not str(timesteps).isdigit():
            raise MyorlError(f"a checkpoint is checkpoint:<timesteps> or checkpoint:latest, got "
                             f"'checkpoint:{timesteps}'")
        for ckpt in found:
            if ckpt.timesteps == int(timesteps):
                return ckpt
        raise MyorlError(f"stage '{self.name}' of run '{self.run.path}' has no checkpoint at {int(timesteps):,} "
                         f"steps; it has: {', '.join(str(c.timesteps) for c in found)} (or checkpoint:latest)")

    def reference(self, which: HandoverModel | str) -> str:
        """A model reference checked against the stage dir: `best` / `last` (the file exists) or
        `checkpoint:<timesteps>` (`checkpoint:latest` resolved to the newest)."""
        which = which.value if isinstance(which, HandoverModel) else str(which)
        if which.startswith(CHECKPOINT_PREFIX):
            return f"{CHECKPOINT_PREFIX}{self.checkpoint(which[len(CHECKPOINT_PREFIX):]).timesteps}"
        self.model_path(which)
        return HandoverModel(which).value

    def load(self, which: HandoverModel | str) -> tuple[BaseAlgorithm, VecNormalize | None, str]:
        """A model by reference (`best`, `last`, `checkpoint:<timesteps>`, `checkpoint:latest`), the statistics
        saved with it, and the reference resolved (see `reference`)."""
        which = self.reference(which)
        if which.startswith(CHECKPOINT_PREFIX):
            ckpt = self.checkpoint(which[len(CHECKPOINT_PREFIX):])
            model = algos.load_model(self.plan.algo, ckpt.model)
            stats = load_statistics(ckpt.statistics) if self.plan.normalize.enabled else None
            return model, stats, which
        return self.load_model(which), self.load_statistics(which), which


def model_reference(text: str) -> str:
    """Check a model reference: `best`, `last`, `checkpoint:<timesteps>` or `checkpoint:latest`."""
    text = str(text)
    tail = text[len(CHECKPOINT_PREFIX):] if text.startswith(CHECKPOINT_PREFIX) else None
    if text in (HandoverModel.best.value, HandoverModel.last.value) or tail == "latest" or (tail or "").isdigit():
        return text
    raise MyorlError(f"model must be best, last, checkpoint:<timesteps> or checkpoint:latest; got '{text}'")


class Run(RunDir):
    """A run dir read back: its config, the plans its stages trained under, and those stages."""

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
    def config(self) -> MyorlConfig:
        return self.read_config()

    @property
    def curriculum(self) -> str:
        return self.config.curriculum.name

    @cached_property
    def plans(self) -> list[StagePlan]:
        cfg = self.config
        return plan_curriculum(cfg.curriculum, cfg.algo, cfg, cfg.normalize, cfg.handover)

    def stages(self) -> list[Stage]:
        """The stages that have a stage dir, in curriculum order."""
        found = [Stage(self, plan, self.stage(plan)) for plan in self.plans]
        return [stage for stage in found if stage.path.is_dir()]

    def stage_by(self, which: str | int | None = None) -> Stage:
        """A stage by name, index or dir name; None: the last stage trained."""
        stages = self.stages()
        if not stages:
            raise MyorlError(f"run '{self.path}' has no trained stage yet (no stages/NN_<name>/ dir)")
        if which is None:
            return stages[-1]
        key = str(which)
        for stage in stages:
            if key in (stage.name, stage.plan.dirname, str(stage.plan.index)):
                return stage
        planned = [plan.name for plan in self.plans]
        hint = " (it is in the curriculum but was not trained)" if key in planned else ""
        raise MyorlError(f"run '{self.path}' has no stage '{key}'{hint}; its stages: "
                         f"{', '.join(s.name for s in stages)}")


def open_stage(path: Path | str, which: str | int | None = None) -> Stage:
    """A stage from a run dir (`which` picks it; default the last) or from a stage dir itself."""
    path = Path(path)
    if path.parent.name == "stages" and (path.parent.parent / CONFIG).is_file():
        return Run.open(path.parent.parent).stage_by(path.name if which is None else which)
    return Run.open(path).stage_by(which)


def find_runs(path: Path | str) -> list[Run]:
    """The run at `path`, or every run below it (a multirun sweep dir, or a folder of runs)."""
    path = Path(path)
    if not path.exists():
        raise MyorlError(f"'{path}' does not exist")
    if (path / CONFIG).is_file():
        return [Run(path)]
    runs = sorted((Run(p.parent) for p in path.rglob(CONFIG) if ".hydra" not in p.parts),
                  key=lambda r: _natural(r.path.relative_to(path)))
    if not runs:
        raise MyorlError(f"'{path}' holds no myorl run (no {CONFIG} in it or below it)")
    return runs


def _natural(path: Path) -> list[tuple[int, int, str]]:
    """Sort key: sweep job dirs 0, 1, 2, ..., 10 in number order."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in path.parts]

