"""Config groups of the sweeper: `hydra/sweeper: optuna`, `hydra/sweeper/sampler: ...`, `hydra/sweeper/pruner: ...`.

Samplers and pruners are Optuna's own classes, built with Hydra's `instantiate` from their `_target_`:
`hydra/sweeper/sampler=random hydra.sweeper.sampler.seed=1`, `hydra/sweeper/pruner=successive_halving`.
"""

# No `from __future__ import annotations` here: Hydra's plugin scan runs this module without putting it in
# sys.modules, where dataclasses look up string annotations.

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


# --------------------------------------------------------------------------- pruners
@dataclass
class MedianPrunerConf:
    _target_: str = "optuna.pruners.MedianPruner"
    n_startup_trials: int = 5  # no pruning until this many trials have finished
    n_warmup_steps: int = 0  # curriculum timesteps before a trial may be pruned
    interval_steps: int = 1
    n_min_trials: int = 1


@dataclass
class NopPrunerConf:
    _target_: str = "optuna.pruners.NopPruner"


@dataclass
class SuccessiveHalvingPrunerConf:
    _target_: str = "optuna.pruners.SuccessiveHalvingPruner"
    min_resource: Any = "auto"  # "auto" or curriculum timesteps
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
    _target_: str = "hydra_plugins.myorl_optuna_sweeper.optuna_sweeper.OptunaSweeper"
    _recursive_: bool = False  # the sweeper builds the sampler (grid needs the search space) and passes the pruner on
    defaults: list[Any] = field(default_factory=lambda: [{"sampler": "tpe"}, {"pruner": "median"}, "_self_"])

    sampler: Any = MISSING
    pruner: Any = MISSING
    direction: str = "maximize"  # maximize | minimize the run's objective (the last stage's best metric)
    n_trials: int = 20  # trials this sweep process runs (each worker on a shared storage runs its own n_trials)
    n_jobs: int | None = None  # trials launched at once; null: as many as the launcher runs in parallel
    study_name: str | None = None  # null: the curriculum's name
    storage: str | None = None  # an Optuna storage URL; null: sqlite:///<sweep dir>/optuna.db
    max_failure_rate: float = 0.5  # stop once more than this fraction of n_trials has failed
    seeds_per_trial: int = 1  # the objective is the mean over this many seeds (seed, seed+1, ...): one job each
    params: dict[str, str] = field(default_factory=dict)  # the search space: key -> choice(...)/interval(...)/range(...)


SAMPLERS = {"tpe": TPESamplerConf, "random": RandomSamplerConf, "cmaes": CmaEsSamplerConf, "grid": GridSamplerConf}
PRUNERS = {"median": MedianPrunerConf, "none": NopPrunerConf, "successive_halving": SuccessiveHalvingPrunerConf,
           "hyperband": HyperbandPrunerConf, "threshold": ThresholdPrunerConf, "percentile": PercentilePrunerConf}

cs = ConfigStore.instance()
cs.store(group="hydra/sweeper", name="optuna", node=OptunaSweeperConf, provider="myorl")
for _name, _node in SAMPLERS.items():
    cs.store(group="hydra/sweeper/sampler", name=_name, node=_node, provider="myorl")
for _name, _node in PRUNERS.items():
    cs.store(group="hydra/sweeper/pruner", name=_name, node=_node, provider="myorl")
