"""A sweep's results: `optimization_results.yaml`, the trials table in the log, and the study's plots.

`optimization_results.yaml` keeps hydra-optuna-sweeper's keys (`name: optuna`, `best_params`, `best_value` for
one objective; `solutions`, a list of `{params, values}`, the Pareto front, for several) and adds the study
name, direction(s), the best trial's number and how many trials ended in each state.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

MIN_TRIALS_FOR_IMPORTANCE = 5  # fewer complete trials say nothing about which param matters


def results(study: Any) -> dict[str, Any]:
    """What `optimization_results.yaml` holds."""
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False)
    counts = {state.name: sum(t.state == state for t in trials) for state in TrialState
              if any(t.state == state for t in trials)}
    complete = any(t.state == TrialState.COMPLETE for t in trials)
    directions = [d.name.lower() for d in study.directions]
    found: dict[str, Any] = {"name": "optuna", "study_name": study.study_name}
    if len(directions) == 1:
        best = study.best_trial if complete else None
        found.update({"direction": directions[0], "best_trial": best.number if best else None,
                      "best_value": best.value if best else None,
                      "best_params": dict(best.params) if best else None})
    else:
        front = study.best_trials if complete else []
        found.update({"directions": directions,
                      "solutions": [{"trial": t.number, "params": dict(t.params), "values": list(t.values)}
                                    for t in front]})
    found["trials"] = counts
    return found


def write_results(study: Any, path: Path) -> dict[str, Any]:
    """Write `results(study)` as YAML (atomically: a reader never sees half a file); returns it."""
    import yaml

    found = results(study)
    _write_text(path, yaml.safe_dump(found, sort_keys=False))
    return found


def summary(found: dict[str, Any]) -> str:
    """One line: the best value and params, or the size of the Pareto front."""
    if "solutions" in found:
        return f"{len(found['solutions'])} Pareto-optimal trial(s): " + "; ".join(
            f"#{s['trial']} {s['values']} {s['params']}" for s in found["solutions"][:5]) + (
            " ..." if len(found["solutions"]) > 5 else "")
    if found["best_trial"] is None:
        return "no trial completed"
    return f"best value {found['best_value']} with {found['best_params']} (trial {found['best_trial']})"


def trials_table(study: Any) -> str:
    """Every trial of the study, one line each: number, state, value(s), seconds, params (best marked *)."""
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False)
    best = {t.number for t in study.best_trials} if any(t.state == TrialState.COMPLETE for t in trials) else set()
    names = sorted({name for t in trials for name in t.params})
    multi = len(study.directions) > 1
    header = ["trial", "state", "values" if multi else "value", "seconds", *names]
    rows = [header]
    for t in trials:
        seconds = t.duration.total_seconds() if t.duration else None
        value = ", ".join(_fmt(v) for v in t.values) if multi and t.values else _fmt(t.value if not multi else None)
        rows.append([f"{t.number}{'*' if t.number in best else ''}", t.state.name, value, _fmt(seconds),
                     *(_fmt(t.params.get(n)) for n in names)])
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows)


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def plot(study: Any, out_dir: Path) -> list[Path]:
    """The study's plots as PNG in `out_dir`; a plot Optuna cannot draw is skipped with a log line.

    One objective: optimisation history, param importances (>= 2 params and `MIN_TRIALS_FOR_IMPORTANCE`
    complete trials), parallel coordinates. Several: the Pareto front (2 or 3 objectives) and each
    objective's history. Never raises: a plot is not worth a failed sweep.
    """
    try:
        import matplotlib

        if "matplotlib.pyplot" not in sys.modules:
            matplotlib.use("Agg")  # no display needed; an app that chose a backend keeps it
        import matplotlib.pyplot as plt
        from optuna.trial import TrialState
        from optuna.visualization import matplotlib as vis
    except Exception as exc:  # noqa: BLE001
        log.info("plots skipped: %s", exc)
        return []

    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    names = sorted({name for t in complete for name in t.params})
    multi = len(study.directions) > 1
    wanted: list[tuple[str, Any, str | None]] = []  # (file name, how to draw it, why not)
    if not multi:
        wanted.append(("optimization_history", lambda: vis.plot_optimization_history(study), None))
        why = None if len(names) >= 2 and len(complete) >= MIN_TRIALS_FOR_IMPORTANCE else (
            f"needs >= 2 params and >= {MIN_TRIALS_FOR_IMPORTANCE} complete trials "
            f"({len(names)} params, {len(complete)} complete)")
        wanted.append(("param_importances", lambda: vis.plot_param_importances(study), why))
        wanted.append(("parallel_coordinate", lambda: vis.plot_parallel_coordinate(study),
                       None if complete else "no complete trial"))
    else:
        n = len(study.directions)
        wanted.append(("pareto_front", lambda: vis.plot_pareto_front(study),
                       None if n in (2, 3) and complete else "needs 2 or 3 objectives and a complete trial"))
        for i in range(n):
            wanted.append((f"optimization_history_{i}", lambda i=i: vis.plot_optimization_history(
                study, target=lambda t: t.values[i], target_name=f"objective {i}"), None))
    written = []
    for name, draw, why in wanted:
        if why:
            log.info("plot %s skipped: %s", name, why)
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # Optuna's matplotlib plots are "experimental"
                axes = draw()
            figure = (axes.flat[0] if hasattr(axes, "flat") else axes).get_figure()
            path = out_dir / f"{name}.png"
            figure.savefig(path, dpi=100, bbox_inches="tight")
            plt.close(figure)
            written.append(path)
        except Exception as exc:  # noqa: BLE001 - Optuna could not draw it: say so, go on
            log.info("plot %s skipped: %s: %s", name, type(exc).__name__, str(exc).splitlines()[0] if str(exc)
                     else "")
            plt.close("all")
    return written


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

