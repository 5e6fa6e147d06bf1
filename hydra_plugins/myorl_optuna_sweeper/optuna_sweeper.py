"""`hydra/sweeper=optuna`: the Hydra Sweeper plugin class. Thin: the work is in `_impl.py`.

Works for any Hydra app (`python my_app.py -m hydra/sweeper=optuna 'x=interval(-5, 5)'`). The app's task
function returns the objective: anything `float()` converts (a Python, numpy or 0-d torch number), or a
list/tuple of them, one per objective, with `hydra.sweeper.direction=[minimize, maximize]`.

Keys (`hydra.sweeper.`, defaults in `config.py`):
- `direction`: minimize | maximize | a list, one per objective. Default null: **maximize** for apps that declare
  the trial link (below; myorl's runs, whose objective is an evaluation return), else **minimize** (as
  hydra-optuna-sweeper). An explicit value always wins. Several objectives: the results hold the Pareto front
  (`study.best_trials`); Optuna cannot prune them, so the pruner is not used (a warning says so).
- `sampler` (group `hydra/sweeper/sampler=tpe|random|cmaes|grid|nsgaii|gp|qmc`), `pruner` (group
  `hydra/sweeper/pruner=median|none|successive_halving|hyperband|threshold|percentile`): Optuna's classes.
- `n_trials` (20), `n_jobs` (null: the launcher's parallelism), `study_name` (null: the app's own
  `optuna.study_name`, else its `curriculum.name`, else the job name), `storage` (null:
  `sqlite:///<sweep dir>/optuna.db`), `params` (the search space, see `search_space.py`).
- `max_failure_rate` (0.5, within 0..1): the sweep stops once more than this fraction of `n_trials` failed.
  A sweep none of whose trials completed exits non-zero whatever the rate.
- `seeds_per_trial` (1): one job per seed (`seed=<seed + i>`, the app needs a top-level `seed`), mean value.
- `custom_search_space` (null): `module.function`, called as `function(cfg, trial)` after the params are
  sampled, to suggest more (`trial.suggest_float("z", ...)`); each param becomes an override `name=value`.
- `heartbeat_interval` (60 s; null: off), `grace_period` (null: 2 x interval), `max_retry` (3): while a batch
  runs the sweeper records its trials' heartbeats; before asking, any worker fails the trials of workers that
  stopped beating (killed, node lost) and enqueues them again with the same params, up to `max_retry` times
  per trial, for the next live worker to run (`_storage.py`).
- `max_total_trials` (null): no more trials are asked once the study holds this many (all workers of a shared
  study together; workers asking at the same moment may each add one more batch).
- `plots` (true): PNGs of the study in the sweep dir at the end.

The trial link: an app whose config has an `optuna` node with a `storage` key (myorl's primary config) gets,
for each job, those of `optuna.storage`, `optuna.study_name`, `optuna.trial`, `optuna.report` and
`optuna.pruner` that it declares, so its jobs can report intermediate values to their trial and be pruned
(myorl's job side: `myorl/sweeps.py`). Other apps get none of them. Multi-objective sweeps send no link.

Bad settings or search spaces stop the sweep before anything is written, with one line (`SweepError`).
"""

from typing import Any

from hydra.core.utils import JobReturn
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig


class OptunaSweeper(Sweeper):
    """Hydra's entry point; settings are checked in `setup` (an error raised by `__init__` would reach the user
    wrapped in Hydra's multi-line instantiation error)."""

    def __init__(self, sampler: Any, pruner: Any, direction: Any, n_trials: int, n_jobs: int | None,
                 study_name: str | None, storage: str | None, max_failure_rate: float, seeds_per_trial: int,
                 params: DictConfig | None, custom_search_space: str | None = None,
                 heartbeat_interval: int | None = 60, grace_period: int | None = None, max_retry: int = 3,
                 max_total_trials: int | None = None, plots: bool = True) -> None:
        from ._impl import OptunaSweeperImpl  # Optuna is imported only by sweeps, not by Hydra's plugin scan

        self.sweeper = OptunaSweeperImpl(
            sampler=sampler, pruner=pruner, direction=direction, n_trials=n_trials, n_jobs=n_jobs,
            study_name=study_name, storage=storage, max_failure_rate=max_failure_rate,
            seeds_per_trial=seeds_per_trial, params=params, custom_search_space=custom_search_space,
            heartbeat_interval=heartbeat_interval, grace_period=grace_period, max_retry=max_retry,
            max_total_trials=max_total_trials, plots=plots)

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.sweeper.setup(hydra_context=hydra_context, task_function=task_function, config=config)

    def sweep(self, arguments: list[str]) -> list[JobReturn]:
        return self.sweeper.sweep(arguments)
