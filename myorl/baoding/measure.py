"""Measurements of `myorl/Baoding-v1` quoted in reviews (not tests). Usage:

    python -m myorl.baoding.measure drops [--episodes 50]   # steps to a drop, reward range: stage-1 config
    python -m myorl.baoding.measure info [--steps 3000] [--repeats 3]   # SubprocVecEnv(4): lean vs full infos

`drops` runs the winners' stage-1 env (hold, period 1e100, their reward weights, drop_th 1.3) with RSI
on and off, under zero and uniform random actions. `info` steps 4 Monitor-wrapped envs in SubprocVecEnv
workers with random actions, alternating lean and full infos: env-steps/s, CPU time per step, info size.
"""

from __future__ import annotations

import argparse
import pickle
import resource
import time
import timeit
from functools import partial
from typing import Any

import gymnasium as gym
import numpy as np

import myorl.baoding  # noqa: F401  (registers myorl/Baoding-v1)
from myorl.baoding.env import WINNERS_REWARD_WEIGHTS

STAGE_1: dict[str, Any] = {"task": "hold", "goal_time_period": [1e100, 1e100], "drop_th": 1.3,
                           "weighted_reward_keys": WINNERS_REWARD_WEIGHTS}


def drops(episodes: int, seed: int = 0) -> None:
    """Episode length (steps until a ball drops, 200 = none dropped), return and per-step reward range."""
    print(f"{'rsi':>3} {'actions':>7} | {'steps to drop: mean  min  max':>30} | {'return':>7} | "
          f"{'reward/step: min   mean    max':>30} | solved steps")
    for rsi in (1.0, 0.0):
        for actions in ("zero", "random"):
            env = gym.make("myorl/Baoding-v1", rsi=rsi, **STAGE_1)
            rng = np.random.default_rng(seed)
            lengths, returns, rewards, solved = [], [], [], 0
            for episode in range(episodes):
                env.reset(seed=seed if episode == 0 else None)
                done, length, ret = False, 0, 0.0
                while not done:
                    action = np.zeros(39) if actions == "zero" else rng.uniform(-1, 1, 39)
                    _, reward, terminated, truncated, info = env.step(action.astype(np.float32))
                    done, length, ret = terminated or truncated, length + 1, ret + float(reward)
                    rewards.append(float(reward))
                    solved += int(info["solved"])
                lengths.append(length)
                returns.append(ret)
            env.close()
            print(f"{rsi:>3.0f} {actions:>7} | {np.mean(lengths):>20.1f} {min(lengths):>4} {max(lengths):>4} "
                  f"| {np.mean(returns):>7.1f} | {min(rewards):>13.3f} {np.mean(rewards):>7.3f} "
                  f"{max(rewards):>7.3f} | {solved / sum(lengths):.2f}")


class _CpuClock(gym.Wrapper):
    """Lets the parent read a SubprocVecEnv worker's own CPU time (`env_method("cpu_seconds")`)."""

    def cpu_seconds(self) -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime


def _make(lean: bool) -> gym.Env:
    from stable_baselines3.common.monitor import Monitor

    return _CpuClock(Monitor(gym.make("myorl.baoding:myorl/Baoding-v1", task="random", lean_info=lean)))


def _pickle_seconds(lean: bool) -> float:
    """Fastest `pickle.loads(pickle.dumps(step))` of a real step's result: what a worker's pipe carries."""
    env = gym.make("myorl/Baoding-v1", task="random", lean_info=lean)
    env.reset(seed=0)
    step = env.step(np.zeros(39, dtype=np.float32))
    env.close()
    return min(timeit.repeat(lambda: pickle.loads(pickle.dumps(step, pickle.HIGHEST_PROTOCOL)), number=1000,
                             repeat=7)) / 1000


def info(steps: int, repeats: int, n_envs: int = 4) -> None:
    """SubprocVecEnv(n_envs) with lean and with full infos: env-steps/s, CPU time per step, info size.

    CPU time (parent plus workers) per env-step does not depend on what else the machine runs;
    steps/s (wall clock) does.
    """
    from stable_baselines3.common.vec_env import SubprocVecEnv

    rates: dict[bool, list[float]] = {True: [], False: []}
    cpu: dict[bool, list[float]] = {True: [], False: []}
    sizes: dict[bool, int] = {}
    for _ in range(repeats):
        for lean in (True, False):
            venv = SubprocVecEnv([partial(_make, lean) for _ in range(n_envs)])
            venv.seed(0)
            venv.reset()
            actions = np.random.default_rng(0).uniform(-1, 1, (steps, n_envs, 39)).astype(np.float32)
            _, _, _, infos = venv.step(actions[0])
            sizes[lean] = len(pickle.dumps(infos[0]))
            workers, parent = sum(venv.env_method("cpu_seconds")), time.process_time()
            start = time.perf_counter()
            for action in actions:
                venv.step(action)
            wall = time.perf_counter() - start
            used = sum(venv.env_method("cpu_seconds")) - workers + time.process_time() - parent
            rates[lean].append(steps * n_envs / wall)
            cpu[lean].append(1e6 * used / (steps * n_envs))
            venv.close()
    pickling = {lean: _pickle_seconds(lean) for lean in (True, False)}
    for lean in (True, False):
        print(f"lean_info={lean!s:5}: pickling one step's (obs, reward, flags, info) there and back "
              f"{1e6 * pickling[lean]:.1f} us")
    for lean in (True, False):
        runs = ", ".join(f"{r:.0f}" for r in rates[lean])
        cpu_runs = ", ".join(f"{c:.0f}" for c in cpu[lean])
        print(f"lean_info={lean!s:5}: {np.mean(rates[lean]):6.0f} env-steps/s (runs {runs}), "
              f"CPU {np.mean(cpu[lean]):5.0f} us/env-step (runs {cpu_runs}); "
              f"one info pickles to {sizes[lean]} bytes")
    print(f"lean vs full: steps/s x{np.mean(rates[True]) / np.mean(rates[False]):.2f}, "
          f"CPU per step x{np.mean(cpu[True]) / np.mean(cpu[False]):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    sub.add_parser("drops").add_argument("--episodes", type=int, default=50)
    p = sub.add_parser("info")
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if args.what == "drops":
        drops(args.episodes)
    else:
        info(args.steps, args.repeats)


if __name__ == "__main__":
    main()
