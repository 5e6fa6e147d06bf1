"""Provenance: what a run was made with, kept in its run dir (`provenance.json`) so it can be made again.

Published MyoSuite baselines are hard to reproduce largely because none of this was kept (myosuite issues
#133, #194, #296). Each launch records the versions of Python and of the libraries that decide the numbers,
the git commit of the myorl checkout it ran from (with the uncommitted diff saved beside it), the command
line, the host, its CPUs and torch threads.

`provenance.json` holds the launch that started the run; each `resume=true` appends its own record to
`resumes` (the file is rewritten atomically) and warns, one line per version, where it differs from the
start. A diff is saved as `provenance.diff` (start) or `provenance.resume<N>.diff`.
"""

from __future__ import annotations

import datetime
import logging
import os
import platform
import shlex
import socket
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import torch

from myorl import files

log = logging.getLogger(__name__)

FILE = "provenance.json"
# Distributions whose versions decide a run's numbers (Python itself is recorded as "python").
PACKAGES = ("myorl", "stable-baselines3", "sb3-contrib", "torch", "gymnasium", "mujoco", "myosuite", "hydra-core",
            "wandb", "optuna")
_GIT_TIMEOUT_S = 20.0
_MAX_UNTRACKED = 200  # names of untracked files listed (their content is in no diff)


def versions() -> dict[str, str | None]:
    """Python's version and each of PACKAGES' installed version (None when it is not installed)."""
    found: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def _git(repo: Path, *args: str) -> str | None:
    """`git -C repo args` output, or None when git is missing, fails or takes too long."""
    try:
        done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=_GIT_TIMEOUT_S,
                              env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"})  # read only: take no index lock
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def git_state(package_dir: Path | None = None) -> tuple[dict[str, Any] | None, str]:
    """(commit, dirty flag, untracked files, repository) of the checkout myorl runs from, and `git diff HEAD`.

    The repository is the one holding the `myorl` package itself (not the working directory), and only
    when the package's files are tracked there: an installed copy inside some other repository (a venv
    in a project's checkout) is no checkout of myorl. None when myorl does not run from a checkout.
    """
    package = Path(package_dir) if package_dir else Path(__file__).resolve().parent
    top = _git(package, "rev-parse", "--show-toplevel")
    if top is None or _git(package, "ls-files", "--error-unmatch", "__init__.py") is None:
        return None, ""
    commit, status = _git(package, "rev-parse", "HEAD"), _git(package, "status", "--porcelain")
    if commit is None or status is None:
        return None, ""
    lines = status.splitlines()
    untracked = [line[3:] for line in lines if line.startswith("??")]
    diff = _git(package, "diff", "HEAD") or ""
    state = {"commit": commit.strip(), "dirty": bool(lines), "repository": top.strip(),
             "untracked": untracked[:_MAX_UNTRACKED], "diff": None}
    return state, diff


def command_line(argv: list[str] | None = None) -> str:
    """The command as typed: `python -m myorl.run ...` when run as a module, else sys.argv itself."""
    argv = list(sys.argv if argv is None else argv)
    if argv and Path(argv[0]).name == "run.py" and Path(argv[0]).parent.name == "myorl":
        argv = ["python", "-m", "myorl.run", *argv[1:]]
    return shlex.join(argv)


def collect(launch: str = "start", package_dir: Path | None = None) -> tuple[dict[str, Any], str]:
    """This launch's provenance record and its uncommitted diff ("" when clean or not a checkout)."""
    git, diff = git_state(package_dir)
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count() or 1
    record = {
        "launch": launch,  # start | resume
        "time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "versions": versions(),
        "git": git,
        "command": command_line(),
        "argv": list(sys.argv),
        "cwd": os.getcwd(),
        "executable": sys.executable,
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "usable_cpus": usable,
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.version.cuda,  # None: a CPU build of torch
        "gpus": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        if torch.cuda.is_available() else [],
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
    }
    return record, diff


def differences(started: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """One line per version (and git commit) that differs between the start's record and this launch's."""
    lines = []
    before, after = started.get("versions") or {}, now.get("versions") or {}
    for name in [*after, *(k for k in before if k not in after)]:
        if before.get(name) != after.get(name):
            lines.append(f"{name} {before.get(name)} when the run started, {after.get(name)} now")
    old, new = (started.get("git") or {}).get("commit"), (now.get("git") or {}).get("commit")
    if old != new and (old or new):
        lines.append(f"myorl's git commit {old} when the run started, {new} now")
    return lines


def record(run_dir: Path, resume: bool, package_dir: Path | None = None) -> dict[str, Any]:
    """Write this launch's provenance into `run_dir` (before training) and return its record.

    A fresh run writes `provenance.json`. A resume compares with the start's record, logs one warning per
    changed version, and appends its own record to `resumes`; an unreadable `provenance.json` is left as it
    is (with a warning): provenance never stops a resume.
    """
    path = Path(run_dir) / FILE
    saved: dict[str, Any] | None = None
    if resume and path.exists():
        try:
            saved = files.read_json(path)
            if not isinstance(saved, dict):
                raise ValueError("not a JSON object")
        except (OSError, ValueError) as exc:
            log.warning("resume: '%s' is unreadable (%s); versions not compared, the file is left as it is",
                        path, type(exc).__name__)
            now, _ = collect("resume", package_dir)
            return now
    now, diff = collect("resume" if resume else "start", package_dir)
    if saved is None:  # a fresh run (or one started before myorl kept provenance)
        if diff:
            now["git"]["diff"] = "provenance.diff"
            files.write_text(path.with_name("provenance.diff"), diff)
        files.write_json(path, {**now, "resumes": []})
        return now
    for line in differences(saved, now):
        log.warning("resume: %s", line)
    resumes = list(saved.get("resumes") or [])
    if diff:
        now["git"]["diff"] = f"provenance.resume{len(resumes) + 1}.diff"
        files.write_text(path.with_name(now["git"]["diff"]), diff)
    files.write_json(path, {**saved, "resumes": [*resumes, now]})
    return now
