"""Env-steps per second of stock SB3/sb3-contrib against myorl (fast learner + its default vec env), in one run.

Cases (select with --only):
  recurrent-baoding  RecurrentPPO, MyoSuite Baoding P1, the 2022 winners' phase-1 settings (16 envs,
                     n_steps 128, batch 32, 10 epochs, LSTM 256 actor+critic, ReLU 256x256, ...)
  ppo-baoding        PPO, Baoding P1, SB3 defaults (1 env, n_steps 2048, batch 64, 10 epochs, 64x64 tanh)
  ppo-hopper         PPO, Hopper-v5, SB3 defaults
  raw-baoding        the simulator alone: random actions, one env, one core (the ceiling)
  raw-hopper         the same for Hopper-v5

Each learner case trains stock (SB3/sb3-contrib classes on `--vec-env`, DummyVecEnv by default: what a bare
script uses) and fast (myorl's learner on `--fast-vec-env`, myorl's `vec_env=auto`: one worker process per
core when there are several envs) from scratch for --steps env steps (whole rollouts), the variants
interleaved --repeats times so that drifts in machine load hit both; the best repeat is reported. A
callback takes timestamps at each rollout's start and end: collecting is rollout start -> end, training
is rollout end -> the next rollout's start (or the end of `learn`). VecNormalize (obs and reward) wraps
every vec env; one torch thread. Writes bench/results/throughput.md. Usage:

    .venv/bin/python bench/throughput.py [--steps N] [--repeats 2] [--vec-env dummy|subproc|batched]
                                         [--fast-vec-env batched|dummy|subproc] [--only CASE ...]

Another vec env plugs in as a `make_vec_env`-style function, `(env_id, n_envs, seed) -> VecEnv`: add it to
VEC_ENVS or call `main(vec_envs={...})`.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import gymnasium as gym
import torch
from sb3_contrib import RecurrentPPO
from stable_baselines3 import PPO
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecEnv, VecNormalize

from myorl.algos.ppo import FastPPO
from myorl.algos.recurrent_ppo import FastRecurrentPPO
from myorl.vec_env import BatchedSubprocVecEnv

OUT = Path(__file__).parent / "results" / "throughput.md"
BAODING = "myosuite:myoChallengeBaodingP1-v1"  # module:id, so subprocess workers import myosuite
HOPPER = "Hopper-v5"

VecEnvFactory = Callable[[str, int, int], VecEnv]
def _batched(env_id: str, n_envs: int, seed: int) -> VecEnv:
    """myorl's `vec_env=auto`: one worker process per usable core for several envs, DummyVecEnv for one."""
    if n_envs == 1:
        return make_vec_env(env_id, 1, seed, vec_env_cls=DummyVecEnv)
    return make_vec_env(env_id, n_envs, seed, vec_env_cls=BatchedSubprocVecEnv)  # type: ignore[arg-type]


VEC_ENVS: dict[str, VecEnvFactory] = {
    "dummy": partial(make_vec_env, vec_env_cls=DummyVecEnv),
    "subproc": partial(make_vec_env, vec_env_cls=SubprocVecEnv, vec_env_kwargs={"start_method": "forkserver"}),
    "batched": _batched,
}

WINNERS: dict[str, Any] = dict(
    n_steps=128, batch_size=32, n_epochs=10, learning_rate=2.56e-5, clip_range=0.3, gamma=0.99, gae_lambda=0.9,
    max_grad_norm=0.7, vf_coef=0.84, ent_coef=3.6e-6,
    policy_kwargs=dict(lstm_hidden_size=256, enable_critic_lstm=True, net_arch=dict(pi=[256, 256], vf=[256, 256]),
                       activation_fn=torch.nn.ReLU, ortho_init=False, log_std_init=-2),
)


@dataclass
class Case:
    name: str
    env_id: str
    n_envs: int = 1
    steps: int = 0  # default env steps per run
    variants: dict[str, tuple[type[BaseAlgorithm], str]] = field(default_factory=dict)
    kwargs: dict[str, Any] = field(default_factory=dict)


CASES = [
    Case("recurrent-baoding", BAODING, 16, 6144,
         {"stock": (RecurrentPPO, "MlpLstmPolicy"), "fast": (FastRecurrentPPO, "MlpLstmPolicy")}, WINNERS),
    Case("ppo-baoding", BAODING, 1, 4096, {"stock": (PPO, "MlpPolicy"), "fast": (FastPPO, "MlpPolicy")}),
    Case("ppo-hopper", HOPPER, 1, 8192, {"stock": (PPO, "MlpPolicy"), "fast": (FastPPO, "MlpPolicy")}),
    Case("raw-baoding", BAODING, steps=3000),
    Case("raw-hopper", HOPPER, steps=30000),
]


def stamp() -> tuple[float, float]:
    """Wall-clock and this process's CPU seconds (CPU time shows the work done, whatever else runs)."""
    return time.perf_counter(), time.process_time()


class RolloutClock(BaseCallback):
    """Timestamps at each rollout's start and end: collect = start -> end, train = end -> next start."""

    def __init__(self) -> None:
        super().__init__()
        self.starts: list[tuple[float, float]] = []
        self.ends: list[tuple[float, float]] = []

    def _on_rollout_start(self) -> None:
        self.starts.append(stamp())

    def _on_rollout_end(self) -> None:
        self.ends.append(stamp())

    def _on_step(self) -> bool:
        return True

    def split(self, finished: tuple[float, float], clock: int = 0) -> tuple[float, float]:
        """Seconds collecting and training, wall-clock (clock 0) or CPU (clock 1)."""
        collect = sum(end[clock] - start[clock] for start, end in zip(self.starts, self.ends))
        train = sum(after[clock] - end[clock] for end, after in zip(self.ends, [*self.starts[1:], finished]))
        return collect, train


@dataclass
class Run:
    seconds: float
    collect: float
    train: float
    steps: int
    rollouts: int
    train_cpu: float = 0.0

    @property
    def rate(self) -> float:
        return self.steps / self.seconds


def time_learner(case: Case, variant: str, venv: VecEnv, steps: int, seed: int) -> Run:
    cls, policy = case.variants[variant]
    model = cls(policy, venv, seed=seed, device="cpu", verbose=0, **case.kwargs)
    per_rollout = model.n_steps * venv.num_envs
    total = -(-steps // per_rollout) * per_rollout
    clock = RolloutClock()
    start = time.perf_counter()
    model.learn(total, callback=clock)
    finished = stamp()
    collect, train = clock.split(finished)
    _, train_cpu = clock.split(finished, clock=1)
    return Run(finished[0] - start, collect, train, model.num_timesteps, len(clock.ends), train_cpu)


def time_raw(env_id: str, steps: int, seed: int) -> Run:
    """Random actions on one env in this process (one core): the simulator's own rate."""
    env = gym.make(env_id)
    env.reset(seed=seed)
    env.action_space.seed(seed)
    start = time.perf_counter()
    for _ in range(steps):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            env.reset()
    seconds = time.perf_counter() - start
    env.close()
    return Run(seconds, seconds, 0.0, steps, 0)


def machine() -> dict[str, str]:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for module in ("torch", "stable_baselines3", "sb3_contrib", "gymnasium", "mujoco", "myosuite", "numpy"):
        try:
            versions[module] = __import__(module).__version__
        except Exception:  # noqa: BLE001 - report what is there
            versions[module] = "?"
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                cwd=Path(__file__).parent).stdout.strip()
    except OSError:
        commit = "?"
    return {"cpu": f"{cpu}, {os.cpu_count()} logical cores", "platform": platform.platform(),
            "python": platform.python_version(), "commit": commit,
            "versions": ", ".join(f"{k} {v}" for k, v in versions.items())}


def load() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def table(results: dict[str, dict[str, list[Run]]]) -> list[str]:
    lines = ["| case | variant | env-steps/s end to end | collect s/rollout | train s/rollout | "
             "train CPU s/rollout | collect steps/s | train steps/s | fast/stock end to end | fast/stock train | "
             "runs (s) |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for case_name, variants in results.items():
        best = {name: max(runs, key=lambda run: run.rate) for name, runs in variants.items()}
        stock = best.get("stock")
        for name, run in best.items():
            everything = ", ".join(f"{r.seconds:.1f}" for r in variants[name])
            if run.rollouts == 0:  # raw simulation
                lines.append(f"| {case_name} | random actions, 1 env | {run.rate:,.0f} | | | | | | | | {everything} |")
                continue
            ratio = ratio_train = ""
            if stock is not None and name != "stock":
                ratio = f"{run.rate / stock.rate:.2f}x"
                ratio_train = f"{stock.train / run.train:.2f}x"
            lines.append(
                f"| {case_name} | {name} | {run.rate:,.0f} | {run.collect / run.rollouts:.2f} | "
                f"{run.train / run.rollouts:.2f} | {run.train_cpu / run.rollouts:.2f} | "
                f"{run.steps / run.collect:,.0f} | {run.steps / run.train:,.0f} | "
                f"{ratio} | {ratio_train} | {everything} |")
    return lines


def main(argv: list[str] | None = None, vec_envs: dict[str, VecEnvFactory] | None = None) -> None:
    vec_envs = {**VEC_ENVS, **(vec_envs or {})}
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--steps", type=int, default=None,
                        help="env steps per run, rounded up to whole rollouts (default: per case, "
                             + ", ".join(f"{c.name} {c.steps}" for c in CASES) + ")")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--vec-env", choices=sorted(vec_envs), default="dummy", help="the stock variants' vec env")
    parser.add_argument("--fast-vec-env", choices=sorted(vec_envs), default="batched",
                        help="the fast variants' vec env (default: myorl's vec_env=auto)")
    parser.add_argument("--only", nargs="+", choices=[c.name for c in CASES], default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    makers = {"stock": vec_envs[args.vec_env], "fast": vec_envs[args.fast_vec_env]}
    command = shlex.join([".venv/bin/python", "bench/throughput.py", *(sys.argv[1:] if argv is None else argv)])
    started, load_before = datetime.datetime.now().astimezone(), load()

    results: dict[str, dict[str, list[Run]]] = {}
    for case in CASES:
        if args.only and case.name not in args.only:
            continue
        steps = args.steps or case.steps
        runs: dict[str, list[Run]] = {}
        if not case.variants:
            runs["raw"] = [time_raw(case.env_id, steps, args.seed + r) for r in range(args.repeats)]
        else:
            # One vec env per case and variant, reused by every run (its start-up is not what is measured)
            venvs = {v: VecNormalize(makers[v](case.env_id, case.n_envs, args.seed)) for v in case.variants}
            for repeat in range(args.repeats):  # interleaved: load drifts hit every variant alike
                for variant in case.variants:
                    run = time_learner(case, variant, venvs[variant], steps, args.seed + repeat)
                    runs.setdefault(variant, []).append(run)
                    print(f"{case.name:18s} {variant:6s} {run.rate:8,.0f} steps/s  collect {run.collect:6.1f} s  "
                          f"train {run.train:6.1f} s (CPU {run.train_cpu:.1f})  ({run.rollouts} rollouts, load {load()})",
                          flush=True)
            for venv in venvs.values():
                venv.close()
        if not case.variants:
            print(f"{case.name:18s} {max(r.rate for r in runs['raw']):8,.0f} steps/s", flush=True)
        results[case.name] = runs

    info = machine()
    lines = [
        "# Throughput: stock SB3 / sb3-contrib vs myorl's fast learners",
        "",
        f"Command: `{command}`  ",
        f"Date: {started:%Y-%m-%d %H:%M %Z}; vec env: stock {args.vec_env}, fast {args.fast_vec_env}; "
        "torch threads: 1; "
        f"best of {args.repeats} interleaved repeats; VecNormalize(obs, reward) on every learner case.  ",
        f"Machine: {info['cpu']}; {info['platform']}; Python {info['python']}; commit {info['commit']}.  ",
        f"Versions: {info['versions']}.  ",
        f"Load average (1/5/15 min) before: {load_before}; after: {load()} (other jobs share the cores).",
        "",
        *table(results),
        "",
        "collect = `collect_rollouts` (policy inference + env steps), train = `train()` (+ SB3's per-iteration "
        "logging); per rollout = n_steps x n_envs env steps. `fast/stock train` compares train seconds "
        "(wall-clock). Train CPU = this process's CPU seconds in train, less sensitive to other jobs than "
        "wall-clock. Each row is the variant's best repeat (highest end-to-end rate); `runs` lists every "
        "repeat's wall-clock seconds.",
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    print("\n".join(lines))
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
