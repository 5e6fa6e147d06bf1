"""What other convergence settings would have done: replays finished fixed-budget `hopper` runs.

A converged run and the fixed run of the same seed follow the same trajectory up to the converged run's stop
(the check only reads evaluations; a seed fixes a run on the CPU), so the stop of any setting can be read off
the fixed run's evaluations: feed them to myorl's own `ConvergenceCheck` and stop where it says. The wall time
of that stop is the fixed run's stage time at that evaluation. A tool to compare settings before choosing;
`bench/convergence.py` measures a choice in real runs. Writes bench/results/convergence_replay.md.
Usage (after `bench/convergence.py` has finished the fixed runs):

    .venv/bin/python bench/convergence_replay.py --runs /tmp/convergence --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from myorl.config import ConvergenceConfig
from myorl.convergence import ConvergenceCheck

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


@dataclass
class Trajectory:
    timesteps: list[int]
    returns: list[float]
    wall: list[float]  # the stage's training seconds at each evaluation
    total_wall: float  # the whole fixed stage's seconds


@dataclass
class Stop:
    timesteps: int
    best: float  # the best model's evaluation, what a converged stage keeps
    wall: float


def load(run: Path) -> Trajectory:
    stage = run / "stages" / "00_hop"
    record = json.loads((stage / "stage.json").read_text())
    with np.load(stage / "evaluations.npz", allow_pickle=True) as e:
        return Trajectory([int(t) for t in e["timesteps"]], [float(r) for r in e["mean_reward"]],
                          [float(w) for w in e["wall_seconds"]], float(record["wall_seconds"]))


def replay(trajectory: Trajectory, config: ConvergenceConfig) -> Stop:
    check = ConvergenceCheck(config)
    for steps, value, wall in zip(trajectory.timesteps, trajectory.returns, trajectory.wall, strict=True):
        check.update(value, steps)
        if check.stop_reason is not None:
            return Stop(steps, check.best, wall)
    return Stop(trajectory.timesteps[-1], check.best, trajectory.total_wall)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, default=ROOT / "outputs" / "bench" / "convergence")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--patience", type=int, nargs="+", default=[2, 3, 4, 6, 8, 12])
    parser.add_argument("--min-timesteps", type=int, nargs="+", default=[0, 100_000, 200_000, 300_000])
    parser.add_argument("--min-delta", type=float, default=10.0)
    parser.add_argument("--target", type=float, default=3000.0)
    args = parser.parse_args()
    runs = {s: load(args.runs / f"fixed_seed{s}") for s in args.seeds}
    final = statistics.mean(t.returns[-1] for t in runs.values())
    total = statistics.mean(t.total_wall for t in runs.values())
    cmd = shlex.join([".venv/bin/python", "bench/convergence_replay.py", *sys.argv[1:]])
    lines = ["# Convergence settings replayed on the fixed 1M-step `hopper` runs", "",
             f"`{cmd}` on {time.strftime('%Y-%m-%d %H:%M')}: each setting's stop read off the fixed runs' "
             f"evaluations (every {runs[args.seeds[0]].timesteps[0]:,} steps) by myorl's `ConvergenceCheck`, "
             f"min_delta {args.min_delta:g}, target {args.target:g}.", "",
             "Fixed runs: " + "; ".join(f"seed {s} final {t.returns[-1]:.0f}, best {max(t.returns):.0f} at "
                                        f"{t.timesteps[int(np.argmax(t.returns))]:,}, {t.total_wall:.0f} s"
                                        for s, t in runs.items()), "",
             "| patience | min_timesteps | stops at (per seed) | best kept (mean) | return ratio | time ratio | goal |",
             "|---:|---:|---|---:|---:|---:|---|"]
    for patience in args.patience:
        for min_timesteps in args.min_timesteps:
            config = ConvergenceConfig(target=args.target, patience=patience, min_delta=args.min_delta,
                                       min_timesteps=min_timesteps)
            stops = [replay(t, config) for t in runs.values()]
            ratio_return = statistics.mean(s.best for s in stops) / final
            ratio_time = statistics.mean(s.wall for s in stops) / total
            reached = ratio_return >= 0.95 and ratio_time <= 0.5
            lines.append(f"| {patience} | {min_timesteps:,} | {', '.join(f'{s.timesteps // 1000}k' for s in stops)} | "
                         f"{statistics.mean(s.best for s in stops):.0f} | {ratio_return:.0%} | {ratio_time:.1%} | "
                         f"{'reached' if reached else 'no'} |")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "convergence_replay.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
