"""The per-step work myorl adds to training (info means, the NaN/inf check) computes what the plain,
slower formulation computes: the short paths taken for speed (bench/overhead.py) change no result."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3.common.vec_env import DummyVecEnv

from myorl.faults import StageFault, VecFaultCheck, _all_finite
from myorl.metrics import IGNORED_INFO, InfoMeans

INFOS: list[dict[str, Any]] = [
    {"x": 1.5, "n": 3, "flag": True, "f32": np.float32(0.25), "f64": np.float64(-2.0), "zero_d": np.array(4.0),
     "vector": np.ones(3), "nested": {"a": 1.0}, "name": "hop", "TimeLimit.truncated": False,
     "mujoco_unstable": np.array(1.0)},
    {"x": 2.5, "flag": False, "i64": np.int64(7), "episode": {"r": 10.0, "l": 5}, "TimeLimit.truncated": True},
    {"x": -1.0, "n": 5, "f32": np.float32(0.75), "zero_d": np.array(True)},
]


def reference_means(infos: list[dict[str, Any]]) -> dict[str, float]:
    """The plain formulation: every numeric scalar (bools as 0/1, 0-d arrays), ignored keys left out."""
    values: dict[str, list[float]] = {}
    for info in infos:
        for key, value in info.items():
            numeric = isinstance(value, (bool, int, float, np.number)) or (
                isinstance(value, np.ndarray) and value.ndim == 0)
            if numeric and key not in IGNORED_INFO:
                values.setdefault(key, []).append(float(value))
    return {key: sum(v) / len(v) for key, v in values.items()}


def test_info_means_equal_the_plain_formulation() -> None:
    means = InfoMeans()
    for info in INFOS:
        means.add(info)
    got = means.means()
    assert got == reference_means(INFOS)
    assert set(got) == {"x", "n", "flag", "f32", "f64", "zero_d", "i64"}
    assert all(type(v) is float for v in got.values())


ARRAYS = {
    "finite": np.array([[1.0, -2.0, 3.5]], dtype=np.float32),
    "nan": np.array([[1.0, np.nan, 3.5]], dtype=np.float32),
    "inf": np.array([[np.inf, 0.0]], dtype=np.float64),
    "-inf": np.array([[-np.inf, 0.0]]),
    "huge but finite": np.full((1, 4), np.finfo(np.float32).max, dtype=np.float32),
    "large finite": np.arange(5000, dtype=np.float32).reshape(1, -1),
    "large nan": np.concatenate([np.zeros(4999), [np.nan]]).reshape(1, -1),
    "ints": np.array([[1, 2, 3]], dtype=np.int64),
}


@pytest.mark.parametrize("obs_case", sorted(ARRAYS))
@pytest.mark.parametrize("reward_case", ["finite", "nan", "inf", None])
def test_the_fast_finite_check_agrees_with_an_elementwise_one(obs_case: str, reward_case: str | None) -> None:
    obs = ARRAYS[obs_case]
    rewards = None if reward_case is None else ARRAYS[reward_case][0]
    elementwise = bool(np.isfinite(obs).all()) and (rewards is None or bool(np.isfinite(rewards).all()))
    assert _all_finite(obs, rewards) == elementwise  # (sums in doubles: none of these overflow)
    venv = VecFaultCheck(DummyVecEnv([lambda: gym.make("InvertedPendulum-v5")]), "test")
    if elementwise:
        venv._check(obs, rewards, [{}])
    else:
        with pytest.raises(StageFault, match="NaN/inf"):
            venv._check(obs, rewards, [{}])
