"""Convergence: the check's logic, and each ending in a real run."""

import json
import math

import pytest
from helpers.configs import stage

from myorl.config import ConvergenceConfig
from myorl.convergence import ConvergenceCheck
from myorl.status import Status


def feed(check, values, step=100):
    """Each evaluation's (new best, stop reason so far)."""
    return [(check.update(v, step * (i + 1)), check.stop_reason) for i, v in enumerate(values)]


def test_target_reached():
    check = ConvergenceCheck(ConvergenceConfig(target=10.0))
    out = feed(check, [1.0, 5.0, 10.0])
    assert out[-1] == (True, "target") and [r for _, r in out[:-1]] == [None, None]
    assert check.best == 10.0 and check.best_timestep == 300
    assert check.outcome() == (Status.converged, "target")


def test_plateau_counts_only_improvements_beyond_min_delta():
    check = ConvergenceCheck(ConvergenceConfig(patience=2, min_delta=0.5))
    out = feed(check, [1.0, 1.4, 1.3])  # +0.4 and -0.1: neither beats 1.0 + 0.5
    assert out[1] == (True, None)  # still a new best (saved), though not an improvement for patience
    assert out[2] == (False, "plateau") and check.best == 1.4
    assert check.outcome() == (Status.converged, "plateau")


def test_improvement_resets_patience():
    check = ConvergenceCheck(ConvergenceConfig(patience=2, min_delta=0.0))
    assert [r for _, r in feed(check, [1.0, 1.0, 2.0, 2.0])] == [None, None, None, None]
    assert feed(check, [2.0])[0][1] == "plateau"


def test_plateau_waits_for_min_timesteps():
    check = ConvergenceCheck(ConvergenceConfig(patience=1, min_timesteps=400))
    assert [r for _, r in feed(check, [1.0, 1.0, 1.0, 1.0])] == [None, None, None, "plateau"]


def test_no_target_no_patience_never_stops():
    check = ConvergenceCheck(ConvergenceConfig())
    assert all(r is None for _, r in feed(check, [1.0] * 50))
    assert check.best == 1.0 and check.stale == 49 and not math.isinf(check.reference)
    assert check.outcome() == (Status.budget_exhausted, None)


@pytest.mark.parametrize("values, config, expected", [
    ([-13.5, -8.0, -8.0], {"patience": 1, "floor": 0.0}, Status.stalled),      # a plateau at the bottom
    ([-13.5, -8.0], {"floor": 0.0}, Status.stalled),                           # budget ends below the floor
    ([0.0, 0.0], {"floor": 0.0}, Status.stalled),                              # must exceed, not reach
    ([0.0, 0.2, 0.2], {"patience": 1, "floor": 0.1}, Status.converged),         # above the floor: a real plateau
    ([0.0, 0.05], {"floor": 0.1}, Status.stalled),
    ([0.0, 0.5], {"floor": 0.1}, Status.budget_exhausted),
    ([0.0, 1.0], {"floor": 5.0, "target": 1.0}, Status.converged),             # a reached target always counts
])
def test_floor_turns_an_ending_below_it_into_stalled(values, config, expected):
    check = ConvergenceCheck(ConvergenceConfig(**config))
    feed(check, values)
    status, reason = check.outcome()
    assert status == expected
    if status == Status.stalled:
        assert f"never above convergence.floor {config['floor']:g}" in reason


def test_state_round_trips_through_a_checkpoint():
    check = ConvergenceCheck(ConvergenceConfig(patience=3, floor=0.5))
    feed(check, [0.1, 0.7, 0.6])
    again = ConvergenceCheck(check.config, **check.state())
    assert again == check and feed(again, [0.6]) == feed(check, [0.6])


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
    import numpy as np

    env = {"id": "helpers.faulty_envs:Faulty-v0", "kwargs": {"success_after": 10}}
    exp = tiny([stage("succeed", budget=256, freq=128, episodes=4, env=env,
                      convergence={"metric": "success_rate", "target": 1.0})])
    result = exp.run().stages[0]
    evals = np.load(exp.output_dir / "stages/00_succeed/evaluations.npz", allow_pickle=True)
    lengths = np.array(list(evals["ep_lengths"]), dtype=float)
    assert result.metric == "success_rate"
    assert np.allclose(evals["success_rate"], (lengths >= 10).mean(axis=1))  # from info["is_success"]
    assert np.array_equal(evals["metric"], evals["success_rate"])


def test_a_stalled_stage_stops_the_curriculum_with_its_files_written(tiny):
    from myorl.errors import MyorlError

    stalls = {"patience": 1, "min_delta": 1e9, "floor": 1e9}  # a plateau at once, far below the floor
    exp = tiny([stage("stuck", budget=512, freq=128, convergence=stalls), stage("next", budget=128)])
    with pytest.raises(MyorlError, match="stage 'stuck' stalled .*never above convergence.floor .*on_stall=continue"):
        exp.run()
    stuck = exp.output_dir / "stages/00_stuck"
    assert json.loads((stuck / "stage.json").read_text())["status"] == "stalled"
    assert (stuck / "last_model.zip").is_file() and (stuck / "best_model.zip").is_file()
    assert not (exp.output_dir / "stages/01_next").exists()
    assert [s["status"] for s in json.loads((exp.output_dir / "summary.json").read_text())["stages"]] == ["stalled"]


def test_on_stall_continue_goes_on(tiny):
    stalls = {"patience": 1, "min_delta": 1e9, "floor": 1e9}
    summary = tiny([stage("stuck", budget=512, freq=128, convergence=stalls), stage("next", budget=128)],
                   on_stall="continue").run()
    assert [s.status for s in summary.stages] == [Status.stalled, Status.budget_exhausted]
