"""`FastRecurrentPPO`: sb3-contrib's RecurrentPPO with the learner's Python overhead taken out.

Same algorithm, same minibatches in the same order, same losses and gradients (to float rounding):

- the policy (sb3-contrib's own class) runs the LSTM once per minibatch instead of once per time step
  when the minibatch holds an episode start (`fast_ops.fused_process_sequence`);
- minibatches are gathered from torch tables by one index matrix (`FastRecurrentRolloutBuffer`) and the
  masked loss terms use precomputed valid positions instead of boolean masks;
- Adam runs torch's fused (or foreach) kernel; `torch.distributions` skips argument validation;
- logged values are collected as tensors and read once per `train()` instead of 4-5 `.item()` calls per
  minibatch (unless `target_kl` needs the KL at each minibatch);
- in collection the policy's per-step call runs under `torch.inference_mode` (same actions).

Models save as plain sb3-contrib models (stock policy class, stock optimizer flags) and stock models load.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

import torch as th
from gymnasium import spaces
from sb3_contrib import RecurrentPPO
from sb3_contrib.common.recurrent.buffers import RecurrentRolloutBuffer
from sb3_contrib.common.recurrent.type_aliases import RecurrentRolloutBufferSamples
from stable_baselines3.common.utils import explained_variance

from myorl.algos.fast_ops import (
    AdamMode,
    FastOptionsMixin,
    record_train_logs,
)
from myorl.algos.recurrent_buffer import FastRecurrentRolloutBuffer, Minibatch


class FastRecurrentPPO(FastOptionsMixin, RecurrentPPO):
    """RecurrentPPO with a faster learner; the extra keyword arguments switch each cut on or off.

    :param fused_lstm: run each minibatch's LSTM in one call (falls back to sb3-contrib's per-step loop
        if an episode start is ever found after a sequence's first step)
    :param fast_buffer: gather minibatches by index matrix (Box observations; Dict spaces keep
        sb3-contrib's buffer)
    :param adam: "fused" (default), "foreach" or "stock": which torch Adam implementation steps
    :param validate_distributions: keep `torch.distributions` argument checks (off by default)
    :param inference_collect: run the policy's per-step call in collection under `torch.inference_mode`

    `fused_lstm=False, adam="foreach"` reproduces stock sb3-contrib bit for bit (and most of its train
    time); the defaults differ from it in float rounding only (see tests/test_fast_algos.py).
    """

    def __init__(self, *args: Any, fused_lstm: bool = True, fast_buffer: bool = True, adam: AdamMode = "fused",
                 validate_distributions: bool = False, inference_collect: bool = True, **kwargs: Any):
        self.fused_lstm = fused_lstm
        self.fast_buffer = fast_buffer
        self.adam = adam
        self.validate_distributions = validate_distributions
        self.inference_collect = inference_collect
        super().__init__(*args, **kwargs)

    def _setup_model(self) -> None:
        super()._setup_model()
        self._apply_adam_mode()
        stock = self.rollout_buffer
        if self.fast_buffer and type(stock) is RecurrentRolloutBuffer:
            self.rollout_buffer = FastRecurrentRolloutBuffer(
                self.n_steps, self.observation_space, self.action_space, stock.hidden_state_shape,
                self.device, gamma=self.gamma, gae_lambda=self.gae_lambda, n_envs=self.n_envs,
            )

    def _minibatches(self) -> Iterator[Minibatch]:
        """(samples, valid positions) per minibatch, from the fast buffer or from sb3-contrib's."""
        if isinstance(self.rollout_buffer, FastRecurrentRolloutBuffer):
            yield from self.rollout_buffer.minibatches(self.batch_size)
            return
        for stock_samples in self.rollout_buffer.get(self.batch_size):
            samples = cast(RecurrentRolloutBufferSamples, stock_samples)  # a recurrent buffer's
            # sb3-contrib: `mask = rollout_data.mask > 1e-8` then `x[mask]`; same elements, same order
            yield Minibatch(samples, th.nonzero(samples.mask > 1e-8).squeeze(1))

    def _train(self) -> None:
        """RecurrentPPO.train with the same maths and logs (2.9.2), less overhead per minibatch."""
        self.policy.set_training_mode(True)
        parameters = list(self.policy.parameters())  # stock walks the module tree at every clip
        self._update_learning_rate(self.policy.optimizer)
        clip_range = self.clip_range(self._current_progress_remaining)  # type: ignore[operator]
        clip_range_vf = None
        if self.clip_range_vf is not None:
            clip_range_vf = self.clip_range_vf(self._current_progress_remaining)  # type: ignore[operator]

        # Logged per minibatch; read back once at the end (each `.item()` is a sync on a GPU)
        entropy_losses: list[th.Tensor] = []
        pg_losses: list[th.Tensor] = []
        value_losses: list[th.Tensor] = []
        clip_fractions: list[th.Tensor] = []
        approx_kl_divs: list[th.Tensor] = []
        loss: th.Tensor | None = None
        continue_training = True

        for epoch in range(self.n_epochs):
            approx_kl_divs = []
            for rollout_data, valid in self._minibatches():
                actions = rollout_data.actions
                if isinstance(self.action_space, spaces.Discrete):
                    actions = rollout_data.actions.long().flatten()

                values, log_prob, entropy = self.policy.evaluate_actions(
                    rollout_data.observations, actions, rollout_data.lstm_states, rollout_data.episode_starts,
                )
                values = values.flatten()
                # Only the valid (unpadded) places enter the loss: sb3-contrib computes every term on the
                # padded batch and then masks it; the masked elements are these, in this order.
                advantages = rollout_data.advantages[valid]
                if self.normalize_advantage:
                    advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
                log_prob = log_prob[valid]
                old_log_prob = rollout_data.old_log_prob[valid]

                ratio = th.exp(log_prob - old_log_prob)
                policy_loss_1 = advantages * ratio
                policy_loss_2 = advantages * th.clamp(ratio, 1 - clip_range, 1 + clip_range)
                policy_loss = -th.mean(th.min(policy_loss_1, policy_loss_2))

                values = values[valid]
                if clip_range_vf is None:
                    values_pred = values
                else:
                    old_values = rollout_data.old_values[valid]
                    values_pred = old_values + th.clamp(values - old_values, -clip_range_vf, clip_range_vf)
                value_loss = th.mean((rollout_data.returns[valid] - values_pred) ** 2)

                if entropy is None:
                    entropy_loss = -th.mean(-log_prob)
                else:
                    entropy_loss = -th.mean(entropy[valid])

                loss = policy_loss + self.ent_coef * entropy_loss + self.vf_coef * value_loss

                with th.no_grad():
                    pg_losses.append(policy_loss.detach())
                    clip_fractions.append(th.mean((th.abs(ratio - 1) > clip_range).float()))
                    value_losses.append(value_loss.detach())
                    entropy_losses.append(entropy_loss.detach())
                    log_ratio = log_prob - old_log_prob
                    approx_kl_div = th.mean((th.exp(log_ratio) - 1) - log_ratio)
                    approx_kl_divs.append(approx_kl_div)

                # float32 numpy scalar vs a Python float, compared as sb3-contrib does
                if self.target_kl is not None and approx_kl_div.cpu().numpy() > 1.5 * self.target_kl:
                    continue_training = False
                    if self.verbose >= 1:
                        print(f"Early stopping at step {epoch} due to reaching max kl: {approx_kl_div.item():.2f}")
                    break

                self.policy.optimizer.zero_grad()
                loss.backward()
                th.nn.utils.clip_grad_norm_(parameters, self.max_grad_norm)
                self.policy.optimizer.step()

            self._n_updates += 1
            if not continue_training:
                break

        explained_var = explained_variance(self.rollout_buffer.values.flatten(), self.rollout_buffer.returns.flatten())
        record_train_logs(self, entropy_losses, pg_losses, value_losses, approx_kl_divs, clip_fractions, loss,
                           explained_var, clip_range, clip_range_vf)
