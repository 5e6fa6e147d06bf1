"""The command line as a user types it: bad input fails before training, clearly, without files."""

import json

import pytest
from conftest import ROOT, TINY_ALGO, run_cli, stage, write_curriculum


def no_traceback(proc):
    return "Traceback" not in proc.stderr + proc.stdout


def test_no_curriculum_lists_the_shipped_ones(tmp_path):
    proc = run_cli([f"hydra.run.dir={tmp_path}/run"], cwd=ROOT)
    assert proc.returncode != 0 and no_traceback(proc)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "+curriculum=NAME" in lines[0]
    assert all(name in lines[0] for name in ("demo", "hopper", "baoding_ccw", "baoding_cw"))


@pytest.mark.parametrize("override, expected", [
    ("curriculum.stages.0.max_timestep=5", "curriculum.stages.0.max_timestep"),       # typo'd key
    ("algo.learnin_rate=0.1", "algo.learnin_rate"),                                   # typo'd algo key
    ("seed=abc", "seed"),                                                             # wrong type
    ("curriculum.stages.0.convergence.metric=score", "metric"),                       # not a metric
    ("algo=sac", "algo/sac"),                                                         # unknown algo
])
def test_bad_config_fails_in_composition(tmp_path, override, expected):
    proc = run_cli(["+curriculum=demo", override, f"hydra.run.dir={tmp_path}/run"], cwd=ROOT)
    assert proc.returncode != 0 and no_traceback(proc)
    assert expected in proc.stderr
    assert not (tmp_path / "run" / "stages").exists()


@pytest.mark.parametrize("override, expected", [
    ("curriculum.stages.0.env.id=Hoppr-v5", "unknown env id 'Hoppr-v5'"),
    ("curriculum.stages.1.max_timesteps=0", "max_timesteps must be positive"),
    ("max_timesteps=-5", "max_timesteps must be positive"),
    ("curriculum.stages.0.name=a/b", "a stage name is a folder name"),
    ("curriculum.stages.0.eval.freq=1000000", "eval.freq 1000000 is larger than max_timesteps"),
    ("+curriculum.stages.0.algo.learnin_rate=1", "learnin_rate"),
    ("curriculum.stages.1.env.id=InvertedDoublePendulum-v5 handover.strict=true", "handover.strict=false"),
])
def test_bad_values_fail_before_training(tmp_path, override, expected):
    proc = run_cli(["+curriculum=demo", *override.split(), f"hydra.run.dir={tmp_path}/run"], cwd=ROOT)
    assert proc.returncode != 0 and no_traceback(proc), proc.stderr
    assert expected in proc.stderr + proc.stdout
    assert not (tmp_path / "run" / "stages").exists()


def test_unknown_curriculum(tmp_path):
    proc = run_cli(["+curriculum=nope", f"hydra.run.dir={tmp_path}/run"], cwd=ROOT)
    assert proc.returncode != 0 and no_traceback(proc) and "curriculum/nope" in proc.stderr


def test_cli_run_with_a_curriculum_of_ones_own(tmp_path):
    conf = write_curriculum(tmp_path, "mine", [stage("a", env_id="gymnasium.envs.mujoco:InvertedPendulum-v5",
                                                    budget=128, freq=128)])
    run = tmp_path / "run"
    proc = run_cli(["--config-dir", str(conf), "+curriculum=mine", *TINY_ALGO, "progress=false",
                    "vec_env=subproc", "n_envs=2", f"hydra.run.dir={run}"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((run / "summary.json").read_text())
    assert summary["curriculum"] == "mine" and summary["stages"][0]["status"] == "budget_exhausted"
    assert (run / ".hydra" / "config.yaml").is_file() and (run / "stages/00_a/best_model.zip").is_file()
