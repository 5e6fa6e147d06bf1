"""Config groups of the sweeper: `hydra/sweeper: optuna`, `hydra/sweeper/sampler: ...`, `hydra/sweeper/pruner: ...`,
and `hydra/sweeper: replay` (see `replay.py`).

Samplers and pruners are Optuna's own classes, built with Hydra's `instantiate` from their `_target_`:
`hydra/sweeper/sampler=random hydra.sweeper.sampler.seed=1`, `hydra/sweeper/pruner=successive_halving`.
Every Optuna argument not listed here can be added with `+hydra.sweeper.sampler.NAME=VALUE`.
"""

# No `from __future__ import annotations` here: Hydra's plugin scan runs this module without putting it in
# sys.modules, where dataclasses look up string annotations. Nothing heavy is imported here either: Hydra
# scans this module at the start of every Hydra app in the environment.

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING


# --------------------------------------------------------------------------- samplers
@dataclass
class TPESamplerConf:
    _target_: str = "optuna.samplers.TPESampler"
    seed: int | None = None  # set for a reproducible single-process sweep; leave null with several workers
    n_startup_trials: int = 10  # random trials before TPE takes over
    multivariate: bool | None = None
    constant_liar: bool = True  # trials running at once (a batch, other workers) are not proposed alike


@dataclass
class RandomSamplerConf:
    _target_: str = "optuna.samplers.RandomSampler"
    seed: int | None = None


@dataclass
class CmaEsSamplerConf:
    """One objective only (Optuna's CMA-ES has no multi-objective mode)."""

    _target_: str = "optuna.samplers.CmaEsSampler"
    seed: int | None = None
    n_startup_trials: int = 1
    sigma0: float | None = None
    popsize: int | None = None
    consider_pruned_trials: bool = False
    use_separable_cma: bool = False
    with_margin: bool = False


@dataclass
class GridSamplerConf:
    """Every combination of the `choice`/`range` params once; the sweeper fills in `search_space`."""

    _target_: str = "optuna.samplers.GridSampler"
    seed: int | None = None


@dataclass
class NSGAIISamplerConf:
    """The genetic algorithm for several objectives (`hydra.sweeper.direction=[minimize, maximize]`)."""

    _target_: str = "optuna.samplers.NSGAIISampler"
    seed: int | None = None
    population_size: int = 50  # trials per generation
    mutation_prob: float | None = None  # null: 1 / number of params
    crossover_prob: float = 0.9
    swapping_prob: float = 0.5


@dataclass
class GPSamplerConf:
    """Gaussian-process Bayesian optimisation (Optuna's GPSampler, on torch and scipy): few, costly trials."""

    _target_: str = "optuna.samplers.GPSampler"
    seed: int | None = None
    n_startup_trials: int = 10  # random trials before the GP takes over
    deterministic_objective: bool = False  # true: the objective has no noise (same params, same value)


@dataclass
class QMCSamplerConf:
    """Quasi-Monte Carlo: low-discrepancy points that cover the space more evenly than random ones."""

    _target_: str = "optuna.samplers.QMCSampler"
    qmc_type: str = "sobol"  # sobol | halton
    scramble: bool = False
    seed: int | None = None


# --------------------------------------------------------------------------- pruners
@dataclass
class MedianPrunerConf:
    _target_: str = "optuna.pruners.MedianPruner"
    n_startup_trials: int = 5  # no pruning until this many trials have finished
    n_warmup_steps: int = 0  # steps (as the job reports them) before a trial may be pruned
    interval_steps: int = 1
    n_min_trials: int = 1


@dataclass
class NopPrunerConf:
    _target_: str = "optuna.pruners.NopPruner"


@dataclass
class SuccessiveHalvingPrunerConf:
    _target_: str = "optuna.pruners.SuccessiveHalvingPruner"
    min_resource: Any = "auto"  # "auto" or steps
    reduction_factor: int = 4
    min_early_stopping_rate: int = 0
    bootstrap_count: int = 0


@dataclass
class HyperbandPrunerConf:
    _target_: str = "optuna.pruners.HyperbandPruner"
    min_resource: int = 1
    max_resource: Any = "auto"
    reduction_factor: int = 3
    bootstrap_count: int = 0


@dataclass
class ThresholdPrunerConf:
    _target_: str = "optuna.pruners.ThresholdPruner"
    lower: float | None = None  # prune once an evaluation is below this ...
    upper: float | None = None  # ... or above this
    n_warmup_steps: int = 0
    interval_steps: int = 1


@dataclass
class PercentilePrunerConf:
    _target_: str = "optuna.pruners.PercentilePruner"
    percentile: float = 25.0
    n_startup_trials: int = 5
    n_warmup_steps: int = 0
    interval_steps: int = 1
    n_min_trials: int = 1


# --------------------------------------------------------------------------- the sweeper
@dataclass
class OptunaSweeperConf:
    """`hydra/sweeper=optuna`. The keys are documented in `optuna_sweeper.py` and the README (Sweeps)."""

    _target_: str = "hydra_plugins.myorl_optuna_sweeper.optuna_sweeper.OptunaSweeper"
    _recursive_: bool = False  # the sweeper builds the sampler (grid needs the search space) and passes the pruner on
    defaults: list[Any] = field(default_factory=lambda: [{"sampler": "tpe"}, {"pruner": "median"}, "_self_"])

    sampler: Any = MISSING
    pruner: Any = MISSING
    # minimize | maximize, or a list of them, one per objective. null: maximize for apps that declare the trial
    # link (an `optuna.storage` key in their config, as myorl's do), else minimize (hydra-optuna-sweeper's default)
    direction: Any = None
    n_trials: int = 20  # trials this sweep process runs (each worker on a shared storage runs its own n_trials)
    n_jobs: int | None = None  # trials launched at once; null: as many as the launcher runs in parallel
    study_name: str | None = None  # null: the app's optuna.study_name, else its curriculum.name, else the job name
    storage: str | None = None  # an Optuna storage URL; null: sqlite:///<sweep dir>/optuna.db
    max_failure_rate: float = 0.5  # 0..1: stop once more than this fraction of n_trials has failed
    seeds_per_trial: int = 1  # the objective is the mean over this many seeds (seed, seed+1, ...): one job each
    params: dict[str, str] = field(default_factory=dict)  # the search space: key -> choice(...)/interval(...)/range(...)
    custom_search_space: str | None = None  # module.function(cfg, trial), called after the params are sampled
    heartbeat_interval: int | None = 60  # seconds between heartbeats of running trials; null: no heartbeat
    grace_period: int | None = None  # seconds without a heartbeat before a trial counts as dead; null: 2 x interval
    max_retry: int = 3  # times a dead worker's trial is re-run (same params) by a live worker; 0: never
    max_total_trials: int | None = None  # stop asking once the study holds this many trials (all workers together)
    plots: bool = True  # optimisation history, param importances, parallel coordinates (or Pareto front) as PNG


@dataclass
class ReplaySweeperConf(OptunaSweeperConf):
    """`hydra/sweeper=replay` (`replay.py`): Hydra's basic sweeper, with the Optuna sweeper's keys (all ignored), so
    a search-space file that sets them composes when a trial's configuration is re-run as a grid."""

    _target_: str = "hydra_plugins.myorl_optuna_sweeper.replay.ReplaySweeper"
    max_batch_size: int | None = None  # the basic sweeper's key: jobs launched at once; null: all


SAMPLERS = {"tpe": TPESamplerConf, "random": RandomSamplerConf, "cmaes": CmaEsSamplerConf, "grid": GridSamplerConf,
            "nsgaii": NSGAIISamplerConf, "gp": GPSamplerConf, "qmc": QMCSamplerConf}
PRUNERS = {"median": MedianPrunerConf, "none": NopPrunerConf, "successive_halving": SuccessiveHalvingPrunerConf,
           "hyperband": HyperbandPrunerConf, "threshold": ThresholdPrunerConf, "percentile": PercentilePrunerConf}

cs = ConfigStore.instance()
cs.store(group="hydra/sweeper", name="optuna", node=OptunaSweeperConf, provider="myorl_optuna_sweeper")
cs.store(group="hydra/sweeper", name="replay", node=ReplaySweeperConf, provider="myorl_optuna_sweeper")
for _name, _node in SAMPLERS.items():
    cs.store(group="hydra/sweeper/sampler", name=_name, node=_node, provider="myorl_optuna_sweeper")
for _name, _node in PRUNERS.items():
    cs.store(group="hydra/sweeper/pruner", name=_name, node=_node, provider="myorl_optuna_sweeper")
