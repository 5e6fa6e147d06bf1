"""Algorithms: SB3's PPO and sb3-contrib's RecurrentPPO, built from `conf/algo/*.yaml`.

`check` finds every value SB3 would reject when the model is built, so `Experiment.plans()` can
refuse a bad stage before the first one trains. `build_model` and `load_model` are the only places
a model is made or read back.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from sb3_contrib import RecurrentPPO
from stable_baselines3 import PPO
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.utils import LinearSchedule
from stable_baselines3.common.vec_env import VecEnv

from myorl.algos.ppo import FastPPO
from myorl.algos.recurrent_ppo import FastRecurrentPPO
from myorl.config import PPOConfig
from myorl.errors import MyorlError
from myorl.handover import read_model

ALGORITHMS: dict[str, type[BaseAlgorithm]] = {"ppo": PPO, "recurrent_ppo": RecurrentPPO}  # stock
FAST: dict[str, type[BaseAlgorithm]] = {"ppo": FastPPO, "recurrent_ppo": FastRecurrentPPO}  # same maths, faster
POLICIES = {"ppo": ("MlpPolicy",), "recurrent_ppo": ("MlpLstmPolicy",)}
SCHEDULES = ("constant", "linear")


def activation(name: str) -> type[torch.nn.Module]:
    """A torch.nn activation class by name (relu, tanh, leaky_relu, ...)."""
    for cls_name in dir(torch.nn):
        cls = getattr(torch.nn, cls_name)
        if cls_name.lower() == name.replace("_", "").lower() and isinstance(cls, type):
            return cls
    raise MyorlError(f"unknown activation_fn '{name}'; use a torch.nn activation such as tanh, relu, elu")


def check(cfg: PPOConfig, n_envs: int, where: str = "algo") -> None:
    """Raise a MyorlError for any value the SB3 constructor would reject (or silently misuse)."""
    rollout = cfg.n_steps * n_envs
    problems = [
        (cfg.policy not in POLICIES[cfg.name], f"policy '{cfg.policy}' is not one of {POLICIES[cfg.name]}"),
        (cfg.lr_schedule not in SCHEDULES, f"unknown lr_schedule '{cfg.lr_schedule}'; use constant or linear"),
        (cfg.learning_rate < 0, f"learning_rate must be >= 0, got {cfg.learning_rate}"),
        (cfg.n_steps < 1 or cfg.n_epochs < 1, "n_steps and n_epochs must be at least 1"),
        (cfg.batch_size > rollout, f"batch_size {cfg.batch_size} exceeds the rollout size n_steps*n_envs = "
                                   f"{rollout}; lower batch_size or raise n_steps"),
        (cfg.normalize_advantage and cfg.batch_size < 2, "batch_size must be at least 2 to normalise advantages"),
        (rollout < 2, f"the rollout n_steps*n_envs = {rollout} must hold at least 2 steps"),
        (not 0 <= cfg.gamma <= 1 or not 0 <= cfg.gae_lambda <= 1, "gamma and gae_lambda must be within 0..1"),
        (cfg.clip_range <= 0, f"clip_range must be positive, got {cfg.clip_range}"),
    ]
    for bad, message in problems:
        if bad:
            raise MyorlError(f"{where}: {message}")
    activation(cfg.policy_kwargs.activation_fn)


def hyperparameters(cfg: PPOConfig) -> dict[str, Any]:
    """Constructor kwargs for the SB3 class, as it receives them."""
    kwargs = asdict(cfg)
    kwargs.pop("name")
    kwargs.pop("fast")
    schedule = kwargs.pop("lr_schedule")
    if schedule == "linear":
        kwargs["learning_rate"] = LinearSchedule(cfg.learning_rate, 0.0, 1.0)
    policy_kwargs = kwargs["policy_kwargs"]
    policy_kwargs["net_arch"] = dict(policy_kwargs["net_arch"])
    policy_kwargs["activation_fn"] = activation(policy_kwargs["activation_fn"])
    return kwargs


def build_model(cfg: PPOConfig, env: VecEnv, *, seed: int, device: str) -> BaseAlgorithm:
    """A freshly initialised model for `env` (weights are handed over separately)."""
    check(cfg, env.num_envs)
    return algorithm(cfg)(env=env, seed=seed, device=device, verbose=0, **hyperparameters(cfg))


def algorithm(cfg: PPOConfig) -> type[BaseAlgorithm]:
    """The class that trains `cfg`: myorl's fast subclass, or stock SB3 / sb3-contrib with `fast=false`.
    Both save the same files: a model saved by one loads into the other."""
    return (FAST if cfg.fast else ALGORITHMS)[cfg.name]


def load_model(cfg: PPOConfig, path: Path, env: VecEnv | None = None, device: str = "cpu") -> BaseAlgorithm:
    """A saved model (optimizer and step count included), with `cfg`'s hyperparameters applied.

    `env` attaches the (rebuilt) training env to continue training; without one the model only predicts.
    A missing or corrupt file is one clear MyorlError (see `myorl.handover.read_model`).
    """
    read_model(path)
    custom = {k: v for k, v in hyperparameters(cfg).items() if k not in ("policy", "policy_kwargs")}
    return algorithm(cfg).load(path, env=env, device=device, custom_objects=custom)
