"""How a stage ended: the one `Status` enum, and the one place that maps an exception to a status."""

from __future__ import annotations

from enum import Enum


class Status(str, Enum):
    converged = "converged"  # reason: target | plateau
    budget_exhausted = "budget_exhausted"  # trained its whole budget
    stalled = "stalled"  # its best metric never exceeded `convergence.floor`: it learned nothing worth handing on
    failed = "failed"  # a fault or a crash; the reason says which
    interrupted = "interrupted"  # Ctrl-C or SIGTERM; resumable
    pruned = "pruned"  # stopped by a sweeper

    @property
    def finished(self) -> bool:
        """Ended as planned: a resumed run skips such a stage and hands its models on."""
        return self in (Status.converged, Status.budget_exhausted, Status.stalled)

    @property
    def ok(self) -> bool:
        """Not an error from the user's point of view (a pruned trial is a sweep working as intended)."""
        return self in (Status.converged, Status.budget_exhausted, Status.pruned)


class StopStage(Exception):
    """Raised (e.g. by an observer) to stop a stage with `status`; the stage's files are written first."""

    status: Status = Status.failed


def status_of(exc: BaseException) -> tuple[Status, str]:
    """(status, reason) of a stage stopped by `exc`."""
    if isinstance(exc, StopStage):
        return exc.status, str(exc) or exc.status.value
    if isinstance(exc, KeyboardInterrupt):
        return Status.interrupted, str(exc) or "interrupted"
    return Status.failed, f"{type(exc).__name__}: {exc}"
