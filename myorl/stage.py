"""One stage of a curriculum: its resolved plan, how it is trained, and what it leaves on disk."""

from __future__ import annotations

import contextlib
import logging
import re
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from stable_baselines3.common.logger import Logger, configure

from myorl import files
from myorl.algos import ALGORITHMS, algo_config, build_model, hyperparameters
from myorl.checkpoints import Checkpoint, latest_checkpoint, remove_partial_files, save_checkpoint
from myorl.config import (
    ConvergenceConfig,
    EnvConfig,
    EvalConfig,
    HandoverConfig,
    HandoverModel,
    Metric,
    NormalizeConfig,
    PPOConfig,
    RunSettings,
    StageConfig,
)
from myorl.convergence import ConvergenceCheck, EvalRecord, EvaluationCallback, EveryNSteps
from myorl.envs import build_envs, load_statistics, make_env
from myorl.errors import MyorlError
from myorl.evaluation import Evaluation
from myorl.faults import FiniteWeights
from myorl.handover import hand_over, read_model
from myorl.observers import EvalEvent, Observer, stop_status

log = logging.getLogger(__name__)


@dataclass
class StagePlan:
    """A stage with everything resolved: its algo (overrides applied), budget, eval and hand-over."""

    index: int
    name: str
    env: EnvConfig
    algo: PPOConfig
    budget: int
    eval: EvalConfig
    convergence: ConvergenceConfig
    normalize: NormalizeConfig
    handover: HandoverConfig  # how this stage starts from the previous one
    frame_stack: int | None

    @property
    def dirname(self) -> str:
        return f"{self.index:02d}_{self.name}"


def plan_stage(index: int, stage: StageConfig, algo: PPOConfig, settings: RunSettings,
               normalize: NormalizeConfig, handover: HandoverConfig) -> StagePlan:
    """Resolve and validate one stage before anything trains."""
    where = f"stage '{stage.name}'"
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", stage.name):
        raise MyorlError(f"{where}: a stage name is a folder name; use letters, digits, '_', '.' and '-'")
    if stage.max_timesteps <= 0:
        raise MyorlError(f"{where}: max_timesteps must be positive, got {stage.max_timesteps}")
    if stage.eval.freq <= 0 or stage.eval.episodes <= 0:
        raise MyorlError(f"{where}: eval.freq and eval.episodes must be positive")
    if stage.eval.freq > stage.max_timesteps:
        raise MyorlError(f"{where}: eval.freq {stage.eval.freq} is larger than max_timesteps "
                         f"{stage.max_timesteps}, so it would never be evaluated; lower eval.freq")
    if settings.max_timesteps is not None and settings.max_timesteps <= 0:
        raise MyorlError(f"max_timesteps must be positive (or null), got {settings.max_timesteps}")
    stage_algo = algo_config(algo, stage.algo, where=f"{where} algo")
    if stage.frame_stack and stage_algo.name != "ppo":
        raise MyorlError(f"{where}: frame_stack is for PPO; {stage_algo.name} has its own memory")
    budget = min(stage.max_timesteps, settings.max_timesteps or stage.max_timesteps)
    return StagePlan(index=index, name=stage.name, env=stage.env, algo=stage_algo, budget=budget,
                     eval=replace(stage.eval, freq=min(stage.eval.freq, budget)),
                     convergence=stage.convergence, normalize=stage.normalize or normalize,
                     handover=stage.handover or handover, frame_stack=stage.frame_stack)


def check_spaces(plans: list[StagePlan]) -> None:
    """Make each stage's env once: unknown ids fail now, and strict hand-overs need equal spaces."""
    spaces = []
    for plan in plans:
        env = make_env(plan.env)
        spaces.append((env.observation_space, env.action_space, plan.frame_stack))
        env.close()
    for previous, (plan, current) in zip(spaces, zip(plans[1:], spaces[1:])):
        if plan.handover.strict and previous != current:
            raise MyorlError(f"stage '{plan.name}' has other spaces than the stage before it "
                             f"(observation {previous[0]} -> {current[0]}, action {previous[1]} -> {current[1]}) "
                             "and handover.strict=true; set handover.strict=false to copy the matching weights")


@dataclass
class StageResult:
    """What `stage.json` records."""

    name: str
    status: str  # converged | budget_exhausted | failed | interrupted | pruned
    reason: str | None  # target | plateau (converged), or why it stopped
    timesteps: int
    metric: str
    best_metric: float | None
    best_timestep: int | None
    wall_seconds: float
    paths: dict[str, str] = field(default_factory=dict)  # relative to the stage dir
    resumed_from_timesteps: int | None = None  # the checkpoint this stage went on from, if resumed

    def line(self, plan: StagePlan) -> str:
        why = f" ({self.reason})" if self.reason else ""
        best = "none" if self.best_metric is None else f"{self.best_metric:.4g} @ {self.best_timestep:,}"
        return (f"stage {plan.index + 1} '{self.name}': {self.status}{why} after {self.timesteps:,} steps, "
                f"best {self.metric} {best}, {self.wall_seconds:.0f}s")


@dataclass
class Handover:
    """What a finished stage passes on: a model file and, if it normalised, its statistics."""

    model: Path
    statistics: Path | None

    @classmethod
    def of(cls, stage_dir: Path, which: HandoverModel) -> Handover:
        which = HandoverModel(which).value
        stats = stage_dir / f"{which}_vecnormalize.pkl"
        return cls(stage_dir / f"{which}_model.zip", stats if stats.exists() else None)


def train_stage(plan: StagePlan, settings: RunSettings, stage_dir: Path, previous_dir: Path | None,
                observer: Observer, offset: int = 0, tensorboard_dir: Path | None = None,
                resume: bool = False) -> StageResult:
    """Build envs and model, start from the previous stage's weights (or, resuming, from this stage's
    latest checkpoint), train until converged or out of budget.

    Whatever stops the stage early (an observer's exception, a fault, Ctrl-C/SIGTERM, a crash) still
    leaves a checkpoint, its last model and a `stage.json` saying why, then propagates.
    """
    started = time.monotonic()
    remove_partial_files(stage_dir)
    ckpt = latest_checkpoint(stage_dir) if resume else None
    handover = Handover.of(previous_dir, plan.handover.model) if previous_dir else None
    stats_file = ckpt.statistics if ckpt else (handover.statistics if handover else None)
    seed = settings.seed + plan.index
    train_env, eval_env = build_envs(plan.env, n_envs=settings.n_envs, kind=settings.vec_env, seed=seed,
                                     normalize=plan.normalize, gamma=plan.algo.gamma, frame_stack=plan.frame_stack,
                                     normalize_stats=load_statistics(stats_file) if stats_file else None)
    try:
        if ckpt:
            model = load_model(plan.algo, ckpt.model, train_env, settings.device)
            check = ConvergenceCheck(plan.convergence, **ckpt.state["check"])
            record = EvalRecord(**ckpt.state["record"])
            log.info("stage '%s': resumed from its checkpoint at %s steps", plan.name, f"{ckpt.timesteps:,}")
        else:
            model = build_model(plan.algo, train_env, seed=seed, device=settings.device)
            check, record = ConvergenceCheck(plan.convergence), EvalRecord()
            if handover:
                hand_over(handover.model, model, strict=plan.handover.strict)
        model.set_logger(configure(str(tensorboard_dir / plan.dirname), ["tensorboard"]) if tensorboard_dir
                         else Logger(None, []))

        def save_best() -> None:  # the model and the statistics of this very moment
            files.save_model(model, stage_dir / "best_model.zip")
            files.save_statistics(train_env, stage_dir / "best_vecnormalize.pkl")

        def checkpoint() -> None:
            state = {"check": check.state(), "record": asdict(record), "started_at": ckpt.timesteps if ckpt else 0}
            save_checkpoint(stage_dir, model, train_env, state, settings.checkpoint.keep)

        def evaluated(timesteps: int, evaluation: Evaluation, metric: float) -> None:
            if settings.checkpoint.freq is None:
                checkpoint()
            observer.evaluated(EvalEvent(plan, timesteps, offset + timesteps, metric, evaluation))

        callbacks = [EvaluationCallback(eval_env, plan.eval, check, record, stage_dir / "evaluations.npz",
                                        on_best=save_best, on_eval=evaluated), FiniteWeights()]
        if settings.checkpoint.freq:
            callbacks.append(EveryNSteps(settings.checkpoint.freq, checkpoint))
        observer.stage_started(plan, model, stage_dir, offset)
        try:
            model.learn(total_timesteps=plan.budget - model.num_timesteps, callback=callbacks,
                        progress_bar=settings.progress, reset_num_timesteps=False)
            reason = callbacks[0].reason
            status = "converged" if reason else "budget_exhausted"
        except BaseException as exc:
            status, reason = stop_status(exc)
            with contextlib.suppress(MyorlError):  # a full disk must not hide the original error
                checkpoint()
                _finish(plan, model, train_env, check, stage_dir, started, status, reason, observer, ckpt)
            raise
        return _finish(plan, model, train_env, check, stage_dir, started, status, reason, observer, ckpt)
    finally:
        for env in (train_env, eval_env):
            with contextlib.suppress(Exception):  # workers may already be gone after Ctrl-C
                env.close()


def load_model(algo: PPOConfig, path: Path, env, device: str):
    """A checkpointed model, attached to the (rebuilt) training env."""
    read_model(path)  # a clear error for a missing or corrupt file
    custom = {k: v for k, v in hyperparameters(algo).items() if k not in ("policy", "policy_kwargs")}
    return ALGORITHMS[algo.name].load(path, env=env, device=device, custom_objects=custom)


def _finish(plan: StagePlan, model, train_env, check: ConvergenceCheck, stage_dir: Path, started: float,
            status: str, reason: str | None, observer: Observer, ckpt: Checkpoint | None) -> StageResult:
    """Save the last model and `stage.json`, tell the observers."""
    files.save_model(model, stage_dir / "last_model.zip")
    files.save_statistics(train_env, stage_dir / "last_vecnormalize.pkl")
    result = StageResult(
        name=plan.name, status=status, reason=reason, timesteps=model.num_timesteps,
        metric=Metric(plan.convergence.metric).value,
        best_metric=check.best if check.best_timestep is not None else None,
        best_timestep=check.best_timestep, wall_seconds=round(time.monotonic() - started, 2),
        resumed_from_timesteps=ckpt.timesteps if ckpt else None,
        paths={p.name.split(".")[0]: p.name for p in sorted(stage_dir.iterdir())
               if p.is_file() and not p.name.startswith(".")},
    )
    files.write_json(stage_dir / "stage.json", asdict(result))
    observer.stage_ended(plan, result, stage_dir)
    return result
