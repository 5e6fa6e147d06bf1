"""The worker side of BatchedSubprocVecEnv: one process stepping a contiguous group of envs.

This module imports neither Stable-Baselines3 nor torch (and `myorl.vec_env` imports its parent-side
module lazily), so a worker whose env factories need neither starts in ~1 s with ~70 MB instead of
~4 s and ~250 MB (measured here: `import stable_baselines3` alone). SB3's `_patch_env` is imported only for
an env that is not a Gymnasium env.
"""

from __future__ import annotations

import copyreg
import io
import multiprocessing as mp
import pickle
import signal
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing import shared_memory
from multiprocessing.connection import Connection
from multiprocessing.reduction import ForkingPickler
from typing import Any

import cloudpickle
import gymnasium as gym
import numpy as np

# Command codes a worker reads from the shared `codes` array after its go-semaphore was released.
STEP = 1  # step with the actions in shared memory
PIPE = 2  # read the command from the pipe (reset, get_attr, a step with actions the buffer cannot hold, ...)
CLOSE = 3  # close the envs and exit

ORPHAN_POLL_S = 1.0  # how often an idle worker checks that its parent still lives


def _scalar(x: np.generic) -> tuple[type, tuple[Any]]:
    return type(x), (x.item(),)


# Infos are full of numpy scalars (Hopper's: 5 of 7 values). Pickle's default for a numpy scalar
# stores its dtype and raw bytes and took ~2.3x as long as this one (type and Python value) for
# Hopper's infos, measured here; the round trip gives back the same type and value.
_REPLY_REDUCERS: dict[type, Callable[[Any], Any]] = {
    **copyreg.dispatch_table,
    **{t: _scalar for t in (np.float16, np.float32, np.float64, np.int8, np.int16, np.int32, np.int64,
                            np.uint8, np.uint16, np.uint32, np.uint64, np.bool_, np.complex64, np.complex128)},
}


def dumps(obj: Any) -> memoryview:
    """Pickle a reply (a plain pickle: `Connection.recv` and `pickle.loads` read it)."""
    buf = io.BytesIO()
    pickler = pickle.Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = _REPLY_REDUCERS
    pickler.dump(obj)
    return buf.getbuffer()


class Pickled:
    """Pickles its value with cloudpickle (lambdas and closures work), as SB3's CloudpickleWrapper.

    Unlike that wrapper it unpickles on first use of `.value`, inside the worker's error handling:
    a factory whose module the worker cannot import is reported like any other construction error,
    instead of killing the process while it unpickles its arguments.
    """

    def __init__(self, value: Any) -> None:
        self._value, self._state = value, b""

    def __getstate__(self) -> bytes:
        return cloudpickle.dumps(self._value)

    def __setstate__(self, state: bytes) -> None:
        self._value, self._state = None, state

    @property
    def value(self) -> Any:
        if self._state:
            self._value, self._state = cloudpickle.loads(self._state), b""
        return self._value


@dataclass
class RemoteError:
    """What a worker sends back when a command raised (picklable; the exception itself may not be)."""

    env_index: int | None  # global index of the env that raised, None outside an env
    type_name: str
    message: str
    traceback: str
    exception: bytes | None  # the pickled exception, when it pickles


def remote_error(exc: BaseException, env_index: int | None) -> RemoteError:
    try:
        pickled: bytes | None = pickle.dumps(exc)
    except Exception:  # an exception holding unpicklable state
        pickled = None
    return RemoteError(env_index, type(exc).__name__, str(exc), traceback.format_exc(), pickled)


def array_views(block: shared_memory.SharedMemory, layout: dict[str, Any]) -> dict[str, np.ndarray]:
    """Numpy views on the shared block; `layout` maps a name to (offset, shape, dtype string)."""
    buf = block.buf
    assert buf is not None, "the block is closed"
    views = {}
    for name, spec in layout.items():
        if name == "size":
            continue
        offset, shape, dtype = spec
        count = int(np.prod(shape))
        views[name] = np.frombuffer(buf, dtype=np.dtype(dtype), count=count, offset=offset).reshape(shape)
    return views


def _patch(env: Any) -> gym.Env:
    """SB3's `_patch_env` (old gym envs get shimmy's compatibility layer), importing SB3 only then."""
    if isinstance(env, gym.Env):
        return env
    from stable_baselines3.common.vec_env.patch_gym import _patch_env

    return _patch_env(env)


def _is_wrapped(env: gym.Env, wrapper_class: type[gym.Wrapper]) -> bool:
    """SB3's `env_util.is_wrapped` (the same walk), without importing SB3 here."""
    while isinstance(env, gym.Wrapper):
        if isinstance(env, wrapper_class):
            return True
        env = env.env
    return False


def _has_attr(env: gym.Env, name: str) -> bool:
    try:
        env.get_wrapper_attr(name)
        return True
    except AttributeError:
        return False


def worker(  # noqa: C901 (one loop serving every command, as SB3's _worker)
    index: int,
    env_indices: range,
    env_fns: list[Pickled],
    conn: Connection,
    go: Any,
    done: Any,
    codes: Any,
) -> None:
    """Build the envs, report their spaces, then serve commands until CLOSE or the parent goes away.

    Every reply is pickled first, then `done` is released, then the bytes go through the pipe: the
    parent wakes on the semaphore (cheaper here than waking on a pipe) and a reply larger than the
    socket buffer cannot deadlock (the parent is already reading when the worker blocks on send).
    """
    # The parent decides what Ctrl-C means (e.g. save and stop) and closes the workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The process that started us, watched through its sentinel (a pipe that reaches EOF when it dies).
    # Not os.getppid(): under forkserver our parent is the forkserver, which outlives the main process
    # for as long as any worker lives (the workers hold its "alive" pipe), so it never changes.
    parent = mp.parent_process()
    first = env_indices.start
    envs: list[gym.Env] = []
    block: shared_memory.SharedMemory | None = None
    views: dict[str, np.ndarray] = {}
    reset_infos: dict[int, dict[str, Any]] = {}

    def reply(status: str, payload: Any) -> None:
        try:
            data = dumps((status, payload))
        except Exception as exc:  # e.g. get_attr of something unpicklable
            data = dumps(("error", remote_error(exc, None)))
        done.release()
        conn.send_bytes(data)

    def step(actions: Any) -> tuple[str, Any]:
        obs_buf, rew_buf, done_buf = views["obs"], views["rewards"], views["dones"]
        infos = []
        reset_infos.clear()  # only the envs that reset in this step, as DummyVecEnv updates reset_infos
        for j, env in enumerate(envs):
            try:
                obs, reward, terminated, truncated, info = env.step(actions[j])
                # DummyVecEnv.step_wait's conversion to SB3's API, in the same order
                ended = terminated or truncated
                info["TimeLimit.truncated"] = truncated and not terminated
                if ended:
                    info["terminal_observation"] = obs
                    obs, reset_infos[j] = env.reset()
                obs_buf[first + j] = obs  # cast to the observation space's dtype, as DummyVecEnv's buffer
                rew_buf[first + j] = reward
                done_buf[first + j] = ended
            except Exception as exc:
                return "error", remote_error(exc, first + j)
            infos.append(info)
        return "ok", (infos, reset_infos)

    def reset(seeds_options: list[tuple[int | None, dict[str, Any]]]) -> tuple[str, Any]:
        infos = []
        for j, (env, (seed, options)) in enumerate(zip(envs, seeds_options)):
            try:
                maybe_options = {"options": options} if options else {}
                obs, info = env.reset(seed=seed, **maybe_options)
                views["obs"][first + j] = obs
            except Exception as exc:
                return "error", remote_error(exc, first + j)
            infos.append(info)
        return "ok", infos

    def per_env(local: list[int], call: Callable[[gym.Env], Any]) -> tuple[str, Any]:
        out = []
        for j in local:
            try:
                out.append(call(envs[j]))
            except Exception as exc:
                return "error", remote_error(exc, first + j)
        return "ok", out

    def handle(cmd: str, data: Any) -> tuple[str, Any]:
        nonlocal block, views
        if cmd == "step":
            return step(data)
        if cmd == "reset":
            return reset(data)
        if cmd == "attach":
            name, layout = data
            block = shared_memory.SharedMemory(name=name)
            views = array_views(block, layout)
            return "ok", None
        if cmd == "get_attr":
            return per_env(data[1], lambda e: e.get_wrapper_attr(data[0]))
        if cmd == "has_attr":
            return per_env(data[1], lambda e: _has_attr(e, data[0]))
        if cmd == "set_attr":
            return per_env(data[2], lambda e: setattr(e, data[0], data[1]))
        if cmd == "env_method":
            name, args, kwargs, local = data
            return per_env(local, lambda e: e.get_wrapper_attr(name)(*args, **kwargs))
        if cmd == "is_wrapped":
            return per_env(data[1], lambda e: _is_wrapped(e, data[0]))
        if cmd == "render":
            return per_env(data, lambda e: e.render())
        raise NotImplementedError(f"`{cmd}` is not implemented in the worker")

    try:
        for j in range(len(env_fns)):
            try:
                envs.append(_patch(env_fns[j].value()))
            except Exception as exc:
                reply("error", remote_error(exc, first + j))
                break
        else:
            reply("ok", (envs[0].observation_space, envs[0].action_space, envs[0].metadata))

        while True:
            if not go.acquire(timeout=ORPHAN_POLL_S):
                if parent is not None and not parent.is_alive():  # nobody will ask again
                    break
                continue
            code = codes[index]
            if code == CLOSE:
                break
            if code == STEP:
                # a private copy: an env may keep a reference to its action after the buffer moves on
                reply(*step(views["actions"][first : first + len(envs)].copy()))
                continue
            message = conn.recv_bytes()  # EOFError, OSError: the parent is gone (handled below)
            try:
                cmd, data = ForkingPickler.loads(message)
                status, payload = handle(cmd, data)
            except Exception as exc:  # an argument that does not unpickle here, a failed attach, ...
                status, payload = "error", remote_error(exc, None)
            reply(status, payload)
    except (EOFError, OSError):  # the parent closed its end or went away
        pass
    finally:
        for env in envs:
            try:
                env.close()
            except Exception:
                pass
        views.clear()
        if block is not None:
            try:
                block.close()
            except BufferError:
                pass
