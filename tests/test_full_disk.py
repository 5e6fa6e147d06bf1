"""A real full disk: the run dir on a small tmpfs of its own, filled while the run trains. The run stops with
one line naming the path, the previous checkpoint is intact, and once space is freed resume=true finishes.
Skipped where a tmpfs cannot be mounted (mounting needs root or CAP_SYS_ADMIN)."""

import errno
import json
import time

import pytest
from helpers import processes
from helpers.configs import ROOT, TINY_ALGO, stage, write_curriculum

from myorl.rundir import CheckpointDir

BUDGET = 4096
CHUNK = 64 * 1024


@pytest.fixture
def small_disk(tmp_path):
    """A 32 MiB tmpfs mounted at tmp_path/disk, unmounted afterwards."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = processes.system(["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", str(disk)])
    if mounted.returncode != 0:
        pytest.skip(f"no tmpfs of our own here (mount: {mounted.stderr.strip() or mounted.returncode}); "
                    "mounting needs root or CAP_SYS_ADMIN")
    yield disk
    if processes.system(["umount", str(disk)]).returncode != 0:
        processes.system(["umount", "-l", str(disk)])


def fill(disk):
    """Write a file until the filesystem is full; returns it."""
    filler = disk / "filler"
    with open(filler, "wb") as f:
        try:
            while True:
                f.write(b"\0" * CHUNK)
                f.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return filler


def test_a_full_disk_stops_clearly_and_resume_finishes_once_space_is_freed(tmp_path, small_disk):
    run = small_disk / "run"
    conf = write_curriculum(tmp_path, "two", [stage("first", budget=128, freq=64),
                                              stage("second", budget=BUDGET, freq=256)])
    args = ["--config-dir", str(conf), "+curriculum=two", *TINY_ALGO, "progress=false", "tracking=none",
            "normalize.obs=true", "checkpoint.freq=256", f"hydra.run.dir={run}"]
    proc = processes.start("myorl.run", args, cwd=ROOT)
    checkpoints = run / "stages/01_second/checkpoints"
    deadline = time.monotonic() + 120
    while not list(checkpoints.glob("[0-9]*")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert proc.poll() is None, "the run ended before its first checkpoint of the second stage"
    filler = fill(small_disk)  # inject: the disk is full
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err[-3000:]
    lines = [line for line in err.splitlines() if line.startswith("myorl: ")]
    assert len(lines) == 1 and f"'{run}" in lines[0] and "free disk space" in lines[0], err[-3000:]
    assert "Traceback" not in out + err, (out + err)[-3000:]
    kept = sorted(checkpoints.glob("[0-9]*"))
    assert kept and not list(run.rglob("*.tmp")) and not list(run.rglob(".tmp-*"))
    CheckpointDir(kept[-1]).check(statistics=True)  # the previous checkpoint is whole: it loads
    filler.unlink()  # space is freed
    done = processes.myorl_run([*args, "resume=true"], cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    record = json.loads((run / "stages/01_second/stage.json").read_text())
    assert record["status"] == "budget_exhausted" and BUDGET <= record["timesteps"] < BUDGET + 64
    assert record["resumed_from_timesteps"] >= int(kept[-1].name)
