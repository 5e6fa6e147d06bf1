"""Does the fast learner learn what stock SB3 / sb3-contrib learns? Short runs, several seeds, both variants.

The fast learners (`algo.fast`, myorl/algos/) compute the same losses and gradients as stock to float rounding
(tests/test_fast_algos.py checks that on fixed buffers). Over a whole run those rounding differences grow
chaotically, so two runs of the same seed part ways; what must hold is that the two variants' results lie
within the seed-to-seed spread of each other. This trains both on the same seeds (same envs, VecNormalize,
hyperparameters) and evaluates each final model on the same 20 seeded episodes. Writes
bench/results/fast_vs_stock.md and .json.

    .venv/bin/python bench/fast_vs_stock.py --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from sb3_contrib import RecurrentPPO
from stable_baselines3 import PPO
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.vec_env import VecNormalize

from myorl.algos.ppo import FastPPO
from myorl.algos.recurrent_ppo import FastRecurrentPPO

RESULTS = Path(__file__).resolve().parent / "results"
EVAL_EPISODES = 20


@dataclass
class Case:
    name: str
    env_id: str
    n_envs: int
    steps: int
    stock: type[BaseAlgorithm]
    fast: type[BaseAlgorithm]
    policy: str
    kwargs: dict[str, Any] = field(default_factory=dict)


CASES = [
    Case("recurrent_ppo-pendulum", "InvertedPendulum-v5", 8, 40_000, RecurrentPPO, FastRecurrentPPO, "MlpLstmPolicy",
         {"n_steps": 64, "batch_size": 128, "n_epochs": 10, "learning_rate": 3e-4,
          "policy_kwargs": {"lstm_hidden_size": 64, "net_arch": {"pi": [64], "vf": [64]}}}),
    Case("ppo-hopper", "Hopper-v5", 1, 50_000, PPO, FastPPO, "MlpPolicy", {}),
]


def train_and_evaluate(case: Case, variant: str, seed: int) -> dict[str, float]:
    cls = case.fast if variant == "fast" else case.stock
    env = VecNormalize(make_vec_env(case.env_id, case.n_envs, seed=seed))
    model = cls(case.policy, env, seed=seed, device="cpu", verbose=0, **case.kwargs)
    start = time.perf_counter()
    model.learn(case.steps)
    seconds = time.perf_counter() - start
    eval_env = VecNormalize(make_vec_env(case.env_id, 1, seed=seed + 10_000), training=False, norm_reward=False)
    eval_env.obs_rms = env.obs_rms
    returns, _ = evaluate_policy(model, eval_env, n_eval_episodes=EVAL_EPISODES, deterministic=True,
                                 return_episode_rewards=True)
    return {"mean_return": float(np.mean(returns)), "seconds": seconds}


def verdict(stock: list[float], fast: list[float]) -> tuple[bool, str]:
    """Within noise: the two means differ by less than the larger seed-to-seed spread (standard deviation)
    of either variant, with Welch's t-test p-value beside it for the reader."""
    from scipy.stats import ttest_ind

    spread = max(statistics.stdev(stock), statistics.stdev(fast)) if len(stock) > 1 else 0.0
    gap = abs(statistics.mean(fast) - statistics.mean(stock))
    p = float(ttest_ind(fast, stock, equal_var=False).pvalue) if len(stock) > 1 else float("nan")
    within = gap <= spread
    return within, (f"means differ by {gap:.1f}, the larger seed-to-seed std is {spread:.1f}: "
                    f"{'within' if within else 'NOT within'} noise (Welch t-test p = {p:.2f})")


def summarise(case: str, runs: dict[str, dict[int, dict[str, float]]]) -> list[str]:
    lines = []
    means = {v: [r["mean_return"] for r in by_seed.values()] for v, by_seed in runs.items()}
    for variant, values in means.items():
        spread = statistics.stdev(values) if len(values) > 1 else 0.0
        per_seed = ", ".join(f"{x:.1f}" for x in values)
        seconds = statistics.mean(r["seconds"] for r in runs[variant].values())
        lines.append(f"| {case} | {variant} | {per_seed} | {statistics.mean(values):.1f} | {spread:.1f} | "
                     f"{seconds:.0f} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--only", nargs="+", choices=[c.name for c in CASES], default=None)
    parser.add_argument("--out", type=Path, default=RESULTS / "fast_vs_stock.md")
    args = parser.parse_args()
    torch.set_num_threads(1)
    command = shlex.join([".venv/bin/python", "bench/fast_vs_stock.py", *sys.argv[1:]])
    results: dict[str, dict[str, dict[int, dict[str, float]]]] = {}
    for case in CASES:
        if args.only and case.name not in args.only:
            continue
        results[case.name] = {"stock": {}, "fast": {}}
        for seed in args.seeds:
            for variant in ("stock", "fast"):
                results[case.name][variant][seed] = train_and_evaluate(case, variant, seed)
                print(case.name, variant, seed, results[case.name][variant][seed], flush=True)
    lines = ["# Fast learners against stock: final evaluation return, same seeds", "",
             f"Command: `{command}`  ",
             f"Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; torch threads 1; each final model "
             f"evaluated deterministically on the same {EVAL_EPISODES} seeded episodes.", "",
             "| case | variant | mean return per seed | mean | std over seeds | train s (mean) |",
             "|---|---|---|---:|---:|---:|"]
    for case_name, runs in results.items():
        lines += summarise(case_name, runs)
    lines.append("")
    for case_name, runs in results.items():
        _, said = verdict([r["mean_return"] for r in runs["stock"].values()],
                          [r["mean_return"] for r in runs["fast"].values()])
        lines.append(f"- {case_name}: {said}")
    lines += ["", "Budgets and settings: " + "; ".join(
        f"{c.name}: {c.env_id}, {c.n_envs} envs, {c.steps:,} steps, {c.kwargs or 'SB3 defaults'}"
        for c in CASES if c.name in results)]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    args.out.with_suffix(".json").write_text(json.dumps({"command": command, "results": results}, indent=1))
    print("\n".join(lines))


if __name__ == "__main__":
    gym.logger.min_level = 40
    main()
