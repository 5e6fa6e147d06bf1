"""The command line as a user types it: bad input fails before training, clearly, without files."""

import json

import pytest
from helpers.configs import ROOT, TINY_ALGO, stage, write_curriculum
from helpers.processes import myorl_run


def no_traceback(proc):
    return "Traceback" not in proc.stderr + proc.stdout


def test_no_curriculum_lists_the_shipped_ones(tmp_path):
    proc = myorl_run([f"hydra.run.dir={tmp_path}/run"], cwd=ROOT)
    assert proc.returncode != 0 and no_traceback(proc)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "+curriculum=NAME" in lines[0]
    assert all(name in lines[0] for name in ("demo", "hopper", "baoding_ccw", "baoding_cw"))


@pytest.mark.parametrize("override, expected", [
    ("curriculum.stages.0.max_timestep=5", "curriculum.stages.0.max_timestep"),       # typo'd key
    ("algo.learnin_rate=0.1", "algo.learnin_rate"),                                   # typo'd algo key
    ("seed=abc", "seed"),                                                             # wrong type
    ("curriculum.stages.0.convergence.metric=score", "metric"),                       # not a metric
])
def test_bad_config_fails_in_composition(tmp_path, override, expected):
    proc = myorl_run(["+curriculum=demo", override, f"hydra.run.dir={tmp_path}/run"], cwd=ROOT)
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
    # a later stage's algo overrides: found before the first stage trains
    ("+curriculum.stages.1.algo.lr_schedule=cosine", "stage 'balance_wide_start' algo: unknown lr_schedule 'cosine'"),
    ("+curriculum.stages.1.algo.policy_kwargs.activation_fn=nope", "unknown activation_fn 'nope'"),
    ("+curriculum.stages.1.algo.batch_size=100000", "batch_size 100000 exceeds the rollout size"),
    ("+curriculum.stages.1.algo.clip_range=0", "clip_range must be positive"),
    ("on_stall=maybe", "on_stall must be one of"),
])
def test_bad_values_fail_before_training(tmp_path, override, expected):
    proc = myorl_run(["+curriculum=demo", *override.split(), f"hydra.run.dir={tmp_path}/run"], cwd=ROOT)
    assert proc.returncode != 0 and no_traceback(proc), proc.stderr
    assert expected in proc.stderr + proc.stdout
    assert not (tmp_path / "run" / "stages").exists()


@pytest.mark.parametrize("args, expected", [
    (["+curriculum=baoding_cww"], "unknown curriculum 'baoding_cww' (did you mean baoding_cw?); choose one of: "),
    (["+curriculum=demo", "algo=ppo2"], "unknown algo 'ppo2' (did you mean ppo?); choose one of: ppo, "),
    (["+curriculum=nope"], "unknown curriculum 'nope'; choose one of: "),
    (["+curriculum=demo", "algo=ppo,sac", "-m"], "unknown algo 'sac'"),
])
def test_unknown_names_are_one_line_with_the_choices(tmp_path, args, expected):
    proc = myorl_run([*args, f"hydra.run.dir={tmp_path}/run"], cwd=ROOT)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode != 0 and no_traceback(proc)
    assert len(lines) == 1 and lines[0].startswith("myorl: ") and expected in lines[0], proc.stderr
    shipped = "baoding_cw, demo" if "curriculum" in expected else "recurrent_ppo, recurrent_ppo_baoding"
    assert "_schema" not in lines[0] and shipped in lines[0]


def test_hydra_full_error_still_shows_hydras_own_message(tmp_path):
    proc = myorl_run(["+curriculum=baoding_cww", f"hydra.run.dir={tmp_path}/run"], cwd=ROOT,
                     env={"HYDRA_FULL_ERROR": "1"})
    assert proc.returncode != 0 and "Could not find 'curriculum/baoding_cww'" in proc.stderr


def test_a_curriculum_of_ones_own_is_a_known_name(tmp_path):
    conf = write_curriculum(tmp_path, "mine", [stage("a", budget=128, freq=128)])
    proc = myorl_run(["--config-dir", str(conf), "+curriculum=mien", f"hydra.run.dir={tmp_path}/run"], cwd=ROOT)
    assert proc.returncode != 0 and "unknown curriculum 'mien' (did you mean mine?)" in proc.stderr


def test_cli_run_with_a_curriculum_of_ones_own(tmp_path):
    conf = write_curriculum(tmp_path, "mine", [stage("a", env_id="gymnasium.envs.mujoco:InvertedPendulum-v5",
                                                    budget=128, freq=128)])
    run = tmp_path / "run"
    proc = myorl_run(["--config-dir", str(conf), "+curriculum=mine", *TINY_ALGO, "progress=false",
                    "vec_env=subproc", "n_envs=2", f"hydra.run.dir={run}"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((run / "summary.json").read_text())
    assert summary["curriculum"] == "mine" and summary["stages"][0]["status"] == "budget_exhausted"
    assert (run / ".hydra" / "config.yaml").is_file() and (run / "stages/00_a/best_model.zip").is_file()
