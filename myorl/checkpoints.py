"""Checkpoints inside a stage: enough to continue it exactly as if it had never stopped.

A checkpoint is a folder `checkpoints/<timesteps>/` (`rundir.CheckpointDir`) written at a rollout boundary
(the start of a rollout, after the previous one trained), where nothing of a half-collected rollout is lost:

- `model.zip`: the model with its optimizer and step count (SB3's format);
- `vecnormalize.pkl`: the VecNormalize statistics (SB3's format);
- `state.json`: the convergence check, the evaluations so far, the checkpoint clock;
- `continuation.pkl`: everything else the continuation depends on (`capture`): the random streams of
  torch, numpy, Python and the model's spaces; what SB3 does not restore on load (the last observation,
  episode starts and RecurrentPPO's LSTM states: `load` resets the first and rebuilds the last); and the
  state of the training and evaluation vec envs (`myorl.env_state`: every env's generator, MuJoCo state,
  wrappers and task state, VecNormalize's running returns).

It is written under a hidden temporary name and renamed when complete, so a kill at any moment leaves
either the previous checkpoint or the new one; only the newest `keep` are kept. Everything is read from
the envs before anything is written: a vec env whose worker died raises there and leaves the previous
checkpoint as it was. SB3's CheckpointCallback saves model and statistics but neither atomically nor
with our state, and no RL library we know restores env states or random streams.
"""

from __future__ import annotations

import logging
import os
import pickle
import random
import shutil
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.vec_env import VecEnv

from myorl import files
from myorl.env_state import get_vec_env_state, set_space_state, set_vec_env_state, space_state
from myorl.errors import MyorlError
from myorl.rundir import CheckpointDir

log = logging.getLogger(__name__)

CONTINUATION_VERSION = 1


@dataclass
class Checkpoint:
    dir: CheckpointDir
    state: dict[str, Any]

    @property
    def timesteps(self) -> int:
        return int(self.state["timesteps"])

    @property
    def statistics(self) -> Path | None:
        return self.dir.statistics if self.dir.statistics.exists() else None

    def continuation(self) -> dict[str, Any] | None:
        """`continuation.pkl`, or None for a checkpoint written before myorl saved one."""
        path = self.dir.continuation
        if not path.exists():
            return None
        try:
            data = pickle.loads(path.read_bytes())
        except Exception as exc:  # unpickling garbage raises many types
            raise MyorlError(f"checkpoint '{self.dir.path}' is corrupt ({path.name}: {type(exc).__name__}); "
                             "delete that folder to resume from the one before it") from None
        if not isinstance(data, dict) or data.get("version") != CONTINUATION_VERSION:
            raise MyorlError(f"checkpoint '{self.dir.path}' has an unreadable {path.name}; delete that folder "
                             "to resume from the one before it")
        return data


# --------------------------------------------------------------------------- the continuation
def _tensors(value: Any) -> Any:
    """Plain copies of tensors (LSTM states are inference tensors while collecting: they do not pickle)."""
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, tuple):
        return type(value)(*(_tensors(v) for v in value)) if hasattr(value, "_fields") else \
            tuple(_tensors(v) for v in value)
    return value


_SDE_NOISE = ("exploration_mat", "exploration_matrices")  # gSDE's noise, drawn before a rollout's first step


def sde_noise(model: BaseAlgorithm) -> dict[str, torch.Tensor] | None:
    """With `use_sde`: the exploration noise drawn for this rollout (SB3 draws it before the rollout starts)."""
    dist = getattr(model.policy, "action_dist", None)
    if not getattr(model, "use_sde", False) or dist is None:
        return None
    return {name: getattr(dist, name).detach().clone() for name in _SDE_NOISE if getattr(dist, name, None) is not None}


def random_state(model: BaseAlgorithm) -> dict[str, Any]:
    """The global random streams (torch, numpy, Python), the model's spaces' generators and gSDE's noise."""
    return {"torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None,
            "numpy": np.random.get_state(), "python": random.getstate(),
            "action_space": space_state(model.action_space),
            "observation_space": space_state(model.observation_space), "sde": sde_noise(model)}


def set_random_state(model: BaseAlgorithm, state: dict[str, Any]) -> None:
    """Write back `random_state()`: at the first rollout boundary of the resumed stage, where it was read
    (SB3 draws gSDE's noise before that boundary, so restoring earlier would not do)."""
    torch.set_rng_state(state["torch"])
    if state["cuda"] is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    set_space_state(model.action_space, state["action_space"])
    set_space_state(model.observation_space, state["observation_space"])
    for name, value in (state.get("sde") or {}).items():
        setattr(model.policy.action_dist, name, value.clone())


def learner_state(model: BaseAlgorithm) -> dict[str, Any]:
    """What SB3's `load` does not bring back: the last observation (reset by `load`), episode starts, the
    raw last observation, RecurrentPPO's LSTM states (not saved), the episode info buffers."""
    return {"last_obs": _tensors(model._last_obs), "last_episode_starts": model._last_episode_starts,
            "last_original_obs": model._last_original_obs,
            "last_lstm_states": _tensors(getattr(model, "_last_lstm_states", None)),
            "ep_info_buffer": list(model.ep_info_buffer or ()), "ep_success_buffer": list(model.ep_success_buffer or ())}


def set_learner_state(model: BaseAlgorithm, state: dict[str, Any]) -> None:
    model._last_obs = state["last_obs"]
    model._last_episode_starts = state["last_episode_starts"]
    model._last_original_obs = state["last_original_obs"]
    if state["last_lstm_states"] is not None:
        model._last_lstm_states = state["last_lstm_states"]  # type: ignore[attr-defined]
    window = model._stats_window_size
    model.ep_info_buffer = deque(state["ep_info_buffer"], maxlen=window)
    model.ep_success_buffer = deque(state["ep_success_buffer"], maxlen=window)


def capture(model: BaseAlgorithm, train_env: VecEnv, eval_env: VecEnv) -> dict[str, Any]:
    """Everything `continuation.pkl` holds, read now (at a rollout boundary); nothing is written."""
    return {"version": CONTINUATION_VERSION, "random": random_state(model), "learner": learner_state(model),
            "train_env": get_vec_env_state(train_env), "eval_env": get_vec_env_state(eval_env)}


def restore_envs(model: BaseAlgorithm, train_env: VecEnv, eval_env: VecEnv, continuation: dict[str, Any]) -> None:
    """Put the learner's last observation and LSTM states and both vec envs where the checkpoint left them."""
    set_learner_state(model, continuation["learner"])
    unsaved = set_vec_env_state(train_env, continuation["train_env"])
    unsaved += set_vec_env_state(eval_env, continuation["eval_env"])
    if unsaved:
        log.warning("resume: the state of these env wrappers was not saved, the resumed stage may differ "
                    "from an uninterrupted one: %s (give them get_resume_state/set_resume_state, see "
                    "myorl.env_state)", ", ".join(sorted(set(unsaved))))


# --------------------------------------------------------------------------- files
def save_checkpoint(root: Path, model: BaseAlgorithm, env: VecEnv, state: dict[str, Any], keep: int,
                    continuation: dict[str, Any] | None = None) -> CheckpointDir:
    """Write `root/<timesteps>/` atomically and drop all but the newest `keep` checkpoints."""
    final = CheckpointDir(root / f"{model.num_timesteps:012d}")
    if final.path.exists():
        return final
    tmp = CheckpointDir(root / f".tmp-{model.num_timesteps:012d}-{os.getpid()}")
    try:
        shutil.rmtree(tmp.path, ignore_errors=True)
        files.save_model(model, tmp.model)
        files.save_statistics(env, tmp.statistics)
        if continuation is not None:
            files.write_bytes(tmp.continuation, pickle.dumps(continuation, protocol=pickle.HIGHEST_PROTOCOL))
        files.write_json(tmp.state, {"timesteps": model.num_timesteps, **state})
        os.rename(tmp.path, final.path)
    except OSError as exc:
        shutil.rmtree(tmp.path, ignore_errors=True)
        raise MyorlError(f"could not write checkpoint '{final.path}': {exc.strerror or exc}; free disk space or "
                         "choose a writable run dir (the previous checkpoint is intact)") from None
    except BaseException:
        shutil.rmtree(tmp.path, ignore_errors=True)
        raise
    for old in sorted(p for p in root.iterdir() if not p.name.startswith("."))[:-max(keep, 1)]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def latest_checkpoint(root: Path) -> Checkpoint | None:
    """The newest complete checkpoint under `root` (half-written ones are hidden and ignored)."""
    if not root.is_dir():
        return None
    for path in sorted((p for p in root.iterdir() if not p.name.startswith(".")), reverse=True):
        ckpt = CheckpointDir(path)
        return Checkpoint(ckpt, ckpt.read_state())
    return None
