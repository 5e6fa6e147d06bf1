"""provenance.json: what a run was made with, kept in its run dir; a resume with other versions warns."""

import json
import logging
import platform
import subprocess

import torch
from helpers.configs import stage

from myorl import provenance

FILE = "provenance.json"


def test_a_run_records_versions_git_host_and_threads(tiny):
    exp = tiny([stage("only", budget=64, freq=64)], torch_threads=1)
    exp.run()
    saved = json.loads((exp.output_dir / FILE).read_text())
    versions = saved["versions"]
    assert set(versions) == {"python", *provenance.PACKAGES}
    assert versions["python"] == platform.python_version() and versions["torch"] == torch.__version__
    assert versions["stable-baselines3"] and versions["gymnasium"] and versions["mujoco"] and versions["hydra-core"]
    assert saved["launch"] == "start" and saved["resumes"] == []
    assert saved["cpu_count"] >= 1 and saved["torch_threads"] == 1 and saved["host"]
    git = saved["git"]  # the tests run from a checkout of myorl
    assert len(git["commit"]) == 40 and isinstance(git["dirty"], bool)
    assert (git["diff"] == "provenance.diff") == (exp.output_dir / "provenance.diff").is_file()
    assert exp.provenance is not None and exp.provenance["versions"] == versions


def test_a_dirty_checkout_saves_its_diff_beside(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "__init__.py").write_text("x = 1\n")
    for args in (["init", "-q"], ["add", "."], ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "c"]):
        subprocess.run(["git", "-C", str(repo), *args], check=True)
    (repo / "__init__.py").write_text("x = 2\n")
    (repo / "new.py").write_text("")
    run = tmp_path / "run"
    run.mkdir()
    record = provenance.record(run, resume=False, package_dir=repo)
    assert record["git"]["dirty"] is True and record["git"]["untracked"] == ["new.py"]
    assert "-x = 1\n+x = 2" in (run / "provenance.diff").read_text()
    assert json.loads((run / FILE).read_text())["git"]["diff"] == "provenance.diff"
    outside = tmp_path / "not_a_checkout"
    outside.mkdir()
    assert provenance.git_state(outside) == (None, "")


def test_resume_warns_where_versions_differ_from_the_start(tiny, caplog):
    exp = tiny([stage("only", budget=64, freq=64)])
    exp.run()
    path = exp.output_dir / FILE
    caplog.set_level(logging.WARNING, logger="myorl.provenance")
    exp.resume = True
    exp.run()  # same versions: no warning
    assert not [r for r in caplog.records if r.name == "myorl.provenance"]
    saved = json.loads(path.read_text())
    assert [r["launch"] for r in saved["resumes"]] == ["resume"]
    saved["versions"]["torch"] = "1.0.0"  # inject: the run was started with another torch
    saved["versions"]["myosuite"] = "0.0.1"
    path.write_text(json.dumps(saved))
    exp.run()
    warned = [r.getMessage() for r in caplog.records if r.name == "myorl.provenance"]
    assert f"resume: torch 1.0.0 when the run started, {torch.__version__} now" in warned
    assert any(w.startswith("resume: myosuite 0.0.1 when the run started") for w in warned)
    assert len(warned) == 2
    after = json.loads(path.read_text())
    assert after["versions"]["torch"] == "1.0.0" and len(after["resumes"]) == 2  # the start's record is kept


def test_an_unreadable_record_does_not_stop_a_resume(tiny, caplog):
    exp = tiny([stage("only", budget=64, freq=64)])
    exp.run()
    path = exp.output_dir / FILE
    path.write_text('{"versions": {"tor')  # truncated
    exp.resume = True
    with caplog.at_level(logging.WARNING, logger="myorl.provenance"):
        exp.run()
    assert any("is unreadable" in r.getMessage() for r in caplog.records)
    assert path.read_text() == '{"versions": {"tor'  # left as it was
