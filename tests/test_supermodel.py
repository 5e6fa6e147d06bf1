"""The CW/CCW super model: direction detection on real Baoding episodes, with untrained experts.

Detection reads the targets and the hand's joint angles, never the experts, so experts trained for
a few dozen steps (one PPO, one RecurrentPPO, each with its own VecNormalize statistics) will do.
"""

import json

import numpy as np
import pytest
from helpers import processes
from helpers.configs import stage, tiny_experiment

from myorl.baoding.supermodel import DECIDE_AFTER, SuperModel, evaluate_supermodel
from myorl.config import EnvConfig, VecEnvKind
from myorl.envs import make_vec_env
from myorl.tools.ensemble import Ensemble
from myorl.tools.evaluate import main
from myorl.tools.video import count_frames

NORM = {"obs": True, "reward": False, "clip_obs": 10.0, "clip_reward": 10.0}


def baoding(task):
    return {"id": "myorl/Baoding-v1", "kwargs": {"task": task}}


@pytest.fixture(scope="module")
def experts(tmp_path_factory):
    root = tmp_path_factory.mktemp("experts")
    cw = tiny_experiment(root / "cw", [stage("cw", env=baoding("cw"), budget=64, freq=64, episodes=1)], normalize=NORM)
    ccw = tiny_experiment(root / "ccw", [stage("ccw", env=baoding("ccw"), budget=64, freq=64, episodes=1)],
                          overrides=["algo=recurrent_ppo", "algo.policy_kwargs.lstm_hidden_size=8"], normalize=NORM)
    cw.run()
    ccw.run()
    return cw.output_dir, ccw.output_dir


@pytest.mark.parametrize("task", ["cw", "ccw", "hold"])
def test_detects_the_direction_of_fixed_direction_episodes(experts, task):
    model = SuperModel.load(*experts)
    env = make_vec_env(EnvConfig("myorl/Baoding-v1", {"task": task}), 2, VecEnvKind.dummy, seed=7)
    for _ in range(3):  # episodes, cut short once decided
        obs, state, starts = env.reset(), None, np.ones(2, dtype=bool)
        for _ in range(DECIDE_AFTER + 1):
            actions, state = model.predict(obs, state, starts, deterministic=False)
            obs, _, dones, _ = env.step(actions)
            starts = dones
        assert state.choice == [task, task]
    env.close()
    assert model.decisions == [[task] * 3, [task] * 3]


def test_random_direction_evaluation_reports_detection_and_score(experts):
    model = SuperModel.load(*experts)
    env = EnvConfig("myorl/Baoding-v1", {"task": "random"})
    result = evaluate_supermodel(model, env, episodes=6, seed=3)
    found = result.detection
    assert found.episodes == 6 and found.correct == 6 and found.accuracy == 1.0 and found.undecided == 0
    assert sum(t["episodes"] for t in found.per_task.values()) == 6 and len(result.evaluation.episode_rewards) == 6
    assert result.evaluation.solved_fraction is not None


@pytest.mark.slow
def test_cli_evaluates_and_records_the_super_model(experts, tmp_path):
    cw, ccw = experts
    out = tmp_path / "super"
    proc = processes.run("myorl.evaluate", [f"supermodel.cw={cw}",
                           f"supermodel.ccw={ccw}/stages/00_ccw", "episodes=3", "record=true", "video_episodes=1",
                           f"out={out}"], cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    record = json.loads((out / "evaluation.json").read_text())
    assert record["detection"]["accuracy"] == 1.0 and record["detection"]["decided_after_steps"] == DECIDE_AFTER
    assert record["episodes"] == 3 and "solved_fraction" in record
    assert "direction detected after 2 steps: 100.0% right" in proc.stdout
    # a MyoSuite video: the first evaluation episode, one frame per reset and per step
    assert count_frames(out / "video.mp4") == record["episode_lengths"][0] + 1


def test_an_expert_may_be_an_ensemble(experts):
    cw, ccw = experts
    env = EnvConfig("myorl/Baoding-v1", {"task": "random"})
    single = evaluate_supermodel(SuperModel.load(cw, ccw), env, episodes=3, seed=3)
    model = SuperModel.load([cw, cw], ccw)
    assert isinstance(model.experts["cw"].policy, Ensemble) and model.experts["cw"].source.startswith("ensemble of 2")
    doubled = evaluate_supermodel(model, env, episodes=3, seed=3)
    assert doubled.detection.accuracy == 1.0
    assert doubled.evaluation.episode_rewards == single.evaluation.episode_rewards  # identical members: same actions
    assert doubled.per_task == single.per_task and sum(t["episodes"] for t in single.per_task.values()) == 3


def test_a_p1_expert_evaluates_on_p2(experts, tmp_path):
    cw, _ = experts
    assert main([f"run={cw}", "env.kwargs.base_id=myoChallengeBaodingP2-v1", "episodes=2", f"out={tmp_path}"]) == 0
    record = json.loads((tmp_path / "evaluation.json").read_text())
    assert record["env"] == {"id": "myorl/Baoding-v1", "kwargs": {"task": "cw", "base_id": "myoChallengeBaodingP2-v1"}}
    assert record["per_task"]["cw"]["episodes"] == 2 and "solved_fraction" in record
