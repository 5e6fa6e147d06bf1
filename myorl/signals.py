"""Stopping a run where it can be resumed exactly: at the next rollout boundary.

A stop requested here (the first Ctrl-C or SIGTERM of `python -m myorl.run`, or Slurm's preemption signal)
is honoured by the stage at the start of its next rollout, where nothing of a half-collected rollout is
lost: it writes a checkpoint there and raises `StopAtBoundary`. A second signal raises KeyboardInterrupt
at once; the latest boundary checkpoint then stays the resume point. `python -m myorl.run` installs the
handlers (`graceful`); a library caller keeps Python's own Ctrl-C unless it installs them too.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import Any


class StopAtBoundary(KeyboardInterrupt):
    """Raised at a rollout boundary, after the checkpoint there, when a stop was requested."""


@dataclass
class StopRequest:
    """The process-wide request to stop: why (a signal's name), and which signal asked."""

    reason: str
    signum: int | None = None


_request: StopRequest | None = None


def request_stop(reason: str, signum: int | None = None) -> None:
    """Ask the training stage to stop at its next rollout boundary (the first request wins)."""
    global _request
    if _request is None:
        _request = StopRequest(reason, signum)


def stop_requested() -> StopRequest | None:
    return _request


def clear() -> None:
    """Forget a request (a new run in the same process)."""
    global _request
    _request = None


Handler = Callable[[int, FrameType | None], Any]


def _handler(on_first: Callable[[int], None] | None) -> Handler:
    def handle(signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if _request is not None:  # the second signal: stop now
            raise KeyboardInterrupt(f"stopped by a second {name} (resume from the latest checkpoint)")
        request_stop(f"stopped by {name}", signum)
        if on_first is not None:
            on_first(signum)
    return handle


@contextmanager
def graceful(signums: Iterable[int], on_first: Callable[[int], None] | None = None) -> Iterator[None]:
    """Within the block, the first of `signums` requests a stop at the next rollout boundary, a second one
    raises KeyboardInterrupt at once. Previous handlers come back afterwards. Main thread only (elsewhere
    Python cannot set handlers): there the block changes nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    clear()
    previous = {signum: signal.signal(signum, _handler(on_first)) for signum in signums}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
