"""`python -m myorl.evaluate` on another env of the same spaces (`env.*`) and on a stage's checkpoints."""

import json

import numpy as np
import pytest
from helpers import processes
from helpers.configs import stage, tiny_experiment

from myorl.tools.evaluate import main
from myorl.tools.video import count_frames

NORM = {"obs": True, "reward": True, "clip_obs": 10.0, "clip_reward": 10.0}
# deterministic (every evaluation alike) and short (videos of a few dozen frames)
HOPPER = {"id": "Hopper-v5", "kwargs": {"reset_noise_scale": 0.0, "max_episode_steps": 30}}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Hopper, evaluated at 64 and 128 steps, checkpointed at the rollout boundaries after them."""
    exp = tiny_experiment(tmp_path_factory.mktemp("anywhere"), [stage("hop", env=HOPPER, budget=128, freq=64,
                                                                      episodes=2)], normalize=NORM)
    exp.run()
    return exp.output_dir


def read(path):
    return json.loads(path.read_text())


def test_env_kwargs_override_evaluates_on_another_env(run, tmp_path, capsys):
    assert main([f"run={run}", f"out={tmp_path}/own"]) == 0
    assert main([f"run={run}", "env.kwargs.ctrl_cost_weight=0.5", f"out={tmp_path}/costly"]) == 0
    own, costly = read(tmp_path / "own/evaluation.json"), read(tmp_path / "costly/evaluation.json")
    assert costly["env"] == {"id": "Hopper-v5", "kwargs": {**HOPPER["kwargs"], "ctrl_cost_weight": 0.5}}
    # the same states and actions (the weight changes the reward, not the dynamics) at 500x the control cost
    assert costly["episode_lengths"] == own["episode_lengths"]
    assert np.isclose(costly["info"]["reward_ctrl"], 500 * own["info"]["reward_ctrl"], rtol=1e-9)
    assert costly["mean_reward"] < own["mean_reward"]
    assert "on Hopper-v5 {'reset_noise_scale': 0.0, 'max_episode_steps': 30, 'ctrl_cost_weight': 0.5}" in capsys.readouterr().out
    assert not (run / "stages/00_hop/evaluation.json").exists()  # not the stage's own env: not in its dir


def test_env_override_without_out_goes_to_outputs_evaluate(run, tmp_path):
    # another id (the same env under its module:Id name) starts from the given kwargs alone
    proc = processes.run("myorl.evaluate", [f"run={run}", "env.id=gymnasium:Hopper-v5", "episodes=1"], cwd=tmp_path,
                         timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    written = list((tmp_path / "outputs/evaluate").glob("*/evaluation.json"))
    assert len(written) == 1 and read(written[0])["env"] == {"id": "gymnasium:Hopper-v5", "kwargs": {}}


def test_checkpoints_evaluate_with_their_own_statistics(run, tmp_path, capsys):
    evaluations = np.load(run / "stages/00_hop/evaluations.npz", allow_pickle=True)
    assert list(evaluations["timesteps"]) == [64, 128]
    assert main([f"run={run}", "model=checkpoint:64"]) == 0
    first = read(run / "stages/00_hop/evaluation.json")
    assert main([f"run={run}", "model=checkpoint:latest", "record=true", "video_episodes=1"]) == 0
    latest = read(run / "stages/00_hop/evaluation.json")
    assert first["model"] == "checkpoint:64" and latest["model"] == "checkpoint:128"
    # checkpoints are taken at rollout boundaries (after an update); the one at the end of the budget is the
    # last model with the last statistics
    assert main([f"run={run}", "model=last"]) == 0
    assert latest["mean_reward"] == read(run / "stages/00_hop/evaluation.json")["mean_reward"]
    assert latest["video"] == "video_checkpoint_128.mp4"
    assert count_frames(run / "stages/00_hop/video_checkpoint_128.mp4") == latest["episode_lengths"][0] + 1
    assert "checkpoint:128 model" in capsys.readouterr().out


@pytest.mark.parametrize("args, expected", [
    (["model=checkpoint:100"], "has no checkpoint at 100 steps; it has: 64, 128 (or checkpoint:latest)"),
    (["model=checkpoint:soon"], "model must be best, last, checkpoint:<timesteps> or checkpoint:latest"),
    (["env.id=InvertedPendulum-v5"], "stage 'hop' observes shape (11,), env 'InvertedPendulum-v5' {} has (4,)"),
    (["env.kwargs.no_such_kwarg=1"], "rejected its kwargs"),
    (["env.idd=Hopper-v5"], "env.idd"),
])
def test_bad_env_or_checkpoint_is_one_clear_line(run, tmp_path, capsys, args, expected):
    assert main([f"run={run}", f"out={tmp_path}/out", *args]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("myorl: ") and expected in err[0], err
    assert not (tmp_path / "out").exists()


def test_a_stage_without_checkpoints_says_so(tmp_path, capsys):
    exp = tiny_experiment(tmp_path, [stage("short", budget=64, freq=64)], overrides=["checkpoint.keep=1"])
    exp.run()
    for ckpt in (exp.output_dir / "stages/00_short/checkpoints").iterdir():
        for f in ckpt.iterdir():
            f.unlink()
        ckpt.rmdir()
    assert main([f"run={exp.output_dir}", "model=checkpoint:latest"]) == 1
    assert "has no checkpoints" in capsys.readouterr().err
