"""Typed configuration: the schema every Hydra config is validated against.

The dataclasses are plain Python, so the core can be driven without Hydra; `register_configs`
puts them into Hydra's ConfigStore so a typo'd key or a wrong type fails before any training.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from omegaconf import MISSING


class Metric(str, Enum):
    """What a stage's convergence check watches."""

    mean_reward = "mean_reward"  # mean episode return
    success_rate = "success_rate"  # fraction of episodes ending with info["is_success"]
    solved_fraction = "solved_fraction"  # fraction of the horizon with info["solved"] (MyoSuite)


class VecEnvKind(str, Enum):
    dummy = "dummy"
    subproc = "subproc"


class HandoverModel(str, Enum):
    best = "best"
    last = "last"


# --------------------------------------------------------------------------- algorithms
@dataclass
class NetArch:
    pi: list[int] = field(default_factory=lambda: [64, 64])
    vf: list[int] = field(default_factory=lambda: [64, 64])


@dataclass
class PolicyKwargs:
    net_arch: NetArch = field(default_factory=NetArch)
    activation_fn: str = "tanh"  # a torch.nn activation by name: tanh, relu, elu, leaky_relu, gelu, ...
    log_std_init: float = 0.0
    ortho_init: bool = True


@dataclass
class RecurrentPolicyKwargs(PolicyKwargs):
    lstm_hidden_size: int = 256
    n_lstm_layers: int = 1
    shared_lstm: bool = False  # actor and critic share one LSTM
    enable_critic_lstm: bool = True  # critic has its own LSTM (ignored when shared_lstm)


@dataclass
class PPOConfig:
    """Every constructor hyperparameter of SB3's PPO a user may tune."""

    name: str = "ppo"
    policy: str = "MlpPolicy"
    learning_rate: float = 3e-4
    lr_schedule: str = "constant"  # constant | linear (decays to 0 over the stage, as the Zoo's lin_)
    n_steps: int = 2048
    batch_size: int = 64
    n_epochs: int = 10
    gamma: float = 0.99
    gae_lambda: float = 0.95
    clip_range: float = 0.2
    clip_range_vf: float | None = None
    normalize_advantage: bool = True
    ent_coef: float = 0.0
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    use_sde: bool = False
    sde_sample_freq: int = -1
    target_kl: float | None = None
    stats_window_size: int = 100
    policy_kwargs: PolicyKwargs = field(default_factory=PolicyKwargs)


@dataclass
class RecurrentPPOConfig(PPOConfig):
    """sb3-contrib's RecurrentPPO: PPO's hyperparameters plus the LSTM's."""

    name: str = "recurrent_ppo"
    policy: str = "MlpLstmPolicy"
    n_steps: int = 128
    batch_size: int = 128
    policy_kwargs: RecurrentPolicyKwargs = field(default_factory=RecurrentPolicyKwargs)


# --------------------------------------------------------------------------- stages
@dataclass
class EnvConfig:
    id: str = MISSING  # a Gymnasium id, or "module:Id" to import the module that registers it
    kwargs: dict[str, Any] = field(default_factory=dict)  # passed to gymnasium.make(id, **kwargs)


@dataclass
class ConvergenceConfig:
    metric: Metric = Metric.mean_reward
    target: float | None = None  # end "converged/target" once the metric reaches this
    patience: int | None = None  # end "converged/plateau" after this many evaluations without improvement
    min_delta: float = 0.0  # an improvement must exceed this to count
    min_timesteps: int = 0  # no plateau ending before this many stage steps


@dataclass
class EvalConfig:
    freq: int = 10_000  # env steps (all envs together) between evaluations
    episodes: int = 5
    deterministic: bool = True


@dataclass
class NormalizeConfig:
    obs: bool = False
    reward: bool = False
    clip_obs: float = 10.0
    clip_reward: float = 10.0


@dataclass
class HandoverConfig:
    model: HandoverModel = HandoverModel.best  # which of the stage's models the next stage starts from
    strict: bool = False  # refuse (instead of partially copying) when spaces or tensors differ


@dataclass
class StageConfig:
    name: str = MISSING
    env: EnvConfig = MISSING
    max_timesteps: int = MISSING
    convergence: ConvergenceConfig = field(default_factory=ConvergenceConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    algo: dict[str, Any] = field(default_factory=dict)  # overrides of the algo's hyperparameters
    normalize: NormalizeConfig | None = None  # None: the run's `normalize`
    frame_stack: int | None = None  # PPO only: stack this many observations
    handover: HandoverConfig | None = None  # None: the run's `handover`


@dataclass
class CurriculumConfig:
    name: str = MISSING
    stages: list[StageConfig] = MISSING


# --------------------------------------------------------------------------- tracking
@dataclass
class TrackingConfig:
    backend: str = "none"  # none | wandb
    mode: str = "offline"  # offline | online | disabled (wandb's modes)
    project: str = "myorl"
    entity: str | None = None
    tags: list[str] = field(default_factory=list)
    notes: str | None = None
    log_models: bool = True  # the stage's models and statistics as a W&B model artifact


# --------------------------------------------------------------------------- sweeps
@dataclass
class OptunaTrialConfig:
    """The Optuna trial this run belongs to: set by the sweeper (`hydra/sweeper=optuna`) for each job."""

    storage: str | None = None  # Optuna storage URL; null: not a trial
    study_name: str | None = None
    trial: int | None = None  # the trial's number in the study
    report: bool = True  # report evaluations as intermediate values (a trial's first seed); else only check pruning
    pruner: dict[str, Any] = field(default_factory=dict)  # the study's pruner, as `_target_` and its arguments


# --------------------------------------------------------------------------- the run
@dataclass
class CheckpointConfig:
    freq: int | None = None  # env steps between checkpoints; None: at every evaluation
    keep: int = 2  # newest checkpoints kept per stage


@dataclass
class RunSettings:
    """How to run, independent of what is trained."""

    seed: int = 0
    n_envs: int = 1
    vec_env: VecEnvKind = VecEnvKind.dummy
    device: str = "cpu"
    max_timesteps: int | None = None  # caps every stage's budget (smoke runs)
    torch_threads: int = 1  # small MLPs train fastest, and reproducibly, on one thread
    progress: bool = True  # a progress bar per stage
    checkpoint: CheckpointConfig = field(default_factory=CheckpointConfig)


@dataclass
class MyorlConfig(RunSettings):
    """The primary config (`conf/config.yaml`)."""

    curriculum: CurriculumConfig = MISSING
    algo: Any = MISSING  # PPOConfig or RecurrentPPOConfig, chosen by the `algo` group
    normalize: NormalizeConfig = field(default_factory=NormalizeConfig)
    handover: HandoverConfig = field(default_factory=HandoverConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    resume: bool = False  # continue the run in hydra.run.dir: finished stages skipped, the rest from checkpoints
    optuna: OptunaTrialConfig = field(default_factory=OptunaTrialConfig)


ALGO_SCHEMAS: dict[str, type[PPOConfig]] = {"ppo": PPOConfig, "recurrent_ppo": RecurrentPPOConfig}


def register_configs() -> None:
    """Put the schemas into Hydra's ConfigStore (called by `myorl.run` only)."""
    from hydra.core.config_store import ConfigStore

    cs = ConfigStore.instance()
    cs.store(name="myorl_schema", node=MyorlConfig)
    for name, schema in ALGO_SCHEMAS.items():
        cs.store(group="algo", name=f"{name}_schema", node=schema)
    cs.store(group="tracking", name="tracking_schema", node=TrackingConfig)
