"""Convergence: the check's logic, and each ending in a real run."""

import math

import pytest
from conftest import stage

from myorl.config import ConvergenceConfig
from myorl.convergence import ConvergenceCheck


def feed(check, values, step=100):
    return [check.update(v, step * (i + 1)) for i, v in enumerate(values)]


def test_target_reached():
    check = ConvergenceCheck(ConvergenceConfig(target=10.0))
    out = feed(check, [1.0, 5.0, 10.0])
    assert out[-1] == (True, "target") and [r for _, r in out[:-1]] == [None, None]
    assert check.best == 10.0 and check.best_timestep == 300


def test_plateau_counts_only_improvements_beyond_min_delta():
    check = ConvergenceCheck(ConvergenceConfig(patience=2, min_delta=0.5))
    out = feed(check, [1.0, 1.4, 1.3])  # +0.4 and -0.1: neither beats 1.0 + 0.5
    assert out[1] == (True, None)  # still a new best (saved), though not an improvement for patience
    assert out[2] == (False, "plateau") and check.best == 1.4


def test_improvement_resets_patience():
    check = ConvergenceCheck(ConvergenceConfig(patience=2, min_delta=0.0))
    assert [r for _, r in feed(check, [1.0, 1.0, 2.0, 2.0, 2.0])] == [None, None, None, None, "plateau"]


def test_plateau_waits_for_min_timesteps():
    check = ConvergenceCheck(ConvergenceConfig(patience=1, min_timesteps=400))
    assert [r for _, r in feed(check, [1.0, 1.0, 1.0, 1.0])] == [None, None, None, "plateau"]


def test_no_target_no_patience_never_stops():
    check = ConvergenceCheck(ConvergenceConfig())
    assert all(r is None for _, r in feed(check, [1.0] * 50))
    assert check.best == 1.0 and check.stale == 49 and not math.isinf(check.reference)


@pytest.mark.parametrize("convergence, status, reason, max_steps", [
    ({"target": -1.0}, "converged", "target", 128),           # any return beats -1: first evaluation
    ({"patience": 1, "min_delta": 1e9}, "converged", "plateau", 256),
    ({}, "budget_exhausted", None, 512 + 63),
])
def test_stage_endings(tiny, convergence, status, reason, max_steps):
    summary = tiny([stage("only", budget=512, freq=128, convergence=convergence)]).run()
    result = summary.stages[0]
    assert (result.status, result.reason) == (status, reason)
    assert result.timesteps <= max_steps


def test_success_rate_metric_from_is_success(tiny):
    import sys
    from pathlib import Path

    import numpy as np

    sys.path.insert(0, str(Path(__file__).parent))
    env = {"id": "faulty_envs:Faulty-v0", "kwargs": {"success_after": 10}}
    exp = tiny([stage("succeed", budget=256, freq=128, episodes=4, env=env,
                      convergence={"metric": "success_rate", "target": 1.0})])
    result = exp.run().stages[0]
    evals = np.load(exp.output_dir / "stages/00_succeed/evaluations.npz", allow_pickle=True)
    lengths = np.array(list(evals["ep_lengths"]), dtype=float)
    assert result.metric == "success_rate"
    assert np.allclose(evals["success_rate"], (lengths >= 10).mean(axis=1))  # from info["is_success"]
    assert np.array_equal(evals["metric"], evals["success_rate"])
