"""Each kind of file a resume reads, corrupted or truncated: `resume=true` exits non-zero with one line naming
the file and the fix, and writes nothing into the run dir.

One run is made: its first stage finished, its second failed half-way (an env crash, injected once), so a
resume reads experiment.yaml, both stage.json and the second stage's latest checkpoint (model.zip,
vecnormalize.pkl, state.json). Each case damages one file of a copy of it.
"""

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from helpers import processes
from helpers.configs import ROOT, TINY_ALGO, stage, write_curriculum

CHECKPOINT = "stages/01_second/checkpoints/LATEST"
FILES = {  # kind -> (path in the run dir, what the error line names as the fix)
    "checkpoint zip": (f"{CHECKPOINT}/model.zip", "delete that folder, then resume=true goes on from the checkpoint"),
    "statistics pkl": (f"{CHECKPOINT}/vecnormalize.pkl",
                       "delete that folder, then resume=true goes on from the checkpoint"),
    "state.json": (f"{CHECKPOINT}/state.json", "delete that folder, then resume=true goes on from the checkpoint"),
    "stage.json": ("stages/00_first/stage.json", "delete it, then resume=true trains the stage on"),
    "experiment.yaml": ("experiment.yaml", "restore it, or go on in a new run dir from its last finished stage: "
                                           "init_from="),
}
GARBAGE = bytes(range(0x80, 0xC0))  # no valid start of UTF-8, JSON, YAML, a zip header or a pickle


def corrupt(path: Path) -> None:
    """Garbage over the file's first bytes (its size kept)."""
    data = path.read_bytes()
    path.write_bytes(GARBAGE + data[len(GARBAGE):])


def truncate(path: Path) -> None:
    """The file cut to its first half, as a write stopped half-way leaves it."""
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def tree(run: Path) -> dict[str, str]:
    """Every file of the run dir and its content's hash, but Hydra's own: Hydra rewrites `.hydra/` and appends
    to `run.log` at every launch, before myorl runs (the launches' command lines are in provenance.json)."""
    return {str(p.relative_to(run)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(run.rglob("*"))
            if p.is_file() and p.parts[len(run.parts)] != ".hydra" and p != run / "run.log"}


@pytest.fixture(scope="module")
def failed_run(tmp_path_factory):
    """(run dir, arguments): a run whose second stage failed after checkpoints; resumable as it is."""
    root = tmp_path_factory.mktemp("corrupt")
    faulty = {"id": "helpers.faulty_envs:Faulty-v0", "kwargs": {"crash_at": 200, "crash_flag": str(root / "crashed")}}
    conf = write_curriculum(root, "two", [stage("first", budget=128, freq=64),
                                          stage("second", budget=512, freq=64, env=faulty)])
    run = root / "run"
    args = ["--config-dir", str(conf), "+curriculum=two", *TINY_ALGO, "progress=false", "tracking=none",
            "normalize.obs=true", "checkpoint.freq=64", f"hydra.run.dir={run}"]
    done = processes.myorl_run(args, cwd=ROOT, timeout=300)
    assert done.returncode == 1 and "injected crash" in done.stderr, done.stderr[-2000:]
    assert json.loads((run / "stages/01_second/stage.json").read_text())["status"] == "failed"
    return run, args


def copy_of(failed_run, tmp_path) -> tuple[Path, list[str]]:
    run, args = failed_run
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    return copy, [a.replace(str(run), str(copy)) for a in args] + ["resume=true"]


def resolve(run: Path, relative: str) -> Path:
    if "LATEST" not in relative:
        return run / relative
    checkpoints = sorted((run / "stages/01_second/checkpoints").glob("[0-9]*"))
    assert len(checkpoints) == 2  # keep=2: the error names the one before
    return run / relative.replace("checkpoints/LATEST", f"checkpoints/{checkpoints[-1].name}")


@pytest.mark.parametrize("damage", [corrupt, truncate], ids=["corrupt", "truncate"])
@pytest.mark.parametrize("kind", list(FILES))
def test_a_damaged_file_stops_the_resume_with_one_line_and_nothing_written(failed_run, tmp_path, kind, damage):
    run, args = copy_of(failed_run, tmp_path)
    relative, fix = FILES[kind]
    path = resolve(run, relative)
    damage(path)
    before = tree(run)
    done = processes.myorl_run(args, cwd=ROOT, timeout=300)
    assert done.returncode == 1, done.stderr[-2000:]
    lines = [line for line in done.stderr.splitlines() if line.startswith("myorl: ")]
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr[-2000:]
    named = str(path.parent if "checkpoints" in relative else path)
    assert f"'{named}'" in lines[0] and path.name in lines[0] and fix in lines[0], lines[0]
    assert tree(run) == before  # nothing overwritten, nothing added


def test_the_undamaged_copy_resumes_to_the_end(failed_run, tmp_path):
    run, args = copy_of(failed_run, tmp_path)
    done = processes.myorl_run(args, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    record = json.loads((run / "stages/01_second/stage.json").read_text())
    assert record["status"] == "budget_exhausted" and record["timesteps"] == 512
    # the crash at step 199 stopped the stage mid-rollout: the resume goes on from the boundary checkpoint before it
    assert record["resumed_from_timesteps"] == 192
