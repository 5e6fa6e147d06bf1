"""W&B tracking, offline, read back with wandb's own reader (`wandb leet inspect`)."""

import json
from pathlib import Path

import pytest
from helpers import processes
from helpers.configs import ROOT, TINY_ALGO, stage, write_curriculum


def inspect(run_dir: Path) -> tuple[dict, list[dict]]:
    """(summary view, all records) of one offline W&B run."""
    summary = processes.run(tool="wandb", args=["leet", "inspect", "--summary", "--json", str(run_dir)])
    records = processes.run(tool="wandb", args=["leet", "inspect", "--json", str(run_dir)])
    assert summary.returncode == 0 and records.returncode == 0, summary.stderr + records.stderr
    summary, records = summary.stdout, records.stdout
    return json.loads(summary), [json.loads(line) for line in records.splitlines() if line.strip()]


def two_stage(tmp_path, *extra, multirun=False):
    conf = write_curriculum(tmp_path, "two", [stage("first", budget=128, freq=64), stage("second", budget=128, freq=64)])
    run = tmp_path / "run"
    proc = processes.myorl_run([*(["-m"] if multirun else []), "--config-dir", str(conf), "+curriculum=two", *TINY_ALGO,
                                "progress=false", f"hydra.run.dir={run}", *extra], cwd=ROOT, env={"WANDB_SILENT": "true"})
    return run, proc


def test_two_stages_two_runs_one_group(tmp_path):
    run, proc = two_stage(tmp_path, "tracking.tags=[mine]", "tracking.notes=hello")
    assert proc.returncode == 0, proc.stderr[-2000:]
    runs = sorted((run / "wandb").glob("offline-run-*"))
    assert len(runs) == 2
    seen = {}
    for run_dir in runs:
        summary, records = inspect(run_dir)
        meta = next(r["run"] for r in records if r["type"] == "run")
        seen[meta["job_type"]] = (summary, records, meta)
    assert set(seen) == {"first", "second"}
    groups = {meta["run_group"] for _, _, meta in seen.values()}
    assert len(groups) == 1 and groups.pop().startswith("two-")
    summary, records, meta = seen["second"]
    assert {"two", "ppo", "InvertedPendulum-v5", "mine"} <= set(meta["tags"])
    assert meta["display_name"] == "two/second/seed0" and summary["notes"] == "hello"
    assert summary["config"]["run"]["curriculum"]["name"] == "two"            # the whole resolved config
    assert summary["config"]["stage"]["name"] == "second"                     # the stage's own
    assert summary["config"]["sb3"]["n_steps"] == 64 and summary["config"]["sb3"]["algo"] == "PPO"
    assert summary["config"]["sb3"]["fast"] is True                            # algo.fast, the default
    started = json.loads((run / "provenance.json").read_text())              # myorl.provenance
    assert started["command"].startswith("python -m myorl.run --config-dir") and "+curriculum=two" in started["command"]
    assert summary["config"]["provenance"]["versions"] == started["versions"]
    assert summary["config"]["provenance"]["git"]["commit"] == started["git"]["commit"]
    assert summary["summary"]["status"] == "budget_exhausted" and "best_metric" in summary["summary"]
    assert summary["exit_code"] == 0 and summary["state"] == "finished"
    history = [r["history"]["item"] for r in records if r["type"] == "history"]
    evals = [h for h in history if "eval/mean_reward" in h]
    assert evals and all("timesteps" in h and "curriculum/timesteps" in h for h in evals)
    first_steps = json.loads((run / "stages/00_first/stage.json").read_text())["timesteps"]
    assert evals[0]["curriculum/timesteps"] == first_steps + evals[0]["timesteps"]  # cumulative x-axis
    assert any("train/loss" in h for h in history) and any("rollout/ep_rew_mean" in h for h in history)
    assert any(0 < h.get("info/reward_survive", -1) < 1 for h in history)  # info means per rollout
    assert any("eval/info/reward_survive" in h for h in history)
    assert (run / "stages/01_second/tracking.json").is_file()
    assert list((run / "tensorboard").glob("*/events.out.tfevents.*"))  # TensorBoard too


def test_tracking_none_writes_no_wandb_files(tmp_path):
    run, proc = two_stage(tmp_path, "tracking=none")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert not (run / "wandb").exists() and not list(run.rglob("tracking.json"))


def test_online_without_account_is_refused_clearly(tmp_path):
    run, proc = two_stage(tmp_path, "tracking.mode=online")
    assert proc.returncode != 0 and "wandb login" in proc.stderr and "Traceback" not in proc.stderr
    assert not (run / "stages").exists()


def test_failed_stage_finishes_its_wandb_run_with_an_error(tmp_path):
    run, proc = two_stage(tmp_path, "curriculum.stages.1.env.id=helpers.faulty_envs:Faulty-v0",
                          "+curriculum.stages.1.env.kwargs.crash_at=100")
    assert proc.returncode != 0
    record = json.loads((run / "stages/01_second/stage.json").read_text())
    assert record["status"] == "failed" and "injected crash" in record["reason"]
    by_job = {}
    for run_dir in (run / "wandb").glob("offline-run-*"):
        summary, records = inspect(run_dir)
        by_job[next(r["run"] for r in records if r["type"] == "run")["job_type"]] = summary
    assert by_job["first"]["exit_code"] == 0 and by_job["second"]["exit_code"] != 0
    assert by_job["second"]["summary"]["status"] == "failed"


@pytest.mark.parametrize("launcher", ["basic", "joblib"])
def test_multirun_jobs_get_their_own_runs(tmp_path, launcher):
    run, proc = two_stage(tmp_path, "seed=0,1", f"hydra.sweep.dir={tmp_path}/sweep", f"hydra/launcher={launcher}",
                          multirun=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    ids, groups, sweeps = set(), set(), set()
    for run_dir in (tmp_path / "sweep").glob("*/wandb/offline-run-*"):
        summary, records = inspect(run_dir)
        ids.add(summary["run_id"])
        groups.add(next(r["run"] for r in records if r["type"] == "run")["run_group"])
        sweeps.add(summary["config"]["sweep"])
    assert len(ids) == 4 and len(groups) == 2  # 2 jobs x 2 stages; one group per job
    assert sweeps == {str(tmp_path / "sweep")}  # every run knows its sweep
