"""`FastRecurrentPPO`: sb3-contrib's RecurrentPPO with the learner's Python overhead taken out.

Same algorithm, same minibatches in the same order, same losses and gradients (to float rounding):

- the policy (sb3-contrib's own class) runs the LSTM once per minibatch instead of once per time step
  when the minibatch holds an episode start (`fast_ops.fused_process_sequence`);
- minibatches are gathered from torch tables by one index matrix (`FastRecurrentRolloutBuffer`) and the
  masked loss terms use precomputed valid positions instead of boolean masks;
- Adam runs torch's fused (or foreach) kernel; `torch.distributions` skips argument validation;
- logged values are collected as tensors and read once per `train()` instead of 4-5 `.item()` calls per
  minibatch (unless `target_kl` needs the KL at each minibatch);
- in collection the policy's per-step call runs under `torch.inference_mode` (same actions);
- when actor and critic share no parameters (each has its own LSTM, as in the 2022 winners' policy), the
  critic's forward and backward run in a second thread while the actor's run in this one
  (`parallel_critic`): the branches are separate graphs over separate parameters, so every gradient comes
  from the same operations as in one `loss.backward()`, bit for bit, and the learner gets a second core,
  which the vec env's workers leave idle while it trains.

Models save as plain sb3-contrib models (stock policy class, stock optimizer flags) and stock models load.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, cast

import torch as th
from gymnasium import spaces
from sb3_contrib import RecurrentPPO
from sb3_contrib.common.recurrent.buffers import RecurrentRolloutBuffer
from sb3_contrib.common.recurrent.policies import RecurrentActorCriticPolicy
from sb3_contrib.common.recurrent.type_aliases import RecurrentRolloutBufferSamples
from stable_baselines3.common.policies import BaseModel
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
    :param parallel_critic: run the critic's forward and backward in a second thread while the actor's run
        in this one (when the critic has its own LSTM and no parameter is shared: `separate_branches`)

    `fused_lstm=False, adam="foreach"` reproduces stock sb3-contrib bit for bit (and most of its train
    time); the defaults differ from it in float rounding only (see tests/test_fast_algos.py).
    """

    def __init__(self, *args: Any, fused_lstm: bool = True, fast_buffer: bool = True, adam: AdamMode = "fused",
                 validate_distributions: bool = False, inference_collect: bool = True,
                 parallel_critic: bool = True, **kwargs: Any):
        self.fused_lstm = fused_lstm
        self.parallel_critic = parallel_critic
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
        if not (self.parallel_critic and separate_branches(self.policy)):
            self._train_with(None)
            return
        # One thread for the critic, its torch ops limited to this thread's intra-op thread count
        with ThreadPoolExecutor(1, thread_name_prefix="myorl-critic", initializer=th.set_num_threads,
                                initargs=(th.get_num_threads(),)) as critic_thread:
            self._train_with(critic_thread)

    def _value_loss(self, values: th.Tensor, data: RecurrentRolloutBufferSamples, valid: th.Tensor,
                    clip_range_vf: float | None) -> th.Tensor:
        values = values.flatten()[valid]
        if clip_range_vf is None:
            values_pred = values
        else:
            old_values = data.old_values[valid]
            values_pred = old_values + th.clamp(values - old_values, -clip_range_vf, clip_range_vf)
        return th.mean((data.returns[valid] - values_pred) ** 2)

    def _critic_backward(self, data: RecurrentRolloutBufferSamples, valid: th.Tensor,
                         clip_range_vf: float | None) -> th.Tensor:
        """The critic's value loss and its gradients (`vf_coef * value_loss`, as its term of the loss)."""
        values = critic_values(self.policy, data.observations, data.lstm_states, data.episode_starts)
        value_loss = self._value_loss(values, data, valid, clip_range_vf)
        (self.vf_coef * value_loss).backward()
        return value_loss

    def _critic_done(self, critic: Future[th.Tensor], actor_loss: th.Tensor,
                     value_losses: list[th.Tensor]) -> th.Tensor:
        """Wait for the critic's thread; log its value loss; the minibatch's loss as stock computes it."""
        value_loss = critic.result()
        value_losses.append(value_loss.detach())
        with th.no_grad():
            return actor_loss + self.vf_coef * value_loss

    def _train_with(self, critic_thread: ThreadPoolExecutor | None) -> None:
        """The epochs of minibatches; with `critic_thread`, each minibatch's critic runs there."""
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

                critic: Future[th.Tensor] | None = None
                if critic_thread is not None:
                    # Gradients are cleared before either branch's backward (stock: after the forward)
                    self.policy.optimizer.zero_grad()
                    critic = critic_thread.submit(self._critic_backward, rollout_data, valid, clip_range_vf)
                    values = None
                    log_prob, entropy = actor_outputs(self.policy, rollout_data.observations, actions,
                                                      rollout_data.lstm_states, rollout_data.episode_starts)
                else:
                    values, log_prob, entropy = self.policy.evaluate_actions(
                        rollout_data.observations, actions, rollout_data.lstm_states, rollout_data.episode_starts,
                    )
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

                if entropy is None:
                    entropy_loss = -th.mean(-log_prob)
                else:
                    entropy_loss = -th.mean(entropy[valid])

                actor_loss = policy_loss + self.ent_coef * entropy_loss
                if critic is None:
                    assert values is not None
                    value_loss = self._value_loss(values, rollout_data, valid, clip_range_vf)
                    loss = actor_loss + self.vf_coef * value_loss

                with th.no_grad():
                    pg_losses.append(policy_loss.detach())
                    clip_fractions.append(th.mean((th.abs(ratio - 1) > clip_range).float()))
                    if critic is None:
                        value_losses.append(value_loss.detach())
                    entropy_losses.append(entropy_loss.detach())
                    log_ratio = log_prob - old_log_prob
                    approx_kl_div = th.mean((th.exp(log_ratio) - 1) - log_ratio)
                    approx_kl_divs.append(approx_kl_div)

                # float32 numpy scalar vs a Python float, compared as sb3-contrib does
                if self.target_kl is not None and approx_kl_div.cpu().numpy() > 1.5 * self.target_kl:
                    continue_training = False
                    if critic is not None:  # logged as stock does; its gradients are not applied
                        loss = self._critic_done(critic, actor_loss, value_losses)
                        self.policy.optimizer.zero_grad()
                    if self.verbose >= 1:
                        print(f"Early stopping at step {epoch} due to reaching max kl: {approx_kl_div.item():.2f}")
                    break

                if critic is None:
                    assert loss is not None
                    self.policy.optimizer.zero_grad()
                    loss.backward()
                else:
                    actor_loss.backward()  # while the critic's backward runs in its thread
                    loss = self._critic_done(critic, actor_loss, value_losses)
                th.nn.utils.clip_grad_norm_(parameters, self.max_grad_norm)
                self.policy.optimizer.step()

            self._n_updates += 1
            if not continue_training:
                break

        explained_var = explained_variance(self.rollout_buffer.values.flatten(), self.rollout_buffer.returns.flatten())
        record_train_logs(self, entropy_losses, pg_losses, value_losses, approx_kl_divs, clip_fractions, loss,
                          explained_var, clip_range, clip_range_vf)


# ----------------------------------------------------------------------------- actor and critic apart
def separate_branches(policy: Any) -> bool:
    """Do the policy's actor and critic share no parameter, with an LSTM each (so running them apart pays)?

    sb3-contrib's `RecurrentActorCriticPolicy` with `enable_critic_lstm=True` (its default) and the
    `MlpExtractor` of separate pi/vf networks; a shared features extractor must have no parameters (the
    flatten of Box observations), since each branch computes it for itself.
    """
    if not isinstance(policy, RecurrentActorCriticPolicy) or policy.lstm_critic is None:
        return False
    pi_net = getattr(policy.mlp_extractor, "policy_net", None)
    vf_net = getattr(policy.mlp_extractor, "value_net", None)
    if not isinstance(pi_net, th.nn.Module) or not isinstance(vf_net, th.nn.Module):
        return False
    actor: list[th.nn.Module] = [policy.lstm_actor, pi_net, policy.action_net]
    critic: list[th.nn.Module] = [policy.lstm_critic, vf_net, policy.value_net]
    if policy.share_features_extractor:
        if any(True for _ in policy.features_extractor.parameters()):
            return False
    else:
        actor.append(policy.pi_features_extractor)
        critic.append(policy.vf_features_extractor)
    actor_ids = {id(p) for module in actor for p in module.parameters()}
    log_std = getattr(policy, "log_std", None)
    if isinstance(log_std, th.nn.Parameter):
        actor_ids.add(id(log_std))
    critic_ids = {id(p) for module in critic for p in module.parameters()}
    return actor_ids.isdisjoint(critic_ids) and actor_ids | critic_ids == {id(p) for p in policy.parameters()}


def _features(policy: RecurrentActorCriticPolicy, obs: th.Tensor, extractor: str) -> th.Tensor:
    """The features one branch reads (`extract_features`, for that branch only)."""
    if policy.share_features_extractor:
        return cast(th.Tensor, policy.extract_features(obs))
    return BaseModel.extract_features(policy, obs, getattr(policy, extractor))


def actor_outputs(policy: RecurrentActorCriticPolicy, obs: th.Tensor, actions: th.Tensor, lstm_states: Any,
                  episode_starts: th.Tensor) -> tuple[th.Tensor, th.Tensor | None]:
    """`evaluate_actions`' log-probabilities and entropy: its actor branch, the same operations."""
    features = _features(policy, obs, "pi_features_extractor")
    latent_pi, _ = policy._process_sequence(features, lstm_states.pi, episode_starts, policy.lstm_actor)
    latent_pi = policy.mlp_extractor.forward_actor(latent_pi)
    distribution = policy._get_action_dist_from_latent(latent_pi)
    return distribution.log_prob(actions), distribution.entropy()


def critic_values(policy: RecurrentActorCriticPolicy, obs: th.Tensor, lstm_states: Any,
                  episode_starts: th.Tensor) -> th.Tensor:
    """`evaluate_actions`' values: its critic branch (with the critic's own LSTM), the same operations."""
    features = _features(policy, obs, "vf_features_extractor")
    assert policy.lstm_critic is not None
    latent_vf, _ = policy._process_sequence(features, lstm_states.vf, episode_starts, policy.lstm_critic)
    return cast(th.Tensor, policy.value_net(policy.mlp_extractor.forward_critic(latent_vf)))
