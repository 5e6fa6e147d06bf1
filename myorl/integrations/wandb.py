"""Weights & Biases tracking: one W&B run per stage, all stages of a launch in one group.

Offline by default (no account, no network): runs land in `<run dir>/wandb/offline-run-*` and are
uploaded later with `wandb sync`. SB3's logger (rollout/, train/, time/ and our eval/) reaches W&B
through a KVWriter that adds the stage's and the curriculum's timesteps to every record, so one
chart can span the whole curriculum. (wandb.integration.sb3's WandbCallback logs no metrics itself,
and TensorBoard syncing knows only the stage's own step.)
"""

from __future__ import annotations

import re
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import Any, cast

import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.logger import KVWriter

from myorl import files
from myorl.config import TrackingConfig
from myorl.errors import MyorlError
from myorl.observers import Observer
from myorl.plan import StagePlan
from myorl.rundir import RunDir, StageDir, StageRecord, Summary

STEP = "curriculum/timesteps"


class WandbOutput(KVWriter):
    """SB3 logger output that sends numeric records to a W&B run, with both x-axes."""

    def __init__(self, run: Any, offset: int):
        self.run, self.offset = run, offset

    def write(self, key_values: dict[str, Any], key_excluded: dict[str, tuple[str, ...]], step: int = 0) -> None:
        data = {key: float(value) for key, value in key_values.items()
                if isinstance(value, (int, float, np.number)) and "wandb" not in (key_excluded.get(key) or ())}
        if data:
            self.run.log({**data, "timesteps": step, STEP: self.offset + step})

    def close(self) -> None:
        pass


def effective_hyperparameters(model: BaseAlgorithm) -> dict[str, Any]:
    """The hyperparameters of the model as built (schedules evaluated at the start)."""
    names = ("learning_rate", "n_steps", "batch_size", "n_epochs", "gamma", "gae_lambda", "clip_range",
             "clip_range_vf", "normalize_advantage", "ent_coef", "vf_coef", "max_grad_norm", "use_sde",
             "sde_sample_freq", "target_kl", "n_envs", "seed", "device", "policy_kwargs")
    stock = next(c for c in type(model).__mro__ if c.__module__.startswith(("stable_baselines3", "sb3_contrib")))
    # the algorithm as users know it (PPO, RecurrentPPO); `fast` says whether myorl's faster learner ran it
    out: dict[str, Any] = {"algo": stock.__name__, "fast": stock is not type(model),
                           "policy": type(model.policy).__name__}
    for name in names:
        value = getattr(model, name, None)
        if callable(value):
            value = value(1.0)  # SB3 schedules: value at progress_remaining = 1
        out[name] = value if isinstance(value, (int, float, str, bool, type(None))) else str(value)
    return out


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text)


class WandbTracker(Observer):
    def __init__(self, cfg: TrackingConfig, config: dict[str, Any], sweep: str | None = None):
        self.cfg, self.config, self.sweep = cfg, config, sweep
        self.run: Any = None

    def experiment_started(self, experiment: Any, output_dir: Path) -> None:
        import wandb

        if self.cfg.mode == "online" and not wandb.login(prompt=False, verify=False):
            raise MyorlError("tracking.mode=online needs a W&B account: run `wandb login` (or set WANDB_API_KEY), "
                             "or track offline (tracking.mode=offline) and `wandb sync` later")
        self.out, self.experiment = Path(output_dir), experiment
        record = RunDir(self.out).tracking_file  # the launch's group survives a resume
        launch = files.read_json(record) if record.exists() else {"group": f"{experiment.curriculum.name}-"
                                                                           f"{uuid.uuid4().hex[:8]}"}
        self.group = launch["group"]
        files.write_json(record, {**launch, "project": self.cfg.project, "sweep": self.sweep})

    def stage_started(self, plan: StagePlan, model: BaseAlgorithm, stage_dir: Path, offset: int) -> None:
        import wandb

        exp, seed = self.experiment, self.experiment.settings.seed
        tags = [exp.curriculum.name, plan.algo.name, plan.env.id, *self.cfg.tags]
        if self.sweep:
            tags.append(f"sweep:{self.sweep}")
        previous = StageDir(stage_dir).tracking_file  # a resumed stage continues its own W&B run
        run_id = files.read_json(previous).get("id") if previous.exists() else None
        try:
            self.run = wandb.init(
                id=run_id, resume="allow" if run_id else None, project=self.cfg.project, entity=self.cfg.entity,
                mode=cast(Any, self.cfg.mode),  # offline | online | disabled
                dir=str(self.out),
                group=self.group, job_type=plan.name, name=f"{exp.curriculum.name}/{plan.name}/seed{seed}",
                tags=[t[:64] for t in tags], notes=self.cfg.notes, reinit="create_new",
                config={"run": self.config, "stage": asdict(plan), "sb3": effective_hyperparameters(model),
                        "stage_index": plan.index, "curriculum_offset": offset, "sweep": self.sweep,
                        "provenance": getattr(exp, "provenance", None)},  # this launch's (myorl.provenance)
            )
        except wandb.errors.Error as exc:
            raise MyorlError(f"W&B could not start a run ({exc}); use tracking.mode=offline or tracking=none") from None
        self.run.define_metric(STEP)
        self.run.define_metric("timesteps")
        self.run.define_metric("*", step_metric=STEP)
        model.logger.output_formats.append(WandbOutput(self.run, offset))
        files.write_json(StageDir(stage_dir).tracking_file, {"id": self.run.id, "project": self.cfg.project,
                                                       "entity": self.cfg.entity, "group": self.group,
                                                       "mode": self.cfg.mode, "dir": str(self.out)})

    def stage_ended(self, plan: StagePlan, record: StageRecord, stage_dir: Path) -> None:
        import wandb

        run, self.run = self.run, None
        if run is None:
            return
        run.summary.update({k: v for k, v in record.as_json().items() if k != "paths"})
        if self.cfg.log_models:
            artifact = wandb.Artifact(_safe(f"{self.experiment.curriculum.name}-{plan.dirname}-model"), type="model",
                                      metadata={"status": record.status.value, "best_metric": record.best_metric})
            stage = StageDir(stage_dir)
            for path in (stage.model("best"), stage.statistics("best"), stage.model("last"), stage.statistics("last")):
                if path.exists():
                    artifact.add_file(str(path), name=path.name)
            run.log_artifact(artifact)
        run.finish(exit_code=0 if record.status.ok else 1)

    def experiment_ended(self, summary: Summary, error: BaseException | None) -> None:
        if self.run is not None:  # a stage that died before it could end
            self.run.finish(exit_code=1)
            self.run = None


def make_tracker(cfg: TrackingConfig, config: dict[str, Any], sweep: str | None = None) -> Observer | None:
    """A W&B tracker for a run with resolved config `config` (None when tracking is off)."""
    if cfg.backend == "none" or cfg.mode == "disabled":
        return None
    if cfg.backend != "wandb":
        raise MyorlError(f"unknown tracking backend '{cfg.backend}'; use tracking=wandb or tracking=none")
    return WandbTracker(cfg, config, sweep)
