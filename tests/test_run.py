"""A real two-stage run: the files it leaves, and the exact hand-over of weights and statistics."""

import json
import pickle

import numpy as np
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
