"""myorl's framework overhead over a bare Stable-Baselines3 script, whole process against whole process.

Trains the same PPO (SB3 defaults, VecNormalize) on the same env, budget and evaluation frequency:
- `bare`: `bench/bare_ppo.py`, a hand-written SB3 script with EvalCallback;
- `myorl`: `python -m myorl.run +curriculum=hopper` capped to the same budget, as a user runs it (progress
  bar and W&B offline tracking on, the defaults);
- `myorl_lean`: the same with `tracking=none progress=false` (the opt-outs);
- `myorl_lean_stock`: `myorl_lean` with SB3's own PPO learner (`algo.fast=false`): the framework's cost
  alone, without the faster learner that myorl trains with by default.
Variants run interleaved (bare, myorl, myorl_lean, bare, ...) so drifts in machine load hit each alike;
the best and the median of each are reported. Writes bench/results/overhead.md and .json.

    .venv/bin/python bench/overhead.py --steps 200000 --eval-freq 100000 --repeats 2
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "results"


def commands(args: argparse.Namespace, run_dir: Path) -> dict[str, list[str]]:
    py = sys.executable
    myorl = [py, "-m", "myorl.run", "+curriculum=hopper", f"curriculum.stages.0.env.id={args.env}",
             f"max_timesteps={args.steps}", f"curriculum.stages.0.eval.freq={args.eval_freq}",
             f"curriculum.stages.0.eval.episodes={args.episodes}", f"seed={args.seed}"]
    return {
        "bare": [py, str(ROOT / "bench" / "bare_ppo.py"), "--env", args.env, "--steps", str(args.steps),
                 "--eval-freq", str(args.eval_freq), "--episodes", str(args.episodes), "--seed", str(args.seed)],
        "myorl": [*myorl, f"hydra.run.dir={run_dir / 'myorl'}"],
        "myorl_lean": [*myorl, "tracking=none", "progress=false", f"hydra.run.dir={run_dir / 'myorl_lean'}"],
        "myorl_lean_stock": [*myorl, "tracking=none", "progress=false", "algo.fast=false",
                             f"hydra.run.dir={run_dir / 'myorl_lean_stock'}"],
    }


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "WANDB_SILENT": "true"})
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"failed: {shlex.join(command)}\n{proc.stderr[-3000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="Hopper-v5")
    parser.add_argument("--steps", type=int, default=200_000)
    parser.add_argument("--eval-freq", type=int, default=100_000)
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--variants", nargs="+", default=None,
                        help="which of bare, myorl, myorl_lean, myorl_lean_stock (default: all)")
    args = parser.parse_args()
    seconds: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            for name, command in commands(args, Path(tmp) / str(repeat)).items():
                if args.variants and name not in args.variants and name != "bare":
                    continue
                seconds.setdefault(name, []).append(timed(command))
                print(f"repeat {repeat}: {name:11s} {seconds[name][-1]:7.1f} s", flush=True)
        shown = {name: shlex.join(c).replace(tmp, "<tmp>") for name, c in commands(args, Path(tmp) / "N").items()
                 if name in seconds}
    bare = min(seconds["bare"])
    rows = {name: {"best_s": min(t), "median_s": statistics.median(t), "all_s": t,
                   "overhead_best": min(t) / bare - 1,
                   "overhead_median": statistics.median(t) / statistics.median(seconds["bare"]) - 1}
            for name, t in seconds.items()}
    command = shlex.join([".venv/bin/python", "bench/overhead.py", *sys.argv[1:]])
    result = {"command": command, "date": time.strftime("%Y-%m-%d %H:%M"), "machine": platform.platform(),
              "cpus": os.cpu_count(), "args": vars(args), "processes": shown, "results": rows}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "overhead.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [f"# Framework overhead: myorl vs a bare SB3 script ({args.env}, {args.steps:,} steps, eval every "
             f"{args.eval_freq:,} steps x {args.episodes} episodes)", "",
             f"`{command}` on {result['date']}, {result['cpus']} CPUs ({result['machine']}); whole processes, "
             f"interleaved, {args.repeats} repeats.", "",
             "| variant | best s | median s | overhead (best) | overhead (median) |", "|---|---|---|---|---|"]
    lines += [f"| {name} | {r['best_s']:.1f} | {r['median_s']:.1f} | {r['overhead_best']:+.1%} | "
              f"{r['overhead_median']:+.1%} |" for name, r in rows.items()]
    lines += ["", "Processes:", "", *[f"- {name}: `{c}`" for name, c in shown.items()], ""]
    (OUT / "overhead.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
