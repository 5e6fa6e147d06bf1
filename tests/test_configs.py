"""Every shipped config composes, validates and names envs that exist."""

from dataclasses import asdict

import gymnasium as gym
import pytest
from helpers.configs import CONF, compose_config
from omegaconf import OmegaConf

from myorl.config import MyorlConfig, flatten
from myorl.envs import make_env
from myorl.experiment import Experiment

CURRICULA = sorted(p.stem for p in (CONF / "curriculum").glob("*.yaml"))
ALGOS = sorted(p.stem for p in (CONF / "algo").glob("*.yaml"))


def test_shipped_configs_are_found():
    assert {"demo", "hopper", "baoding_ccw", "baoding_cw"} <= set(CURRICULA)
    assert {"ppo", "recurrent_ppo"} <= set(ALGOS)


@pytest.mark.parametrize("name", CURRICULA)
def test_curriculum_composes_and_plans(name, tmp_path):
    cfg = compose_config([f"+curriculum={name}"])
    assert isinstance(OmegaConf.to_object(cfg), MyorlConfig)
    plans = Experiment.from_config(cfg, tmp_path).plans()
    assert [p.name for p in plans] == [s.name for s in cfg.curriculum.stages]
    for plan in plans:
        assert plan.eval.freq <= plan.budget
        env = make_env(plan.env)  # the id exists and accepts its kwargs
        assert isinstance(env.observation_space, gym.spaces.Box)
        env.close()


@pytest.mark.parametrize("algo", ALGOS)
def test_every_value_of_an_algo_preset_reaches_the_plan(algo, tmp_path):
    # hopper's curriculum sets no algo values, so every value the preset file sets must arrive as written
    plan = Experiment.from_config(compose_config(["+curriculum=hopper", f"algo={algo}"]), tmp_path).plans()[0]
    written = OmegaConf.to_container(OmegaConf.load(CONF / "algo" / f"{algo}.yaml"))
    written.pop("defaults", None)
    planned = flatten(asdict(plan.algo))
    assert written and {key: planned[key] for key in flatten(written)} == flatten(written)


def test_baoding_uses_recurrent_ppo_unless_overridden(tmp_path):
    assert compose_config(["+curriculum=baoding_ccw"]).algo.name == "recurrent_ppo"
    assert compose_config(["+curriculum=baoding_ccw", "algo=ppo"]).algo.name == "ppo"


def test_one_stage_field_overridden_from_the_command_line(tmp_path):
    cfg = compose_config(["+curriculum=demo", "curriculum.stages.1.max_timesteps=5000",
                          "+curriculum.stages.1.algo.learning_rate=1e-5"])
    plans = Experiment.from_config(cfg, tmp_path).plans()
    assert plans[1].budget == 5000 and plans[1].algo.learning_rate == 1e-5
    assert plans[0].algo.learning_rate == cfg.algo.learning_rate


def test_max_timesteps_caps_every_stage_and_its_eval_freq(tmp_path):
    cfg = compose_config(["+curriculum=baoding_ccw", "max_timesteps=3000"])
    assert all(p.budget == 3000 and p.eval.freq <= 3000 for p in Experiment.from_config(cfg, tmp_path).plans())
