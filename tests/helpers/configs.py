"""Configs for tests: composed with Hydra's API from the shipped `conf/`, and tiny experiments from them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, OmegaConf

from myorl.config import register_configs
from myorl.experiment import Experiment

ROOT = Path(__file__).resolve().parents[2]
CONF = ROOT / "conf"
register_configs()

# A PPO small enough for a few hundred steps in seconds.
TINY_ALGO = ["algo.n_steps=64", "algo.batch_size=32", "algo.n_epochs=2",
             "algo.policy_kwargs.net_arch.pi=[16]", "algo.policy_kwargs.net_arch.vf=[16]"]


def compose_config(overrides: list[str], hydra: bool = False) -> DictConfig:
    """The primary config with `overrides`, as `python -m myorl.run` composes it (`hydra`: with `hydra.*`)."""
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose("config", overrides=overrides, return_hydra_config=hydra)


def stage(name: str, env_id: str = "InvertedPendulum-v5", budget: int = 256, freq: int = 128,
          episodes: int = 2, **extra: Any) -> dict[str, Any]:
    """A tiny stage as a dict, the way a curriculum file would write it."""
    env = extra.pop("env", {"id": env_id, "kwargs": {}})
    return {"name": name, "env": env, "max_timesteps": budget, "eval": {"freq": freq, "episodes": episodes},
            **extra}


def tiny_experiment(tmp_path: Path, stages: list[dict[str, Any]], overrides: list[str] | tuple[str, ...] = (),
                    **top: Any) -> Experiment:
    """An Experiment from the shipped primary config, a tiny PPO and the given stages (no observers)."""
    cfg = compose_config([*TINY_ALGO, "progress=false", "tracking=none", *overrides])
    cfg = OmegaConf.merge(cfg, {"curriculum": {"name": "tiny", "stages": stages}, **top})
    return Experiment.from_config(cfg, output_dir=tmp_path / "run")


def write_curriculum(tmp_path: Path, name: str, stages: list[dict[str, Any]]) -> Path:
    """A curriculum file of one's own under `tmp_path/conf` (for --config-dir); returns that conf dir."""
    conf = tmp_path / "conf"
    (conf / "curriculum").mkdir(parents=True, exist_ok=True)
    body = OmegaConf.to_yaml({"curriculum": {"name": name, "stages": stages}})
    (conf / "curriculum" / f"{name}.yaml").write_text("# @package _global_\n" + body)
    return conf
