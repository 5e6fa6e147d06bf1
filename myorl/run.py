"""`python -m myorl.run +curriculum=NAME [overrides]`: the Hydra entry point (Hydra stays here).

Composes the config, wires the run's observers (W&B tracking, the Optuna trial of a sweep job) and
runs the `Experiment`. The core never imports these integrations; this is the one place that does.
"""

from __future__ import annotations

import difflib
import errno
import logging
import os
import shlex
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from myorl import signals
from myorl.config import register_configs
from myorl.errors import MyorlError
from myorl.experiment import Experiment
from myorl.integrations import slurm
from myorl.observers import Observer
from myorl.signals import StopAtBoundary
from myorl.vec_env import VecEnvWorkerError

CONF_DIR = Path(__file__).resolve().parent.parent / "conf"
log = logging.getLogger("myorl")

register_configs()


def choices(group: str, config_dirs: list[Path]) -> list[str]:
    """The configs of a group (`curriculum`, `algo`, ...): shipped ones and those of --config-dir."""
    return sorted({p.stem for d in [CONF_DIR, *config_dirs] for p in (d / group).glob("*.yaml")})


def unknown_choice(argv: list[str]) -> str | None:
    """One line for a group override that names no config (`+curriculum=baoding_cww`), else None.

    Hydra's own message for it spans 16-24 lines, lists internal `*_schema` entries as choices and the
    search path; `HYDRA_FULL_ERROR=1` still shows it.
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    config_dirs = [Path(value) for flag, value in zip(argv, argv[1:]) if flag in ("--config-dir", "-cd")]
    config_dirs += [Path(a.split("=", 1)[1]) for a in argv if a.startswith("--config-dir=")]
    groups = {p.name for d in [CONF_DIR, *config_dirs] if d.is_dir() for p in d.iterdir() if p.is_dir()} - {"hydra"}
    overrides = [a for a in argv if "=" in a and not a.startswith("-")]
    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except HydraException:
        return None  # a syntax error: Hydra says what is wrong
    for override in parsed:
        key = override.get_key_element()
        group = key.lstrip("+~")
        if group not in groups or override.is_delete():
            continue
        values = list(override.sweep_string_iterator()) if override.is_sweep_override() else [override.value()]
        known = choices(group, config_dirs)
        for value in values:
            if isinstance(value, str) and value not in known:
                close = difflib.get_close_matches(value, known, n=1, cutoff=0.7)
                hint = f" (did you mean {close[0]}?)" if close else ""
                return f"unknown {group} '{value}'{hint}; choose one of: {', '.join(known)} ({key}=NAME)"
    return None


def observers(cfg: DictConfig, sweep: str | None) -> list[Observer]:
    """The run's observers: W&B tracking unless `tracking=none`, its Optuna trial when a sweeper set one."""
    found: list[Observer] = []
    if cfg.tracking.backend != "none" and cfg.tracking.mode != "disabled":
        from myorl.config import TrackingConfig
        from myorl.integrations.wandb import make_tracker

        resolved: Any = OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)
        tracking = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(TrackingConfig), cfg.tracking))
        assert isinstance(tracking, TrackingConfig)
        tracker = make_tracker(tracking, resolved, sweep)  # groups a sweep's runs in W&B
        found += [tracker] if tracker else []
    if cfg.optuna.storage is not None:
        from myorl.integrations import optuna

        found += optuna.observers(cfg.optuna)
    return found


def resume_command(experiment: Experiment) -> str:
    """The command line that continues this run where it stopped."""
    args = [a for a in sys.argv[1:] if not a.startswith(("resume=", "hydra.run.dir="))]
    return shlex.join(["python", "-m", "myorl.run", *args, f"hydra.run.dir={experiment.output_dir}", "resume=true"])


def _announce(signum: int) -> None:
    print(f"myorl: {signal.Signals(signum).name}: stopping at the next rollout boundary with a checkpoint "
          "(send it again to stop at once, from the latest checkpoint)", file=sys.stderr, flush=True)


def _thread_error(args: threading.ExceptHookArgs) -> None:
    """A full disk in a writer thread (TensorBoard's) is one log line, not a traceback: the writer raises it
    again in the main thread, which stops the run with one clear line."""
    if isinstance(args.exc_value, OSError) and args.exc_value.errno in (errno.ENOSPC, errno.EDQUOT):
        log.warning("thread '%s': %s", args.thread.name if args.thread else "?", args.exc_value)
        return
    threading.__excepthook__(args)


@hydra.main(config_path=str(CONF_DIR), config_name="config", version_base="1.3")
def train(cfg: DictConfig) -> float | None:
    if OmegaConf.is_missing(cfg, "curriculum"):
        print(f"myorl: no curriculum chosen; add +curriculum=NAME, one of: {', '.join(choices('curriculum', []))}",
              file=sys.stderr)
        sys.exit(2)
    hydra_cfg: Any = HydraConfig.get()
    multirun = hydra_cfg.mode == RunMode.MULTIRUN
    experiment = Experiment.from_config(cfg, output_dir=hydra_cfg.runtime.output_dir)
    experiment.observers = observers(cfg, sweep=hydra_cfg.sweep.dir if multirun else None)
    threading.excepthook = _thread_error
    preemption = slurm.preemption_signal()  # inside a submitit job: Slurm's preemption / time-limit signal
    # There submitit ignores SIGTERM (clusters send it before the preemption signal, and on scancel): so do we.
    stopping = [signal.SIGINT, preemption] if preemption else [signal.SIGINT, signal.SIGTERM]
    try:
        with signals.graceful(stopping, _announce):
            summary = experiment.run()
    except MyorlError as err:
        print(f"myorl: {err}", file=sys.stderr)
        if multirun:
            raise  # one failed job of a sweep: the sweeper records it and goes on
        sys.exit(1)
    except KeyboardInterrupt as stop:
        request = signals.stop_requested()
        if preemption and request is not None and request.signum == preemption and isinstance(stop, StopAtBoundary):
            slurm.requeue(preemption)  # the checkpoint is written: submitit requeues the job and exits
        saved = "checkpoint saved" if isinstance(stop, StopAtBoundary) else "the latest checkpoint is kept"
        print(f"myorl: {stop or 'interrupted'}; {saved}. Resume with:\n  {resume_command(experiment)}",
              file=sys.stderr)
        sys.exit(130)
    except VecEnvWorkerError as err:  # a worker died, hung, or its env raised (the worker's traceback is in err)
        if multirun:
            raise
        then = "resume" if err.cause_type is None else "fix the env, then resume"
        print(f"myorl: {err}\nThe stage's latest checkpoint is on disk; {then} with:\n"
              f"  {resume_command(experiment)}", file=sys.stderr)
        sys.exit(1)
    log.info("objective (%s of the last stage): %s -> %s", summary.stages[-1].metric, summary.objective,
             experiment.output_dir)
    return summary.objective


def main() -> None:
    """`python -m myorl.run`: names checked first (one line instead of Hydra's page), then Hydra runs `train`.

    `+from_trial=SWEEP_DIR:best|N` becomes that Optuna trial's overrides before Hydra sees the command line.
    """
    if any(a.split("=", 1)[0].lstrip("+") == "from_trial" for a in sys.argv[1:]):
        from myorl.tools.trials import expand_from_trial

        try:
            sys.argv[1:] = expand_from_trial(sys.argv[1:])
        except MyorlError as err:
            print(f"myorl: {err}", file=sys.stderr)
            sys.exit(2)
    problem = None if os.environ.get("HYDRA_FULL_ERROR") == "1" else unknown_choice(sys.argv[1:])
    if problem:
        print(f"myorl: {problem}", file=sys.stderr)
        sys.exit(2)
    train()


if __name__ == "__main__":
    main()
