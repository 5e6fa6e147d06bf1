"""Slurm preemption through submitit's checkpointing protocol, rehearsed with submitit's local executor.

A sweep job that gets the preemption signal (USR2) checkpoints at its next rollout boundary and asks submitit
to requeue it; the requeued job resumes the same run dir with `resume=true`, and the sweep ends normally.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import processes
from helpers.configs import ROOT, TINY_ALGO, stage, write_curriculum

from hydra_plugins.myorl_submitit_launcher.launcher import with_resume


def job_pids(sweep: Path) -> list[int]:
    """The submitit job processes of this sweep (`python -m submitit.core._submit <sweep>/.submitit/...`)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if b"submitit.core._submit" in argv and any(str(sweep).encode() in a for a in argv):
            found.append(int(cmdline.parent.name))
    return found


def wait_for(condition, proc, timeout=240):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_with_resume_replaces_any_resume_override():
    assert with_resume(["seed=1", "resume=false"]) == ["seed=1", "resume=true"]
    assert with_resume(["+resume=true"]) == ["resume=true"]


@pytest.mark.slow
def test_preempted_job_checkpoints_requeues_and_resumes_its_run_dir(tmp_path):
    conf = write_curriculum(tmp_path, "long", [stage("long", budget=2048, freq=256)])
    sweep = tmp_path / "sweep"
    proc = processes.start("myorl.run", ["-m", "--config-dir", str(conf), "+curriculum=long", *TINY_ALGO,
                                         "progress=false", "tracking=none", "vec_env=dummy", "seed=3",
                                         "hydra/launcher=slurm_local",
                                         f"hydra.sweep.dir={sweep}"], cwd=ROOT)
    checkpoints = sweep / "0/stages/00_long/checkpoints"
    wait_for(lambda: checkpoints.is_dir() and any(int(p.name) >= 256 for p in checkpoints.glob("[0-9]*")), proc)
    [pid] = wait_for(lambda: job_pids(sweep), proc)
    os.kill(pid, signal.SIGUSR2)  # what Slurm sends at a preemption or before the time limit
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-3000:]
    logs = "".join(p.read_text() for p in (sweep / ".submitit").rglob("*_log.*"))
    assert "stopping at the next rollout boundary" in logs and "Requeued job" in logs
    record = json.loads((sweep / "0/stages/00_long/stage.json").read_text())
    assert record["status"] == "budget_exhausted" and record["resumed_from_timesteps"] >= 256
    assert (sweep / "0/stages/00_long" / "checkpoints").is_dir() and not (sweep / "1").exists()  # the same run dir
    evals = np.load(sweep / "0/stages/00_long/evaluations.npz", allow_pickle=True)
    assert list(evals["timesteps"]) == list(range(256, 2049, 256))  # one curve, no evaluation twice
