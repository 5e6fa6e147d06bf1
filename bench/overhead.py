"""myorl's overhead over bare Stable-Baselines3, measured in the same process.

Trains PPO on one env for the same budget three ways: bare SB3 (`PPO.learn` with SB3's EvalCallback,
VecNormalize), a one-stage myorl Experiment without tracking, and the same with W&B offline tracking.
Writes bench/results/overhead.json and prints a table. Usage:

    .venv/bin/python bench/overhead.py [--env Hopper-v5] [--steps 50000] [--eval-freq 10000] [--repeats 1]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import tempfile
import time
from pathlib import Path

import gymnasium as gym
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import EvalCallback
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

from myorl.config import (
    CurriculumConfig,
    EnvConfig,
    EvalConfig,
    NormalizeConfig,
    PPOConfig,
    RunSettings,
    StageConfig,
    TrackingConfig,
)
from myorl.experiment import Experiment
from myorl.integrations.wandb import make_tracker

OUT = Path(__file__).parent / "results" / "overhead.json"


def bare_sb3(env_id: str, steps: int, eval_freq: int, episodes: int, seed: int) -> float:
    def make():
        return Monitor(gym.make(env_id))

    env = VecNormalize(DummyVecEnv([make]))
    eval_env = VecNormalize(DummyVecEnv([make]), training=False, norm_reward=False)
    with tempfile.TemporaryDirectory() as tmp:
        callback = EvalCallback(eval_env, eval_freq=eval_freq, n_eval_episodes=episodes, best_model_save_path=tmp,
                                verbose=0)
        model = PPO("MlpPolicy", env, seed=seed, device="cpu")
        start = time.perf_counter()
        model.learn(steps, callback=callback)
        return time.perf_counter() - start


def with_myorl(env_id: str, steps: int, eval_freq: int, episodes: int, seed: int, track: bool) -> float:
    stage = StageConfig(name="bench", env=EnvConfig(env_id), max_timesteps=steps,
                        eval=EvalConfig(freq=eval_freq, episodes=episodes))
    with tempfile.TemporaryDirectory() as tmp:
        exp = Experiment(CurriculumConfig("bench", [stage]), PPOConfig(), output_dir=Path(tmp),
                         settings=RunSettings(seed=seed, progress=False),
                         normalize=NormalizeConfig(obs=True, reward=True))
        if track:
            exp.observers.append(make_tracker(TrackingConfig(backend="wandb", mode="offline"), {}))
        start = time.perf_counter()
        exp.run()
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="Hopper-v5")
    parser.add_argument("--steps", type=int, default=50_000)
    parser.add_argument("--eval-freq", type=int, default=10_000)
    parser.add_argument("--episodes", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(1)
    runs = {"bare_sb3": lambda s: bare_sb3(args.env, args.steps, args.eval_freq, args.episodes, s),
            "myorl": lambda s: with_myorl(args.env, args.steps, args.eval_freq, args.episodes, s, False),
            "myorl_wandb_offline": lambda s: with_myorl(args.env, args.steps, args.eval_freq, args.episodes, s, True)}
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    for repeat in range(args.repeats):  # interleaved, so drifts in machine load hit every variant alike
        for name, fn in runs.items():
            seconds[name].append(fn(repeat))
    base = min(seconds["bare_sb3"])
    rows = {name: {"seconds": min(times), "all_seconds": times, "steps_per_second": args.steps / min(times),
                   "overhead_vs_bare_sb3": min(times) / base - 1} for name, times in seconds.items()}
    result = {"env": args.env, "steps": args.steps, "eval_freq": args.eval_freq, "episodes": args.episodes,
              "repeats": args.repeats, "torch_threads": 1, "machine": platform.platform(),
              "python": platform.python_version(), "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
              "results": rows}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{args.env}, {args.steps:,} steps, eval every {args.eval_freq:,} ({args.episodes} episodes):")
    for name, row in rows.items():
        print(f"  {name:22s} {row['seconds']:7.1f} s  {row['steps_per_second']:7.0f} steps/s  "
              f"{row['overhead_vs_bare_sb3']:+.1%}")
    print(f"written to {OUT}")


if __name__ == "__main__":
    main()
