"""The Baoding evidence: `baoding_ccw` as shipped, several seeds at once, for a wall-clock budget; then the curves.

Each seed is `python -m myorl.run +curriculum=baoding_ccw seed=S` in its own run dir (outside the repository:
`--runs` defaults to `outputs/bench/baoding/`, which git ignores). After `--hours` every run gets SIGTERM and
stops at its next rollout boundary with a checkpoint; `--resume` goes on with the same run dirs
(`resume=true`), as a user would after a preemption. `--report` (also done after every training session)
writes `bench/results/baoding.md` and two PNGs from `python -m myorl.compare` (solved fraction, episode
length, return and each reward term against steps and against training hours). Usage:

    .venv/bin/python bench/baoding.py --seeds 0 1 --hours 2 --runs /work/runs/baoding
    .venv/bin/python bench/baoding.py --seeds 0 1 --hours 1 --runs /work/runs/baoding --resume
    .venv/bin/python bench/baoding.py --seeds 0 1 --runs /work/runs/baoding --report

The goal (issue 11): stage `hold` reaches solved_fraction >= 0.5 with episodes of >= 150 steps, and the
first rotation stage starts and learns.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
METRICS = ["solved_fraction", "mean_ep_length", "mean_reward", "info/solved", "info/alive", "info/pos_dist_1",
           "info/pos_dist_2", "info/effort"]
GOAL_SOLVED, GOAL_LENGTH = 0.5, 150.0


def train(args: argparse.Namespace) -> None:
    """Start every seed, let them run `--hours`, then stop them gracefully (SIGTERM: checkpoint, exit 130)."""
    procs = {}
    for seed in args.seeds:
        run = args.runs / f"seed{seed}"
        command = [sys.executable, "-m", "myorl.run", "+curriculum=baoding_ccw", f"seed={seed}",
                   f"hydra.run.dir={run}", "progress=false", "tracking=none", *args.overrides]
        if args.resume:
            command.append("resume=true")
        log = open(args.runs / f"seed{seed}.log", "a")  # noqa: SIM115  (closed when the process ends)
        log.write(f"\n# {time.strftime('%Y-%m-%d %H:%M:%S')}: {shlex.join(command)}\n")
        log.flush()
        procs[seed] = (subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT), log)
        print(f"seed {seed}: {shlex.join(command)}", flush=True)
    deadline = time.monotonic() + args.hours * 3600
    while time.monotonic() < deadline and any(p.poll() is None for p, _ in procs.values()):
        time.sleep(30)
    for proc, _ in procs.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for seed, (proc, log) in procs.items():
        try:
            proc.wait(timeout=1800)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        print(f"seed {seed}: exit code {proc.returncode}", flush=True)


def evaluations(run: Path) -> list[dict]:
    """Every evaluation of every stage, in curriculum order, with curriculum steps and training hours."""
    rows, steps, hours = [], 0, 0.0
    for stage in sorted((run / "stages").glob("*")):
        data = stage / "evaluations.npz"
        record = json.loads((stage / "stage.json").read_text()) if (stage / "stage.json").is_file() else None
        if data.is_file():
            with np.load(data, allow_pickle=True) as e:
                for i, t in enumerate(e["timesteps"]):
                    rows.append({"stage": stage.name, "steps": steps + int(t), "stage_steps": int(t),
                                 "hours": hours + float(e["wall_seconds"][i]) / 3600,
                                 **{m: float(e[m][i]) for m in METRICS if m in e.files}})
        if record:
            steps, hours = steps + record["timesteps"], hours + record["wall_seconds"] / 3600
        elif rows and rows[-1]["stage"] == stage.name:
            steps, hours = rows[-1]["steps"], rows[-1]["hours"]
    return rows


def report(args: argparse.Namespace, command: str) -> None:
    runs = [args.runs / f"seed{seed}" for seed in args.seeds if (args.runs / f"seed{seed}").is_dir()]
    if not runs:
        raise SystemExit(f"no run dirs under {args.runs}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    for x, name in (("timesteps", "baoding_steps"), ("wall", "baoding_hours")):
        compare = [sys.executable, "-m", "myorl.compare", *map(str, runs), "--out", str(args.runs / f"compare_{x}"),
                   "--x", x, *[a for m in METRICS for a in ("--metric", m)],
                   "--title", f"baoding_ccw, seeds {', '.join(map(str, args.seeds))}"]
        proc = subprocess.run(compare, cwd=ROOT, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(proc.stderr)
        (RESULTS / f"{name}.png").write_bytes((args.runs / f"compare_{x}" / "curves.png").read_bytes())
    lines = ["# Baoding evidence: `baoding_ccw` as shipped on this 2-core machine", "",
             f"Made by `{command}` on {time.strftime('%Y-%m-%d %H:%M')} ({os.cpu_count()} CPUs). Seeds trained in "
             "one session share the cores; each ran as `python -m myorl.run +curriculum=baoding_ccw seed=S "
             "progress=false tracking=none` (16 envs, `vec_env=auto`, the winners' RecurrentPPO settings), "
             "stopped by SIGTERM after the wall-clock budget and resumed with `resume=true` where it says so.", "",
             "![against steps](baoding_steps.png)", "", "![against training hours](baoding_hours.png)", ""]
    for run in runs:
        rows = evaluations(run)
        lines += [f"## {run.name}", "", "| stage | curriculum steps | training hours | solved fraction | episode length | "
                  "return | info/alive | info/solved | effort |", "|---|---|---|---|---|---|---|---|---|"]
        lines += [f"| {r['stage']} | {r['steps']:,} | {r['hours']:.2f} | {r.get('solved_fraction', float('nan')):.3f} | "
                  f"{r.get('mean_ep_length', float('nan')):.1f} | {r.get('mean_reward', float('nan')):.1f} | "
                  f"{r.get('info/alive', float('nan')):.3f} | {r.get('info/solved', float('nan')):.3f} | "
                  f"{r.get('info/effort', float('nan')):.3f} |" for r in rows]
        hold = [r for r in rows if r["stage"].endswith("_hold")]
        reached = [r for r in hold if r.get("solved_fraction", 0) >= GOAL_SOLVED and r.get("mean_ep_length", 0)
                   >= GOAL_LENGTH]
        later = [r for r in rows if not r["stage"].endswith("_hold")]
        rate = rows[-1]["steps"] / rows[-1]["hours"] if rows and rows[-1]["hours"] else float("nan")
        lines += ["", f"- steps per training hour (curriculum so far): {rate:,.0f}",
                  f"- goal (hold: solved fraction >= {GOAL_SOLVED}, episodes >= {GOAL_LENGTH:.0f} steps): "
                  + (f"reached at {reached[0]['steps']:,} steps, {reached[0]['hours']:.2f} h" if reached
                     else "not reached" + (f"; best hold evaluation: solved {max(r.get('solved_fraction', 0) for r in hold):.3f}, "
                                           f"episode length {max(r.get('mean_ep_length', 0) for r in hold):.1f}" if hold else "")),
                  f"- first rotation stage: {'started, ' + str(len(later)) + ' evaluations' if later else 'not started'}",
                  ""]
    (RESULTS / "baoding.md").write_text("\n".join(lines))
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--hours", type=float, default=2.0, help="wall-clock budget of this training session")
    parser.add_argument("--runs", type=Path, default=ROOT / "outputs" / "bench" / "baoding")
    parser.add_argument("--resume", action="store_true", help="go on with the run dirs in --runs")
    parser.add_argument("--report", action="store_true", help="only write the report from --runs")
    parser.add_argument("overrides", nargs="*", help="extra overrides for every run (e.g. n_envs=16)")
    args = parser.parse_args()
    args.runs = args.runs.resolve()
    args.runs.mkdir(parents=True, exist_ok=True)
    command = shlex.join([".venv/bin/python", "bench/baoding.py", *sys.argv[1:]])
    if not args.report:
        train(args)
    report(args, command)


if __name__ == "__main__":
    main()
