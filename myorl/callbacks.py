"""The SB3 callbacks a stage is trained with, each with one job.

SB3's EvalCallback falls short here: it watches only the mean reward or `is_success`, saves the best
model without the VecNormalize statistics that belong to it, and StopTrainingOnNoModelImprovement has
no tolerance (strict '>'). `EvaluationCallback` keeps to SB3's callback protocol and reuses
`evaluate_policy` (through `myorl.metrics.evaluate`) and `sync_envs_normalization`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import VecEnv, sync_envs_normalization

from myorl import signals
from myorl.config import EvalConfig
from myorl.convergence import ConvergenceCheck, EvalHistory
from myorl.metrics import Evaluation, InfoMeans, evaluate


class NoLocals(BaseCallback):
    """A callback that never reads `self.locals`: SB3 copies `collect_rollouts`' locals into every callback
    at every env step (`update_locals`); skipping the copy keeps the per-step cost of myorl's callbacks
    down (bench/overhead.py)."""

    def update_locals(self, locals_: dict[str, Any]) -> None:
        pass


class EvaluationCallback(NoLocals):
    """Every `eval.freq` env steps: evaluate, feed the convergence check, save a new best, stop when done.

    `on_best()` saves the best model with the statistics of that moment; `on_eval(timesteps, evaluation,
    metric)` lets the stage checkpoint and tell its observers; `clock()` is the stage's training time so far.
    A stage that runs out of budget more than a rollout after its last evaluation gets its final model
    evaluated too.
    """

    def __init__(self, eval_env: VecEnv, config: EvalConfig, check: ConvergenceCheck, history: EvalHistory,
                 history_file: Path, on_best: Callable[[], None],
                 on_eval: Callable[[int, Evaluation, float], None], clock: Callable[[], float]):
        super().__init__()
        self.eval_env, self.config, self.check, self.history = eval_env, config, check, history
        self.history_file, self.on_best, self.on_eval, self.clock = history_file, on_best, on_eval, clock
        self.last_eval_at = history.timesteps[-1] if history.timesteps else 0

    def _on_step(self) -> bool:
        if self.num_timesteps - self.last_eval_at >= self.config.freq:
            self.evaluate_now()
        return self.check.stop_reason is None

    def _on_training_end(self) -> None:
        # The last model is evaluated too, unless the last evaluation was within its final rollout (then the
        # two differ by one update, and SB3's EvalCallback would not evaluate it either).
        rollout = getattr(self.model, "n_steps", 1) * self.training_env.num_envs
        if self.check.stop_reason is None and self.num_timesteps - self.last_eval_at >= rollout:
            self.evaluate_now()

    def evaluate_now(self) -> None:
        sync_envs_normalization(self.training_env, self.eval_env)
        evaluation = evaluate(self.model, self.eval_env, self.config.episodes, self.config.deterministic)
        value = evaluation.metric(self.check.config.metric)
        self.last_eval_at = self.num_timesteps
        self.history.add(self.num_timesteps, value, evaluation, self.clock())
        if self.check.update(value, self.num_timesteps):
            self.on_best()
        self.history.save(self.history_file)
        for key, val in evaluation.as_dict().items():
            self.logger.record(f"eval/{key}", val)
        self.logger.record("eval/metric", value)
        self.logger.dump(self.num_timesteps)
        self.on_eval(self.num_timesteps, evaluation, value)


class RolloutBoundary(NoLocals):
    """Checkpoints, and stops on request, only at rollout boundaries: the start of a rollout, after the
    previous one trained, where a checkpoint holds everything the continuation needs (a checkpoint in the
    middle of a rollout would lose the steps collected so far, and the rollout buffer with them).

    A checkpoint is due every `every` env steps (all envs together; counted from `last`), or once `request()`
    was called (after an evaluation); `save()` writes it at the next boundary. When `myorl.signals` holds a
    stop request, the boundary writes a checkpoint and raises `StopAtBoundary`. Put it last among the
    callbacks, so the fault checks of the same boundary run first.
    """

    def __init__(self, save: Callable[[], None], every: int | None = None, last: int = 0,
                 restore: Callable[[], None] | None = None):
        super().__init__()
        self.save, self.every, self.last, self.due = save, every, last, False
        self.restore = restore  # a resumed stage's random streams: set at its first boundary, as they were read

    def request(self) -> None:
        self.due = True

    def _on_step(self) -> bool:
        if self.every and self.num_timesteps - self.last >= self.every:
            self.last, self.due = self.num_timesteps, True
        return True

    def _on_rollout_start(self) -> None:
        if self.restore is not None:
            self.restore()
            self.restore = None
        stop = signals.stop_requested()
        if self.due or stop is not None:
            self.save()
            self.due = False
        if stop is not None:
            raise signals.StopAtBoundary(stop.reason)


class InfoLogger(BaseCallback):
    """Averages every numeric `info` key over each rollout and logs it as `info/<key>` (TensorBoard, W&B).

    MyoSuite reports its reward terms (`solved`, `pos_dist_1`, `act_reg`, ...) in `info`; their means show
    what a return is made of while training, not only at evaluations.
    """

    def __init__(self) -> None:
        super().__init__()
        self.means = InfoMeans()

    def _on_step(self) -> bool:
        for info in self.locals["infos"]:
            self.means.add(info)
        return True

    def _on_rollout_end(self) -> None:
        for key, value in self.means.means().items():
            self.logger.record(f"info/{key}", value)
        self.means = InfoMeans()
