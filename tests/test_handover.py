"""Hand-over pieces on their own: weights copied tensor by tensor, statistics carried where they fit."""

import logging

import numpy as np
import pytest
import torch
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

from myorl.algos import build_model
from myorl.config import EnvConfig, PPOConfig
from myorl.envs import make_env
from myorl.errors import MyorlError
from myorl.handover import carry_statistics, copy_weights

SMALL = PPOConfig(n_steps=64, batch_size=32)


def normalized(env_id, steps=0):
    venv = VecNormalize(DummyVecEnv([lambda: make_env(EnvConfig(env_id))]))
    venv.reset()
    for _ in range(steps):
        venv.step(np.array([venv.action_space.sample()]))
    return venv


def test_weights_of_the_same_spaces_are_copied_exactly(tmp_path):
    source = build_model(SMALL, normalized("InvertedPendulum-v5"), seed=0, device="cpu")
    source.save(tmp_path / "m.zip")
    target = build_model(SMALL, normalized("InvertedPendulum-v5"), seed=1, device="cpu")
    transfer = copy_weights(tmp_path / "m.zip", target, strict=True)
    assert not transfer.skipped and len(transfer.copied) == len(target.policy.state_dict())
    for name, tensor in source.policy.state_dict().items():
        assert torch.equal(tensor, target.policy.state_dict()[name]), name
    assert transfer.summary().startswith(f"starts from {tmp_path.name}/m.zip ({len(transfer.copied)}/")


def test_other_observation_spaces_copy_what_fits_or_refuse_when_strict(tmp_path):
    source = build_model(SMALL, normalized("InvertedPendulum-v5"), seed=0, device="cpu")
    source.save(tmp_path / "m.zip")
    target = build_model(SMALL, normalized("InvertedDoublePendulum-v5"), seed=1, device="cpu")
    transfer = copy_weights(tmp_path / "m.zip", target, strict=False)
    assert "mlp_extractor.policy_net.0.weight" in transfer.skipped and "log_std" in transfer.copied
    with pytest.raises(MyorlError, match="handover.strict=false"):
        copy_weights(tmp_path / "m.zip", target, strict=True)


def test_statistics_of_the_same_shape_carry_whole():
    source, target = normalized("InvertedPendulum-v5", steps=50), normalized("InvertedPendulum-v5")
    carried, dropped = carry_statistics(source, target)
    assert carried == ["observation", "return"] and not dropped
    assert np.array_equal(target.obs_rms.mean, source.obs_rms.mean) and target.ret_rms.var == source.ret_rms.var
    assert target.obs_rms is not source.obs_rms  # a copy: the new stage's updates do not reach the old


def test_other_observation_shapes_still_carry_the_return_statistics(caplog):
    source, target = normalized("InvertedPendulum-v5", steps=50), normalized("InvertedDoublePendulum-v5")
    with caplog.at_level(logging.WARNING, logger="myorl"):
        carried, dropped = carry_statistics(source, target)
    assert carried == ["return"] and dropped == ["observation statistics (shape (4,) -> (9,): they start afresh)"]
    assert target.ret_rms.count == source.ret_rms.count and target.obs_rms.count < source.obs_rms.count
    assert "observation statistics not carried" in caplog.text


def test_a_stage_without_normalisation_carries_nothing():
    plain = DummyVecEnv([lambda: make_env(EnvConfig("InvertedPendulum-v5"))])
    assert carry_statistics(normalized("InvertedPendulum-v5", steps=5), plain) == (
        [], ["statistics (this stage does not normalise)"])
