"""The sweeper's own error: one line for the user, exit code 1.

Hydra's `run_and_report` prints a `CompactHydraException` as its message alone (no stack trace) and exits 1:
the way a sweeper says "this sweep cannot start" or "this sweep produced no result".
"""

from hydra.errors import CompactHydraException


class SweepError(CompactHydraException):
    """A sweep that cannot start (bad setting, bad search space) or that ended without a result."""
