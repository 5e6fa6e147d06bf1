"""The study's storage: creating it when workers race, heartbeats, dead workers' trials, the study-wide cap.

Optuna's heartbeat (RDBStorage `heartbeat_interval`, `grace_period`) is built for `study.optimize`, where a
thread beats for the running trial. The sweeper asks and tells instead, so `Heartbeat` beats for the trials
of a batch while the launcher runs them. A worker that dies (kill -9, a lost node) stops beating; the next
worker to ask calls `fail_stale_trials`, which marks its RUNNING trials FAIL, and `RetryStale` enqueues each
again with the same params (up to `max_retry` times), to be run by the next `study.ask()` of a live worker.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

log = logging.getLogger(__name__)


class RetryStale:
    """Optuna's retry of a heartbeat-stale trial, logged: which trial died and what became of it."""

    def __init__(self, max_retry: int, grace_period: int) -> None:
        from optuna.storages import RetryHeartbeatStaleTrialCallback

        self.max_retry, self.grace_period = max_retry, grace_period
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.retry = RetryHeartbeatStaleTrialCallback(max_retry=max_retry) if max_retry > 0 else None

    def __call__(self, study: Any, trial: Any) -> None:
        history = [*trial.system_attrs.get("retry_history", []), trial.number]
        if self.retry is None or len(history) > self.max_retry:
            log.warning("trial %d: no heartbeat for more than %d s (its worker died): FAIL, not retried "
                        "(max_retry=%d reached)", trial.number, self.grace_period, self.max_retry)
            return
        self.retry(study, trial)
        log.warning("trial %d: no heartbeat for more than %d s (its worker died): FAIL, enqueued again with "
                    "the same params (retry %d of max_retry=%d)", trial.number, self.grace_period, len(history),
                    self.max_retry)


def open_study(url: str, study_name: str, sampler: Any, pruner: Any, directions: Sequence[Any],
               heartbeat_interval: int | None, grace_period: int | None, max_retry: int) -> tuple[Any, Any]:
    """The study (created, or loaded when another worker created it) and its RDBStorage."""
    import optuna
    import sqlalchemy.exc

    callback = None
    if heartbeat_interval is not None:
        callback = RetryStale(max_retry, grace_period or 2 * heartbeat_interval)
    for attempt in range(1, 5):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                storage = optuna.storages.RDBStorage(url, heartbeat_interval=heartbeat_interval,
                                                     grace_period=grace_period,
                                                     heartbeat_stale_trial_callback=callback)
            study = optuna.create_study(study_name=study_name, storage=storage, sampler=sampler, pruner=pruner,
                                        directions=directions, load_if_exists=True)
            return study, storage
        except sqlalchemy.exc.SQLAlchemyError as exc:
            # Workers that start together on a fresh database race to create Optuna's tables; the loser
            # gets an integrity error from the database's catalog. Optuna does not retry: do it here.
            if attempt == 4:
                raise
            log.warning("opening the study failed (%s), retrying", str(exc).splitlines()[0])
            time.sleep(attempt * (0.5 + random.random()))
    raise AssertionError("unreachable")


def fail_stale_trials(study: Any) -> None:
    """Dead workers' RUNNING trials: FAIL, and enqueued again (see `RetryStale`). A no-op without heartbeat."""
    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)


def trials_counted(study: Any) -> int:
    """The study's trials as `max_total_trials` counts them: all but WAITING, a retried trial counted once.

    A trial re-run for a dead worker (`failed_trial` in its system attrs) replaces the trial it retries, so
    the FAIL left by the dead worker is not counted twice.
    """
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False)
    retried = {t.system_attrs.get("failed_trial") for t in trials} | {
        n for t in trials for n in t.system_attrs.get("retry_history", [])}
    return sum(1 for t in trials if t.state != TrialState.WAITING and t.number not in retried)


class Heartbeat:
    """A daemon thread recording the heartbeat of trials every `interval` seconds, while a batch runs.

    Use as a context manager around the launch. A failed write (a locked SQLite file, a network blip) is
    logged and tried again at the next beat: a missed beat or two is what `grace_period` is for.
    """

    def __init__(self, storage: Any, trial_ids: Iterable[int], interval: int | None) -> None:
        self.storage, self.trial_ids, self.interval = storage, list(trial_ids), interval
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="optuna-sweeper-heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        if self.interval is not None and self.trial_ids:  # the first beat was recorded right after ask()
            self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join(timeout=10)

    def beat(self) -> None:
        for trial_id in self.trial_ids:
            try:
                self.storage.record_heartbeat(trial_id)
            except Exception as exc:  # noqa: BLE001 - a missed beat must not stop the sweep
                log.warning("heartbeat of trial id %d failed: %s", trial_id, str(exc).splitlines()[0])

    def _run(self) -> None:
        assert self.interval is not None
        while not self.stop.wait(self.interval):
            self.beat()
