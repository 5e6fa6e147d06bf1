"""Shared helpers: compose configs with Hydra's API, build tiny experiments, run the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from myorl.config import register_configs
from myorl.experiment import Experiment

ROOT = Path(__file__).resolve().parent.parent
CONF = ROOT / "conf"
register_configs()

TINY_ALGO = ["algo.n_steps=64", "algo.batch_size=32", "algo.n_epochs=2",
             "algo.policy_kwargs.net_arch.pi=[16]", "algo.policy_kwargs.net_arch.vf=[16]"]


def compose_config(overrides: list[str]):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose("config", overrides=overrides)


def stage(name: str, env_id: str = "InvertedPendulum-v5", budget: int = 256, freq: int = 128,
          episodes: int = 2, **extra: Any) -> dict[str, Any]:
    """A tiny stage as a dict, the way a curriculum file would write it."""
    env = extra.pop("env", {"id": env_id, "kwargs": {}})
    return {"name": name, "env": env, "max_timesteps": budget, "eval": {"freq": freq, "episodes": episodes},
            **extra}


def tiny_experiment(tmp_path: Path, stages: list[dict], overrides: list[str] = (), **top: Any) -> Experiment:
    """An Experiment from the shipped primary config, a tiny PPO and the given stages."""
    cfg = compose_config([*TINY_ALGO, "progress=false", "tracking=none", *overrides])
    cfg = OmegaConf.merge(cfg, {"curriculum": {"name": "tiny", "stages": stages}, **top})
    return Experiment.from_config(cfg, output_dir=tmp_path / "run")


def write_curriculum(tmp_path: Path, name: str, stages: list[dict]) -> Path:
    """A curriculum file of one's own under `tmp_path/conf` (for --config-dir); returns that conf dir."""
    conf = tmp_path / "conf"
    (conf / "curriculum").mkdir(parents=True, exist_ok=True)
    body = OmegaConf.to_yaml({"curriculum": {"name": name, "stages": stages}})
    (conf / "curriculum" / f"{name}.yaml").write_text("# @package _global_\n" + body)
    return conf


def run_cli(args: list[str], cwd: Path, timeout: float = 600, env: dict | None = None):
    """`python -m myorl.run ARGS` in a subprocess, as a user types it."""
    return subprocess.run([sys.executable, "-m", "myorl.run", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


@pytest.fixture
def tiny(tmp_path):
    def make(stages, overrides=(), **top):
        return tiny_experiment(tmp_path, stages, overrides, **top)
    return make
