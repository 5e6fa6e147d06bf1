"""`python -m myorl.run +curriculum=NAME [overrides]`: the Hydra entry point (Hydra stays here)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from myorl import sweeps
from myorl.config import register_configs
from myorl.errors import MyorlError
from myorl.experiment import Experiment

CONF_DIR = Path(__file__).resolve().parent.parent / "conf"
log = logging.getLogger("myorl")

register_configs()


def shipped_curricula() -> list[str]:
    return sorted(p.stem for p in (CONF_DIR / "curriculum").glob("*.yaml"))


@hydra.main(config_path=str(CONF_DIR), config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> float | None:
    if OmegaConf.is_missing(cfg, "curriculum"):
        print(f"myorl: no curriculum chosen; add +curriculum=NAME, one of: {', '.join(shipped_curricula())}",
              file=sys.stderr)
        sys.exit(2)
    experiment = Experiment.from_config(cfg, output_dir=HydraConfig.get().runtime.output_dir)
    experiment.observers += sweeps.observers(cfg.optuna)  # reports to its Optuna trial when a sweep set one
    try:
        summary = experiment.run()
    except MyorlError as err:
        log.error("myorl: %s", err)
        if HydraConfig.get().mode == RunMode.MULTIRUN:
            raise  # one failed job of a sweep: the sweeper records it and goes on
        sys.exit(1)
    log.info("objective (%s of the last stage): %s -> %s", summary.stages[-1].metric, summary.objective,
             experiment.output_dir)
    return summary.objective


if __name__ == "__main__":
    main()
