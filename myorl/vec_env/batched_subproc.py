"""A vec env with a few worker processes, each stepping a contiguous group of envs.

SB3's `SubprocVecEnv` starts one process per env and pickles every observation through a pipe; with 16
envs on 2 cores that is 16 processes fighting for 2 cores. `DummyVecEnv` steps all envs on one core.
`BatchedSubprocVecEnv` splits `n_envs` env factories into `n_workers` contiguous groups (default: one
worker per usable core) and gives each group one process that steps its envs in a loop.

Data paths (measured on the 2-core project machine, see bench/results/vec_env.md):
- actions, observations, rewards and dones live in one shared-memory block (numpy views on both sides);
- each step is signalled with two semaphores per worker (go / done): a semaphore round trip took
  8-68 us here against 34-78 us for a 1-byte pipe round trip (lower in every run), and pickled actions
  cost more again (ad hoc: a pipe round trip carrying a float32[8, 39] array took ~320 us, ~100 us without);
- infos (dicts, with `terminal_observation` when an episode ended) and every other command
  (reset, get_attr, env_method, ...) go through one pipe per worker.

Semantics follow `DummyVecEnv` exactly: auto-reset on done with `infos[i]["terminal_observation"]`
and `infos[i]["TimeLimit.truncated"]`, observations cast to the observation space's dtype, float32
rewards, `reset()` consuming `self._seeds` / `self._options`, `seed(s)` giving env i the seed s+i,
`reset_infos`. Why not subclass `SubprocVecEnv`: its constructor starts one process per env and every
method assumes one pipe per env (`self.remotes[i]`), so nothing of it would be reused.

Where SB3 2.9.2's `SubprocVecEnv` falls short, checked here: an env that raises kills its worker and
the parent gets a bare `EOFError` (the traceback only on the worker's stderr); after `os.kill` of a
worker, `step()` and then `close()` raise `BrokenPipeError`, naming no worker; a hung env blocks
`recv()` forever; rewards come back float64 and observations in the env's dtype, while DummyVecEnv
gives float32 rewards and observations cast to the space's dtype (this class does as DummyVecEnv).

A worker that raises, dies or stops answering makes the call raise `VecEnvWorkerError`, naming the
worker, its pid, its envs and the cause; waits never block on a dead process (each wait also watches
the process), and `close()` terminates workers that do not stop.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import pickle
import signal
import time
import warnings
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing import shared_memory
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as wait_connections
from multiprocessing.reduction import ForkingPickler
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from stable_baselines3.common.vec_env.base_vec_env import (
    VecEnv,
    VecEnvIndices,
    VecEnvObs,
    VecEnvStepReturn,
)

from myorl.vec_env._worker import CLOSE, PIPE, STEP, Pickled, RemoteError, array_views, worker

_POLL_S = 0.05  # how often a waiting parent checks that the worker still lives
_CLOSE_WAIT_S = 5.0  # how long close() lets a worker close its envs before terminating it
_CONSTRUCTION_S = 300.0  # the least time the workers get to build their envs

# Observation spaces whose samples are one fixed-shape numpy array (the shared buffer's row).
_ARRAY_SPACES = (spaces.Box, spaces.Discrete, spaces.MultiDiscrete, spaces.MultiBinary)


class VecEnvWorkerError(RuntimeError):
    """A worker of a BatchedSubprocVecEnv raised, died or did not answer in time.

    `worker`, `pid` and `env_indices` say which process; `env_index` is the env that raised (None
    when the process died or hung); `cause_type`, `cause_message` and `remote_traceback` describe the
    worker's exception when there was one. The original exception is `__cause__` when it could be
    unpickled in the parent.
    """

    def __init__(
        self,
        message: str,
        *,
        worker: int,
        pid: int | None,
        env_indices: Sequence[int],
        command: str,
        env_index: int | None = None,
        cause_type: str | None = None,
        cause_message: str | None = None,
        remote_traceback: str | None = None,
    ) -> None:
        super().__init__(message)
        self.worker = worker
        self.pid = pid
        self.env_indices = tuple(env_indices)
        self.command = command
        self.env_index = env_index
        self.cause_type = cause_type
        self.cause_message = cause_message
        self.remote_traceback = remote_traceback


@dataclass
class _Worker:
    """The parent's handle on one worker process."""

    index: int
    env_indices: range
    process: Any  # a multiprocessing Process of the chosen context
    conn: Connection
    go: Any  # Semaphore: the parent releases it to hand the worker a command
    done: Any  # Semaphore: the worker releases it when its reply is on the way
    pid: int | None = None
    outstanding: bool = False  # a command was sent whose reply was not read yet
    hung: bool = False  # it gave no answer within the timeout: close() terminates it at once

    def describe(self) -> str:
        envs = self.env_indices
        span = f"env {envs.start}" if len(envs) == 1 else f"envs {envs.start}-{envs.stop - 1}"
        return f"worker {self.index} (pid {self.pid}, {span})"


@dataclass
class _Shared:
    """The parent's shared memory: the block, its numpy views and the command codes."""

    codes: Any  # RawArray of uint8, one command code per worker (exists from the start)
    block: shared_memory.SharedMemory | None = None
    views: dict[str, np.ndarray] = field(default_factory=dict)

    def release(self) -> None:
        """Drop the views, then unmap the block (its name was unlinked when the workers attached)."""
        self.views.clear()  # views export the buffer: SharedMemory.close() refuses while they live
        if self.block is not None:
            block, self.block = self.block, None
            try:
                block.close()
            except BufferError:  # a view still lives somewhere: the mapping goes when it does
                pass


def usable_cpus() -> int:
    """CPUs this process may run on (the affinity mask: a Slurm job or container may get fewer than
    `os.cpu_count()` reports)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _layout(n_envs: int, observation_space: spaces.Space, action_space: spaces.Space) -> dict[str, Any]:
    """Offsets, shapes and dtypes of the shared arrays, each 64-byte aligned."""
    arrays: list[tuple[str, tuple[int, ...], np.dtype]] = [
        ("obs", (n_envs, *observation_space.shape), np.dtype(observation_space.dtype)),  # type: ignore[misc]
        ("rewards", (n_envs,), np.dtype(np.float32)),  # DummyVecEnv's buf_rews is float32
        ("dones", (n_envs,), np.dtype(bool)),
    ]
    if isinstance(action_space, _ARRAY_SPACES):
        arrays.append(("actions", (n_envs, *action_space.shape), np.dtype(action_space.dtype)))  # type: ignore[misc]
    layout: dict[str, Any] = {}
    offset = 0
    for name, shape, dtype in arrays:
        layout[name] = (offset, shape, dtype.str)
        nbytes = int(np.prod(shape)) * dtype.itemsize
        offset += -(-max(nbytes, 1) // 64) * 64
    layout["size"] = offset
    return layout


def _shutdown(workers: list[_Worker], shared: _Shared) -> None:
    """Stop the workers (politely, then by force) and free the shared memory.

    A module-level function so that `weakref.finalize` can call it without holding the vec env.
    """
    deadline = time.monotonic() + _CLOSE_WAIT_S
    for w in workers:
        if w.hung and w.process.is_alive():
            w.process.terminate()
    for w in workers:  # replies in flight: read them, so that a worker blocked on a large send can stop
        while w.outstanding and not w.hung and w.process.is_alive() and time.monotonic() < deadline:
            if w.done.acquire(timeout=_POLL_S):
                if wait_connections([w.conn, w.process.sentinel], timeout=_CLOSE_WAIT_S) and w.conn.poll():
                    try:
                        w.conn.recv_bytes()
                    except (EOFError, OSError):
                        pass
                w.outstanding = False
    for w in workers:
        if w.process.is_alive():
            shared.codes[w.index] = CLOSE
            w.go.release()
    deadline = time.monotonic() + _CLOSE_WAIT_S
    for w in workers:
        w.process.join(timeout=max(0.0, deadline - time.monotonic()))
    for w in workers:
        if w.process.is_alive():
            w.process.terminate()
            w.process.join(timeout=1.0)
        if w.process.is_alive():
            w.process.kill()
            w.process.join(timeout=1.0)
        w.conn.close()
        w.go = w.done = None  # multiprocessing unlinks a semaphore's /dev/shm/sem.* name when it is freed
    shared.release()


class BatchedSubprocVecEnv(VecEnv):
    """`n_envs` envs stepped by `n_workers` processes, each owning a contiguous group of envs.

    :param env_fns: one factory per env (pickled with cloudpickle, so lambdas work). With the
        forkserver and spawn start methods a worker does not import what the parent imported: build
        envs from importable functions and use `module:Id` ids (e.g. 'myosuite:myoChallengeBaodingP1-v1').
    :param n_workers: worker processes; default `min(n_envs, usable CPUs)`. Group sizes differ by at
        most one (5 envs on 2 workers: envs 0-2 and 3-4).
    :param start_method: a multiprocessing start method; default 'forkserver' where available (as SB3's
        SubprocVecEnv), else 'spawn'.
    :param timeout: seconds a single command (a step, a reset, get_attr, ...) may take before the
        vec env gives up on the worker and raises (building the envs gets at least 300 s); None waits
        as long as the workers live. A dead worker is noticed within ~50 ms either way.

    Observation spaces must be one array per env (Box; also Discrete, MultiDiscrete, MultiBinary):
    Dict and Tuple observations raise a ValueError (use SubprocVecEnv, or flatten them). Any action
    space works; Box/Discrete/MultiDiscrete/MultiBinary actions of the space's dtype travel through
    shared memory, others through the pipes.
    """

    def __init__(
        self,
        env_fns: Sequence[Callable[[], gym.Env]],
        n_workers: int | None = None,
        start_method: str | None = None,
        timeout: float | None = 600.0,
    ) -> None:
        n_envs = len(env_fns)
        if n_envs < 1:
            raise ValueError("BatchedSubprocVecEnv needs at least one env factory")
        if n_workers is None:
            n_workers = usable_cpus()
        if n_workers < 1:
            raise ValueError(f"n_workers must be at least 1, got {n_workers}")
        n_workers = min(n_workers, n_envs)  # a worker without envs would be an idle process
        if start_method is None:
            start_method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
        if timeout is not None and timeout <= 0:
            raise ValueError(f"timeout must be positive or None, got {timeout}")
        ctx = mp.get_context(start_method)

        self.n_workers = n_workers
        self.start_method = start_method
        self.timeout = timeout
        self.closed = False
        self.waiting = False
        self._failure: VecEnvWorkerError | None = None
        sizes = [n_envs // n_workers + (1 if k < n_envs % n_workers else 0) for k in range(n_workers)]
        starts = np.cumsum([0, *sizes])
        groups = [range(int(starts[k]), int(starts[k + 1])) for k in range(n_workers)]
        self._env_worker = [(k, j) for k, group in enumerate(groups) for j in range(len(group))]

        # Everything a worker needs at spawn time; the shared block follows once the spaces are known.
        self._shared = _Shared(codes=ctx.RawArray("B", n_workers))
        self._workers: list[_Worker] = []
        self._finalizer = weakref.finalize(self, _shutdown, self._workers, self._shared)
        try:
            for k, group in enumerate(groups):
                parent_conn, child_conn = ctx.Pipe()
                go, done = ctx.Semaphore(0), ctx.Semaphore(0)
                fns = [Pickled(env_fns[i]) for i in group]  # one by one: an unpickling error names its env
                process = ctx.Process(  # type: ignore[attr-defined]
                    target=worker,
                    args=(k, group, fns, child_conn, go, done, self._shared.codes),
                    daemon=True,  # a parent that exits without close(): multiprocessing's exit hook stops them
                    name=f"BatchedSubprocVecEnv-worker-{k}",
                )
                process.start()
                child_conn.close()
                self._workers.append(_Worker(k, group, process, parent_conn, go, done, process.pid))
            # Building envs may import large packages: allow it at least _CONSTRUCTION_S.
            construction_s = None if timeout is None else max(timeout, _CONSTRUCTION_S)
            replies = self._collect(self._workers, "construction", mark_failure=False, timeout=construction_s)
            observation_space, action_space, metadata = replies[0]
            if not isinstance(observation_space, _ARRAY_SPACES):
                raise ValueError(
                    f"BatchedSubprocVecEnv supports observation spaces that are one array per env (Box, Discrete, "
                    f"MultiDiscrete, MultiBinary), not {observation_space}; use SubprocVecEnv, or flatten the "
                    "observations (gymnasium.wrappers.FlattenObservation)"
                )
            self._attach(_layout(n_envs, observation_space, action_space))
        except BaseException:
            self.close()
            raise
        super().__init__(n_envs, observation_space, action_space)
        self.metadata = metadata  # as DummyVecEnv: the env's metadata (render_fps for VecVideoRecorder)

    # ------------------------------------------------------------------ set-up and messaging

    def _attach(self, layout: dict[str, Any]) -> None:
        """Create the shared block, have every worker map it, then unlink its name.

        Once unlinked, the memory lives exactly as long as a process maps it: nothing is left in
        /dev/shm even if the parent is killed.
        """
        block = shared_memory.SharedMemory(create=True, size=layout["size"])
        self._shared.block = block
        try:
            self._shared.views.update(array_views(block, layout))
            self._command(self._workers, "attach", lambda w: (block.name, layout), mark_failure=False)
        finally:
            block.unlink()

    def _check_usable(self, what: str) -> None:
        if self.closed:
            raise RuntimeError(f"BatchedSubprocVecEnv.{what}() after close()")
        if self._failure is not None:
            raise VecEnvWorkerError(
                f"BatchedSubprocVecEnv is unusable after an earlier failure; close it and build a new one. "
                f"The failure: {self._failure}",
                worker=self._failure.worker,
                pid=self._failure.pid,
                env_indices=self._failure.env_indices,
                command=what,
                env_index=self._failure.env_index,
                cause_type=self._failure.cause_type,
                cause_message=self._failure.cause_message,
                remote_traceback=self._failure.remote_traceback,
            ) from self._failure

    def _error(self, w: _Worker, command: str, what: str, remote: RemoteError | None = None) -> VecEnvWorkerError:
        if remote is None:
            return VecEnvWorkerError(
                f"{w.describe()} {what} during {command}", worker=w.index, pid=w.pid,
                env_indices=w.env_indices, command=command,
            )
        where = f" in env {remote.env_index}" if remote.env_index is not None else ""
        hint = ""
        if remote.type_name in ("NameNotFound", "NamespaceNotFound"):
            hint = ("\n(workers do not import what the parent imported: use a 'module:Id' env id, "
                    "e.g. 'myosuite:myoChallengeBaodingP1-v1', so that the worker imports the module)")
        err = VecEnvWorkerError(
            f"{w.describe()} raised{where} during {command}: {remote.type_name}: {remote.message}{hint}\n"
            f"--- the worker's traceback ---\n{remote.traceback.rstrip()}",
            worker=w.index, pid=w.pid, env_indices=w.env_indices, command=command, env_index=remote.env_index,
            cause_type=remote.type_name, cause_message=remote.message, remote_traceback=remote.traceback,
        )
        original = _unpickle(remote.exception)
        if original is not None:
            err.__cause__ = original
        return err

    def _died(self, w: _Worker, command: str) -> VecEnvWorkerError:
        w.process.join(timeout=1.0)  # the exit code is there once the process is reaped
        code = w.process.exitcode
        if code is not None and code < 0:
            try:
                how = f"was killed by {signal.Signals(-code).name}"
            except ValueError:
                how = f"was killed by signal {-code}"
        else:
            how = f"exited with code {code}"
        return self._error(w, command, f"died ({how})")

    def _send(self, w: _Worker, message: memoryview | None) -> None:
        """Hand worker `w` a command: shared-memory step (message None) or a pickled pipe message."""
        self._shared.codes[w.index] = STEP if message is None else PIPE
        w.outstanding = True
        w.go.release()  # before sending: a message larger than the socket buffer blocks until the worker reads
        if message is not None:
            try:
                w.conn.send_bytes(message)
            except OSError:  # BrokenPipeError, ConnectionResetError: the worker is gone
                pass  # _collect reports it, with the exit code

    def _wait_reply(self, w: _Worker, command: str, limit_s: float | None, deadline: float | None,
                    others: Sequence[_Worker] = ()) -> Any:
        """The reply of worker `w`, or VecEnvWorkerError if it dies, raised (returned as error) or hangs.

        While waiting it also watches `others` (workers whose replies come next): a death there raises
        at once instead of after `w` answers.
        """
        while not w.done.acquire(timeout=_POLL_S):
            for v in (w, *others):
                if not v.process.is_alive():
                    if v.done.acquire(block=False):  # it answered before it died: leave the answer to read
                        v.done.release()
                        continue
                    v.outstanding = False
                    raise self._died(v, command)
            if deadline is not None and time.monotonic() > deadline:
                w.hung = True
                raise self._error(w, command, f"gave no answer within {limit_s} s (hung?)")
        # The worker sends its reply right after releasing `done` (it pickled it before), so a blocking
        # read is safe: the data comes, or EOF if the worker dies in between.
        try:
            data = w.conn.recv_bytes()
        except (EOFError, OSError):
            w.outstanding = False
            raise self._died(w, command) from None
        w.outstanding = False
        status, payload = ForkingPickler.loads(data)
        if status == "error":
            raise self._error(w, command, "raised", payload)
        return payload

    def _collect(
        self, workers: Sequence[_Worker], command: str, mark_failure: bool = True, timeout: float | None = None
    ) -> dict[int, Any]:
        """Replies of `workers` by worker index (`timeout` overrides self.timeout).

        An exception raised in an env is reported after every reply was read, so the pipes stay in step
        with the commands. A dead or hung worker raises at once and makes this vec env unusable (close()
        reads or discards the other replies); with `mark_failure` (step, reset) so does any failure.
        """
        timeout = self.timeout if timeout is None else timeout
        deadline = None if timeout is None else time.monotonic() + timeout
        replies: dict[int, Any] = {}
        failure: VecEnvWorkerError | None = None
        for n, w in enumerate(workers):
            try:
                replies[w.index] = self._wait_reply(w, command, timeout, deadline, workers[n + 1 :])
            except VecEnvWorkerError as err:
                failure = failure or err
                if mark_failure or err.cause_type is None:
                    self._failure = self._failure or err
                if err.cause_type is None:  # died or hung: the pipes are out of step, stop here
                    raise failure from None
            except BaseException:  # KeyboardInterrupt while waiting: replies are left unread
                self._failure = self._failure or self._error(w, command, "was waited on when the parent was interrupted")
                raise
        if failure is not None:
            raise failure
        return replies

    def _command(
        self, workers: Sequence[_Worker], cmd: str, data: Callable[[_Worker], Any], mark_failure: bool = True
    ) -> dict[int, Any]:
        """Send `(cmd, data(w))` to each worker through its pipe, then collect the replies."""
        messages = [ForkingPickler.dumps((cmd, data(w))) for w in workers]  # pickle errors raise here, nothing sent
        for w, message in zip(workers, messages):
            self._send(w, message)
        return self._collect(workers, cmd, mark_failure)

    def _by_worker(self, indices: VecEnvIndices) -> tuple[list[int], dict[int, list[int]]]:
        """The requested env indices (in order) and, per worker, the local indices it must handle."""
        wanted = [int(i) for i in self._get_indices(indices)]
        local: dict[int, list[int]] = {}
        for i in wanted:
            if not 0 <= i < self.num_envs:
                raise IndexError(f"env index {i} out of range for {self.num_envs} envs")
            k, j = self._env_worker[i]
            local.setdefault(k, []).append(j)
        return wanted, local

    def _per_env(self, cmd: str, indices: VecEnvIndices, data: Callable[[list[int]], Any]) -> list[Any]:
        """Run a per-env command on the envs `indices`; results in the order of `indices`.

        An exception inside an env (e.g. AttributeError from get_attr) is re-raised as itself with a note
        naming the worker, so `except AttributeError` works as with DummyVecEnv; the vec env stays usable.
        """
        self._check_usable(cmd)
        wanted, local = self._by_worker(indices)
        workers = [self._workers[k] for k in local]
        try:
            replies = self._command(workers, cmd, lambda w: data(local[w.index]), mark_failure=False)
        except VecEnvWorkerError as err:
            original = err.__cause__
            if err.cause_type is not None and isinstance(original, Exception):
                original.add_note(str(err))
                raise original from None
            raise
        queues = {k: iter(replies[k]) for k in local}
        return [next(queues[self._env_worker[i][0]]) for i in wanted]

    # ------------------------------------------------------------------ the VecEnv API

    def reset(self) -> VecEnvObs:
        """Reset every env with the seeds and options set since the last reset (then forget them)."""
        self._check_usable("reset")
        if self.waiting:  # a step in flight: take its replies first, as SB3's API allows reset() then
            self.step_wait()
        replies = self._command(
            self._workers, "reset",
            lambda w: [(self._seeds[i], self._options[i]) for i in w.env_indices],
        )
        for w in self._workers:
            for i, info in zip(w.env_indices, replies[w.index]):
                self.reset_infos[i] = info
        self._reset_seeds()
        self._reset_options()
        return self._shared.views["obs"].copy()

    def step_async(self, actions: np.ndarray) -> None:
        self._check_usable("step_async")
        if self.waiting:
            raise RuntimeError("step_async() called twice without step_wait()")
        shm = self._shared.views.get("actions")
        if shm is not None and isinstance(actions, np.ndarray) and actions.dtype == shm.dtype \
                and actions.shape == shm.shape:
            shm[...] = actions
            for w in self._workers:
                self._send(w, None)
        else:  # a dtype or shape the buffer would change: pickle each worker's slice, as DummyVecEnv passes
            # actions to the envs unchanged
            messages = [ForkingPickler.dumps(("step", actions[w.env_indices.start : w.env_indices.stop]))
                        for w in self._workers]
            for w, message in zip(self._workers, messages):
                self._send(w, message)
        self.waiting = True

    def step_wait(self) -> VecEnvStepReturn:
        if not self.waiting:
            raise RuntimeError("step_wait() without step_async()")
        try:
            replies = self._collect(self._workers, "step")
        finally:
            self.waiting = False
        infos: list[dict[str, Any]] = []
        for w in self._workers:
            worker_infos, reset_infos = replies[w.index]
            infos.extend(worker_infos)
            for j, info in reset_infos.items():
                self.reset_infos[w.env_indices.start + j] = info
        views = self._shared.views
        return views["obs"].copy(), views["rewards"].copy(), views["dones"].copy(), infos

    def close(self) -> None:
        """Close the envs and stop the workers; terminates workers that do not stop. Idempotent."""
        if self.closed:
            return
        self.closed = True
        self.waiting = False
        self._finalizer.detach()
        _shutdown(self._workers, self._shared)

    def get_images(self) -> Sequence[np.ndarray | None]:
        if self.render_mode != "rgb_array":
            warnings.warn(
                f"The render mode is {self.render_mode}, but this method assumes it is `rgb_array` to obtain images.",
                stacklevel=2,
            )
            return [None for _ in range(self.num_envs)]
        return self._per_env("render", None, lambda local: local)

    def render(self, mode: str | None = None) -> np.ndarray | None:
        """Tile the envs' images as SB3's VecEnv.render does."""
        return super().render(mode=mode)

    def has_attr(self, attr_name: str) -> bool:
        """Whether every env has `attr_name`, checked in the workers (the value need not pickle)."""
        return all(self._per_env("has_attr", None, lambda local: (attr_name, local)))

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        return self._per_env("get_attr", indices, lambda local: (attr_name, local))

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        self._per_env("set_attr", indices, lambda local: (attr_name, value, local))

    def env_method(self, method_name: str, *method_args: Any, indices: VecEnvIndices = None,
                   **method_kwargs: Any) -> list[Any]:
        return self._per_env("env_method", indices, lambda local: (method_name, method_args, method_kwargs, local))

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None) -> list[bool]:
        return self._per_env("is_wrapped", indices, lambda local: (wrapper_class, local))

    @property
    def pids(self) -> list[int | None]:
        """The worker processes' pids, in worker order."""
        return [w.pid for w in self._workers]

    def worker_of(self, env_index: int) -> int:
        """The worker that steps env `env_index`."""
        return self._env_worker[env_index][0]


def _unpickle(data: bytes | None) -> BaseException | None:
    if data is None:
        return None
    try:
        exc = pickle.loads(data)
    except Exception:  # its class is not importable here, or its __init__ wants other arguments
        return None
    return exc if isinstance(exc, BaseException) else None
