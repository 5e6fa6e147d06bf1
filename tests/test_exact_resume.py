"""An interrupted and resumed run is the uninterrupted run, bit for bit, on the CPU.

Each case trains a tiny stage twice: once straight through, once stopped at a rollout boundary (a stop request,
as the first Ctrl-C makes) and resumed with `resume=true` in a fresh Experiment. Evaluations and the last
model's parameters must be equal, which needs every env's state, the random streams, VecNormalize and the
learner's last observation (and LSTM states) restored.
"""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest
import torch
from helpers.configs import stage, tiny_experiment

from myorl import signals
from myorl.observers import EvalEvent, Observer

NORMALIZE = {"normalize": {"obs": True, "reward": True}}


class StopAfter(Observer):
    """Requests a stop (as the first Ctrl-C does) once stage `name` has evaluated at `timesteps`."""

    def __init__(self, name: str, timesteps: int):
        self.name, self.timesteps = name, timesteps

    def evaluated(self, event: EvalEvent) -> None:
        if event.plan.name == self.name and event.timesteps >= self.timesteps:
            signals.request_stop("stopped by the test")


def train(path, stages, algo, kind, n_envs, observers=(), resume=False, overrides=()):
    exp = tiny_experiment(path, stages, [f"algo={algo}", *overrides], seed=7, n_envs=n_envs, vec_env=kind, resume=resume,
                          **NORMALIZE)
    exp.observers = list(observers)
    try:
        exp.run()
    finally:
        signals.clear()
    return exp.output_dir


def interrupted_then_resumed(path, stages, algo, kind, n_envs, name, at, overrides=()):
    with pytest.raises(signals.StopAtBoundary):
        train(path, stages, algo, kind, n_envs, [StopAfter(name, at)], overrides=overrides)
    return train(path, stages, algo, kind, n_envs, resume=True, overrides=overrides)


def evaluations(run, dirname):
    data = np.load(run / "stages" / dirname / "evaluations.npz", allow_pickle=True)
    return {key: data[key] for key in data.files if key != "wall_seconds"}


def parameters(run, dirname):
    with zipfile.ZipFile(run / "stages" / dirname / "last_model.zip") as archive:
        return torch.load(io.BytesIO(archive.read("policy.pth")), weights_only=True)


def assert_same_run(straight, resumed, dirname):
    a, b = evaluations(straight, dirname), evaluations(resumed, dirname)
    assert a.keys() == b.keys()
    for key in a:
        assert np.array_equal(np.asarray(a[key], dtype=float), np.asarray(b[key], dtype=float)), key
    pa, pb = parameters(straight, dirname), parameters(resumed, dirname)
    assert pa.keys() == pb.keys() and all(torch.equal(pa[k], pb[k]) for k in pa)


@pytest.mark.parametrize("algo", ["ppo", "recurrent_ppo"])
@pytest.mark.parametrize("kind", ["dummy", "auto"])
def test_resumed_stage_equals_the_uninterrupted_one(tmp_path, algo, kind):
    stages = [stage("only", budget=640, freq=128)]  # n_steps 64 x 2 envs: a boundary every 128 steps
    straight = train(tmp_path / "straight", stages, algo, kind, 2)
    resumed = interrupted_then_resumed(tmp_path / "resumed", stages, algo, kind, 2, "only", 256)
    record = json.loads((resumed / "stages/00_only/stage.json").read_text())
    assert record["resumed_from_timesteps"] == 256  # the boundary right after the evaluation that asked to stop
    assert_same_run(straight, resumed, "00_only")


def test_a_curriculum_stopped_in_its_first_stage_resumes_exactly(tmp_path):
    """Episodes still running at the stop go on (InvertedPendulum's last up to 1000 steps), and the second
    stage, which starts from the resumed first one, is the same too; with gSDE, whose noise SB3 draws before
    each rollout."""
    stages = [stage("a", budget=512, freq=128), stage("b", budget=384, freq=128)]
    sde = ["algo.use_sde=true", "algo.sde_sample_freq=16"]
    straight = train(tmp_path / "straight", stages, "ppo", "dummy", 3, overrides=sde)
    resumed = interrupted_then_resumed(tmp_path / "resumed", stages, "ppo", "dummy", 3, "a", 128, overrides=sde)
    for dirname in ("00_a", "01_b"):
        assert_same_run(straight, resumed, dirname)


@pytest.mark.slow
def test_a_baoding_stage_with_p2_ranges_resumes_exactly(tmp_path):
    """MyoSuite's task and goal state, the balls' sizes, masses and friction drawn at each reset (P2's ranges)
    and what MuJoCo derives from them, random directions and RSI starts all go on where they were."""
    p2 = {"id": "myorl/Baoding-v1", "kwargs": {
        "task": "random", "rsi": 0.5, "noise_balls": 0.005, "goal_time_period": [4, 6],
        "obj_size_range": [0.018, 0.024], "obj_mass_range": [0.03, 0.3], "obj_friction_change": [0.2, 0.001, 0.00002]}}
    stages = [stage("p2", budget=512, freq=128, episodes=1, env=p2)]
    straight = train(tmp_path / "straight", stages, "recurrent_ppo", "dummy", 2)
    resumed = interrupted_then_resumed(tmp_path / "resumed", stages, "recurrent_ppo", "dummy", 2, "p2", 128)
    assert_same_run(straight, resumed, "00_p2")
