"""Overhead cuts shared by the fast PPO learners: fused LSTM sequences, Adam modes, no argument checks.

Also the parts FastRecurrentPPO and FastPPO share: `FastOptionsMixin` (saving stock models, switching Adam)
and `record_train_logs` (the stock `train/...` records from tensors read back once per `train()`).

Nothing here changes what is computed: each piece replaces a slow way of doing the same sums by a faster
way of doing them (one LSTM call instead of a Python loop over time steps, one Adam kernel instead of a
Python loop over parameters, no `torch.distributions` argument checks, inference mode for the policy call
in collection). Float rounding may differ in the last bits (fused LSTM, fused Adam); see
tests/test_fast_algos.py for what is compared exactly and what to a tolerance.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any, Literal

import numpy as np
import torch as th
from sb3_contrib.common.recurrent.policies import RecurrentActorCriticPolicy
from stable_baselines3.common.buffers import RolloutBuffer
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.type_aliases import TensorDict
from stable_baselines3.common.vec_env import VecEnv
from torch import nn

AdamMode = Literal["fused", "foreach", "stock"]
ADAM_MODES: tuple[str, ...] = ("fused", "foreach", "stock")

# The optimizer flags this module may set; saved models get the values the optimizer was built with.
_OPTIMIZER_FLAGS = ("fused", "foreach")
# Devices whose fused Adam kernel we rely on (elsewhere "fused" falls back to "foreach")
_FUSED_DEVICES = ("cpu", "cuda")


def fused_process_sequence(
    features: th.Tensor,
    lstm_states: tuple[th.Tensor, th.Tensor],
    episode_starts: th.Tensor,
    lstm: nn.LSTM,
) -> tuple[th.Tensor, tuple[th.Tensor, th.Tensor]]:
    """`RecurrentActorCriticPolicy._process_sequence` with one `nn.LSTM` call when starts open sequences.

    sb3-contrib steps the LSTM one time step at a time in Python whenever any episode start is in the
    batch. Its rollout buffer cuts sequences at episode starts, so in training a start can only be at a
    sequence's first step (and in collection every sequence is one step long): resetting the initial
    (h, c) of those sequences, then running the whole padded batch through the LSTM at once, computes the
    same recurrence. A start found later in a sequence falls back to sb3-contrib's loop.
    """
    n_seq = lstm_states[0].shape[1]
    # (padded batch, features) -> (n_seq, max_length, features) -> (max_length, n_seq, features)
    features_sequence = features.reshape((n_seq, -1, lstm.input_size)).swapaxes(0, 1)
    starts = episode_starts.reshape((n_seq, -1)).swapaxes(0, 1)
    if starts.shape[0] > 1 and bool(starts[1:].any()):
        output, states = RecurrentActorCriticPolicy._process_sequence(features, lstm_states, episode_starts, lstm)
        return output, states  # type: ignore[return-value]  # sb3-contrib annotates (h, c) as one tensor
    # The same product the loop applies at its first step (x * 1.0 == x, so sequences without a start
    # keep their stored state exactly).
    keep = (1.0 - starts[0]).view(1, n_seq, 1)
    lstm_output, new_states = lstm(features_sequence, (keep * lstm_states[0], keep * lstm_states[1]))
    return th.flatten(lstm_output.transpose(0, 1), start_dim=0, end_dim=1), new_states


@contextmanager
def fused_lstm_calls(policy: nn.Module, enabled: bool = True) -> Iterator[None]:
    """Inside the block, `policy` (a stock sb3-contrib policy) runs its LSTMs with `fused_process_sequence`.

    `_process_sequence` is a staticmethod that the policy calls as `self._process_sequence`, so an
    instance attribute overrides it for this policy object only, and only while the block runs: outside
    it (predict, evaluation, pickling the policy) the policy is sb3-contrib's, untouched.
    """
    if not enabled or not isinstance(policy, RecurrentActorCriticPolicy) or "_process_sequence" in vars(policy):
        yield
        return
    policy._process_sequence = fused_process_sequence  # type: ignore[assignment]
    try:
        yield
    finally:
        del policy._process_sequence


def set_adam_mode(optimizer: th.optim.Optimizer, mode: AdamMode) -> None:
    """Switch an existing Adam/AdamW between torch's implementations (same update rule).

    `stock` leaves the flags as the optimizer was built (torch's per-parameter loop on CPU). `foreach`
    gave bit-identical parameters to it here; `fused` (one kernel per step) differs in the last bits.
    Other optimizers are left alone.
    """
    if mode not in ADAM_MODES:
        raise ValueError(f"adam must be one of {ADAM_MODES}, got {mode!r}")
    if not isinstance(optimizer, th.optim.Adam | th.optim.AdamW):
        return
    originals = optimizer.__dict__.setdefault("_myorl_original_flags", [
        {flag: group.get(flag) for flag in _OPTIMIZER_FLAGS} for group in optimizer.param_groups
    ])
    for group, original in zip(optimizer.param_groups, originals):
        group.update(original)
        fusable = not group.get("differentiable", False) and all(
            p.device.type in _FUSED_DEVICES for p in group["params"])
        if mode == "fused" and fusable:
            group.update(fused=True, foreach=False)
        elif mode in ("fused", "foreach"):
            group.update(fused=None, foreach=True)


def restore_optimizer_flags(optimizer: th.optim.Optimizer, state_dict: dict[str, Any]) -> None:
    """Put the optimizer's original `fused`/`foreach` flags into `state_dict` (a saved model stays stock)."""
    originals = optimizer.__dict__.get("_myorl_original_flags")
    if originals is None:
        return
    for group, original in zip(state_dict["param_groups"], originals):
        group.update(original)


@contextmanager
def distribution_checks(enabled: bool) -> Iterator[None]:
    """Turn `torch.distributions` argument validation on or off for the block, then restore it.

    Validation only checks (loc/scale/sample constraints, a device sync each on GPU); with it off a NaN
    goes on into the loss instead of raising at the distribution.
    """
    previous = th.distributions.Distribution._validate_args
    th.distributions.Distribution.set_default_validate_args(enabled)
    try:
        yield
    finally:
        th.distributions.Distribution.set_default_validate_args(previous)


@contextmanager
def inference_forward(policy: nn.Module, enabled: bool = True) -> Iterator[None]:
    """Inside the block, `policy(...)` runs under `torch.inference_mode()` (the per-step call in collection).

    SB3 calls the policy under `no_grad` in `collect_rollouts`; inference mode also skips version counters
    and view tracking, about a sixth less time per call for small MLPs here. Same kernels, same results,
    same RNG draws. Only the policy's forward is wrapped, not the whole collection, so callbacks that run
    during collection (and may train something) keep autograd. The outputs are inference tensors; what SB3
    keeps of them (numpy copies, LSTM states read under no_grad) works outside the block.
    """
    if not enabled:
        yield
        return
    missing = object()
    previous = policy.__dict__.get("forward", missing)
    forward = policy.forward

    @functools.wraps(forward)
    def forward_in_inference_mode(*args: Any, **kwargs: Any) -> Any:
        with th.inference_mode():
            return forward(*args, **kwargs)

    policy.forward = forward_in_inference_mode
    try:
        yield
    finally:
        if previous is missing:
            del policy.forward
        else:
            policy.forward = previous


# Constructor options of the fast classes: not saved with the model (a saved model stays a stock one).
FAST_OPTIONS = ("fused_lstm", "fast_buffer", "adam", "validate_distributions", "inference_collect", "parallel_critic")


class FastOptionsMixin:
    """What FastRecurrentPPO and FastPPO share: collection and train wrappers, Adam mode, stock saving."""

    adam: AdamMode
    validate_distributions: bool
    inference_collect: bool
    policy: Any

    def _apply_adam_mode(self, reread: bool = False) -> None:
        optimizer = self.policy.optimizer
        if reread:  # a state dict was just loaded: its flags are the optimizer's own now
            optimizer.__dict__.pop("_myorl_original_flags", None)
        set_adam_mode(optimizer, self.adam)

    def _excluded_save_params(self) -> list[str]:
        return [*super()._excluded_save_params(), *FAST_OPTIONS]  # type: ignore[misc]

    def get_parameters(self) -> dict[str, dict]:
        """State dicts to save; the optimizer's shows the flags it was built with, not the fast ones."""
        params: dict[str, dict] = super().get_parameters()  # type: ignore[misc]
        if "policy.optimizer" in params:
            restore_optimizer_flags(self.policy.optimizer, params["policy.optimizer"])
        return params

    def set_parameters(self, load_path_or_dict: str | TensorDict, exact_match: bool = True,
                       device: th.device | str = "auto") -> None:
        super().set_parameters(load_path_or_dict, exact_match, device)  # type: ignore[misc]
        self._apply_adam_mode(reread=True)

    def _fast_calls(self) -> ExitStack:
        """What holds while the fast classes collect or train (the fused LSTM, for the recurrent one)."""
        stack = ExitStack()
        stack.enter_context(distribution_checks(self.validate_distributions))
        stack.enter_context(fused_lstm_calls(self.policy, getattr(self, "fused_lstm", False)))
        return stack

    def collect_rollouts(self, env: VecEnv, callback: BaseCallback, rollout_buffer: RolloutBuffer,
                         n_rollout_steps: int) -> bool:
        """The stock `collect_rollouts`; its policy calls skip argument checks and run in inference mode."""
        with self._fast_calls(), inference_forward(self.policy, self.inference_collect):
            return super().collect_rollouts(env, callback, rollout_buffer, n_rollout_steps)  # type: ignore[misc]

    def train(self) -> None:
        """The learner's `_train` (same maths as stock `train`) without distribution argument checks."""
        with self._fast_calls():
            self._train()

    def _train(self) -> None:
        raise NotImplementedError


def _floats(values: list[th.Tensor]) -> list[float]:
    return th.stack(values).tolist() if values else []


def record_train_logs(model: Any, entropy_losses: list[th.Tensor], pg_losses: list[th.Tensor],
                      value_losses: list[th.Tensor], approx_kl_divs: list[th.Tensor],
                      clip_fractions: list[th.Tensor], loss: th.Tensor | None, explained_var: Any,
                      clip_range: float, clip_range_vf: float | None) -> None:
    """The `train/...` records of SB3's PPO and sb3-contrib's RecurrentPPO, with the same values.

    Stock code appends `.item()` floats (and float32 numpy scalars for the KL) and takes `np.mean`; the
    same numbers in the same dtypes give the same means.
    """
    logger = model.logger
    logger.record("train/entropy_loss", np.mean(_floats(entropy_losses)))
    logger.record("train/policy_gradient_loss", np.mean(_floats(pg_losses)))
    logger.record("train/value_loss", np.mean(_floats(value_losses)))
    kls: np.ndarray | list[float] = th.stack(approx_kl_divs).cpu().numpy() if approx_kl_divs else []
    logger.record("train/approx_kl", np.mean(kls))
    logger.record("train/clip_fraction", np.mean(_floats(clip_fractions)))
    if loss is not None:
        logger.record("train/loss", loss.item())
    logger.record("train/explained_variance", explained_var)
    if hasattr(model.policy, "log_std"):
        logger.record("train/std", th.exp(model.policy.log_std).mean().item())
    logger.record("train/n_updates", model._n_updates, exclude="tensorboard")
    logger.record("train/clip_range", clip_range)
    if clip_range_vf is not None:
        logger.record("train/clip_range_vf", clip_range_vf)
