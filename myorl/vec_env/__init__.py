"""Vectorised envs for myorl, with Stable-Baselines3's VecEnv API.

`BatchedSubprocVecEnv`: a few worker processes, each stepping a contiguous group of envs, exchanging
observations through shared memory. The names below load lazily: a worker process imports
`myorl.vec_env._worker`, and so this package, and must not pay for importing Stable-Baselines3 and
torch unless its envs need them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from myorl.vec_env.batched_subproc import BatchedSubprocVecEnv, VecEnvWorkerError, usable_cpus

__all__ = ["BatchedSubprocVecEnv", "VecEnvWorkerError", "usable_cpus"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from myorl.vec_env import batched_subproc

        return getattr(batched_subproc, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
