"""Checkpoints inside a stage: enough to continue it as if it had never stopped.

A checkpoint is a folder `checkpoints/<timesteps>/` with the model (optimizer and step count
included), the VecNormalize statistics and `state.json` (convergence check, evaluations so far).
It is written under a hidden temporary name and renamed when complete, so a kill at any moment
leaves either the previous checkpoint or the new one; only the newest `keep` are kept.
SB3's CheckpointCallback saves model and statistics but neither atomically nor with our state.
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

DIRNAME = "checkpoints"


@dataclass
class Checkpoint:
    path: Path
    timesteps: int
    state: dict[str, Any]

    @property
    def model(self) -> Path:
        return self.path / "model.zip"

    @property
    def statistics(self) -> Path | None:
        stats = self.path / "vecnormalize.pkl"
        return stats if stats.exists() else None


def save_checkpoint(stage_dir: Path, model: BaseAlgorithm, env: VecEnv, state: dict[str, Any], keep: int) -> Path:
    root = stage_dir / DIRNAME
    final = root / f"{model.num_timesteps:012d}"
    if final.exists():
        return final
    tmp = root / f".tmp-{model.num_timesteps:012d}-{os.getpid()}"
    try:
        shutil.rmtree(tmp, ignore_errors=True)
        files.save_model(model, tmp / "model.zip")
        files.save_statistics(env, tmp / "vecnormalize.pkl")
        files.write_json(tmp / "state.json", {"timesteps": model.num_timesteps, **state})
        os.rename(tmp, final)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise MyorlError(f"could not write checkpoint '{final}': {exc.strerror or exc}; free disk space or "
                         "choose a writable run dir (the previous checkpoint is intact)") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    for old in sorted(p for p in root.iterdir() if not p.name.startswith("."))[:-max(keep, 1)]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def latest_checkpoint(stage_dir: Path) -> Checkpoint | None:
    """The newest complete checkpoint (half-written ones are hidden and ignored)."""
    root = stage_dir / DIRNAME
    if not root.is_dir():
        return None
    for path in sorted((p for p in root.iterdir() if not p.name.startswith(".")), reverse=True):
        try:
            state = files.read_json(path / "state.json")
        except (OSError, ValueError) as exc:
            raise MyorlError(f"checkpoint '{path}' is corrupt ({type(exc).__name__}); delete that folder to resume "
                             "from the one before it") from None
        return Checkpoint(path, int(state["timesteps"]), state)
    return None


def remove_partial_files(stage_dir: Path) -> None:
    """Drop the temporary files a killed process left behind (never complete files)."""
    if not stage_dir.is_dir():
        return
    for tmp in stage_dir.rglob(".*.tmp"):
        tmp.unlink(missing_ok=True)
    for tmp in (stage_dir / DIRNAME).glob(".tmp-*") if (stage_dir / DIRNAME).is_dir() else []:
        shutil.rmtree(tmp, ignore_errors=True)
