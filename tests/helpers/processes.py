"""The one way tests start processes: `python -m <module>` or a console script of the venv, as a user would.

Every process gets `tests/` on its PYTHONPATH, so test envs (`helpers.faulty_envs:Faulty-v0`) exist in it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

TESTS = str(Path(__file__).resolve().parents[1])
BIN = Path(sys.executable).parent


def _command(module: str | None, tool: str | None, args: list[str]) -> list[str]:
    return [sys.executable, "-m", module, *args] if module else [str(BIN / str(tool)), *args]


def _env(extra: dict[str, str] | None) -> dict[str, str]:
    path = os.pathsep.join(p for p in (TESTS, os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path, **(extra or {})}


def run(module: str | None = None, args: Sequence[str] = (), *, tool: str | None = None, cwd: Path | str | None = None,
        env: dict[str, str] | None = None, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run `python -m module args` (or the venv's `tool args`) to completion; output captured as text."""
    return subprocess.run(_command(module, tool, list(args)), cwd=cwd, env=_env(env), capture_output=True, text=True,
                          timeout=timeout)


def run_code(code: str, args: Sequence[str] = (), cwd: Path | str | None = None,
             timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run `python -c code args` to completion (a scenario a test cannot stage in its own process)."""
    return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, env=_env(None), capture_output=True,
                          text=True, timeout=timeout)


def start(module: str, args: list[str], *, cwd: Path | str | None = None, env: dict[str, str] | None = None,
          merge_output: bool = False, output: Path | None = None) -> subprocess.Popen[str]:
    """Start `python -m module args` in the background (to signal or kill it, or to run several at once).

    `output`: stdout and stderr go to that file instead of pipes (a process left running for long, whose
    output nobody reads while it runs, cannot block on a full pipe).
    """
    if output is not None:
        with open(output, "w") as sink:  # the child keeps its own descriptor
            return subprocess.Popen(_command(module, None, args), cwd=cwd, env=_env(env), stdout=sink,
                                    stderr=subprocess.STDOUT, text=True)
    return subprocess.Popen(_command(module, None, args), cwd=cwd, env=_env(env), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT if merge_output else subprocess.PIPE, text=True)


def system(argv: Sequence[str], *, cwd: Path | str | None = None,
           timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run a system tool (git, mount, umount) to completion; output captured as text, never raises on failure."""
    try:
        return subprocess.run(list(argv), cwd=cwd, capture_output=True, text=True, timeout=timeout)
    except OSError as exc:  # the tool is not installed
        return subprocess.CompletedProcess(list(argv), 127, "", str(exc))


def myorl_run(args: list[str], cwd: Path | str, env: dict[str, str] | None = None,
              timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """`python -m myorl.run ARGS` as a user types it."""
    return run("myorl.run", args, cwd=cwd, env=env, timeout=timeout)


def run_program(argv: list[str], check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """A system program (a database server's tools, say); raises on failure when `check`."""
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return proc
