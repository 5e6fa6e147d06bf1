"""A vec env worker process that dies (kill -9) or whose env raises: the stage ends `failed` with the reason,
its checkpoint and last model are saved, and `resume=true` finishes the run. vec_env=auto, the default."""

import json
import os
import signal
import time

from helpers import processes
from helpers.configs import ROOT, TINY_ALGO, stage, write_curriculum
from helpers.faults import worker_pids

BUDGET = 2048
ROLLOUT = 128  # n_steps 64 x 2 envs


def two_stage(tmp_path, env=None):
    second = stage("second", budget=BUDGET, freq=256, **({"env": env} if env else {}))
    conf = write_curriculum(tmp_path, "two", [stage("first", budget=128, freq=64), second])
    return ["--config-dir", str(conf), "+curriculum=two", *TINY_ALGO, "progress=false", "tracking=none", "n_envs=2",
            "vec_env=auto", "normalize.obs=true", "checkpoint.freq=256", f"hydra.run.dir={tmp_path / 'run'}"]


def second_stage(tmp_path):
    return tmp_path / "run/stages/01_second"


def checkpoints(tmp_path):
    root = second_stage(tmp_path) / "checkpoints"
    return sorted(int(p.name) for p in root.glob("[0-9]*")) if root.is_dir() else []


def check_failed_then_resumed(tmp_path, args, code, output, cause):
    assert code == 1 and "HYDRA_FULL_ERROR" not in output, output[-3000:]  # no traceback of the learner
    assert f"hydra.run.dir={tmp_path / 'run'} resume=true" in output  # the command that goes on
    record = json.loads((second_stage(tmp_path) / "stage.json").read_text())
    assert record["status"] == "failed" and cause in record["reason"], record["reason"]
    error = [line for line in output.splitlines() if line.startswith("myorl: ")]
    assert len(error) == 1 and cause in error[0], output[-3000:]
    assert (second_stage(tmp_path) / "last_model.zip").is_file()
    assert (second_stage(tmp_path) / "last_vecnormalize.pkl").is_file()
    # no checkpoint at the moment it failed (mid-rollout, a dead worker's envs cannot be read): the latest one,
    # at a rollout boundary, is where the resume goes on, exactly
    latest = checkpoints(tmp_path)[-1]
    assert latest % ROLLOUT == 0 and latest <= record["timesteps"], (latest, record["timesteps"])
    done = processes.myorl_run([*args, "resume=true"], cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    resumed = json.loads((second_stage(tmp_path) / "stage.json").read_text())
    assert resumed["status"] == "budget_exhausted" and resumed["resumed_from_timesteps"] == latest
    assert resumed["timesteps"] == BUDGET
    assert [s["name"] for s in json.loads((tmp_path / "run/summary.json").read_text())["stages"]] == ["first",
                                                                                                      "second"]


def test_a_killed_worker_fails_the_stage_resumably(tmp_path):
    args = two_stage(tmp_path)
    proc = processes.start("myorl.run", args, cwd=ROOT, merge_output=True)
    deadline = time.monotonic() + 120
    while not checkpoints(tmp_path) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    workers = worker_pids(proc.pid)
    assert checkpoints(tmp_path) and len(workers) >= 1, "no checkpoint of the second stage, or no worker"
    os.kill(workers[0], signal.SIGKILL)  # inject: the worker dies as under the OOM killer
    output, _ = proc.communicate(timeout=120)
    check_failed_then_resumed(tmp_path, args, proc.returncode, output, "SIGKILL")


def test_an_env_that_raises_in_a_worker_fails_the_stage_resumably(tmp_path):
    faulty = {"id": "helpers.faulty_envs:Faulty-v0", "kwargs": {"crash_at": 300, "crash_flag": str(tmp_path / "flag")}}
    args = two_stage(tmp_path, env=faulty)
    done = processes.myorl_run(args, cwd=ROOT, timeout=300)
    check_failed_then_resumed(tmp_path, args, done.returncode, done.stdout + done.stderr, "injected crash at step 300")
