"""The launchers: `checkpoint` (called by submitit at the preemption / time-limit signal) returns the same job
with `resume=true`, so the requeued job goes on in the same run dir (same overrides, sweep dir and job number)."""

from __future__ import annotations

from typing import Any

from hydra_plugins.hydra_submitit_launcher import submitit_launcher


def with_resume(overrides: list[str]) -> list[str]:
    """The job's overrides with `resume=true` (replacing any `resume=` there)."""
    return [o for o in overrides if o.lstrip("+~").split("=", 1)[0] != "resume"] + ["resume=true"]


class _Resuming:
    def checkpoint(self, sweep_overrides: list[str], *args: Any, **kwargs: Any) -> Any:
        """The submission submitit requeues: this job with `resume=true`."""
        return super().checkpoint(with_resume(list(sweep_overrides)), *args, **kwargs)  # type: ignore[misc]


class SlurmLauncher(_Resuming, submitit_launcher.SlurmLauncher):
    """hydra-submitit-launcher's Slurm launcher whose requeued jobs resume their run."""


class LocalLauncher(_Resuming, submitit_launcher.LocalLauncher):
    """The same on local processes (submitit's local executor): a rehearsal of preemption and requeue."""
