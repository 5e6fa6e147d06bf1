"""A real two-stage run: the files it leaves, and the exact hand-over of weights and statistics."""

import copy
import json
import pickle

import numpy as np
import pytest
import torch
from helpers.configs import stage
from stable_baselines3 import PPO

NORM = {"obs": True, "reward": True, "clip_obs": 10.0, "clip_reward": 10.0}


def weights(path):
    return PPO.load(path, device="cpu").policy.state_dict()


def assert_same_weights(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_two_stage_run_writes_every_file(tiny):
    exp = tiny([stage("first", budget=256), stage("second", budget=256)], normalize=NORM)
    summary = exp.run()
    run = exp.output_dir
    for n, name in enumerate(["first", "second"]):
        d = run / "stages" / f"{n:02d}_{name}"
        for f in ["best_model.zip", "best_vecnormalize.pkl", "last_model.zip", "last_vecnormalize.pkl",
                  "evaluations.npz", "stage.json"]:
            assert (d / f).is_file(), d / f
        record = json.loads((d / "stage.json").read_text())
        assert record["name"] == name and record["status"] == "budget_exhausted" and record["reason"] is None
        assert 256 <= record["timesteps"] < 256 + 64  # never more than one rollout beyond the budget
        assert {"best_metric", "best_timestep", "wall_seconds", "paths"} <= record.keys()
        assert all((d / p).is_file() for p in record["paths"].values())
        evals = np.load(d / "evaluations.npz", allow_pickle=True)
        assert record["best_metric"] == evals["metric"].max()
        # InvertedPendulum's info["reward_survive"] is 1 each step but 0 when the pole falls: averaged per evaluation
        steps = np.array(list(evals["ep_lengths"]), dtype=float).sum(axis=1)
        assert np.allclose(evals["info/reward_survive"], 1 - 2 / steps)
        assert np.all(np.diff(evals["wall_seconds"]) > 0) and evals["wall_seconds"][-1] <= record["wall_seconds"]
        assert not [p for p in d.iterdir() if p.name.endswith(".tmp")]
    saved = json.loads((run / "summary.json").read_text())
    assert saved["curriculum"] == "tiny" and [s["name"] for s in saved["stages"]] == ["first", "second"]
    assert saved["objective"] == summary.objective == saved["stages"][-1]["best_metric"]
    assert (run / "experiment.yaml").is_file()


def test_next_stage_starts_from_exactly_the_handed_on_weights(tiny):
    # With learning_rate 0 the second stage cannot move its weights: its last model is its first.
    exp = tiny([stage("first", budget=256), stage("frozen", budget=128, algo={"learning_rate": 0.0}),
                stage("frozen_last", budget=128, algo={"learning_rate": 0.0}, handover={"model": "last"})])
    exp.run()
    stages = exp.output_dir / "stages"
    assert_same_weights(weights(stages / "00_first/best_model.zip"), weights(stages / "01_frozen/last_model.zip"))
    assert_same_weights(weights(stages / "01_frozen/last_model.zip"),
                        weights(stages / "02_frozen_last/last_model.zip"))
    first_best, first_last = weights(stages / "00_first/best_model.zip"), weights(stages / "00_first/last_model.zip")
    assert any(not torch.equal(first_best[k], first_last[k]) for k in first_best), "test needs best != last"


def test_normalisation_statistics_are_handed_on(tiny):
    exp = tiny([stage("first", budget=256), stage("second", budget=128)], normalize=NORM)
    exp.run()
    stages = exp.output_dir / "stages"
    load = lambda p: pickle.loads(p.read_bytes())  # noqa: E731
    best1 = load(stages / "00_first/best_vecnormalize.pkl")
    last2 = load(stages / "01_second/last_vecnormalize.pkl")
    steps2 = json.loads((stages / "01_second/stage.json").read_text())["timesteps"]
    # continued, not restarted: stage 1 best + the reset observation + stage 2 steps
    assert last2.obs_rms.count == best1.obs_rms.count + 1 + steps2
    # the best model's statistics are those of its evaluation, not later ones
    record = json.loads((stages / "00_first/stage.json").read_text())
    last1 = load(stages / "00_first/last_vecnormalize.pkl")
    assert best1.obs_rms.count < last1.obs_rms.count or record["best_timestep"] == record["timesteps"]


def test_info_means_reach_tensorboard(tiny):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    exp = tiny([stage("only", budget=256)])
    exp.run()
    events = EventAccumulator(str(next((exp.output_dir / "tensorboard" / "00_only").glob("*")).parent))
    events.Reload()
    tags = events.Tags()["scalars"]
    assert "info/reward_survive" in tags and "eval/info/reward_survive" in tags
    assert all(0.8 < e.value < 1.0 for e in events.Scalars("info/reward_survive"))


class OptimizerSpy:
    """An observer that keeps each stage's optimizer state as the stage starts."""

    def __init__(self):
        self.states = {}

    def stage_started(self, plan, model, stage_dir, offset):
        self.states[plan.name] = (model.num_timesteps, copy.deepcopy(model.policy.optimizer.state_dict()),
                                  model.lr_schedule(1.0))

    def __getattr__(self, name):  # the other hooks: nothing to do
        return lambda *args: None


def test_handover_optimizer_continues_adams_state_exactly(tiny):
    from stable_baselines3.common.save_util import load_from_zip_file

    spy = OptimizerSpy()
    exp = tiny([stage("first", budget=256),
                stage("second", budget=128, algo={"learning_rate": 1e-5}, handover={"model": "last", "optimizer": True})])
    exp.observers.append(spy)
    exp.run()
    _, params, _ = load_from_zip_file(exp.output_dir / "stages/00_first/last_model.zip", device="cpu")
    saved, started = params["policy.optimizer"], spy.states["second"][1]
    assert spy.states["second"][0] == 0  # the stage counts its own steps
    assert saved["state"].keys() == started["state"].keys() and len(saved["state"]) > 0
    for key, moments in saved["state"].items():
        for name in ("exp_avg", "exp_avg_sq", "step"):
            assert torch.equal(moments[name], started["state"][key][name]), (key, name)
    assert spy.states["second"][2] == 1e-5  # the new stage's own hyperparameters apply (from its first update)
    record = json.loads((exp.output_dir / "stages/01_second/stage.json").read_text())
    assert record["status"] == "budget_exhausted" and 128 <= record["timesteps"] < 128 + 64


def test_handover_optimizer_needs_the_same_network(tiny):
    from myorl.errors import MyorlError

    other = {"policy_kwargs": {"net_arch": {"pi": [8], "vf": [8]}}}
    exp = tiny([stage("first", budget=128), stage("second", budget=128, algo=other, handover={"optimizer": True})])
    with pytest.raises(MyorlError, match="handover.optimizer=true, .* it needs the same spaces, algo and policy_kwargs"):
        exp.run()
    assert not (exp.output_dir / "stages").exists()


def test_a_curriculum_started_later_from_a_fixed_earlier_stage(tiny, tmp_path):
    earlier = tiny([stage("first", budget=256), stage("second", budget=128)])
    earlier.run()
    source = earlier.output_dir / "stages/00_first"
    # the same curriculum, from stage 1 on, starting from the earlier run's stage 0 (lr 0: weights stay as given)
    later = tiny([stage("first", budget=256), stage("second", budget=128, algo={"learning_rate": 0.0})],
                 init_from=str(source), start_stage="second")
    later.output_dir = tmp_path / "later"
    summary = later.run()
    assert [s.name for s in summary.stages] == ["second"] and not (later.output_dir / "stages/00_first").exists()
    assert_same_weights(weights(source / "best_model.zip"), weights(later.output_dir / "stages/01_second/last_model.zip"))
    again = tiny([stage("first", budget=256), stage("second", budget=128, algo={"learning_rate": 0.0})],
                 init_from=str(source), init_from_model="last", start_stage=1)
    again.output_dir = tmp_path / "again"
    again.run()
    assert_same_weights(weights(source / "last_model.zip"), weights(again.output_dir / "stages/01_second/last_model.zip"))


@pytest.mark.parametrize("top, expected", [
    ({"start_stage": "third"}, "start_stage=third: no such stage; the curriculum's stages are 0 first, 1 second"),
    ({"init_from": "/nope/stages/00_x"}, "init_from=/nope/stages/00_x: no such stage dir"),
])
def test_bad_init_from_or_start_stage_fails_before_training(tiny, top, expected):
    from myorl.errors import MyorlError

    exp = tiny([stage("first", budget=128), stage("second", budget=128)], **top)
    with pytest.raises(MyorlError, match=expected.replace("(", r"\(")):
        exp.run()
    assert not (exp.output_dir / "stages").exists()


def test_init_from_a_stage_of_other_spaces_with_strict_handover_is_refused(tiny, tmp_path):
    from myorl.errors import MyorlError

    earlier = tiny([stage("first", budget=128)])
    earlier.run()
    later = tiny([stage("double", env_id="InvertedDoublePendulum-v5", budget=128)],
                 init_from=str(earlier.output_dir / "stages/00_first"), handover={"strict": True})
    later.output_dir = tmp_path / "later"
    with pytest.raises(MyorlError, match="init_from's model has other spaces than stage 'double'"):
        later.run()
