"""Algorithms: SB3's PPO and sb3-contrib's RecurrentPPO, built from `conf/algo/*.yaml`."""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any

import torch
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException
from sb3_contrib import RecurrentPPO
from stable_baselines3 import PPO
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.utils import LinearSchedule
from stable_baselines3.common.vec_env import VecEnv

from myorl.config import ALGO_SCHEMAS, PPOConfig
from myorl.errors import MyorlError

ALGORITHMS: dict[str, type[BaseAlgorithm]] = {"ppo": PPO, "recurrent_ppo": RecurrentPPO}


def algo_config(algo: PPOConfig | dict[str, Any], overrides: dict[str, Any] | None = None,
                where: str = "algo") -> PPOConfig:
    """The algo config with a stage's overrides applied, validated against the algo's schema."""
    base = algo if isinstance(algo, dict) else asdict(algo)
    name = base.get("name", "ppo")
    if name not in ALGO_SCHEMAS:
        raise MyorlError(f"unknown algo '{name}'; choose one of {sorted(ALGO_SCHEMAS)} (algo=NAME)")
    try:
        merged = OmegaConf.merge(OmegaConf.structured(ALGO_SCHEMAS[name]), base, overrides or {})
    except OmegaConfBaseException as exc:
        valid = ", ".join(f.name for f in fields(ALGO_SCHEMAS[name]))
        raise MyorlError(f"{where}: {str(exc).splitlines()[0]} (valid keys: {valid})") from None
    return OmegaConf.to_object(merged)  # type: ignore[return-value]


def activation(name: str) -> type[torch.nn.Module]:
    for cls_name in dir(torch.nn):
        if cls_name.lower() == name.replace("_", "").lower() and isinstance(getattr(torch.nn, cls_name), type):
            return getattr(torch.nn, cls_name)
    raise MyorlError(f"unknown activation_fn '{name}'; use a torch.nn activation such as tanh, relu, elu")


def hyperparameters(cfg: PPOConfig) -> dict[str, Any]:
    """Constructor kwargs for the SB3 class, as it receives them."""
    kwargs = asdict(cfg)
    kwargs.pop("name")
    schedule = kwargs.pop("lr_schedule")
    if schedule == "linear":
        kwargs["learning_rate"] = LinearSchedule(cfg.learning_rate, 0.0, 1.0)
    elif schedule != "constant":
        raise MyorlError(f"unknown lr_schedule '{schedule}'; use constant or linear")
    policy_kwargs = kwargs["policy_kwargs"]
    policy_kwargs["net_arch"] = dict(policy_kwargs["net_arch"])
    policy_kwargs["activation_fn"] = activation(policy_kwargs["activation_fn"])
    return kwargs


def build_model(cfg: PPOConfig, env: VecEnv, *, seed: int, device: str, tensorboard_log: str | None = None,
                verbose: int = 0) -> BaseAlgorithm:
    """A freshly initialised model for `env` (weights are handed over separately)."""
    if cfg.batch_size > cfg.n_steps * env.num_envs:
        raise MyorlError(f"batch_size {cfg.batch_size} exceeds the rollout size n_steps*n_envs = "
                         f"{cfg.n_steps * env.num_envs}; lower algo.batch_size or raise algo.n_steps")
    return ALGORITHMS[cfg.name](env=env, seed=seed, device=device, tensorboard_log=tensorboard_log,
                                verbose=verbose, **hyperparameters(cfg))
