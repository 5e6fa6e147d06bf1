"""What the convergence check buys: the `hopper` curriculum (stops on target/plateau) against the same model
trained for its fixed 1M-step budget, several seeds each, whole `python -m myorl.run` processes.

For each seed the two runs go side by side (one per core), so machine load hits both alike. Reported per
seed and on average: the return the user gets (the converged run's best model as evaluated; the fixed run's
final evaluation, and its best), the steps and the wall time. Goal (issue 10): >= 95% of the fixed budget's
final return in <= 50% of its wall time. Writes bench/results/convergence.md and .json. Usage:

    .venv/bin/python bench/convergence.py --seeds 0 1 2 [--runs outputs/bench/convergence] [overrides...]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
FIXED = ["curriculum.stages.0.convergence.target=null", "curriculum.stages.0.convergence.patience=null"]


def command(run: Path, seed: int, fixed: bool, overrides: list[str]) -> list[str]:
    return [sys.executable, "-m", "myorl.run", "+curriculum=hopper", f"seed={seed}", "tracking=none",
            "progress=false", f"hydra.run.dir={run}", *(FIXED if fixed else []), *overrides]


def outcome(run: Path) -> dict[str, float]:
    stage = run / "stages" / "00_hop"
    record = json.loads((stage / "stage.json").read_text())
    with np.load(stage / "evaluations.npz", allow_pickle=True) as e:
        final = float(e["mean_reward"][-1])
    return {"status": f"{record['status']}" + (f" ({record['reason']})" if record["reason"] else ""),
            "steps": record["timesteps"], "seconds": record["wall_seconds"], "best": record["best_metric"],
            "final": final}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--runs", type=Path, default=ROOT / "outputs" / "bench" / "convergence")
    parser.add_argument("overrides", nargs="*", help="extra overrides for both variants")
    args = parser.parse_args()
    runs = args.runs.resolve()
    results: dict[int, dict[str, dict[str, float]]] = {}
    for seed in args.seeds:
        procs = {}
        for variant, fixed in (("converged", False), ("fixed", True)):
            run = runs / f"{variant}_seed{seed}"
            if not (run / "summary.json").is_file():  # a finished pair is not trained again
                runs.mkdir(parents=True, exist_ok=True)
                log = open(runs / f"{variant}_seed{seed}.log", "w")  # noqa: SIM115
                procs[variant] = (subprocess.Popen(command(run, seed, fixed, args.overrides), cwd=ROOT,
                                                   stdout=log, stderr=subprocess.STDOUT), log)
        for variant, (proc, log) in procs.items():
            if proc.wait() != 0:
                raise SystemExit(f"{variant} seed {seed} failed: see {log.name}")
            log.close()
        results[seed] = {v: outcome(runs / f"{v}_seed{seed}") for v in ("converged", "fixed")}
        print(seed, results[seed], flush=True)

    def mean(variant: str, key: str) -> float:
        return statistics.mean(float(results[s][variant][key]) for s in args.seeds)

    ratio_return = mean("converged", "best") / mean("fixed", "final")
    ratio_time = mean("converged", "seconds") / mean("fixed", "seconds")
    reached = ratio_return >= 0.95 and ratio_time <= 0.5
    cmd = shlex.join([".venv/bin/python", "bench/convergence.py", *sys.argv[1:]])
    lines = ["# What the convergence check buys: `hopper` (stops on target/plateau) vs the same 1M-step budget", "",
             f"`{cmd}` on {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} CPUs; each seed's two runs side by "
             "side, one per core. Converged: `python -m myorl.run +curriculum=hopper seed=S` as shipped; fixed: the "
             f"same with `{' '.join(FIXED)}`.", "",
             "| seed | variant | status | steps | wall s | best return | final return |", "|---|---|---|---|---|---|---|"]
    for seed in args.seeds:
        for variant, r in results[seed].items():
            lines.append(f"| {seed} | {variant} | {r['status']} | {int(r['steps']):,} | {r['seconds']:.0f} | "
                         f"{r['best']:.0f} | {r['final']:.0f} |")
    lines += ["", "| seed | converged best / fixed final | converged wall / fixed wall | converged stop |",
              "|---|---:|---:|---|"]
    for seed in args.seeds:
        c, f = results[seed]["converged"], results[seed]["fixed"]
        lines.append(f"| {seed} | {float(c['best']) / float(f['final']):.0%} | "
                     f"{float(c['seconds']) / float(f['seconds']):.1%} | {c['status']} at {int(c['steps']):,} |")
    lines += ["", f"Mean over seeds: converged best return {mean('converged', 'best'):.0f} in "
              f"{mean('converged', 'seconds'):.0f} s and {mean('converged', 'steps'):,.0f} steps; fixed final return "
              f"{mean('fixed', 'final'):.0f} (best {mean('fixed', 'best'):.0f}) in {mean('fixed', 'seconds'):.0f} s.", "",
              f"Return ratio (converged best / fixed final) {ratio_return:.1%}, wall-time ratio {ratio_time:.1%}: goal "
              f"(>= 95% of the return in <= 50% of the time) {'reached' if reached else 'NOT reached'}.", ""]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "convergence.md").write_text("\n".join(lines))
    (RESULTS / "convergence.json").write_text(json.dumps({"command": cmd, "results": results,
                                                          "return_ratio": ratio_return, "time_ratio": ratio_time},
                                                         indent=2) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
