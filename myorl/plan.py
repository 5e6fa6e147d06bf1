"""Plans: every stage of a curriculum resolved and validated before anything trains.

A `StagePlan` is a stage with its run-wide defaults filled in (algo with the stage's overrides,
normalisation, hand-over, budget cap, seed). `plan_curriculum` checks every value of every stage,
the algo's hyperparameters included, so a typo in stage 3 fails before stage 1 starts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from myorl import algos
from myorl.config import (
    ConvergenceConfig,
    CurriculumConfig,
    EnvConfig,
    EvalConfig,
    HandoverConfig,
    HandoverModel,
    NormalizeConfig,
    PPOConfig,
    RunSettings,
    StageConfig,
    algo_config,
)
from myorl.envs import make_env
from myorl.errors import MyorlError
from myorl.handover import read_model


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
    seed: int  # the run's seed + the stage's index (the evaluation env adds envs.EVAL_SEED_OFFSET)

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
    if stage.convergence.patience is not None and stage.convergence.patience < 1:
        raise MyorlError(f"{where}: convergence.patience must be at least 1 (or null)")
    stage_algo = algo_config(algo, stage.algo, where=f"{where} algo")
    algos.check(stage_algo, settings.n_envs, where=f"{where} algo")
    if stage.frame_stack and stage_algo.name != "ppo":
        raise MyorlError(f"{where}: frame_stack is for PPO; {stage_algo.name} has its own memory")
    budget = min(stage.max_timesteps, settings.max_timesteps or stage.max_timesteps)
    return StagePlan(index=index, name=stage.name, env=stage.env, algo=stage_algo, budget=budget,
                     eval=replace(stage.eval, freq=min(stage.eval.freq, budget)),
                     convergence=stage.convergence, normalize=stage.normalize or normalize,
                     handover=stage.handover or handover, frame_stack=stage.frame_stack,
                     seed=settings.seed + index)


def plan_curriculum(curriculum: CurriculumConfig, algo: PPOConfig, settings: RunSettings,
                    normalize: NormalizeConfig, handover: HandoverConfig) -> list[StagePlan]:
    """Every stage planned (and so validated), in order; no env is made here."""
    if not curriculum.stages:
        raise MyorlError(f"curriculum '{curriculum.name}' has no stages")
    if settings.n_envs < 1:
        raise MyorlError(f"n_envs must be at least 1, got {settings.n_envs}")
    names = [stage.name for stage in curriculum.stages]
    if len(set(names)) != len(names):
        raise MyorlError(f"curriculum '{curriculum.name}' names a stage twice ({names}); stage names must differ")
    return [plan_stage(i, stage, algo, settings, normalize, handover) for i, stage in enumerate(curriculum.stages)]


def select_stages(plans: list[StagePlan], start_stage: str | int | None) -> list[StagePlan]:
    """The plans from `start_stage` (a name or an index) on; all of them for None."""
    if start_stage is None:
        return plans
    for plan in plans:
        if str(start_stage) in (plan.name, str(plan.index), plan.dirname):
            return plans[plan.index:]
    raise MyorlError(f"start_stage={start_stage}: no such stage; the curriculum's stages are "
                     f"{', '.join(f'{p.index} {p.name}' for p in plans)} (give a name or an index)")


def check_init_from(path: Path, which: HandoverModel, first: StagePlan) -> tuple[Any, Any] | None:
    """The spaces of the model a run's first stage starts from (`init_from`); a missing or corrupt one fails now."""
    stage = Path(path)
    model = stage / f"{HandoverModel(which).value}_model.zip"
    if not stage.is_dir():
        raise MyorlError(f"init_from={path}: no such stage dir; give a trained stage, e.g. <run dir>/stages/01_hold")
    if not model.is_file():
        raise MyorlError(f"init_from={path} has no {model.name}; train that stage, or choose "
                         f"init_from_model={'last' if HandoverModel(which) == HandoverModel.best else 'best'}")
    data, _ = read_model(model)
    if first.frame_stack:  # the saved spaces are the stacked ones: copy_weights checks them when the stage starts
        return None
    return data.get("observation_space"), data.get("action_space")


def check_spaces(plans: list[StagePlan], initial: tuple[Any, Any] | None = None) -> None:
    """Make each stage's env once: unknown ids fail now, and strict hand-overs need equal spaces.

    `initial`: the spaces of the model the first stage starts from (`init_from`), if any.
    """
    spaces = []
    for plan in plans:
        env = make_env(plan.env)
        spaces.append((env.observation_space, env.action_space, plan.frame_stack))
        env.close()
    if initial is not None and None not in initial and initial != spaces[0][:2]:
        first = plans[0]
        if first.handover.strict or first.handover.optimizer:
            raise MyorlError(f"init_from's model has other spaces than stage '{first.name}' (observation "
                             f"{initial[0]} -> {spaces[0][0]}, action {initial[1]} -> {spaces[0][1]}) and "
                             "handover.strict or handover.optimizer is set; start from a stage of the same spaces")
    for (before, previous), (plan, current) in zip(zip(plans, spaces), zip(plans[1:], spaces[1:])):
        if plan.handover.optimizer and (previous != current or before.algo.name != plan.algo.name
                                        or before.algo.policy_kwargs != plan.algo.policy_kwargs):
            raise MyorlError(f"stage '{plan.name}' has handover.optimizer=true, which continues the whole model of "
                             f"stage '{before.name}': it needs the same spaces, algo and policy_kwargs; "
                             "set handover.optimizer=false to start a new optimizer from the copied weights")
        if plan.handover.strict and previous != current:
            raise MyorlError(f"stage '{plan.name}' has other spaces than the stage before it "
                             f"(observation {previous[0]} -> {current[0]}, action {previous[1]} -> {current[1]}) "
                             "and handover.strict=true; set handover.strict=false to copy the matching weights")
