"""Hand a stage's weights and normalisation statistics to the next stage's freshly built model and env.

SB3's `Model.load(path, env=other)` refuses other observation spaces and `set_parameters` still
raises on a shape mismatch, so we copy every tensor whose name and shape match and report the rest.
VecNormalize statistics are carried the same way: the observation statistics when their shape fits,
the return statistics (one scalar) always.
"""

from __future__ import annotations

import copy
import logging
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.running_mean_std import RunningMeanStd
from stable_baselines3.common.save_util import load_from_zip_file
from stable_baselines3.common.vec_env import VecEnv, VecNormalize, unwrap_vec_normalize

from myorl.errors import MyorlError

log = logging.getLogger(__name__)


@dataclass
class Transfer:
    """What a hand-over carried: tensors copied and skipped, statistics carried and not."""

    source: str  # e.g. "00_hold/best_model.zip"
    copied: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # in the new policy, not (or not so shaped) in the old
    statistics: list[str] = field(default_factory=list)  # "observation", "return"
    statistics_dropped: list[str] = field(default_factory=list)  # with the reason
    whole: bool = False  # the whole model was loaded, optimizer state included (handover.optimizer)

    def summary(self) -> str:
        """One line for the stage's log: where it starts from and what came along."""
        parts = (["the whole model, optimizer state included"] if self.whole
                 else [f"{len(self.copied)}/{len(self.copied) + len(self.skipped)} tensors"])
        if self.statistics:
            parts.append(" and ".join(self.statistics) + " statistics")
        if self.statistics_dropped:
            parts.append("NOT " + "; ".join(self.statistics_dropped))
        return f"starts from {self.source} ({', '.join(parts)})"


def read_model(path: Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """The saved model's data (spaces, hyperparameters) and its policy's state dict."""
    if not Path(path).is_file():
        raise MyorlError(f"model file '{path}' is missing; train that stage again (or hand over model=last)")
    try:
        data, params, _ = load_from_zip_file(path, device="cpu")
    except (zipfile.BadZipFile, EOFError, RuntimeError, ValueError, KeyError) as exc:
        raise MyorlError(f"model file '{path}' is corrupt ({type(exc).__name__}: {exc}); "
                         "train that stage again") from None
    if not params or "policy" not in params:
        raise MyorlError(f"model file '{path}' holds no policy weights; train that stage again")
    return data or {}, cast(dict[str, torch.Tensor], params["policy"])


def copy_weights(path: Path, model: BaseAlgorithm, *, strict: bool) -> Transfer:
    """Load the policy weights saved at `path` into `model.policy`, tensor by tensor."""
    data, source = read_model(path)
    differs = [name for name in ("observation_space", "action_space")
               if name in data and data[name] != getattr(model, name)]
    if differs and strict:
        raise MyorlError(f"stage spaces differ from the previous stage's ({', '.join(differs)}: "
                         f"{[str(data[n]) for n in differs]} -> {[str(getattr(model, n)) for n in differs]}); "
                         "set handover.strict=false to copy only the matching tensors")
    target = model.policy.state_dict()
    transfer = Transfer(f"{Path(path).parent.name}/{Path(path).name}")
    for name, tensor in target.items():
        if name in source and source[name].shape == tensor.shape:
            target[name] = source[name].to(tensor.device, tensor.dtype)
            transfer.copied.append(name)
        else:
            transfer.skipped.append(name)
    if not any(target[name].dim() >= 2 for name in transfer.copied):  # a lone bias is no hand-over
        raise MyorlError(f"no weights of '{path}' fit the new stage's policy (different spaces or algo); "
                         "start the stage from scratch in its own curriculum or make its spaces match")
    if transfer.skipped and strict:
        raise MyorlError(f"weights not transferable with handover.strict=true: {transfer.skipped}")
    model.policy.load_state_dict(target)
    if transfer.skipped:
        log.warning("hand-over: %d tensors copied, %d not transferred (new init): %s",
                    len(transfer.copied), len(transfer.skipped), ", ".join(transfer.skipped))
    return transfer


def carry_statistics(source: VecNormalize, target: VecEnv) -> tuple[list[str], list[str]]:
    """Copy running statistics from `source` into the VecNormalize inside `target`, where they fit.

    Returns (carried, dropped): the observation statistics need the same observation shape; the
    return statistics are one scalar and always fit. A target without VecNormalize carries nothing.
    """
    norm = unwrap_vec_normalize(target)
    if norm is None:
        return [], ["statistics (this stage does not normalise)"]
    carried, dropped = ["return"], []
    norm.ret_rms = copy.deepcopy(source.ret_rms)
    old, new = _shape(source.obs_rms), _shape(norm.obs_rms)
    if old == new:
        norm.obs_rms = copy.deepcopy(source.obs_rms)
        carried.insert(0, "observation")
    else:
        dropped.append(f"observation statistics (shape {old} -> {new}: they start afresh)")
        log.warning("hand-over: observation statistics not carried: shape %s -> %s; they start afresh", old, new)
    return carried, dropped


def _shape(stats: RunningMeanStd | dict[str, RunningMeanStd]) -> Any:
    return stats.mean.shape if isinstance(stats, RunningMeanStd) else {k: v.mean.shape for k, v in stats.items()}
