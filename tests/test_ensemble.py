"""Ensembles: the mean of several trained models' actions, each with its own statistics and LSTM state."""

import json

import numpy as np
import pytest
from helpers import processes
from helpers.configs import stage, tiny_experiment

from myorl.config import NormalizeConfig
from myorl.envs import build_eval_env
from myorl.metrics import evaluate
from myorl.rundir import open_stage
from myorl.tools.ensemble import Ensemble, Member
from myorl.tools.evaluate import evaluate_stage, main
from myorl.tools.video import count_frames

NORM = {"obs": True, "reward": True, "clip_obs": 10.0, "clip_reward": 10.0}
LSTM = ["algo=recurrent_ppo", "algo.policy_kwargs.lstm_hidden_size=8"]
STILL_HOPPER = {"id": "Hopper-v5", "kwargs": {"reset_noise_scale": 0.0, "max_episode_steps": 30}}  # all alike, short


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Hopper: a PPO and two RecurrentPPO models (seeds 0 and 1), each normalising with its own statistics."""
    root = tmp_path_factory.mktemp("ensemble")
    made = {}
    for name, env, overrides, seed in (("ppo", {"id": "Hopper-v5", "kwargs": {}}, [], 0),
                                       ("lstm0", STILL_HOPPER, LSTM, 0), ("lstm1", STILL_HOPPER, LSTM, 1)):
        exp = tiny_experiment(root / name, [stage(name, env=env, budget=128, freq=128, episodes=3)],
                              overrides=[*overrides, f"seed={seed}"], normalize=NORM)
        exp.run()
        made[name] = exp.output_dir
    pendulum = tiny_experiment(root / "pendulum", [stage("pendulum", budget=64, freq=64)])  # other spaces
    pendulum.run()
    made["pendulum"] = pendulum.output_dir
    return made


def raw_eval_env(path):
    plan = open_stage(path).plan
    return build_eval_env(plan.env, seed=plan.seed, normalize=NormalizeConfig(), frame_stack=None)


@pytest.mark.parametrize("name", ["ppo", "lstm0"])
def test_an_ensemble_of_identical_members_equals_the_member(runs, name):
    alone = evaluate_stage(open_stage(runs[name]), "best", episodes=3)
    env = raw_eval_env(runs[name])  # un-normalised: each member normalises what it sees
    together = evaluate(Ensemble.load([runs[name], runs[name]]), env, 3)
    env.close()
    assert together.episode_rewards == alone.episode_rewards  # exactly: the same actions at every step
    assert together.episode_lengths == alone.episode_lengths


def test_the_action_is_the_mean_of_the_members_actions(runs):
    members = [Member.load(runs[name]) for name in ("ppo", "lstm0", "lstm1")]
    env = raw_eval_env(runs["lstm0"])
    obs = env.reset()
    starts = np.ones(1, dtype=bool)
    actions, state = Ensemble(members).predict(obs, None, starts, deterministic=True)
    singles = [m.predict(obs, None, starts, deterministic=True)[0] for m in members]
    env.close()
    np.testing.assert_allclose(actions, np.mean(singles, axis=0), rtol=1e-6)
    assert state[0] is None and len(state[1]) == 2  # PPO has no state; each LSTM member its own (h, c)


def test_each_members_lstm_state_resets_at_an_episode_start(runs):
    ensemble = Ensemble.load([runs["lstm0"], runs["lstm1"]])
    env = raw_eval_env(runs["lstm0"])
    first_obs = env.reset()
    first, state = ensemble.predict(first_obs, None, np.ones(1, dtype=bool), deterministic=True)
    obs = first_obs
    for _ in range(5):
        action, state = ensemble.predict(obs, state, np.zeros(1, dtype=bool), deterministic=True)
        obs, *_ = env.step(action)
    carried, _ = ensemble.predict(first_obs, state, np.zeros(1, dtype=bool), deterministic=True)
    restarted, _ = ensemble.predict(first_obs, state, np.ones(1, dtype=bool), deterministic=True)
    assert not np.array_equal(carried, first)  # the state matters ...
    np.testing.assert_array_equal(restarted, first)  # ... and an episode start clears it
    # every episode of this noise-free env starts alike: with states reset, every episode is the same
    evaluation = evaluate(ensemble, env, 3)
    env.close()
    assert len(set(evaluation.episode_rewards)) == 1 and len(set(evaluation.episode_lengths)) == 1


def test_cli_evaluates_and_records_an_ensemble(runs, tmp_path):
    out = tmp_path / "ens"
    proc = processes.run("myorl.evaluate", [f"ensemble=[{runs['lstm0']},{runs['lstm1']}/stages/00_lstm1]",
                                            "episodes=2", "record=true", "video_episodes=1", f"out={out}"],
                         cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    record = json.loads((out / "evaluation.json").read_text())
    assert len(record["ensemble"]) == 2 and record["episodes"] == 2 and record["deterministic"] is True
    assert record["env"] == STILL_HOPPER and record["seed"] == 0
    assert proc.stdout.startswith("ensemble of 2: ")
    assert count_frames(out / "video.mp4") == record["episode_lengths"][0] + 1


@pytest.mark.parametrize("args, expected", [
    (["ensemble=[{ppo},{pendulum}]"], "ensemble members differ in observation shape"),
    (["ensemble=[]"], "ensemble= takes a list of run or stage dirs"),
    (["ensemble=[{ppo}]", "run={ppo}"], "not both"),
    (["ensemble=[{ppo},{ppo}]", "model=checkpoint:5"], "has no checkpoint at 5 steps; it has: 128"),
    (["ensemble=[{ppo}]", "env.id=InvertedPendulum-v5"], "the ensemble observes shape (11,), env 'InvertedPendulum-v5'"),
])
def test_bad_ensembles_are_one_clear_line(runs, tmp_path, capsys, args, expected):
    assert main([a.format(**runs) for a in args] + [f"out={tmp_path}/out"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("myorl: ") and expected in err[0], err
    assert not (tmp_path / "out").exists()
