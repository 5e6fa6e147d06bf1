"""Plans: every stage of a curriculum resolved and validated before anything trains.

A `StagePlan` is a stage with its run-wide defaults filled in (algo with the stage's overrides,
normalisation, hand-over, budget cap, seed). `plan_curriculum` checks every value of every stage,
the algo's hyperparameters included, so a typo in stage 3 fails before stage 1 starts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from myorl import algos
from myorl.config import (
    ConvergenceConfig,
    CurriculumConfig,
    EnvConfig,
    EvalConfig,
    HandoverConfig,
    NormalizeConfig,
    PPOConfig,
    RunSettings,
    StageConfig,
    algo_config,
)
from myorl.envs import make_env
from myorl.errors import MyorlError


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


def check_spaces(plans: list[StagePlan]) -> None:
    """Make each stage's env once: unknown ids fail now, and strict hand-overs need equal spaces."""
    spaces = []
    for plan in plans:
        env = make_env(plan.env)
        spaces.append((env.observation_space, env.action_space, plan.frame_stack))
        env.close()
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
