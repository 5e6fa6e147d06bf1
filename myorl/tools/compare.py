"""`python -m myorl.compare PATH... [--out DIR] [--metric KEY]... [--x steps|wall]`: curves and a per-stage table.

Each PATH is a run dir, a multirun sweep dir or any folder of runs (every dir below it with an
`experiment.yaml`). Runs whose configs differ only by `seed` (and by how they ran: the schema's fields
marked `HOW_IT_RUNS`, such as device, threads, vec_env, progress, checkpoint) form a group.
Writes into `--out` (default `outputs/compare/<date>_<time>/`):

- `curves.png`: the evaluation metric against timesteps summed over the curriculum, one panel per
  metric, stage boundaries as dotted lines. `--metric KEY` (repeatable; also `metric=KEY`) plots any array
  of the stages' `evaluations.npz` instead: `mean_reward`, `mean_ep_length`, `solved_fraction`,
  `info/<key>` (e.g. `info/solved`, `info/alive`, `info/pos_dist_1`, `info/effort`). `--x wall` puts the
  stages' training wall-clock time on the x-axis. A group of one run is its curve; a group of seeds is their
  mean with a 95% bootstrap confidence interval, or the interquartile mean (IQM) with 5 seeds or more.
- `table.md`: per run and stage the final and best metric, the steps to convergence and the status,
  plus each seed group's aggregate.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import OmegaConf
from scipy.stats import trim_mean

from myorl import files
from myorl.config import flatten, how_it_runs_keys
from myorl.errors import MyorlError
from myorl.rundir import Run, find_runs

BOOTSTRAP_SAMPLES = 2000
IQM_FROM = 5  # seeds
GRID = 200  # points of an aggregated curve


# --------------------------------------------------------------------------- one run
@dataclass
class StageRow:
    name: str
    metric: str
    final: float | None  # the last evaluation's metric
    best: float | None
    timesteps: int
    status: str  # converged (target) | budget_exhausted | ... | running (no stage.json yet)
    converged_at: int | None  # the stage's timesteps when it converged


@dataclass
class RunCurve:
    """A run's evaluations along the whole curriculum."""

    run: Run
    seed: int
    points: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # metric -> (x, y)
    boundaries: list[tuple[float, str]] = field(default_factory=list)  # (x where a stage starts, its name)
    stages: list[StageRow] = field(default_factory=list)

    @classmethod
    def of(cls, run: Run, metrics: list[str] | None = None, x: str = "timesteps") -> RunCurve:
        """`metrics`: keys of `evaluations.npz` to plot (default: each stage's convergence metric);
        `x`: `timesteps` or `wall` (training hours, summed over the stages)."""
        curve = cls(run, run.config.seed)
        offset = 0.0
        for stage in run.stages():
            record, evals = stage.dir.read_record(), stage.dir.read_evaluations()
            metric = record.metric if record else stage.plan.convergence.metric.value
            ys = np.asarray(evals["metric"], dtype=float) if evals else np.array([])
            xs = np.array([])
            if evals and x == "wall" and "wall_seconds" in evals:
                xs = offset + np.asarray(evals["wall_seconds"], dtype=float) / 3600
            elif evals and x != "wall":
                xs = offset + np.asarray(evals["timesteps"], dtype=float)
            for key in metrics or [metric]:
                column = evals.get("metric" if metrics is None else key) if evals else None
                if column is not None and len(xs):
                    old_x, old_y = curve.points.get(key, (np.array([]), np.array([])))
                    curve.points[key] = (np.concatenate([old_x, xs]), np.concatenate([old_y, column.astype(float)]))
            length = int(record.timesteps if record else (evals["timesteps"][-1] if evals else 0))
            status = record.status.value if record else "running"
            best = record.best_metric if record else (float(ys.max()) if len(ys) else None)
            curve.boundaries.append((offset, stage.name))
            curve.stages.append(StageRow(
                stage.name, metric, float(ys[-1]) if len(ys) else None, best, length,
                f"{status} ({record.reason})" if record and record.reason else status,
                length if status == "converged" else None))
            if x == "wall":
                ran = evals["wall_seconds"][-1] if evals and "wall_seconds" in evals else 0.0
                offset += (record.wall_seconds if record else float(ran)) / 3600
            else:
                offset += length
        return curve


# --------------------------------------------------------------------------- groups of seeds
@dataclass
class Group:
    label: str
    curves: list[RunCurve]

    @property
    def method(self) -> str:
        return "IQM" if len(self.curves) >= IQM_FROM else "mean"


def group_runs(runs: list[Run], metrics: list[str] | None = None, x: str = "timesteps") -> list[Group]:
    """Runs that differ only by seed go together; each group is labelled by what sets it apart."""
    ignored = how_it_runs_keys() | {"seed"}
    configs = [{k: v for k, v in flatten(OmegaConf.to_container(r.read_config_node(), resolve=True)).items()
                if k.split(".")[0] not in ignored} for r in runs]
    keys: list[tuple] = []
    members: dict[tuple, list[int]] = {}
    for i, cfg in enumerate(configs):
        key = tuple(sorted(cfg.items()))
        if key not in members:
            keys.append(key)
        members.setdefault(key, []).append(i)
    differ = sorted({k for cfg in configs for k in cfg if len({c.get(k) for c in configs}) > 1})
    by_curriculum = "curriculum.name" in differ  # then the curriculum's name says enough about its stages
    if by_curriculum:
        differ = [k for k in differ if not k.startswith("curriculum.")]
    groups = []
    for key in keys:
        cfg, first = dict(key), runs[members[key][0]]
        shown = [f"{k}={_short(cfg.get(k, '-'))}" for k in differ]
        label = ", ".join(([first.curriculum] if by_curriculum else []) + shown[:3])
        label += f" (+{len(shown) - 3} more)" if len(shown) > 3 else ""
        groups.append(Group(label or first.curriculum, [RunCurve.of(runs[i], metrics, x) for i in members[key]]))
    return groups


def bootstrap(values: np.ndarray, iqm: bool, samples: int = BOOTSTRAP_SAMPLES,
              seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(statistic, 2.5th, 97.5th percentile) over axis 0 (the seeds): the mean, or the IQM, with a
    percentile bootstrap confidence interval that resamples the seeds."""
    values = np.asarray(values, dtype=float)

    def stat(a: np.ndarray, axis: int) -> np.ndarray:
        return trim_mean(a, 0.25, axis=axis) if iqm else np.mean(a, axis=axis)

    center = stat(values, 0)
    picks = np.random.default_rng(seed).integers(0, len(values), size=(samples, len(values)))
    low, high = np.percentile(stat(values[picks], 1), [2.5, 97.5], axis=0)
    return center, low, high


def _on_grid(curves: list[RunCurve], metric: str) -> tuple[np.ndarray, np.ndarray] | None:
    """Every run's curve of `metric` on one grid (linear between evaluations). After its last
    evaluation a run keeps its last value if it ended there, else (the curriculum moved on to
    another metric) it has none; grid points where any run has none are dropped."""
    series = [(c, *c.points[metric]) for c in curves if metric in c.points and len(c.points[metric][0])]
    if len(series) != len(curves):
        return None
    grid = np.linspace(max(x[0] for _, x, _ in series), max(x[-1] for _, x, _ in series), GRID)
    rows = []
    for curve, x, y in series:
        row = np.interp(grid, x, y)
        ended = all(m == metric or not len(p[0]) or p[0][-1] <= x[-1] for m, p in curve.points.items())
        if not ended:
            row[grid > x[-1]] = np.nan
        rows.append(row)
    values = np.array(rows)
    keep = ~np.isnan(values).any(axis=0)
    return grid[keep], values[:, keep]


# --------------------------------------------------------------------------- outputs
def plot(groups: list[Group], title: str, x: str = "timesteps") -> bytes:
    """The PNG of all groups' curves, one panel per metric."""
    from matplotlib.figure import Figure

    metrics = list(dict.fromkeys(m for g in groups for c in g.curves for m in c.points))
    fig = Figure(figsize=(10, 4.2 * max(1, len(metrics))), layout="constrained")
    axes = fig.subplots(max(1, len(metrics)), 1, squeeze=False)[:, 0]
    colors = [f"C{i % 10}" for i in range(len(groups))]
    for ax, metric in zip(axes, metrics or ["(no evaluations)"]):
        for group, color in zip(groups, colors):
            _plot_group(ax, group, metric, color, annotate=len(groups) == 1)
        ax.set_ylabel(metric)
        ax.set_xlabel("training hours (summed over the curriculum's stages)" if x == "wall"
                      else "timesteps (summed over the curriculum's stages)")
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize="small", loc="best")
    axes[0].set_title(title)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()


def _plot_group(ax: Any, group: Group, metric: str, color: str, annotate: bool) -> None:
    for curve in group.curves:
        for start, name in curve.boundaries[1:]:
            ax.axvline(start, color=color, ls=":", lw=1, alpha=0.7 if len(group.curves) == 1 else 0.35)
            if annotate and curve is group.curves[0]:
                ax.annotate(name, (start, 1), xycoords=("data", "axes fraction"), rotation=90, va="top", ha="right",
                            fontsize="x-small", color="0.35")
    if len(group.curves) == 1:
        x, y = group.curves[0].points.get(metric, (np.array([]), np.array([])))
        if len(x):
            ax.plot(x, y, marker="o", ms=3, color=color, label=f"{group.label} (seed {group.curves[0].seed})")
        return
    gridded = _on_grid(group.curves, metric)
    if gridded is None or not len(gridded[0]):
        return
    grid, values = gridded
    center, low, high = bootstrap(values, iqm=group.method == "IQM")
    ax.plot(grid, center, color=color, label=f"{group.label} ({group.method} of {len(group.curves)} seeds, 95% CI)")
    ax.fill_between(grid, low, high, color=color, alpha=0.2, lw=0)


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.4g}"


def table(groups: list[Group]) -> str:
    """Markdown: one row per run and stage; seed groups get an aggregate row per stage."""
    lines = ["| group | run | seed | stage | metric | final | best | steps to convergence | status |",
             "|---|---|---|---|---|---|---|---|---|"]
    for group in groups:
        for curve in group.curves:
            for row in curve.stages:
                steps = "—" if row.converged_at is None else f"{row.converged_at:,}"
                lines.append(f"| {group.label} | {_shown(curve.run.path)} | {curve.seed} | {row.name} | {row.metric} | "
                             f"{_num(row.final)} | {_num(row.best)} | {steps} | {row.status} |")
        if len(group.curves) > 1:
            lines += _aggregate_rows(group)
    return "\n".join(lines) + "\n"


def _aggregate_rows(group: Group) -> list[str]:
    rows = []
    n = len(group.curves)
    names = list(dict.fromkeys(r.name for c in group.curves for r in c.stages))
    for name in names:
        stage_rows = [r for c in group.curves for r in c.stages if r.name == name]
        finals = np.array([r.final for r in stage_rows if r.final is not None])
        final = "—"
        if len(finals):
            center, low, high = bootstrap(finals[:, None], iqm=len(finals) >= IQM_FROM)
            final = f"{center[0]:.4g} [{low[0]:.4g}, {high[0]:.4g}]"
        converged = [r.converged_at for r in stage_rows if r.converged_at is not None]
        steps = f"{int(np.median(converged)):,} (median)" if converged else "—"
        statuses = ", ".join(f"{k} {sum(r.status == k for r in stage_rows)}"
                             for k in dict.fromkeys(r.status for r in stage_rows))
        best = _num(max((r.best for r in stage_rows if r.best is not None), default=None))
        rows.append(f"| **{group.label}** | **{group.method} of {n} seeds [95% CI]** | "
                    f"{', '.join(str(c.seed) for c in group.curves)} | {name} | {stage_rows[0].metric} | {final} | "
                    f"{best} (max) | {steps}, {len(converged)}/{len(stage_rows)} converged | {statuses} |")
    return rows


def _short(value: object) -> str:
    """A label's value: floats to 4 significant digits (sampled learning rates are long)."""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


@dataclass
class Comparison:
    groups: list[Group]
    png: Path
    table: Path
    markdown: str


def compare(paths: list[Path | str], out: Path | str | None = None, title: str | None = None,
            metrics: list[str] | None = None, x: str = "timesteps") -> Comparison:
    """Find the runs under `paths`, group them by seed, write `curves.png` and `table.md` into `out`."""
    if x not in ("timesteps", "wall"):
        raise MyorlError(f"x must be timesteps or wall, got '{x}'")
    runs, seen = [], set()
    for path in paths:
        for run in find_runs(path):
            if run.path.resolve() not in seen:
                seen.add(run.path.resolve())
                runs.append(run)
    groups = group_runs(runs, metrics, x)
    missing = [m for m in metrics or [] if not any(m in c.points for g in groups for c in g.curves)]
    if missing:
        known = sorted({k for r in runs for s in r.stages() for k in (s.dir.read_evaluations() or {})})
        raise MyorlError(f"no evaluation reports {missing}; the runs' evaluations.npz hold: {', '.join(known)}")
    out = Path(out or Path("outputs", "compare", time.strftime("%Y-%m-%d_%H-%M-%S")))
    curricula = ", ".join(dict.fromkeys(r.curriculum for r in runs))
    title = title or f"{curricula}: {len(runs)} run{'s' * (len(runs) > 1)}, {len(groups)} group{'s' * (len(groups) > 1)}"
    markdown = table(groups)
    png = files.write_bytes(out / "curves.png", plot(groups, title, x))
    table_path = files.write_text(out / "table.md", f"# {title}\n\n![curves](curves.png)\n\n{markdown}")
    return Comparison(groups, png, table_path, markdown)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m myorl.compare", description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+", type=Path, help="run dirs, multirun sweep dirs or folders of runs")
    parser.add_argument("--out", type=Path, help="output dir (default outputs/compare/<date>_<time>)")
    parser.add_argument("--title", help="the plot's title")
    parser.add_argument("--metric", action="append", help="a key of evaluations.npz to plot (repeatable), "
                        "e.g. info/solved, mean_ep_length; default: each stage's convergence metric")
    parser.add_argument("--x", default="timesteps", choices=["timesteps", "wall"], help="the x-axis")
    argv = sys.argv[1:] if argv is None else argv
    # key=value works too, like the other myorl commands: metric=info/solved out=DIR x=wall title=...
    argv = [f"--{a}" if a.split("=", 1)[0] in ("metric", "out", "title", "x") and "=" in a else a for a in argv]
    args = parser.parse_args(argv)
    try:
        result = compare(args.paths, args.out, args.title, args.metric, args.x)
    except MyorlError as err:
        print(f"myorl: {err}", file=sys.stderr)
        return 1
    print(result.markdown)
    print(f"wrote {result.png} and {result.table}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
