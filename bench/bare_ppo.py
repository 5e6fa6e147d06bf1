"""The bare Stable-Baselines3 script myorl's overhead is measured against: what a user would write by hand.

PPO with SB3's defaults on one env with VecNormalize, SB3's EvalCallback on a non-updating normalised twin
(as myorl's hopper curriculum trains), one torch thread. Run as its own process by `bench/overhead.py`:

    .venv/bin/python bench/bare_ppo.py --env Hopper-v5 --steps 200000 --eval-freq 100000 --episodes 10 --seed 0
"""

from __future__ import annotations

import argparse
import tempfile

import gymnasium as gym
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import EvalCallback
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="Hopper-v5")
    parser.add_argument("--steps", type=int, default=200_000)
    parser.add_argument("--eval-freq", type=int, default=100_000)
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)

    def make() -> gym.Env:
        return Monitor(gym.make(args.env))

    env = VecNormalize(DummyVecEnv([make]))
    eval_env = VecNormalize(DummyVecEnv([make]), training=False, norm_reward=False)
    with tempfile.TemporaryDirectory() as tmp:
        callback = EvalCallback(eval_env, eval_freq=args.eval_freq, n_eval_episodes=args.episodes,
                                best_model_save_path=tmp, verbose=0)
        model = PPO("MlpPolicy", env, seed=args.seed, device="cpu")
        model.learn(args.steps, callback=callback)


if __name__ == "__main__":
    main()
