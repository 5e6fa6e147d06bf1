"""Build a stage's training and evaluation environments.

`gymnasium.make(env.id, **env.kwargs)` defines each env; a `module:Id` id imports the module first
(so MyoSuite ids also work inside SubprocVecEnv workers, which do not import what the parent did).
myorl's own ids (`myorl/Baoding-v1`) are registered by importing `myorl` itself.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from functools import partial
from pathlib import Path

import gymnasium as gym
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import (
    DummyVecEnv,
    SubprocVecEnv,
    VecEnv,
    VecFrameStack,
    VecNormalize,
)

from myorl.config import EnvConfig, NormalizeConfig, VecEnvKind
from myorl.env_state import ResumableEnv
from myorl.errors import MyorlError
from myorl.faults import MujocoInstability, VecFaultCheck
from myorl.vec_env import BatchedSubprocVecEnv

EVAL_SEED_OFFSET = 10_000  # the evaluation env's seed is the stage's seed + this


def make_env(env: EnvConfig) -> gym.Env:
    """One Monitor-wrapped env whose state a checkpoint can read and restore (`ResumableEnv`, outermost);
    unknown ids raise a MyorlError that names the fix."""
    try:
        return ResumableEnv(Monitor(MujocoInstability(gym.make(env.id, **dict(env.kwargs)))))
    except gym.error.Error as exc:  # NameNotFound, VersionNotFound, NamespaceNotFound, ...
        raise MyorlError(
            f"unknown env id '{env.id}' ({exc}). Use a registered Gymnasium id, or 'module:Id' "
            f"to import the module that registers it (e.g. 'myosuite:myoChallengeBaodingP1-v1')"
        ) from None
    except TypeError as exc:
        raise MyorlError(f"env '{env.id}' rejected its kwargs {dict(env.kwargs)}: {exc}") from None


Wrapper = Callable[[gym.Env], gym.Env]


def _factory(env: EnvConfig, wrapper: Wrapper | None = None) -> gym.Env:
    # A module-level function (not a lambda) so SubprocVecEnv can pickle it.
    made = make_env(env)
    return wrapper(made) if wrapper else made


def make_vec_env(env: EnvConfig, n_envs: int, kind: VecEnvKind, seed: int, wrapper: Wrapper | None = None) -> VecEnv:
    """`n_envs` envs, seeded; `wrapper` (e.g. a frame recorder) wraps each Monitor-wrapped env.

    `auto`: several envs step in a few worker processes, one per usable core (`BatchedSubprocVecEnv`); one
    env steps in this process. All kinds give the same observations, rewards and dones for the same seed.
    """
    fns: list[Callable[[], gym.Env]] = [partial(_factory, env, wrapper) for _ in range(n_envs)]
    venv: VecEnv
    if n_envs == 1 or kind == VecEnvKind.dummy:
        venv = DummyVecEnv(fns)
    elif kind == VecEnvKind.subproc:
        venv = SubprocVecEnv(fns)
    else:
        venv = BatchedSubprocVecEnv(fns)
    venv.seed(seed)
    venv.action_space.seed(seed)
    return venv


def build_envs(
    env: EnvConfig,
    *,
    n_envs: int,
    kind: VecEnvKind,
    seed: int,
    normalize: NormalizeConfig,
    gamma: float,
    frame_stack: int | None,
) -> tuple[VecEnv, VecEnv]:
    """Training env (n_envs, maybe normalised and frame-stacked) and a 1-env evaluation twin.

    The evaluation env normalises observations with the training statistics and never updates
    them (SB3's `sync_envs_normalization` copies them before each evaluation); its rewards stay raw.
    Statistics handed over from an earlier stage are applied by `myorl.handover.carry_statistics`.
    """
    train: VecEnv = VecFaultCheck(make_vec_env(env, n_envs, kind, seed), env.id)
    if normalize.enabled:
        train = VecNormalize(train, norm_obs=normalize.obs, norm_reward=normalize.reward,
                             clip_obs=normalize.clip_obs, clip_reward=normalize.clip_reward, gamma=gamma)
    if frame_stack:
        train = VecFrameStack(train, frame_stack)
    return train, build_eval_env(env, seed=seed, normalize=normalize, frame_stack=frame_stack)


def build_eval_env(
    env: EnvConfig,
    *,
    seed: int,
    normalize: NormalizeConfig,
    frame_stack: int | None,
    wrapper: Wrapper | None = None,
) -> VecEnv:
    """The 1-env evaluation env of a stage whose training seed is `seed`.

    Observations are normalised with statistics set by the caller (never updated), rewards stay raw.
    Training and `myorl.evaluate` both build it here, so a later evaluation sees the same episodes.
    """
    evaluation: VecEnv = VecFaultCheck(make_vec_env(env, 1, VecEnvKind.dummy, seed + EVAL_SEED_OFFSET, wrapper),
                                       env.id)
    if normalize.enabled:
        evaluation = VecNormalize(evaluation, training=False, norm_obs=normalize.obs, norm_reward=False,
                                  clip_obs=normalize.clip_obs)
    if frame_stack:
        evaluation = VecFrameStack(evaluation, frame_stack)
    return evaluation


def load_statistics(path: Path) -> VecNormalize:
    """Read a `*_vecnormalize.pkl` (VecNormalize.save's format) without an env attached."""
    try:
        with open(path, "rb") as f:
            stats = pickle.load(f)
    except FileNotFoundError:
        raise MyorlError(f"normalisation statistics '{path}' are missing") from None
    except Exception as exc:  # unpickling garbage raises many types
        raise MyorlError(f"normalisation statistics '{path}' are corrupt ({type(exc).__name__}); "
                         "delete the stage dir and train it again") from None
    if not isinstance(stats, VecNormalize):
        raise MyorlError(f"'{path}' does not hold VecNormalize statistics")
    return stats
