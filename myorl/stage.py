"""One stage: build its envs and model, train until it converges or its budget ends, leave its files.

`train_stage`, top to bottom:
1. where it starts: its own latest checkpoint (resume), else the previous stage's model and statistics
   (hand-over), else from scratch;
2. its training env (n_envs) and evaluation env;
3. the model: loaded from the checkpoint, or built and given the previous stage's weights;
4. SB3's `learn` with small callbacks: evaluation (best model, convergence), fault checks, and checkpoints
   at rollout boundaries (`RolloutBoundary`), where a stop request (Ctrl-C, SIGTERM) stops the stage too;
5. a stage that trained its whole budget writes a last checkpoint (a boundary too); whatever happens, the
   last model and `stage.json` are written; then the record is returned, or the error raised. A stage
   stopped inside a rollout (a fault, a second Ctrl-C, a dead vec-env worker) writes no checkpoint there:
   its latest boundary checkpoint stays the resume point.

A resumed stage restores, besides model and statistics, the checkpoint's continuation (`myorl.checkpoints`):
on the CPU its evaluations equal those of the uninterrupted stage, bit for bit.
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.logger import configure
from stable_baselines3.common.vec_env import VecEnv

from myorl import algos
from myorl.callbacks import EvaluationCallback, InfoLogger, RolloutBoundary
from myorl.checkpoints import (
    Checkpoint,
    capture,
    latest_checkpoint,
    restore_envs,
    save_checkpoint,
    set_random_state,
)
from myorl.config import Metric, RunSettings
from myorl.convergence import ConvergenceCheck, EvalHistory
from myorl.envs import build_envs, load_statistics
from myorl.errors import MyorlError
from myorl.faults import FiniteWeights
from myorl.handover import Transfer, carry_statistics, copy_weights
from myorl.metrics import Evaluation
from myorl.observers import EvalEvent, Observer
from myorl.plan import StagePlan
from myorl.rundir import RunDir, StageDir, StageRecord
from myorl.status import Status, status_of

log = logging.getLogger(__name__)


@dataclass
class StageContext:
    """What a stage needs from the curriculum around it."""

    settings: RunSettings
    run_dir: RunDir
    observer: Observer
    resume: bool = False  # go on from this stage's latest checkpoint, if it has one
    previous: StageDir | None = None  # the stage before: this one starts from its model and statistics
    offset: int = 0  # curriculum timesteps before this stage


def train_stage(plan: StagePlan, ctx: StageContext) -> StageRecord:
    """Train one stage; see the module docstring. Raises what stopped it, after writing its files."""
    stage = ctx.run_dir.stage(plan)
    stage.remove_partial_files()
    checkpoint = latest_checkpoint(stage.checkpoints) if ctx.resume else None
    train_env, eval_env = build_envs(plan.env, n_envs=ctx.settings.n_envs, kind=ctx.settings.vec_env,
                                     seed=plan.seed, normalize=plan.normalize, gamma=plan.algo.gamma,
                                     frame_stack=plan.frame_stack)
    try:
        training = (resume(plan, stage, checkpoint, train_env, eval_env, ctx) if checkpoint
                    else begin(plan, stage, train_env, eval_env, ctx))
        training.model.set_logger(configure(str(ctx.run_dir.tensorboard / plan.dirname), ["tensorboard"]))
        callbacks = [EvaluationCallback(eval_env, plan.eval, training.check, training.history, stage.evaluations_file,
                                        on_best=training.save_best, on_eval=training.evaluated, clock=training.elapsed),
                     FiniteWeights(), InfoLogger(), training.boundary]
        ctx.observer.stage_started(plan, training.model, stage.path, ctx.offset)
        try:
            training.model.learn(total_timesteps=plan.budget - training.model.num_timesteps, callback=callbacks,
                                 progress_bar=ctx.settings.progress, reset_num_timesteps=False)
            if training.check.stop_reason is None:  # the budget ended, after an update: a rollout boundary
                training.checkpoint()
        except BaseException as exc:
            training.stop(*status_of(exc))
            raise
        return training.finish(*training.check.outcome())
    finally:
        for env in (train_env, eval_env):
            with contextlib.suppress(Exception):  # workers may already be gone after Ctrl-C
                env.close()


@dataclass
class Training:
    """A stage while it trains: what its callbacks save, and what `stage.json` reports at the end."""

    plan: StagePlan
    dir: StageDir
    model: BaseAlgorithm
    env: VecEnv
    eval_env: VecEnv
    check: ConvergenceCheck
    history: EvalHistory
    ctx: StageContext
    resumed_from: int | None = None  # the checkpoint's timesteps, when resumed
    wall_before: float = 0.0  # training seconds before this process (a resumed stage's earlier runs)
    checkpoint_clock: int = 0  # env steps at which the last every-`checkpoint.freq` checkpoint fell due
    random: dict[str, Any] | None = None  # a resumed stage's random streams, set at its first boundary
    started: float = field(default_factory=time.monotonic)
    boundary: RolloutBoundary = field(init=False)

    def __post_init__(self) -> None:
        random = self.random
        restore = None if random is None else lambda: set_random_state(self.model, random)
        self.boundary = RolloutBoundary(self.checkpoint, self.ctx.settings.checkpoint.freq, self.checkpoint_clock,
                                        restore)

    def elapsed(self) -> float:
        """The stage's training time so far, across resumes."""
        return self.wall_before + time.monotonic() - self.started

    def save_best(self) -> None:
        self.dir.save_model("best", self.model, self.env)

    def checkpoint(self) -> None:
        """A checkpoint of this moment, a rollout boundary (`RolloutBoundary` calls it)."""
        continuation = capture(self.model, self.env, self.eval_env)  # read everything before writing anything
        state = {"check": self.check.state(), "history": asdict(self.history), "started_at": self.resumed_from or 0,
                 "wall_seconds": self.elapsed(), "checkpoint_clock": self.boundary.last}
        save_checkpoint(self.dir.checkpoints, self.model, self.env, state, self.ctx.settings.checkpoint.keep,
                        continuation)

    def evaluated(self, timesteps: int, evaluation: Evaluation, metric: float) -> None:
        if self.ctx.settings.checkpoint.freq is None:
            self.boundary.request()  # written at the next rollout boundary
        self.ctx.observer.evaluated(EvalEvent(self.plan, timesteps, self.ctx.offset + timesteps, metric, evaluation))

    def finish(self, status: Status, reason: str | None) -> StageRecord:
        """Save the last model and `stage.json`, tell the observers."""
        self.dir.save_model("last", self.model, self.env)
        record = StageRecord(
            name=self.plan.name, status=status, reason=reason, timesteps=self.model.num_timesteps,
            metric=Metric(self.plan.convergence.metric).value,
            best_metric=self.check.best if self.check.best_timestep is not None else None,
            best_timestep=self.check.best_timestep, wall_seconds=round(self.elapsed(), 2),
            resumed_from_timesteps=self.resumed_from)
        self.dir.write_record(record)
        self.ctx.observer.stage_ended(self.plan, record, self.dir.path)
        return record

    def stop(self, status: Status, reason: str) -> None:
        """Stopped early (fault, Ctrl-C, pruned): keep the last model and the record. A checkpoint is written
        only at rollout boundaries (a stop request writes one there before it stops the stage): the latest
        one stays the resume point, whatever state the envs are in now (a dead worker cannot be read)."""
        with contextlib.suppress(MyorlError):  # a full disk must not hide the error that stopped the stage
            self.finish(status, reason)


def begin(plan: StagePlan, stage: StageDir, env: VecEnv, eval_env: VecEnv, ctx: StageContext) -> Training:
    """A new model; it starts from the previous stage's weights and statistics when there is one.

    With `handover.optimizer` it is the previous stage's whole model instead (Adam's moments included, as
    `RecurrentPPO.load(..., custom_objects=...)`), with this stage's hyperparameters and a step count of 0.
    """
    if ctx.previous is not None and plan.handover.optimizer:
        model = algos.load_model(plan.algo, ctx.previous.model(plan.handover.model), env, ctx.settings.device)
        model.num_timesteps = 0
        model.set_random_seed(plan.seed)
    else:
        model = algos.build_model(plan.algo, env, seed=plan.seed, device=ctx.settings.device)
    if ctx.previous is not None:
        transfer = hand_over(ctx.previous, plan, model, env)
        log.info("stage '%s' %s", plan.name, transfer.summary())
    return Training(plan, stage, model, env, eval_env, ConvergenceCheck(plan.convergence), EvalHistory(), ctx)


def hand_over(previous: StageDir, plan: StagePlan, model: BaseAlgorithm, env: VecEnv) -> Transfer:
    """Copy the previous stage's weights into `model` and its statistics into `env`."""
    which = plan.handover.model
    if plan.handover.optimizer:  # the model was loaded whole
        transfer = Transfer(f"{previous.path.name}/{previous.model(which).name}", whole=True)
    else:
        transfer = copy_weights(previous.model(which), model, strict=plan.handover.strict)
    if previous.statistics(which).exists():
        transfer.statistics, transfer.statistics_dropped = carry_statistics(
            load_statistics(previous.statistics(which)), env)
    return transfer


def resume(plan: StagePlan, stage: StageDir, checkpoint: Checkpoint, env: VecEnv, eval_env: VecEnv,
           ctx: StageContext) -> Training:
    """The stage as its latest checkpoint saved it: model, statistics, convergence state and, when the
    checkpoint has one, its continuation (env states, last observation, LSTM states; the random streams are
    set at the first rollout boundary, where they were read)."""
    continuation = checkpoint.continuation()
    if checkpoint.statistics is not None:
        carry_statistics(load_statistics(checkpoint.statistics), env)
    model = algos.load_model(plan.algo, checkpoint.dir.model, env, ctx.settings.device)
    if continuation is not None:
        restore_envs(model, env, eval_env, continuation)
    else:
        log.warning("stage '%s': checkpoint %s holds no continuation.pkl (written by an older myorl): env "
                    "states and random streams start afresh, so the stage does not continue exactly",
                    plan.name, checkpoint.dir.path.name)
    state: dict[str, Any] = checkpoint.state
    history = EvalHistory(**state.get("history", state.get("record", {})))  # "record": checkpoints before 0.2
    log.info("stage '%s': resumed from its checkpoint at %s steps", plan.name, f"{checkpoint.timesteps:,}")
    return Training(plan, stage, model, env, eval_env, ConvergenceCheck(plan.convergence, **state["check"]),
                    history, ctx, resumed_from=checkpoint.timesteps,
                    wall_before=float(state.get("wall_seconds", 0.0)),
                    checkpoint_clock=int(state.get("checkpoint_clock", checkpoint.timesteps)),
                    random=continuation["random"] if continuation is not None else None)
