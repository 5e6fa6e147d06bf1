"""The sweep: ask Optuna for a batch of trials, launch their jobs through Hydra's launcher, tell Optuna the outcome.

Glue only: Optuna samples, prunes and stores; Hydra's launcher (basic, joblib, submitit) runs the jobs. What this
adds where the libraries fall short:
- every setting and the search space checked before anything is written: a bad one is one line (`SweepError`);
- one job per seed of a trial, the trial's value(s) being the mean over its seeds;
- the trial link, for apps that declare it (see `declares_trial_link`): storage, study, trial number and pruner
  as overrides to each job, so a job in another process or on another machine reports to its trial and gets
  pruned. Apps without it get no such override;
- a job that raises or returns no finite number fails its trial, not the sweep, up to `max_failure_rate`; its
  exception and traceback are logged with the trial number (console and `<sweep dir>/optuna_sweeper.log`);
- trials launched in batches as large as the launcher's parallelism (Hydra launchers run a batch, then return);
- heartbeats for the running batch; dead workers' trials failed and retried (`_storage`); a study-wide cap;
- results, the trials table and plots at the end; a `SweepError` when none of the sweep's trials completed.
"""

from __future__ import annotations

import importlib
import logging
import math
import os
import traceback
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra.core.override_parser.types import Quote, QuotedString, Transformer
from hydra.core.plugins import Plugins
from hydra.core.utils import JobReturn, JobStatus
from hydra.types import HydraContext, TaskFunction
from hydra.utils import instantiate
from omegaconf import DictConfig, ListConfig, OmegaConf

from . import search_space
from ._results import plot, summary, trials_table, write_results
from ._storage import Heartbeat, fail_stale_trials, open_study, trials_counted
from .config import PRUNERS, SAMPLERS
from .errors import SweepError
from .search_space import SearchSpace

log = logging.getLogger(__name__)

DIRECTIONS = ("minimize", "maximize")
LOG_FILE = "optuna_sweeper.log"
LINK = "optuna"  # the job-side section of the trial link: optuna.storage, .study_name, .trial, .report, .pruner
TRACEBACK_ATTR = "_sweeper_traceback"  # a failing job's formatted traceback, kept on its exception as text


def declares_trial_link(config: DictConfig) -> bool:
    """Whether the app's config has the job-side section of the trial link: an `optuna` node with a `storage` key.

    myorl's primary config declares it (its jobs report evaluations to their trial and get pruned); a plain
    Hydra app does not, and gets none of the `optuna.*` overrides (they would not compose).
    """
    node = OmegaConf.select(config, LINK, default=None)
    return isinstance(node, DictConfig) and "storage" in node


class KeepTraceback:
    """The app's task function, keeping a failing job's formatted traceback on its exception.

    Hydra's `run_job` stores the exception in the JobReturn; a launcher that runs jobs in other processes
    (joblib, submitit) pickles it back, which drops `__traceback__`. The text survives pickling.
    """

    def __init__(self, task_function: TaskFunction) -> None:
        self.task_function = task_function

    def __call__(self, cfg: DictConfig) -> Any:
        try:
            return self.task_function(cfg)
        except Exception as exc:
            try:
                tb = exc.__traceback__.tb_next if exc.__traceback__ else None  # from the app's own frame on
                setattr(exc, TRACEBACK_ATTR, "".join(traceback.format_exception(type(exc), exc, tb)))
            except Exception:  # noqa: BLE001, S110 - an exception that takes no attributes keeps its own
                pass
            raise


@dataclass
class Verdict:
    """How a trial ended, from its jobs: state, values (one per objective), user attrs, and the failures."""

    state: Any
    values: list[float] | None
    attrs: dict[str, Any]
    failures: list[tuple[JobReturn, str, str | None]] = field(default_factory=list)  # (job, reason, traceback)


class OptunaSweeperImpl:
    def __init__(self, sampler: Any, pruner: Any, direction: Any, n_trials: int, n_jobs: int | None,
                 study_name: str | None, storage: str | None, max_failure_rate: float, seeds_per_trial: int,
                 params: DictConfig | dict[str, Any] | None, custom_search_space: str | None,
                 heartbeat_interval: int | None, grace_period: int | None, max_retry: int,
                 max_total_trials: int | None, plots: bool) -> None:
        self.sampler_conf, self.pruner_conf, self.direction = sampler, pruner, direction
        self.n_trials, self.n_jobs, self.study_name, self.storage = n_trials, n_jobs, study_name, storage
        self.max_failure_rate, self.seeds_per_trial = max_failure_rate, seeds_per_trial
        self.params: dict[str, Any] = {str(key): value for key, value in (params or {}).items()}
        self.custom_search_space = custom_search_space
        self.heartbeat_interval, self.grace_period, self.max_retry = heartbeat_interval, grace_period, max_retry
        self.max_total_trials, self.plots = max_total_trials, plots
        self.job_idx = 0
        self.unused_pruner: str | None = None  # a pruner given to a multi-objective sweep (not used)
        self._composes: dict[tuple[Any, ...], str | None] = {}  # see _composition_problem

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        """Check the settings (one `SweepError` line each, nothing written) and set up the launcher."""
        self.hydra_context, self.config = hydra_context, config
        self._check_settings()
        self.linked = declares_trial_link(config)
        self.directions = self._directions()
        self.extender = self._extender()
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=KeepTraceback(task_function), config=config)
        self.sweep_dir = Path(str(config.hydra.sweep.dir)).absolute()

    # ------------------------------------------------------------------------------------------ the sweep
    def sweep(self, arguments: list[str]) -> list[JobReturn]:
        space = search_space.parse(self.params, arguments, self.hydra_context.config_loader)
        seeds = self._seeds(space)
        sampler, pruner = self._sampler(space), self._pruner()
        url = self.storage or f"sqlite:///{self.sweep_dir / 'optuna.db'}"
        study_name = self._study_name()
        # Every check has passed: from here on the sweep writes.
        self.sweep_dir.mkdir(parents=True, exist_ok=True)
        self.job_idx = _next_job_number(self.sweep_dir)  # a sweep re-run in its dir keeps the earlier jobs' dirs
        with _log_to(self.sweep_dir / LOG_FILE):
            OmegaConf.save(self.config, self.sweep_dir / "multirun.yaml")
            study, storage = open_study(url, study_name, sampler, pruner, self.directions, self.heartbeat_interval,
                                        self.grace_period, self.max_retry)
            return self._optimize(study, storage, space, seeds, url)

    def _optimize(self, study: Any, storage: Any, space: SearchSpace, seeds: list[int | None],
                  url: str) -> list[JobReturn]:
        from optuna.trial import TrialState

        link = self._link(url, study.study_name)
        per_batch = self._trials_per_batch()
        log.info("Optuna study '%s' in %s: %d trials, %d at a time, %d seed(s) each, %s, sampler %s", study.study_name,
                 _shown(url), self.n_trials, per_batch, len(seeds), "/".join(self.directions),
                 type(study.sampler).__name__)
        if self.unused_pruner:
            log.warning("hydra.sweeper.direction has %d objectives: Optuna cannot prune multi-objective trials "
                        "(Trial.report and should_prune are single-objective), so the pruner (%s) is not used and "
                        "jobs get no trial link", len(self.directions), self.unused_pruner)
        returns: list[JobReturn] = []
        outcomes: Counter[str] = Counter()
        ran = 0
        try:
            while ran < self.n_trials:
                size = self._batch_size(study, min(per_batch, self.n_trials - ran))
                if not size:
                    break
                trials = self._ask(study, storage, space, size)
                with Heartbeat(storage, [t._trial_id for t in trials], self.heartbeat_interval):
                    for state in self._run_batch(study, trials, space, seeds, link, returns):
                        outcomes[state.name] += 1
                ran += len(trials)
                failed = outcomes[TrialState.FAIL.name]
                if failed > self.max_failure_rate * self.n_trials:
                    raise SweepError(
                        f"{failed} of {ran} trials failed, more than max_failure_rate={self.max_failure_rate} "
                        f"of n_trials={self.n_trials}: sweep stopped (the failures' tracebacks are above and in "
                        f"{self.sweep_dir / LOG_FILE})")
        finally:
            self._report(study, url)
        if ran and not outcomes[TrialState.COMPLETE.name]:
            failed, pruned = outcomes[TrialState.FAIL.name], outcomes[TrialState.PRUNED.name]
            where = f" (tracebacks above and in {self.sweep_dir / LOG_FILE})" if failed else ""
            raise SweepError(f"no trial completed: of {ran} trial(s), {failed} failed and {pruned} were pruned{where}")
        return returns

    def _batch_size(self, study: Any, wanted: int) -> int:
        """How many trials to ask now: the grid's unvisited points and `max_total_trials` may allow fewer."""
        if _exhausted(study):
            log.info("every point of the grid has been tried: the sweep ends")
            return 0
        fail_stale_trials(study)  # dead workers' trials: FAIL and enqueued again, before anyone asks
        unvisited = getattr(study.sampler, "_get_unvisited_grid_ids", None)  # Optuna's GridSampler
        if unvisited is not None:
            wanted = min(wanted, max(1, len(unvisited(study))))
        if self.max_total_trials is not None:
            room = self.max_total_trials - trials_counted(study)
            if room <= 0:
                log.info("study '%s' holds max_total_trials=%d trials: no more asked", study.study_name,
                         self.max_total_trials)
                return 0
            wanted = min(wanted, room)
        return wanted

    def _ask(self, study: Any, storage: Any, space: SearchSpace, size: int) -> list[Any]:
        """A batch of trials (a waiting retry first), each with its first heartbeat and the custom search space."""
        from optuna.trial import TrialState

        trials: list[Any] = []
        for _ in range(size):
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used")
                trial = study.ask(space.distributions)
            trials.append(trial)
            if self.heartbeat_interval is not None:
                storage.record_heartbeat(trial._trial_id)  # a trial without any heartbeat is never found stale
            if self.extender is None:
                continue
            try:
                self.extender(self.config, trial)
            except Exception as exc:
                line = f"{type(exc).__name__}: {exc}"
                log.error("trial %d: custom_search_space %s raised %s\n%s", trial.number, self.custom_search_space,
                          line, "".join(traceback.format_exception(exc)).rstrip())
                for asked in trials:
                    self._tell(study, asked, TrialState.FAIL, None, {"fail_reason": f"custom_search_space: {line}"})
                raise SweepError(f"hydra.sweeper.custom_search_space={self.custom_search_space} raised {line} "
                                 f"in trial {trial.number} (traceback above and in {self.sweep_dir / LOG_FILE})"
                                 ) from None
        return trials

    def _run_batch(self, study: Any, trials: list[Any], space: SearchSpace, seeds: list[int | None],
                   link: Callable[[Any, int], list[str]], returns: list[JobReturn]) -> list[Any]:
        """Launch the trials' jobs, tell Optuna how each trial ended; returns their states."""
        from optuna.trial import TrialState

        jobs, launched, states = [], [], []
        for trial in trials:
            overrides = [[*space.fixed, *space.overrides(trial.params), *link(trial, i),
                          *([f"seed={seed}"] if seed is not None else [])] for i, seed in enumerate(seeds)]
            problem = self._composition_problem(overrides[0], space, trial.params)
            if problem:  # Hydra's launchers raise on a job that does not compose: fail the trial instead
                log.error("trial %d failed: its overrides do not compose: %s", trial.number, problem)
                states.append(self._tell(study, trial, TrialState.FAIL, None, {"fail_reason": problem}))
                continue
            jobs += overrides
            launched.append(trial)
        if not jobs:
            return states
        try:
            results = list(self.launcher.launch(jobs, initial_job_idx=self.job_idx))
        except Exception as exc:  # the launcher itself failed (e.g. a submitit job died): fail the batch, go on
            log.error("launching trials %s failed: %s\n%s", [t.number for t in launched], exc,
                      "".join(traceback.format_exception(exc)).rstrip())
            return states + [self._tell(study, trial, TrialState.FAIL, None, {"fail_reason": f"launcher: {exc}"})
                             for trial in launched]
        except BaseException:  # Ctrl-C: leave no trial RUNNING
            for trial in launched:
                self._tell(study, trial, TrialState.FAIL, None, {"fail_reason": "interrupted"})
            raise
        finally:
            self.job_idx += len(jobs)
        returns += results
        k = len(seeds)
        for n, trial in enumerate(launched):
            verdict = judge(results[n * k:(n + 1) * k], len(self.directions))
            if seeds[0] is not None:
                verdict.attrs["seeds"] = seeds
            for job, reason, text in verdict.failures:
                if text is None:  # it returned no result
                    log.error("trial %d failed: job %s %s", trial.number, _job_name(job), reason)
                else:
                    log.error("trial %d failed: job %s raised %s\n%s", trial.number, _job_name(job), reason, text)
            states.append(self._tell(study, trial, verdict.state, verdict.values, verdict.attrs))
        return states

    def _tell(self, study: Any, trial: Any, state: Any, values: list[float] | None, attrs: dict[str, Any]) -> Any:
        """Record the trial's outcome; returns its state."""
        import optuna

        attrs["sweep_dir"] = str(self.sweep_dir)
        try:
            for key, item in attrs.items():
                trial.set_user_attr(key, item)
            study.tell(trial, values, state=state)
        except (optuna.exceptions.UpdateFinishedTrialError, ValueError) as exc:
            if "finished" not in str(exc).lower() and "Cannot tell" not in str(exc):
                raise
            # Another worker found this trial without a heartbeat for longer than grace_period and failed it.
            log.warning("trial %d was already finished by another worker (no heartbeat within grace_period): "
                        "this worker's outcome (%s %s) is dropped", trial.number, state.name, values)
            return state
        except RuntimeError as exc:
            # Optuna's GridSampler calls study.stop() after its last grid point, which Optuna allows only inside
            # study.optimize. tell() stores the trial before that; `_exhausted` ends the sweep instead.
            if "Study.stop" not in str(exc):
                raise
        shown = "" if values is None else " " + ", ".join(f"{v:.6g}" for v in values)
        reason = f" ({attrs['fail_reason']})" if "fail_reason" in attrs else ""
        retried = trial.storage.get_trial_system_attrs(trial._trial_id).get("failed_trial")  # a dead worker's
        retry = "" if retried is None else f" (re-run of trial {retried})"
        log.info("trial %d%s %s%s%s: %s", trial.number, retry, state.name, shown, reason, trial.params)
        return state

    def _report(self, study: Any, url: str) -> None:
        """Results file, trials table and plots; a failure here is logged, never raised over the sweep's own."""
        try:
            path = self.sweep_dir / "optimization_results.yaml"
            found = write_results(study, path)
            log.info("Trials of study '%s':\n%s", study.study_name, trials_table(study))
            log.info("%s (%s); optuna-dashboard %s", summary(found), path, _shown(url))
            if self.plots:
                written = plot(study, self.sweep_dir)
                if written:
                    log.info("plots: %s", ", ".join(p.name for p in written))
        except Exception as exc:  # noqa: BLE001
            log.error("writing the sweep's results failed: %s: %s", type(exc).__name__, exc)

    # ------------------------------------------------------------------------------------------ set-up
    def _check_settings(self) -> None:
        rate = self.max_failure_rate
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
            raise SweepError(f"hydra.sweeper.max_failure_rate={rate} is not within 0..1: it is the fraction of "
                             f"n_trials that may fail before the sweep stops (0: stop at the first failure, 1: never "
                             f"stop early); e.g. hydra.sweeper.max_failure_rate=0.5")
        for key, low, none_ok in (("n_trials", 1, False), ("seeds_per_trial", 1, False), ("n_jobs", 1, True),
                                  ("heartbeat_interval", 1, True), ("grace_period", 1, True), ("max_retry", 0, False),
                                  ("max_total_trials", 1, True)):
            value = getattr(self, key)
            if value is None and none_ok:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise SweepError(f"hydra.sweeper.{key}={value} must be an integer >= {low}"
                                 f"{' or null' if none_ok else ''}")
        if self.seeds_per_trial > 1 and "seed" not in self.config:
            raise SweepError(f"hydra.sweeper.seeds_per_trial={self.seeds_per_trial} needs a top-level `seed` key in "
                             f"the app's config (each job gets seed=<seed + i>); add one, or set seeds_per_trial=1")

    def _directions(self) -> list[str]:
        """`direction` as a list, one per objective; null: maximize for linked apps (myorl), else minimize."""
        given = self.direction
        if given is None:
            return ["maximize" if self.linked else "minimize"]
        items = list(given) if isinstance(given, (list, tuple, ListConfig)) else [given]
        for item in items or [None]:
            if not isinstance(item, str) or item.lower() not in DIRECTIONS:
                raise SweepError(f"hydra.sweeper.direction: {item!r} is neither minimize nor maximize; write "
                                 f"hydra.sweeper.direction=minimize or =maximize, or one per objective: "
                                 f"'hydra.sweeper.direction=[minimize,maximize]'")
        return [item.lower() for item in items]

    def _extender(self) -> Callable[[DictConfig, Any], None] | None:
        """The `custom_search_space` function, imported now so that a typo stops the sweep before it starts."""
        path = self.custom_search_space
        if not path:
            return None
        try:
            function = _locate(path)
        except (ImportError, AttributeError, ValueError) as exc:
            raise SweepError(f"hydra.sweeper.custom_search_space={path}: {exc}; give module.function, a "
                             f"function(cfg, trial) in a module on sys.path") from None
        if not callable(function):
            raise SweepError(f"hydra.sweeper.custom_search_space={path} is a {type(function).__name__}, not a "
                             f"function(cfg, trial)")
        return function

    def _sampler(self, space: SearchSpace) -> Any:
        conf = self._preset(self.sampler_conf, "sampler", SAMPLERS)
        target = str(conf.get("_target_", ""))
        if target.endswith("GridSampler"):
            conf["search_space"] = space.grid()
        if target.endswith("CmaEsSampler") and len(self.directions) > 1:
            raise SweepError("hydra/sweeper/sampler=cmaes optimises one objective, but hydra.sweeper.direction has "
                             f"{len(self.directions)}: use hydra/sweeper/sampler=nsgaii (or tpe, random, gp, qmc, grid)")
        return self._build("sampler", conf, SAMPLERS)

    def _pruner(self) -> Any:
        conf = self._preset(self.pruner_conf, "pruner", PRUNERS)
        pruner = self._build("pruner", conf, PRUNERS)
        if len(self.directions) > 1 and type(pruner).__name__ != "NopPruner":
            import optuna

            self.unused_pruner = type(pruner).__name__  # said in the sweep's log (see _optimize)
            return optuna.pruners.NopPruner()
        return pruner

    @staticmethod
    def _preset(conf: Any, kind: str, presets: dict[str, Any]) -> dict[str, Any]:
        """The sampler's/pruner's config as a dict; a bare name (`hydra.sweeper.sampler=tpe`) is its preset."""
        if isinstance(conf, str):
            if conf not in presets:
                raise SweepError(f"unknown {kind} '{conf}': choose one with hydra/sweeper/{kind}=NAME, NAME one of "
                                 f"{', '.join(presets)}")
            conf = OmegaConf.structured(presets[conf])
        if not isinstance(conf, DictConfig) or "_target_" not in conf:
            raise SweepError(f"hydra.sweeper.{kind} is {conf!r}, not a {kind} config: choose one with "
                             f"hydra/sweeper/{kind}=NAME, NAME one of {', '.join(presets)}")
        return OmegaConf.to_container(conf, resolve=True)  # type: ignore[return-value]

    @staticmethod
    def _build(kind: str, conf: dict[str, Any], presets: dict[str, Any]) -> Any:
        import optuna

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # GPSampler, QMCSampler
                return instantiate(conf, _convert_="all")
        except Exception as exc:  # noqa: BLE001 - Hydra wraps the class's own error: show that one
            cause = exc.__cause__ or exc
            reason = " ".join(f"{type(cause).__name__}: {cause}".split())
            raise SweepError(f"hydra.sweeper.{kind}: {conf.get('_target_')} rejected its settings ({reason}); "
                             f"the presets are hydra/sweeper/{kind}=NAME, NAME one of {', '.join(presets)}") from None

    def _study_name(self) -> str:
        """`study_name`, else the app's own `optuna.study_name`, else its `curriculum.name` (myorl), else the job name."""
        if self.study_name:
            return self.study_name
        declared = OmegaConf.select(self.config, f"{LINK}.study_name", default=None) if self.linked else None
        found = declared or OmegaConf.select(self.config, "curriculum.name", default=None, throw_on_missing=False)
        return str(found or self.config.hydra.job.name)

    def _link(self, url: str, study_name: str) -> Callable[[Any, int], list[str]]:
        """The trial link's overrides for a trial's i-th job: only the `optuna.*` keys the app declares."""
        if not self.linked or len(self.directions) > 1:
            return lambda trial, i: []
        declared = set(OmegaConf.select(self.config, LINK))
        shared = [f"{LINK}.storage={_quoted(url)}"]
        if "study_name" in declared:
            shared.append(f"{LINK}.study_name={_quoted(study_name)}")
        if "pruner" in declared:
            pruner = self._preset(self.pruner_conf, "pruner", PRUNERS)
            shared.append(f"++{LINK}.pruner={Transformer.str(pruner)}")

        def link(trial: Any, i: int) -> list[str]:
            own = [f"{LINK}.trial={trial.number}"] if "trial" in declared else []
            if "report" in declared:  # Optuna keeps one value per step: the trial's first seed reports
                own.append(f"{LINK}.report={str(i == 0).lower()}")
            return [*shared, *own]

        return link

    def _seeds(self, space: SearchSpace) -> list[int | None]:
        """The seeds of each trial: None (the config's seed) for one, else seed, seed+1, ..."""
        if self.seeds_per_trial == 1:
            return [None]
        if "seed" in space.distributions:
            raise SweepError("seed is a searched param and hydra.sweeper.seeds_per_trial > 1: choose one")
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

    def _composition_problem(self, overrides: Sequence[str], space: SearchSpace,
                             params: dict[str, Any]) -> str | None:
        """Why a job with these overrides would not compose, or None.

        Whether a job composes depends on its categorical values (config groups, strings) and on the types of
        its numbers, not on which number: one check per such shape (composing costs ~0.2 s).
        """
        shape = tuple(sorted((name, type(value).__name__ if isinstance(value, (int, float)) and
                              not isinstance(value, bool) and name not in space.texts else value)
                             for name, value in params.items()))
        if shape not in self._composes:
            try:
                self.hydra_context.config_loader.load_sweep_config(self.config, list(overrides))
                self._composes[shape] = None
            except Exception as exc:  # noqa: BLE001 - any composition error fails the trial
                self._composes[shape] = " ".join(f"{type(exc).__name__}: {exc}".split())
        return self._composes[shape]


# ---------------------------------------------------------------------------------------- a trial's verdict
def judge(returns: Sequence[JobReturn], n_objectives: int = 1) -> Verdict:
    """A trial's state, values and user attrs from its jobs (one per seed).

    Any job failed (raised, or returned no finite number, or not one per objective): FAIL. Else any pruned:
    PRUNED (Optuna records the last reported value; the user attr `partial_objective` is the mean over the
    completed seeds' values and what the pruned jobs' `TrialPruned` carry as `partial_objective`, the best
    value they reached, when they carry one; myorl's do). Else COMPLETE with the mean over the seeds.
    A result is anything `float()` converts (numpy and 0-d torch numbers too), a sequence of them for several
    objectives.
    """
    import optuna
    from optuna.trial import TrialState

    objectives: list[list[float]] = []
    partial: list[float] = []
    failures: list[tuple[JobReturn, str, str | None]] = []
    pruned = False
    run_dirs = [str(r.hydra_cfg.hydra.runtime.output_dir) if r.hydra_cfg else None for r in returns]
    for ret in returns:
        value = ret._return_value  # JobReturn.return_value re-raises a failed job's exception
        if ret.status == JobStatus.COMPLETED:
            values = _values(value, n_objectives)
            if isinstance(values, str):
                failures.append((ret, values, None))
            else:
                objectives.append(values)
        elif isinstance(value, optuna.TrialPruned):
            pruned = True
            partial += _partial(value)
        else:
            failures.append((ret, _one_line(value), _traceback(value)))
    attrs: dict[str, Any] = {"run_dirs": run_dirs,
                             "objectives": [v[0] for v in objectives] if n_objectives == 1 else objectives}
    if failures:
        reason = "; ".join(dict.fromkeys(line for _, line, _ in failures))
        return Verdict(TrialState.FAIL, None, {**attrs, "fail_reason": reason}, failures)
    if pruned:
        done = [v[0] for v in objectives] + partial
        return Verdict(TrialState.PRUNED, None, {**attrs, "partial_objective": sum(done) / len(done) if done else None})
    means = [sum(column) / len(column) for column in zip(*objectives)]
    return Verdict(TrialState.COMPLETE, means, attrs)


def _values(value: Any, n_objectives: int) -> list[float] | str:
    """The job's result as floats, one per objective, or why it is none."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch: "Converting a tensor with requires_grad=True to a scalar"
            if n_objectives == 1:
                values = [float(value)]
            elif isinstance(value, (str, bytes)):
                raise TypeError
            else:
                values = [float(v) for v in value]
    except (TypeError, ValueError):
        want = "a number" if n_objectives == 1 else f"a list of {n_objectives} numbers"
        return f"returned {_short(value)}: not {want} (no result)"
    if len(values) != n_objectives:
        return f"returned {len(values)} values for {n_objectives} directions: {_short(value)}"
    if not all(math.isfinite(v) for v in values):
        return f"returned {_short(value)}: no finite result (NaN or inf)"
    return values


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def _one_line(exc: BaseException) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split())


def _traceback(exc: BaseException) -> str:
    kept = getattr(exc, TRACEBACK_ATTR, None)
    if kept:
        return str(kept).rstrip()
    if exc.__traceback__ is not None:
        return "".join(traceback.format_exception(exc)).rstrip()
    return f"{_one_line(exc)} (the launcher kept no traceback)"


def _job_name(job: JobReturn) -> str:
    if job.hydra_cfg is None:
        return "?"
    return f"#{job.hydra_cfg.hydra.job.num} ({job.hydra_cfg.hydra.runtime.output_dir})"


def _partial(pruned: BaseException) -> list[float]:
    """The best value a pruned job had reached, when its TrialPruned carries one as `partial_objective`."""
    value = getattr(pruned, "partial_objective", None)
    return [float(value)] if isinstance(value, (int, float)) and math.isfinite(value) else []


def _next_job_number(sweep_dir: Path) -> int:
    """One more than the highest numbered job dir already in the sweep dir (Hydra's subdir: the job number)."""
    numbers = [int(p.name) for p in sweep_dir.iterdir() if p.is_dir() and p.name.isdigit()]
    return max(numbers, default=-1) + 1


def _locate(path: str) -> Any:
    """`package.module.attr[.attr...]`: the longest importable module prefix, then attributes."""
    parts = path.split(".")
    if not all(parts) or len(parts) < 2:
        raise ValueError(f"'{path}' is not a dotted path")
    for cut in range(len(parts) - 1, 0, -1):
        module_name = ".".join(parts[:cut])
        try:
            found = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and not module_name.startswith(exc.name):
                raise  # the module exists but imports something missing: say that
            continue
        for attr in parts[cut:]:
            if not hasattr(found, attr):
                raise AttributeError(f"module '{module_name}' has no attribute '{'.'.join(parts[cut:])}'")
            found = getattr(found, attr)
        return found
    raise ImportError(f"no module '{parts[0]}' on sys.path")


def _exhausted(study: Any) -> bool:
    is_exhausted = getattr(study.sampler, "is_exhausted", None)  # Optuna's GridSampler
    return bool(is_exhausted and is_exhausted(study))


def _quoted(text: str) -> str:
    return QuotedString(text=text, quote=Quote.single).with_quotes()


def _shown(url: str) -> str:
    """A storage URL for the log, its password hidden."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001
        return url


@contextmanager
def _log_to(path: Path) -> Iterator[None]:
    """The sweeper's log lines (trial outcomes, failures with tracebacks, results) also into `path`."""
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("[%(asctime)s][%(levelname)s] - %(message)s"))
    package = logging.getLogger(__name__.rsplit(".", 1)[0])
    level = package.level
    if package.getEffectiveLevel() > logging.INFO:
        package.setLevel(logging.INFO)
    package.addHandler(handler)
    try:
        yield
    finally:
        package.removeHandler(handler)
        package.setLevel(level)
        handler.close()
