"""Checkpoints inside a stage: enough to continue it as if it had never stopped.

A checkpoint is a folder `checkpoints/<timesteps>/` (`rundir.CheckpointDir`) with the model (optimizer and
step count included), the VecNormalize statistics and `state.json` (convergence check, evaluations so far).
It is written under a hidden temporary name and renamed when complete, so a kill at any moment leaves
either the previous checkpoint or the new one; only the newest `keep` are kept. SB3's CheckpointCallback
saves model and statistics but neither atomically nor with our state.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.vec_env import VecEnv

from myorl import files
from myorl.errors import MyorlError
from myorl.rundir import CheckpointDir


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


def save_checkpoint(root: Path, model: BaseAlgorithm, env: VecEnv, state: dict[str, Any], keep: int) -> CheckpointDir:
    """Write `root/<timesteps>/` atomically and drop all but the newest `keep` checkpoints."""
    final = CheckpointDir(root / f"{model.num_timesteps:012d}")
    if final.path.exists():
        return final
    tmp = CheckpointDir(root / f".tmp-{model.num_timesteps:012d}-{os.getpid()}")
    try:
        shutil.rmtree(tmp.path, ignore_errors=True)
        files.save_model(model, tmp.model)
        files.save_statistics(env, tmp.statistics)
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
