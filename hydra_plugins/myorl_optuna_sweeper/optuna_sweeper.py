"""The Optuna sweeper: ask Optuna for trials, launch them through Hydra's launcher, tell Optuna the outcome.

Glue only: Optuna samples, prunes and stores; Hydra's launcher (basic, joblib, submitit) runs the jobs; the
job side (`myorl.sweeps`) reports evaluations to its trial. What this adds where the libraries fall short:
- one job per seed of a trial, the trial's value being the mean over its seeds;
- the trial link (storage, study, trial number, pruner) passed to each job as overrides, so jobs in other
  processes or on other machines report to their trial and get pruned;
- a failed or NaN job fails its trial, not the sweep, up to `max_failure_rate`;
- trials launched in batches as large as the launcher's parallelism (Hydra launchers run a batch, then return).
"""

from __future__ import annotations

import logging
import math
import os
import random
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra.core.override_parser.types import Quote, QuotedString, Transformer
from hydra.core.plugins import Plugins
from hydra.core.utils import JobReturn, JobStatus
from hydra.errors import HydraException
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from . import search_space
from .search_space import SearchSpace

log = logging.getLogger(__name__)

DIRECTIONS = ("maximize", "minimize")


class OptunaSweeper(Sweeper):
    def __init__(self, sampler: DictConfig, pruner: DictConfig, direction: str, n_trials: int,
                 n_jobs: int | None, study_name: str | None, storage: str | None, max_failure_rate: float,
                 seeds_per_trial: int, params: DictConfig | None) -> None:
        if direction not in DIRECTIONS:
            raise HydraException(f"hydra.sweeper.direction must be one of {DIRECTIONS}, got '{direction}'")
        if seeds_per_trial < 1 or n_trials < 1:
            raise HydraException("hydra.sweeper.n_trials and hydra.sweeper.seeds_per_trial must be at least 1")
        self.sampler_conf, self.pruner_conf = sampler, pruner
        self.direction, self.n_trials, self.n_jobs = direction, n_trials, n_jobs
        self.study_name, self.storage = study_name, storage
        self.max_failure_rate, self.seeds_per_trial = max_failure_rate, seeds_per_trial
        self.params = dict(params or {})
        self.job_idx = 0

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.hydra_context, self.config = hydra_context, config
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config)
        self.sweep_dir = Path(str(config.hydra.sweep.dir)).absolute()

    # ------------------------------------------------------------------------------------------ the sweep
    def sweep(self, arguments: list[str]) -> list[JobReturn]:
        from myorl.integrations import optuna as sweeps

        space = search_space.parse(self.params, arguments, self.hydra_context.config_loader)
        seeds = self._seeds(space)
        self.sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, self.sweep_dir / "multirun.yaml")
        storage = self.storage or f"sqlite:///{self.sweep_dir / 'optuna.db'}"
        study_name = self.study_name or OmegaConf.select(self.config, "curriculum.name", default=None) or "myorl"
        study = self._study(study_name, storage, space)
        link = [f"optuna.storage={_quoted(storage)}", f"optuna.study_name={_quoted(study_name)}",
                f"++optuna.pruner={Transformer.str(OmegaConf.to_container(self.pruner_conf, resolve=True))}"]
        per_batch = self._trials_per_batch()
        log.info("Optuna study '%s' in %s: %d trials, %d at a time, %d seed(s) each, %s", study_name, storage,
                 self.n_trials, per_batch, len(seeds), self.direction)
        returns: list[JobReturn] = []
        done = failed = 0
        try:
            while done < self.n_trials and not _exhausted(study):
                trials = [study.ask(space.distributions) for _ in range(min(per_batch, self.n_trials - done))]
                failed += self._run_batch(study, trials, space, seeds, link, returns)
                done += len(trials)
                if failed > self.max_failure_rate * self.n_trials:
                    raise HydraException(
                        f"{failed} of {done} trials failed, more than max_failure_rate={self.max_failure_rate} "
                        f"of n_trials={self.n_trials}: stopping the sweep (each trial's fail_reason is in the "
                        f"study's user attrs, its jobs' logs in {self.sweep_dir})")
        finally:
            found = sweeps.write_results(study, self.sweep_dir / "optimization_results.yaml")
            log.info("Trials of study '%s':\n%s", study_name, sweeps.trials_table(study))
            log.info("Best value %s with %s (%s); optuna-dashboard %s", found["best_value"], found["best_params"],
                     self.sweep_dir / "optimization_results.yaml", storage)
        return returns

    def _run_batch(self, study: Any, trials: list[Any], space: SearchSpace, seeds: list[int | None],
                   link: list[str], returns: list[JobReturn]) -> int:
        """Launch the trials' jobs, tell Optuna how each trial ended; returns how many failed."""
        from optuna.trial import TrialState

        jobs, launched = [], []
        for trial in trials:
            overrides = [[*space.fixed, *space.overrides(trial.params), *link, f"optuna.trial={trial.number}",
                          *([f"seed={seed}"] if seed is not None else []), f"optuna.report={str(i == 0).lower()}"]
                         for i, seed in enumerate(seeds)]
            problem = self._composition_problem(overrides[0])
            if problem:  # Hydra's launchers raise on a job that does not compose: fail the trial instead
                self._tell(study, trial, TrialState.FAIL, None, {"fail_reason": problem})
                continue
            jobs += overrides
            launched.append(trial)
        if not jobs:
            return len(trials)
        try:
            results = list(self.launcher.launch(jobs, initial_job_idx=self.job_idx))
        except Exception as exc:  # the launcher itself failed (e.g. a submitit job died): fail the batch, go on
            log.error("launching trials %s failed: %s", [t.number for t in launched], exc)
            for trial in launched:
                self._tell(study, trial, TrialState.FAIL, None, {"fail_reason": f"launcher: {exc}"})
            return len(trials)
        except BaseException:  # Ctrl-C: leave no trial RUNNING
            for trial in launched:
                self._tell(study, trial, TrialState.FAIL, None, {"fail_reason": "interrupted"})
            raise
        finally:
            self.job_idx += len(jobs)
        returns += results
        failed = len(trials) - len(launched)
        k = len(seeds)
        for n, trial in enumerate(launched):
            state, value, attrs = judge(results[n * k:(n + 1) * k])
            if seeds[0] is not None:
                attrs["seeds"] = seeds
            self._tell(study, trial, state, value, attrs)
            failed += state == TrialState.FAIL
        return failed

    def _tell(self, study: Any, trial: Any, state: Any, value: float | None, attrs: dict[str, Any]) -> None:
        attrs["sweep_dir"] = str(self.sweep_dir)
        for key, item in attrs.items():
            trial.set_user_attr(key, item)
        try:
            study.tell(trial, value, state=state)
        except RuntimeError as exc:
            # Optuna's GridSampler calls study.stop() after its last grid point, which Optuna allows only inside
            # study.optimize. tell() stores the trial before that; `_exhausted` ends the sweep instead.
            if "Study.stop" not in str(exc):
                raise
        shown = "" if value is None else f" {value:.6g}"
        reason = f" ({attrs['fail_reason']})" if "fail_reason" in attrs else ""
        log.info("trial %d %s%s%s: %s", trial.number, state.name, shown, reason, trial.params)

    # ------------------------------------------------------------------------------------------ set-up
    def _study(self, study_name: str, storage: str, space: SearchSpace) -> Any:
        import optuna
        import sqlalchemy.exc

        sampler_conf = OmegaConf.to_container(self.sampler_conf, resolve=True)
        if str(sampler_conf["_target_"]).endswith("GridSampler"):
            sampler_conf["search_space"] = space.grid()
        sampler = instantiate(sampler_conf, _convert_="all")
        pruner = instantiate(self.pruner_conf)
        for attempt in range(1, 5):
            try:
                return optuna.create_study(study_name=study_name, storage=storage, sampler=sampler, pruner=pruner,
                                           direction=self.direction, load_if_exists=True)
            except sqlalchemy.exc.SQLAlchemyError as exc:
                # Workers that start together on a fresh database race to create Optuna's tables; the loser
                # gets an integrity error from the database's catalog. Optuna does not retry: do it here.
                if attempt == 4:
                    raise
                log.warning("creating the study failed (%s), retrying", str(exc).splitlines()[0])
                time.sleep(attempt * (0.5 + random.random()))
        raise AssertionError("unreachable")

    def _seeds(self, space: SearchSpace) -> list[int | None]:
        """The seeds of each trial: None (the config's seed) for one, else seed, seed+1, ..."""
        if self.seeds_per_trial == 1:
            return [None]
        if "seed" in space.distributions:
            raise HydraException("seed is a searched param and hydra.sweeper.seeds_per_trial > 1: choose one")
        space.fixed = [o for o in space.fixed if o.lstrip("+").split("=", 1)[0] != "seed"]
        base = int(OmegaConf.select(self.config, "seed", default=0))
        return [base + i for i in range(self.seeds_per_trial)]

    def _trials_per_batch(self) -> int:
        """`n_jobs`, or as many trials as the launcher runs at once (joblib's n_jobs, submitit's array_parallelism)."""
        if self.n_jobs:
            return max(1, self.n_jobs)
        launcher = self.config.hydra.launcher
        parallel = OmegaConf.select(launcher, "n_jobs", default=None)
        if parallel is not None and parallel < 0:  # joblib's convention: -1 is every CPU
            parallel = max(1, (os.cpu_count() or 1) + 1 + parallel)
        if parallel is None:
            parallel = OmegaConf.select(launcher, "array_parallelism", default=None)
        return max(1, (parallel or 1) // self.seeds_per_trial)

    def _composition_problem(self, overrides: Sequence[str]) -> str | None:
        try:
            self.hydra_context.config_loader.load_sweep_config(self.config, list(overrides))
        except Exception as exc:  # noqa: BLE001 - any composition error fails the trial
            return f"{type(exc).__name__}: {exc}"
        return None


def judge(returns: Sequence[JobReturn]) -> tuple[Any, float | None, dict[str, Any]]:
    """A trial's state, value and user attrs from its jobs (one per seed).

    Any job failed (raised, or returned no finite objective): FAIL. Else any pruned: PRUNED (Optuna records
    the last reported value; `partial_objective` is the mean best metric the pruned runs reached). Else
    COMPLETE with the mean objective over the seeds.
    """
    import optuna
    from optuna.trial import TrialState

    objectives, partial, failures, pruned = [], [], [], False
    run_dirs = [str(r.hydra_cfg.hydra.runtime.output_dir) if r.hydra_cfg else None for r in returns]
    for ret, run_dir in zip(returns, run_dirs):
        # JobReturn.return_value re-raises a job's exception; its stored value is what was raised.
        value = ret._return_value
        if ret.status == JobStatus.COMPLETED:
            if isinstance(value, (int, float)) and math.isfinite(value):
                objectives.append(float(value))
            else:
                failures.append(f"objective {value!r}: no finite result (NaN, or no evaluation)")
        elif isinstance(value, optuna.TrialPruned):
            pruned = True
            partial += _objective_on_disk(run_dir)
        else:
            failures.append(f"{type(value).__name__}: {value}")
    attrs: dict[str, Any] = {"run_dirs": run_dirs, "objectives": objectives}
    if failures:
        return TrialState.FAIL, None, {**attrs, "fail_reason": "; ".join(dict.fromkeys(failures))}
    if pruned:
        done = objectives + partial
        return TrialState.PRUNED, None, {**attrs, "partial_objective": sum(done) / len(done) if done else None}
    return TrialState.COMPLETE, sum(objectives) / len(objectives), attrs


def _objective_on_disk(run_dir: str | None) -> list[float]:
    """The best metric a stopped run had reached, from its `summary.json`."""
    import json

    try:
        objective = json.loads((Path(run_dir) / "summary.json").read_text())["objective"]  # type: ignore[arg-type]
    except (TypeError, OSError, ValueError, KeyError):
        return []
    return [objective] if isinstance(objective, (int, float)) and math.isfinite(objective) else []


def _exhausted(study: Any) -> bool:
    is_exhausted = getattr(study.sampler, "is_exhausted", None)  # Optuna's GridSampler
    return bool(is_exhausted and is_exhausted(study))


def _quoted(text: str) -> str:
    return QuotedString(text=text, quote=Quote.single).with_quotes()
