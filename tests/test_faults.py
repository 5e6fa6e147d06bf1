"""The quick cases of the fault campaign (bench/faults.py): one run killed with kill -9 at each kind of moment
of the main process, resumed with resume=true after each kill until done, then checked against an
uninterrupted run: same status and exact step count per stage, summary.json lists each stage once, no
partial or corrupt file. (A worker's death: tests/test_worker_faults.py.)"""

import random

import pytest
from helpers.faults import Setup, check_files, fault_run, reference

KINDS = ["between_stages", "evaluation", "checkpoint_write", "random"]


@pytest.mark.slow  # six launches and a reference run: ~2 min on 2 free cores, far longer on a busy machine
def test_kill_9_at_each_kind_of_moment_then_resume_until_done(tmp_path):
    setup = Setup(tmp_path, budgets=(1024, 3072), eval_freq=640, episodes=2, checkpoint_freq=512)
    logs = tmp_path / "logs"
    logs.mkdir()
    ref = reference(setup, tmp_path / "reference", logs / "reference.log")
    assert ref.expected == {"first": {"status": "budget_exhausted", "timesteps": 1024},
                            "second": {"status": "budget_exhausted", "timesteps": 3072}}
    queue = list(KINDS)
    result = fault_run(setup, tmp_path / "run", queue, random.Random(0), ref.timing, ref.expected,
                       max_kills=len(KINDS), logs=logs)
    assert [k.kind for k in result.kills] == KINDS and not queue
    assert all(k.verified for k in result.kills), [k.detail for k in result.kills]
    assert all(k.lost <= setup.checkpoint_freq for k in result.kills), [(k.kind, k.lost) for k in result.kills]
    assert result.final_code == 0 and result.launches == len(KINDS) + 1
    assert result.problems == []


def test_the_file_check_finds_a_partial_and_a_corrupt_file(tmp_path):
    """check_files, which the campaign's verdict rests on, is not blind."""
    (tmp_path / "stage.json").write_text('{"ok": 1}')
    (tmp_path / ".state.json.1.ab.tmp").write_text("")
    (tmp_path / "experiment.yaml").write_text("a: 1\n")  # no end line: truncated
    (tmp_path / "model.zip").write_bytes(b"PK\x03\x04 cut")
    partial, corrupt, checked = check_files(tmp_path)
    assert partial == [".state.json.1.ab.tmp"] and checked == 3
    assert [c.split(" ")[0] for c in corrupt] == ["experiment.yaml", "model.zip"]
