"""The fault campaign: kill -9 a two-stage run at chosen kinds of moment, resume each with resume=true until
done, and check what it left. Writes bench/results/faults.md and faults.json.

Kinds (tests/helpers/faults.py finds the moments from outside, nothing in myorl is patched):
  random            kill -9 of the main process at a random moment of a launch
  checkpoint_write  kill -9 while a checkpoint's hidden `.tmp-*` folder is being written
  between_stages    kill -9 after the first stage's stage.json, before the second stage's first checkpoint
  evaluation        kill -9 inside an evaluation (the evaluation env marks its resets)
  worker            kill -9 of one vec env worker process (vec_env=auto), not of the main process

An uninterrupted reference run gives each stage's expected status and step count, and the timings random
moments are drawn from. Every killed run is resumed until done, then checked: each stage's status and step
count equal the reference's, summary.json lists each stage once, no partial or corrupt file anywhere.

    .venv/bin/python bench/faults.py [--kills 20] [--seed 0] [--kills-per-run 2] [--budgets 6144,8192]
                                     [--checkpoint-freq 2048] [--eval-freq 1536] [--root DIR]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shlex
import statistics
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT / "tests"))

from helpers.faults import KINDS, Setup, campaign  # noqa: E402


def counts_for(kills: int) -> dict[str, int]:
    """`kills` spread over the kinds as evenly as possible (random first when uneven)."""
    return {kind: kills // len(KINDS) + (i < kills % len(KINDS)) for i, kind in enumerate(KINDS)}


def figures(data: dict[str, Any], setup: Setup) -> dict[str, Any]:
    """The campaign's figures: kills, resumes, steps lost, problems, partial and corrupt files."""
    kills, runs = data["kills"], data["runs"]
    lost = [k["lost"] for k in kills]
    problems = [p for r in runs for p in r["problems"]]
    return {
        "kills": len(kills),
        "by_kind": {kind: sum(k["kind"] == kind for k in kills) for kind in KINDS},
        "verified": sum(k["verified"] for k in kills),
        "runs": len(runs),
        "resumes": sum(r["launches"] - 1 for r in runs),
        "finished_runs": sum(r["final_code"] == 0 for r in runs),
        "runs_without_problems": sum(not r["problems"] for r in runs),
        "lost_max": max(lost, default=0),
        "lost_median": statistics.median(lost) if lost else 0,
        "over_one_interval": sum(x > setup.checkpoint_freq for x in lost),
        "partial_files": sum(p.startswith("partial file") for p in problems),
        "corrupt_files": sum(p.startswith("corrupt file") for p in problems),
        "problems": problems,
    }


def markdown(data: dict[str, Any], fig: dict[str, Any], setup: Setup, command: str) -> str:
    ref = data["reference"]
    lines = [
        "# Fault campaign (bench/faults.py)", "",
        f"Command: `{command}`", "",
        f"Run on {platform.node()} ({os.cpu_count()} CPUs, shared with other work), "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; campaign {data['campaign_s']:.0f} s.", "",
        f"The run under test: two stages of InvertedPendulum-v5 (`helpers.faulty_envs:Faulty-v0`), budgets "
        f"{setup.budgets[0]:,} and {setup.budgets[1]:,} steps, n_envs={setup.n_envs} vec_env={setup.vec_env}, "
        f"PPO n_steps={setup.n_steps} (rollout {setup.rollout}), checkpoint every {setup.checkpoint_freq:,} steps, "
        f"evaluation every {setup.eval_freq:,} steps ({setup.episodes} episodes), VecNormalize on. "
        f"The uninterrupted reference run: {ref['expected']}, {ref['wall_s']} s.", "",
        "| figure | value |", "|---|---:|",
        f"| kills (kill -9) | {fig['kills']} |",
        *(f"| - {kind} | {n} |" for kind, n in fig["by_kind"].items()),
        f"| kills at a moment verified to be of their kind | {fig['verified']} / {fig['kills']} |",
        f"| runs / resumes (`resume=true` launches) | {fig['runs']} / {fig['resumes']} |",
        f"| runs that finished (exit 0) | {fig['finished_runs']} / {fig['runs']} |",
        f"| runs with every check passed | {fig['runs_without_problems']} / {fig['runs']} |",
        f"| steps lost per kill: median / max | {fig['lost_median']:g} / {fig['lost_max']} |",
        f"| kills that lost more than one checkpoint interval ({setup.checkpoint_freq:,}) | "
        f"{fig['over_one_interval']} |",
        f"| partial files left | {fig['partial_files']} |",
        f"| corrupt files | {fig['corrupt_files']} |",
        f"| kinds not placed (no such moment came, or the time limit) | {', '.join(data['unplaced']) or 'none'} |",
        "",
        "Steps lost: the stage's steps logged to TensorBoard before the kill (flushed at each rollout's end, so a "
        "lower bound) less the checkpoint the resume goes on from.", "",
        "## Problems", "",
        *([f"- {p}" for p in fig["problems"]] or ["none"]), "",
        "## Kills", "",
        "| run | launch | kind | at (s) | stage | logged steps | resumed from | lost | verified | detail |",
        "|---|---:|---|---:|---|---:|---:|---:|---|---|",
        *(f"| {k['run']} | {k['launch']} | {k['kind']} | {k['at_s']} | {k['stage']} | {k['done_steps']} | "
          f"{k['resume_from']} | {k['lost']} | {'yes' if k['verified'] else 'no'} | {k['detail']} |"
          for k in data["kills"]), "",
        "## Runs", "",
        "| run | launches | final exit | timesteps | problems |", "|---|---:|---:|---|---|",
        *(f"| {r['run']} | {r['launches']} | {r['final_code']} | {r['timesteps']} | {len(r['problems'])} |"
          for r in data["runs"]), "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--kills-per-run", type=int, default=2)
    parser.add_argument("--budgets", default="6144,8192", help="the two stages' budgets")
    parser.add_argument("--checkpoint-freq", type=int, default=2048, help="a multiple of the rollout (128)")
    parser.add_argument("--eval-freq", type=int, default=1536)
    parser.add_argument("--minutes", type=float, default=None,
                        help="place no kill after this many minutes (the run under way is still resumed to its end)")
    parser.add_argument("--root", type=Path, default=None, help="where the runs go (default: a temporary dir)")
    parser.add_argument("--out", type=Path, default=OUT / "faults.md")
    args = parser.parse_args()
    root = args.root or Path(tempfile.mkdtemp(prefix="myorl-faults-"))
    first, second = (int(b) for b in args.budgets.split(","))
    setup = Setup(root, budgets=(first, second), checkpoint_freq=args.checkpoint_freq, eval_freq=args.eval_freq)
    command = shlex.join(["python", "bench/faults.py", *sys.argv[1:]])
    args.out.parent.mkdir(parents=True, exist_ok=True)

    def write(data: dict[str, Any]) -> dict[str, Any]:
        """The results so far (after each run, so a stopped campaign leaves its figures)."""
        fig = figures(data, setup)
        args.out.write_text(markdown(data, fig, setup, command))
        args.out.with_suffix(".json").write_text(json.dumps(
            {"command": command, "setup": {k: v for k, v in asdict(setup).items() if k != "root"}, "figures": fig,
             **data}, indent=2, default=str) + "\n")
        return fig

    deadline = time.monotonic() + 60 * args.minutes if args.minutes else math.inf
    data = campaign(setup, counts_for(args.kills), args.seed, args.kills_per_run,
                    say=lambda line: print(line, flush=True), deadline=deadline, progress=write)
    fig = write(data)
    print(json.dumps({k: v for k, v in fig.items() if k != "problems"}), f"-> {args.out} (runs in {root})")
    sys.exit(0 if not fig["problems"] and fig["kills"] == args.kills else 1)


if __name__ == "__main__":
    main()
