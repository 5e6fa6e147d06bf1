"""Typed configuration: the schema every Hydra config is validated against.

The dataclasses are plain Python, so the core can be driven without Hydra; `register_configs`
puts them into Hydra's ConfigStore so a typo'd key or a wrong type fails before any training.
`to_config` turns a composed (or saved) config into these dataclasses without importing the trainer,
so read-only tools parse a run's `experiment.yaml` the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from enum import Enum
from typing import Any

from omegaconf import MISSING, DictConfig, OmegaConf
from omegaconf.errors import ConfigKeyError, OmegaConfBaseException

from myorl.errors import MyorlError

# Marks a field that says how a run is executed, not what it trains (device, threads, progress bar, ...):
# runs that differ only in such fields (and the seed) belong together when compared.
HOW_IT_RUNS = {"how_it_runs": True}


class Metric(str, Enum):
    """What a stage's convergence check watches."""

    mean_reward = "mean_reward"  # mean episode return
    success_rate = "success_rate"  # fraction of episodes ending with info["is_success"]
    solved_fraction = "solved_fraction"  # fraction of the horizon with info["solved"] (MyoSuite)


class VecEnvKind(str, Enum):
    auto = "auto"  # several envs: a few worker processes, one per core (BatchedSubprocVecEnv); one env: dummy
    dummy = "dummy"  # every env in the main process (SB3's DummyVecEnv)
    subproc = "subproc"  # one process per env (SB3's SubprocVecEnv)


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
    fast: bool = True  # myorl's faster learner (same maths, see myorl/algos/); false: stock SB3 / sb3-contrib
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


ALGO_SCHEMAS: dict[str, type[PPOConfig]] = {"ppo": PPOConfig, "recurrent_ppo": RecurrentPPOConfig}


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
    floor: float | None = None  # a stage whose best metric never exceeded this ends "stalled", not converged


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

    @property
    def enabled(self) -> bool:
        return self.obs or self.reward


@dataclass
class HandoverConfig:
    model: HandoverModel = HandoverModel.best  # which of the stage's models the next stage starts from
    strict: bool = False  # refuse (instead of partially copying) when spaces or tensors differ
    optimizer: bool = False  # continue the whole saved model, Adam's moments included (same spaces and network)


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
    freq: int | None = None  # env steps between checkpoints (at rollout boundaries); None: after every evaluation
    keep: int = 2  # newest checkpoints kept per stage


@dataclass
class RunSettings:
    """How to run, independent of what is trained (the seed, envs and budget cap do change results)."""

    seed: int = 0
    n_envs: int = 1
    vec_env: VecEnvKind = field(default=VecEnvKind.auto, metadata=HOW_IT_RUNS)
    device: str = field(default="cpu", metadata=HOW_IT_RUNS)
    max_timesteps: int | None = None  # caps every stage's budget (smoke runs)
    torch_threads: int = field(default=1, metadata=HOW_IT_RUNS)  # small MLPs train fastest on one thread
    progress: bool = field(default=True, metadata=HOW_IT_RUNS)  # a progress bar per stage
    checkpoint: CheckpointConfig = field(default_factory=CheckpointConfig, metadata=HOW_IT_RUNS)


@dataclass
class MyorlConfig(RunSettings):
    """The primary config (`conf/config.yaml`)."""

    curriculum: CurriculumConfig = MISSING
    algo: Any = MISSING  # PPOConfig or RecurrentPPOConfig, chosen by the `algo` group
    normalize: NormalizeConfig = field(default_factory=NormalizeConfig)
    handover: HandoverConfig = field(default_factory=HandoverConfig)
    on_stall: str = "stop"  # stop | continue: what a stalled stage does to the rest of the curriculum
    init_from: str | None = None  # a stage dir (<run>/stages/NN_name): the first trained stage starts from it
    init_from_model: HandoverModel = HandoverModel.best  # which of init_from's models
    start_stage: str | None = None  # a stage's name or index: train from it on (the ones before are skipped)
    tracking: TrackingConfig = field(default_factory=TrackingConfig, metadata=HOW_IT_RUNS)
    resume: bool = field(default=False, metadata=HOW_IT_RUNS)  # continue the run in hydra.run.dir
    optuna: OptunaTrialConfig = field(default_factory=OptunaTrialConfig, metadata=HOW_IT_RUNS)


def how_it_runs_keys(schema: type = MyorlConfig) -> set[str]:
    """Top-level keys that say how a run executed, not what it trained (from the schema's field metadata)."""
    return {f.name for f in fields(schema) if f.metadata.get("how_it_runs")}


def algo_config(algo: PPOConfig | dict[str, Any] | Any, overrides: dict[str, Any] | None = None,
                where: str = "algo") -> PPOConfig:
    """The algo config with a stage's overrides applied, validated against the algo's schema."""
    base = OmegaConf.to_container(OmegaConf.structured(algo), resolve=True, enum_to_str=True)
    assert isinstance(base, dict)
    name = base.get("name", "ppo")
    if name not in ALGO_SCHEMAS:
        raise MyorlError(f"unknown algo '{name}'; choose one of {sorted(ALGO_SCHEMAS)} (algo=NAME)")
    try:
        merged = OmegaConf.merge(OmegaConf.structured(ALGO_SCHEMAS[name]), base, overrides or {})
    except OmegaConfBaseException as exc:
        key = f" (algo.{exc.full_key})" if getattr(exc, "full_key", None) else ""
        valid = (f" (valid keys: {', '.join(f.name for f in fields(ALGO_SCHEMAS[name]))})"
                 if isinstance(exc, ConfigKeyError) else "")
        raise MyorlError(f"{where}: {str(exc).splitlines()[0]}{key}{valid}") from None
    config = OmegaConf.to_object(merged)
    assert isinstance(config, PPOConfig)
    return config


def to_config(cfg: MyorlConfig | DictConfig | dict[str, Any]) -> MyorlConfig:
    """A composed Hydra config, a saved `experiment.yaml` or a dict of the same keys, as `MyorlConfig`.

    The algo section is typed by its `name` (PPOConfig or RecurrentPPOConfig). Schema violations raise
    OmegaConf's errors (Hydra reports them during composition; `rundir` wraps them for saved files).
    """
    merged = OmegaConf.merge(OmegaConf.structured(MyorlConfig), cfg)
    algo = algo_config(OmegaConf.to_container(merged.algo, resolve=True))
    merged.algo = {}
    config = OmegaConf.to_object(merged)
    assert isinstance(config, MyorlConfig)
    config.algo = algo
    return config


def flatten(node: Any, prefix: str = "") -> dict[str, Any]:
    """A nested dict/list config as {'a.b.0.c': leaf}; leaves are kept as they are."""
    if isinstance(node, dict):
        items: Any = node.items()
    elif isinstance(node, list):
        items = enumerate(node)
    else:
        return {prefix: node}
    out: dict[str, Any] = {}
    for key, value in items:
        out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


def register_configs() -> None:
    """Put the schemas into Hydra's ConfigStore (called by `myorl.run` only)."""
    from hydra.core.config_store import ConfigStore

    cs = ConfigStore.instance()
    cs.store(name="myorl_schema", node=MyorlConfig)
    for name, schema in ALGO_SCHEMAS.items():
        cs.store(group="algo", name=f"{name}_schema", node=schema)
    cs.store(group="tracking", name="tracking_schema", node=TrackingConfig)
