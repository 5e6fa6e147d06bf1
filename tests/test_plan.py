"""Plans: every value of every stage is checked before anything trains (no env made, no training)."""

import pytest

from myorl.config import (
    ConvergenceConfig,
    CurriculumConfig,
    EnvConfig,
    EvalConfig,
    HandoverConfig,
    NormalizeConfig,
    PPOConfig,
    RecurrentPPOConfig,
    RunSettings,
    StageConfig,
)
from myorl.errors import MyorlError
from myorl.plan import plan_curriculum


def stages(**third_stage):
    """Three valid stages; the third gets the given fields."""
    made = [StageConfig(name=f"s{i}", env=EnvConfig("InvertedPendulum-v5"), max_timesteps=1000,
                        eval=EvalConfig(freq=500)) for i in range(3)]
    for key, value in third_stage.items():
        setattr(made[2], key, value)
    return made


def plan(stage_list, algo=None, **settings):
    return plan_curriculum(CurriculumConfig("c", stage_list), algo or PPOConfig(n_steps=64, batch_size=32),
                           RunSettings(**settings), NormalizeConfig(), HandoverConfig())


def test_valid_plans_resolve_defaults_and_seeds():
    plans = plan(stages(algo={"learning_rate": 1e-4}), seed=7, max_timesteps=800)
    assert [p.dirname for p in plans] == ["00_s0", "01_s1", "02_s2"]
    assert [p.seed for p in plans] == [7, 8, 9] and all(p.budget == 800 for p in plans)
    assert plans[2].algo.learning_rate == 1e-4 and plans[0].algo.learning_rate == 3e-4
    assert all(p.eval.freq == 500 for p in plans)


@pytest.mark.parametrize("third, expected", [
    ({"algo": {"lr_schedule": "cosine"}}, "stage 's2' algo: unknown lr_schedule 'cosine'"),
    ({"algo": {"policy_kwargs": {"activation_fn": "swishy"}}}, "unknown activation_fn 'swishy'"),
    ({"algo": {"batch_size": 65}}, "batch_size 65 exceeds the rollout size n_steps*n_envs = 64"),
    ({"algo": {"learnin_rate": 1.0}}, "stage 's2' algo: Key 'learnin_rate' not in 'PPOConfig'"),
    ({"algo": {"n_epochs": 0}}, "n_steps and n_epochs must be at least 1"),
    ({"algo": {"gamma": 1.5}}, "gamma and gae_lambda must be within 0..1"),
    ({"algo": {"batch_size": 1}}, "batch_size must be at least 2"),
    ({"algo": {"policy": "CnnPolicy"}}, "policy 'CnnPolicy' is not one of"),
    ({"max_timesteps": 0}, "max_timesteps must be positive"),
    ({"eval": EvalConfig(freq=5000)}, "eval.freq 5000 is larger than max_timesteps 1000"),
    ({"name": "a/b"}, "a stage name is a folder name"),
    ({"name": "s0"}, "names a stage twice"),
    ({"convergence": ConvergenceConfig(patience=0)}, "convergence.patience must be at least 1"),
])
def test_a_bad_value_in_a_later_stage_fails_the_whole_plan(third, expected):
    with pytest.raises(MyorlError, match=expected.replace("(", r"\(").replace(")", r"\)").replace("*", r"\*")):
        plan(stages(**third))


def test_the_rollout_size_counts_every_env():
    assert plan(stages(algo={"batch_size": 128}), n_envs=2)[2].algo.batch_size == 128
    with pytest.raises(MyorlError, match="n_envs must be at least 1"):
        plan(stages(), n_envs=0)


def test_recurrent_algo_overrides_are_checked_against_its_own_schema():
    recurrent = RecurrentPPOConfig(n_steps=64, batch_size=32)
    plans = plan(stages(algo={"policy_kwargs": {"lstm_hidden_size": 8}}), algo=recurrent)
    assert plans[2].algo.policy_kwargs.lstm_hidden_size == 8 and plans[0].algo.policy_kwargs.lstm_hidden_size == 256
    with pytest.raises(MyorlError, match="lstm_hidden_size"):
        plan(stages(algo={"policy_kwargs": {"lstm_hidden_size": "big"}}), algo=recurrent)
    with pytest.raises(MyorlError, match="frame_stack is for PPO"):
        plan(stages(frame_stack=4), algo=recurrent)
