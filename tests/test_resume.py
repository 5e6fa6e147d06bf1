"""Interruptions lose at most one checkpoint interval; faults end a stage `failed`, clearly."""

import json
import os
import shutil
import signal
import time

import numpy as np
import pytest
from helpers import processes
from helpers.configs import ROOT, TINY_ALGO, stage, tiny_experiment, write_curriculum

from myorl.errors import MyorlError

STAGES = [stage("first", budget=128, freq=64), stage("second", budget=3072, freq=256)]


def start(tmp_path, *extra):
    conf = write_curriculum(tmp_path, "two", STAGES)
    args = ["--config-dir", str(conf), "+curriculum=two", *TINY_ALGO, "progress=false", "tracking=none",
            f"hydra.run.dir={tmp_path / 'run'}", *extra]
    return processes.start("myorl.run", args, cwd=ROOT), args


def wait_for_checkpoint(tmp_path, proc, timeout=240):
    ckpts = tmp_path / "run/stages/01_second/checkpoints"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = [p for p in ckpts.glob("[0-9]*")] if ckpts.is_dir() else []
        if done and int(max(done).name) >= 512:
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError("no checkpoint in time")


def resume(args):
    return processes.myorl_run([*args, "resume=true"], cwd=ROOT, timeout=300)


def record(tmp_path, name="01_second"):
    return json.loads((tmp_path / "run/stages" / name / "stage.json").read_text())


def test_sigkill_mid_stage_then_resume_finishes_the_budget(tmp_path):
    proc, args = start(tmp_path)
    wait_for_checkpoint(tmp_path, proc)
    proc.kill()
    proc.wait()
    first = record(tmp_path, "00_first")
    assert not (tmp_path / "run/stages/01_second/stage.json").exists()
    assert not list((tmp_path / "run").rglob("*.tmp"))  # nothing half-written under a real name either
    done = resume(args)
    assert done.returncode == 0, done.stderr[-3000:]
    second = record(tmp_path)
    assert record(tmp_path, "00_first") == first  # the finished stage was skipped
    assert second["status"] == "budget_exhausted" and 3072 <= second["timesteps"] < 3072 + 64
    assert second["resumed_from_timesteps"] is not None and second["resumed_from_timesteps"] >= 512
    assert "resumed from its checkpoint" in done.stderr + done.stdout
    evals = np.load(tmp_path / "run/stages/01_second/evaluations.npz", allow_pickle=True)
    assert list(evals["timesteps"]) == sorted(evals["timesteps"]) and evals["timesteps"][0] == 256  # kept
    assert len(list((tmp_path / "run/stages/01_second/checkpoints").glob("[0-9]*"))) <= 2  # keep=2


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_leaves_interrupted_stage_and_resume_command(tmp_path, sig):
    proc, args = start(tmp_path)
    wait_for_checkpoint(tmp_path, proc)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "Traceback" not in err
    assert "stopping at the next rollout boundary" in err and "checkpoint saved" in err
    second = record(tmp_path)
    assert second["status"] == "interrupted" and (tmp_path / "run/stages/01_second/last_model.zip").is_file()
    assert "resume=true" in err and f"hydra.run.dir={tmp_path / 'run'}" in err
    ckpt = max((tmp_path / "run/stages/01_second/checkpoints").glob("[0-9]*"))
    assert int(ckpt.name) == second["timesteps"]  # stopped at the rollout boundary after the signal, with a checkpoint
    done = resume(args)
    assert done.returncode == 0 and record(tmp_path)["resumed_from_timesteps"] == second["timesteps"]


def test_a_second_signal_stops_at_once_and_keeps_the_latest_checkpoint(tmp_path):
    proc, args = start(tmp_path)
    wait_for_checkpoint(tmp_path, proc)
    proc.send_signal(signal.SIGINT)
    proc.send_signal(signal.SIGTERM)  # another signal: both are handled, one after the other
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "Traceback" not in err
    assert "stopped by a second SIGTERM" in err and "the latest checkpoint is kept" in err and "resume=true" in err
    assert record(tmp_path)["status"] == "interrupted"
    done = resume(args)
    assert done.returncode == 0 and record(tmp_path)["status"] == "budget_exhausted"


def test_injected_nan_fails_the_stage_and_keeps_the_best_model(tmp_path):
    faulty = {"id": "helpers.faulty_envs:Faulty-v0", "kwargs": {"nan_at": 100}}
    exp = tiny_experiment(tmp_path, [stage("nan", budget=1024, freq=32, env=faulty)])
    with pytest.raises(MyorlError, match="NaN/inf observation"):
        exp.run()
    result = json.loads((exp.output_dir / "stages/00_nan/stage.json").read_text())
    assert result["status"] == "failed" and "NaN" in result["reason"]
    assert (exp.output_dir / "stages/00_nan/best_model.zip").is_file()
    assert json.loads((exp.output_dir / "summary.json").read_text())["stages"][0]["status"] == "failed"


def test_full_disk_while_checkpointing_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    exp = tiny_experiment(tmp_path, [stage("disk", budget=1024, freq=64)])
    ckpts = exp.output_dir / "stages/00_disk/checkpoints"
    real_replace = os.replace

    def replace(src, dst):
        if "checkpoints" in str(dst) and ckpts.is_dir() and list(ckpts.glob("[0-9]*")):
            raise OSError(28, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(MyorlError, match="No space left on device; free disk space"):
        exp.run()
    monkeypatch.setattr(os, "replace", real_replace)
    kept = list(ckpts.glob("[0-9]*"))
    assert [p.name for p in kept] == ["000000000064"] and not list(ckpts.glob(".tmp-*"))
    assert json.loads((kept[0] / "state.json").read_text())["timesteps"] == 64


def test_unwritable_output_dir(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a dir")
    exp = tiny_experiment(tmp_path, [stage("x")])
    exp.output_dir = blocker / "run"
    with pytest.raises(MyorlError, match="could not write .*choose a writable run dir"):
        exp.run()


# ----------------------------------------------------------------------------- bad input on resume
def finished_run(tmp_path):
    proc, args = start(tmp_path, "curriculum.stages.1.max_timesteps=256")
    proc.communicate(timeout=300)
    assert proc.returncode == 0
    return args


def test_resume_of_a_dir_that_is_not_a_run(tmp_path):
    (tmp_path / "run").mkdir()
    proc, args = start(tmp_path, "resume=true")
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1 and "is not a myorl run" in err and "Traceback" not in err


def test_same_dir_without_resume_is_refused(tmp_path):
    args = finished_run(tmp_path)
    proc = processes.myorl_run(args, cwd=ROOT)
    assert proc.returncode == 1 and "already holds a run; add resume=true" in proc.stderr


def test_resume_with_another_algo_is_refused_and_more_budget_allowed(tmp_path):
    args = finished_run(tmp_path)
    other = resume([*args, "algo=recurrent_ppo"])
    assert other.returncode == 1 and "another algo (ppo -> recurrent_ppo)" in other.stderr
    more = resume([*args, "curriculum.stages.0.max_timesteps=256"])
    assert more.returncode == 0 and "curriculum.stages.0.max_timesteps changed: 128 -> 256" in more.stderr + more.stdout


def test_corrupt_and_missing_model_on_resume(tmp_path):
    proc, args = start(tmp_path)
    wait_for_checkpoint(tmp_path, proc)
    proc.kill()
    proc.wait()
    ckpt = max((tmp_path / "run/stages/01_second/checkpoints").glob("[0-9]*"))
    (ckpt / "model.zip").write_bytes(b"garbage")
    corrupt = resume(args)
    assert corrupt.returncode == 1 and "is corrupt" in corrupt.stderr and "Traceback" not in corrupt.stderr
    for p in (tmp_path / "run/stages/01_second/checkpoints").iterdir():
        shutil.rmtree(p)
    (tmp_path / "run/stages/00_first/best_model.zip").unlink()
    missing = resume(args)
    assert missing.returncode == 1 and "best_model.zip' is missing" in missing.stderr


def test_mujoco_instability_is_a_fault():
    from myorl.config import EnvConfig, VecEnvKind
    from myorl.envs import make_vec_env
    from myorl.faults import StageFault, VecFaultCheck

    venv = VecFaultCheck(make_vec_env(EnvConfig("Hopper-v5"), 1, VecEnvKind.dummy, seed=0), "Hopper-v5")
    venv.reset()
    venv.env_method("__getattribute__", "unwrapped")[0].model.opt.timestep = 0.5  # inject: a huge timestep
    with pytest.raises(StageFault, match="became unstable"):
        for _ in range(500):
            venv.step(venv.action_space.high[None])


def test_a_run_dir_in_use_is_refused(tmp_path):
    proc, args = start(tmp_path, "curriculum.stages.1.max_timesteps=1000000")  # still running when we resume
    wait_for_checkpoint(tmp_path, proc)
    second = resume(args)
    proc.kill()
    proc.wait()
    assert second.returncode == 1 and "in use by another myorl process" in second.stderr
