"""A throwaway PostgreSQL server on loopback (Debian's postgresql package), for sweeps sharing one Optuna study."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from helpers.processes import run_program


def tool(name: str) -> str | None:
    """A PostgreSQL server program: on PATH or in Debian's versioned folder; None when not installed."""
    found = shutil.which(name) or sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found if isinstance(found, str) else (found[-1] if found else None)


@contextmanager
def server() -> Iterator[str]:
    """Start a server in a temporary folder; yields a database URL; stops and removes it afterwards."""
    initdb, pg_ctl, createdb = (tool(n) or n for n in ("initdb", "pg_ctl", "createdb"))
    as_root = os.geteuid() == 0  # the server refuses to run as root: use the package's postgres user
    run_as = ["runuser", "-u", "postgres", "--"] if as_root else []
    home = Path(tempfile.mkdtemp(prefix="myorl-pg-"))  # under /tmp: reachable by the postgres user
    if as_root:
        shutil.chown(home, "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = home / "data"
    run_program([*run_as, initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"])
    run_program([*run_as, pg_ctl, "-D", str(data), "-l", str(home / "server.log"), "-w", "-o",
                 f"-p {port} -k {home} -c listen_addresses=127.0.0.1", "start"])
    try:
        run_program([*run_as, createdb, "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "myorl"])
        yield f"postgresql://postgres@127.0.0.1:{port}/myorl"
    finally:
        run_program([*run_as, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], check=False)
        shutil.rmtree(home, ignore_errors=True)
