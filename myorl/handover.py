"""Hand a stage's weights to the next stage's freshly built model.

SB3's `Model.load(path, env=other)` refuses other observation spaces and `set_parameters` still
raises on a shape mismatch, so we copy every tensor whose name and shape match and report the rest.
"""

from __future__ import annotations

import logging
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.save_util import load_from_zip_file

from myorl.errors import MyorlError

log = logging.getLogger(__name__)


@dataclass
class Transfer:
    copied: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # in the new policy, not (or not so shaped) in the old


def read_model(path: Path) -> tuple[dict, dict[str, torch.Tensor]]:
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
    return data or {}, params["policy"]


def hand_over(path: Path, model: BaseAlgorithm, *, strict: bool) -> Transfer:
    """Load the policy weights saved at `path` into `model.policy`, tensor by tensor."""
    data, source = read_model(path)
    differs = [name for name in ("observation_space", "action_space")
               if name in data and data[name] != getattr(model, name)]
    if differs and strict:
        raise MyorlError(f"stage spaces differ from the previous stage's ({', '.join(differs)}: "
                         f"{[str(data[n]) for n in differs]} -> {[str(getattr(model, n)) for n in differs]}); "
                         "set handover.strict=false to copy only the matching tensors")
    target = model.policy.state_dict()
    transfer = Transfer()
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
    log.info("hand-over: starting from %s/%s (%d of %d tensors)", Path(path).parent.name, Path(path).name,
             len(transfer.copied), len(target))
    if transfer.skipped:
        log.warning("hand-over: %d tensors copied, %d not transferred (new init): %s",
                    len(transfer.copied), len(transfer.skipped), ", ".join(transfer.skipped))
    return transfer
