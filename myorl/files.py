"""Atomic file writes: a temporary file in the same folder, fsync, then rename.

A reader (or a resumed run) sees the old file or the new one, never half of one. A failed write
(full disk, no permission) removes its temporary file and raises a MyorlError naming the path.
"""

from __future__ import annotations

import fcntl
import io
import json
import os
import pickle
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.vec_env import VecEnv, unwrap_vec_normalize

from myorl.errors import MyorlError


def write_bytes(path: Path, data: bytes) -> Path:
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Not tempfile.mkstemp: its files are 0600; this one gets the usual permissions (0666 less the umask).
        tmp = str(path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        if not isinstance(exc, OSError):
            raise
        raise MyorlError(f"could not write '{path}': {exc.strerror or exc}; free disk space or choose a "
                         "writable run dir (hydra.run.dir=...)") from None
    return path


def write_json(path: Path, obj: Any) -> Path:
    return write_bytes(path, (json.dumps(obj, indent=2, default=str) + "\n").encode())


@contextmanager
def locked(directory: Path) -> Iterator[None]:
    """Hold `directory/.lock` exclusively: one process per run dir (the kernel frees it if we are killed)."""
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        handle = open(directory / ".lock", "a+")
    except OSError as exc:
        raise MyorlError(f"could not write '{directory}': {exc.strerror or exc}; choose a writable run dir "
                         "(hydra.run.dir=...)") from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise MyorlError(f"'{directory}' is in use by another myorl process; wait for it to end "
                             "(or stop it) before resuming, or choose another hydra.run.dir") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def read_json(path: Path) -> Any:
    return json.loads(Path(path).read_text())


def write_text(path: Path, text: str) -> Path:
    return write_bytes(path, text.encode())


def save_model(model: BaseAlgorithm, path: Path) -> Path:
    buffer = io.BytesIO()
    model.save(buffer)
    return write_bytes(path, buffer.getvalue())


def save_statistics(env: VecEnv, path: Path) -> Path | None:
    """Save the VecNormalize statistics inside `env` (VecNormalize.save's format); None when there are none."""
    norm = unwrap_vec_normalize(env)
    if norm is None:
        return None
    return write_bytes(path, pickle.dumps(norm))


def save_npz(path: Path, **arrays: Any) -> Path:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return write_bytes(path, buffer.getvalue())
