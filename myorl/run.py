"""`python -m myorl.run +curriculum=NAME [overrides]`: the Hydra entry point (Hydra stays here)."""

from __future__ import annotations

import logging
import shlex
import signal
import sys
import threading
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


def _interrupt(signum: int, _frame) -> None:
    raise KeyboardInterrupt(f"stopped by {signal.Signals(signum).name}")


def resume_command(experiment: Experiment) -> str:
    """The command line that continues this run where it stopped."""
    args = [a for a in sys.argv[1:] if not a.startswith(("resume=", "hydra.run.dir="))]
    return shlex.join(["python", "-m", "myorl.run", *args, f"hydra.run.dir={experiment.output_dir}", "resume=true"])


@hydra.main(config_path=str(CONF_DIR), config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> float | None:
    if OmegaConf.is_missing(cfg, "curriculum"):
        print(f"myorl: no curriculum chosen; add +curriculum=NAME, one of: {', '.join(shipped_curricula())}",
              file=sys.stderr)
        sys.exit(2)
    hydra_cfg = HydraConfig.get()
    multirun = hydra_cfg.mode == RunMode.MULTIRUN
    experiment = Experiment.from_config(cfg, output_dir=hydra_cfg.runtime.output_dir,
                                        sweep=hydra_cfg.sweep.dir if multirun else None)  # groups a sweep in W&B
    experiment.observers += sweeps.observers(cfg.optuna)  # reports to its Optuna trial when a sweep set one
    if threading.current_thread() is threading.main_thread():  # signal handlers live in the main thread only
        signal.signal(signal.SIGTERM, _interrupt)  # Slurm preemption: stop like Ctrl-C, with a checkpoint
    try:
        summary = experiment.run()
    except MyorlError as err:
        print(f"myorl: {err}", file=sys.stderr)
        if multirun:
            raise  # one failed job of a sweep: the sweeper records it and goes on
        sys.exit(1)
    except KeyboardInterrupt as stop:
        print(f"myorl: {stop or 'interrupted'}; checkpoint saved. Resume with:\n  {resume_command(experiment)}",
              file=sys.stderr)
        sys.exit(130)
    log.info("objective (%s of the last stage): %s -> %s", summary.stages[-1].metric, summary.objective,
             experiment.output_dir)
    return summary.objective


if __name__ == "__main__":
    main()
