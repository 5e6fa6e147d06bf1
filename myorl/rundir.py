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
import pickle
import shutil
import zipfile
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
from myorl.handover import read_model
from myorl.plan import StagePlan, plan_curriculum
from myorl.status import Status

log = logging.getLogger(__name__)

CONFIG = "experiment.yaml"
CHECKPOINT_PREFIX = "checkpoint:"  # a model reference: checkpoint:<timesteps> or checkpoint:latest
CONFIG_HEADER = "# myorl: the resolved config of this run; a complete file ends with the line below"
CONFIG_END = "# end of experiment.yaml"


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
        except FileNotFoundError:
            raise self._broken("has no state.json") from None
        except (OSError, ValueError) as exc:
            raise self._broken(f"state.json is unreadable or truncated ({_why(exc)})") from None
        if not isinstance(state, dict) or "timesteps" not in state:
            raise self._broken("state.json holds no checkpoint state (no 'timesteps')")
        return state

    def check(self, statistics: bool) -> None:
        """Read the whole checkpoint as a resume will (state, model, statistics when the stage normalises):
        a missing, corrupt or truncated file raises one MyorlError naming it and the fix."""
        self.read_state()
        try:
            with zipfile.ZipFile(self.model) as archive:
                bad, names = archive.testzip(), set(archive.namelist())  # testzip checks every member's CRC
        except FileNotFoundError:
            raise self._broken("has no model.zip") from None
        except Exception as exc:  # BadZipFile, zlib.error, EOFError, ...: a damaged archive raises many types
            raise self._broken(f"model.zip is damaged or truncated ({_why(exc)})") from None
        if bad is not None:
            raise self._broken(f"model.zip is damaged (member '{bad}' fails its checksum)")
        if not {"data", "policy.pth"} <= names:
            raise self._broken("model.zip holds no SB3 model (no 'data' and 'policy.pth')")
        if statistics:
            try:
                with open(self.statistics, "rb") as f:
                    stats = pickle.load(f)
            except FileNotFoundError:
                raise self._broken("has no vecnormalize.pkl, and its stage normalises") from None
            except Exception as exc:  # unpickling garbage raises many types
                raise self._broken(f"vecnormalize.pkl is damaged or truncated ({_why(exc)})") from None
            if not isinstance(stats, VecNormalize):
                raise self._broken(f"vecnormalize.pkl holds a {type(stats).__name__}, not VecNormalize statistics")

    def _broken(self, what: str) -> MyorlError:
        """The error for a bad checkpoint: what is wrong, and that deleting the folder is the fix."""
        earlier = sorted(p.name for p in self.path.parent.iterdir()
                         if p.name.isdigit() and p.name < self.path.name) if self.path.parent.is_dir() else []
        then = (f"goes on from the checkpoint before it ({int(earlier[-1]):,} steps)" if earlier
                else "trains the stage again from its start")
        return MyorlError(f"checkpoint '{self.path}' is corrupt: {what}; delete that folder, then resume=true {then}")


def _why(exc: BaseException) -> str:
    """`Type: first line of the message`, short enough for one line."""
    text = str(exc).splitlines()[0][:120] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


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
            raise MyorlError(f"'{self.record_file}' is corrupt or truncated ({_why(exc)}); delete it, then "
                             "resume=true trains the stage on from its latest checkpoint") from None

    def finished_record(self) -> StageRecord | None:
        """The record of a stage that ended as planned (a resume skips it), else None."""
        record = self.read_record()
        return record if record is not None and record.status.finished else None

    def read_evaluations(self) -> dict[str, np.ndarray] | None:
        """`evaluations.npz` as arrays, or None before the first evaluation."""
        if not self.evaluations_file.is_file():
            return None
        try:
            with np.load(self.evaluations_file, allow_pickle=True) as data:
                return {key: data[key] for key in data.files}
        except Exception as exc:  # a damaged npz raises BadZipFile, ValueError, EOFError, ...
            raise MyorlError(f"'{self.evaluations_file}' is corrupt or truncated ({_why(exc)}); the stage's "
                             "evaluations are also in its latest checkpoint's state.json") from None

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
        """`experiment.yaml` between a header and an end line, so that a truncated copy is recognised."""
        files.write_text(self.config_file,
                         f"{CONFIG_HEADER}\n{OmegaConf.to_yaml(OmegaConf.structured(config))}{CONFIG_END}\n")

    def read_config(self) -> MyorlConfig:
        """`experiment.yaml` checked against the schema; a damaged or unfitting file is one MyorlError."""
        node = self.read_config_node()
        try:
            return to_config(node)
        except (OmegaConfBaseException, ValueError, TypeError) as exc:
            raise MyorlError(f"'{self.config_file}' does not fit myorl's config schema ({_why(exc)})") from None

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
        node = self.read_config_node(resume=True)
        now = OmegaConf.to_container(OmegaConf.structured(config), resolve=True, enum_to_str=True)
        assert isinstance(now, dict)

        def key_facts(cfg: dict[Any, Any]) -> list[tuple[str, Any]]:
            return [("curriculum", cfg["curriculum"]["name"]), ("algo", cfg["algo"]["name"]),
                    ("stages (names and envs)", [(s["name"], s["env"]) for s in cfg["curriculum"]["stages"]])]

        try:
            to_config(node)
            saved = OmegaConf.to_container(node, resolve=True)
            assert isinstance(saved, dict)
            before_facts = key_facts(saved)
        except (OmegaConfBaseException, ValueError, TypeError, KeyError) as exc:
            raise MyorlError(f"'{self.config_file}' does not fit myorl's config schema ({_why(exc)}); it holds "
                             f"the config the run started with, which a resume checks against: "
                             f"{self._fresh_start()}") from None
        for (what, old), (_, new) in zip(before_facts, key_facts(now)):
            if old != new:
                raise MyorlError(f"resume=true: the run in '{self.path}' has another {what} ({old} -> {new}); "
                                 "resume it with the same curriculum and algo, or start a new run dir")
        before, after = flatten(saved), flatten(now)
        for key in sorted(set(before) | set(after)):
            if before.get(key) != after.get(key):
                log.warning("resume: %s changed: %s -> %s", key, before.get(key), after.get(key))

    def read_config_node(self, resume: bool = False) -> DictConfig:
        """`experiment.yaml` as an OmegaConf node; a corrupt or truncated file is one MyorlError (with
        `resume`, naming how to go on without it)."""
        try:
            text = self.config_file.read_text()
            if text.startswith(CONFIG_HEADER) and not text.rstrip().endswith(CONFIG_END):
                raise ValueError(f"truncated: its last line '{CONFIG_END}' is missing")
            node = OmegaConf.create(text)
            if not isinstance(node, DictConfig):
                raise ValueError("not a mapping")
            return node
        except (OmegaConfBaseException, OSError, ValueError) as exc:  # UnicodeDecodeError is a ValueError
            fix = (f"it holds the config the run started with, which a resume checks against: {self._fresh_start()}"
                   if resume else "restore it from a copy (each stage's W&B run keeps it as config.run)")
            raise MyorlError(f"'{self.config_file}' is corrupt or truncated ({_why(exc)}); {fix}") from None

    def _fresh_start(self) -> str:
        """How to go on when this run cannot be resumed: a new run dir from its last finished stage."""
        done = []
        for stage in self.stage_dirs():
            try:
                record = stage.read_record()
            except MyorlError:
                break
            if record is None or not record.status.finished:
                break
            done.append(stage)
        if not done:
            return "start a new run dir"
        index = int(done[-1].path.name.split("_", 1)[0]) + 1
        return (f"restore it, or go on in a new run dir from its last finished stage: init_from={done[-1].path} "
                f"start_stage={index} hydra.run.dir=<a new dir>")

    def check_resumable(self, plans: list[StagePlan]) -> None:
        """Read every file a resume will read, as it will read it, before anything is written: each stage's
        `stage.json`, the latest checkpoint of each stage that has not ended, and the model (and statistics)
        handed to the first stage that starts afresh. A corrupt, truncated or missing one raises one
        MyorlError naming it and the fix, and the run dir stays as it was."""
        for stage in self.stage_dirs():  # write_summary reads them all
            stage.read_record()
        for tracking in [self.tracking_file, *(stage.tracking_file for stage in self.stage_dirs())]:
            if tracking.exists():  # read by the W&B tracker to continue the launch's group and the stage's run
                try:
                    if not isinstance(files.read_json(tracking), dict):
                        raise ValueError("not a JSON object")
                except (OSError, ValueError) as exc:
                    raise MyorlError(f"'{tracking}' is corrupt or truncated ({_why(exc)}); delete it, then "
                                     "resume=true tracks on in a new W&B run") from None
        previous: tuple[StageDir, StagePlan] | None = None
        handed_over = False
        for plan in plans:
            stage = self.stage(plan)
            if stage.finished_record() is not None:
                previous = (stage, plan)
                continue
            newest = self.newest_checkpoint(stage)
            if newest is not None:
                newest.check(statistics=plan.normalize.enabled)
            elif previous is not None and not handed_over:
                source, _ = previous
                which = plan.handover.model
                read_model(source.model(which))
                if source.statistics(which).exists():
                    load_statistics(source.statistics(which))
            handed_over = True  # later stages start from models this run has yet to write
            previous = None

    @staticmethod
    def newest_checkpoint(stage: StageDir) -> CheckpointDir | None:
        """The checkpoint a resume of `stage` goes on from (hidden, half-written ones do not count)."""
        if not stage.checkpoints.is_dir():
            return None
        done = sorted(p for p in stage.checkpoints.iterdir() if not p.name.startswith("."))
        return CheckpointDir(done[-1]) if done else None

    def remove_partial_files(self) -> None:
        """Drop the temporary files a killed process left anywhere in the run (its own atomic writes'
        `.<name>.<random>.tmp` files and hidden `.tmp-*` checkpoint folders; never a complete file)."""
        for tmp in self.path.glob(".*.tmp"):
            tmp.unlink(missing_ok=True)
        for stage in self.stage_dirs():
            stage.remove_partial_files()

    def summary(self, curriculum: str) -> Summary:
        """The summary of the stage records on disk, so skipped and stopped stages are in it too."""
        stages = [r for r in (s.read_record() for s in self.stage_dirs()) if r is not None]
        return Summary(curriculum, stages[-1].best_metric if stages else None, stages)

    def write_summary(self, curriculum: str) -> Summary:
        """`summary.json` (see `summary`)."""
        summary = self.summary(curriculum)
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

