"""FastRecurrentPPO and FastPPO compute what sb3-contrib's RecurrentPPO and SB3's PPO compute.

Every check starts the stock and the fast learner from the same policy weights, optimizer state, rollout
buffer and RNG state. The buffers are collected once from Hopper-v5, whose episodes end after 9-50 random
steps, so the recurrent minibatches hold episode starts in the middle of the rollout (the case where
sb3-contrib loops over time steps).

Tolerances. With `fused_lstm=False, adam="foreach"` everything is compared for exact equality: the
buffer gather, the masked losses and the logged values do the same float operations as stock. The fused
LSTM runs the sequence through oneDNN in one call instead of one call per step, which rounds the gate
matmuls differently (float32, ~1e-7 relative per value, measured ~3e-7 on the gradients here), and fused
Adam rounds its update differently (~1e-9 on the parameters): those comparisons use rtol 1e-5 (about 100x
float32 epsilon, room for sums over a few hundred terms) and an atol of 1e-5 times the tensor's largest
magnitude for elements that are sums cancelling to near zero.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from helpers import processes
from sb3_contrib import RecurrentPPO
from sb3_contrib.common.recurrent.buffers import RecurrentRolloutBuffer
from sb3_contrib.common.recurrent.policies import RecurrentActorCriticPolicy
from stable_baselines3 import PPO
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.envs import SimpleMultiObsEnv
from stable_baselines3.common.logger import Logger
from stable_baselines3.common.vec_env import DummyVecEnv
from torch import nn

from myorl.algos.fast_ops import FAST_OPTIONS, fused_process_sequence
from myorl.algos.ppo import FastPPO, FastRolloutBuffer
from myorl.algos.recurrent_buffer import FastRecurrentRolloutBuffer
from myorl.algos.recurrent_ppo import FastRecurrentPPO, separate_branches

N_ENVS, N_STEPS = 2, 48
RECURRENT = dict(n_steps=N_STEPS, batch_size=16, n_epochs=2, learning_rate=3e-4,
                 policy_kwargs=dict(lstm_hidden_size=16, net_arch=dict(pi=[16], vf=[16])))
# The 2022 winners' shape (ReLU, no orthogonal init, small log std) at a tiny size
WINNERS = dict(RECURRENT, clip_range=0.3, gae_lambda=0.9, max_grad_norm=0.7, vf_coef=0.84, ent_coef=3.6e-6,
               policy_kwargs=dict(lstm_hidden_size=16, net_arch=dict(pi=[16, 16], vf=[16, 16]),
                                  activation_fn=nn.ReLU, ortho_init=False, log_std_init=-2.0))
FLAT = dict(n_steps=64, batch_size=16, n_epochs=2, policy_kwargs=dict(net_arch=dict(pi=[16], vf=[16])))
EXACT = dict(fused_lstm=False, adam="foreach")
LOG_KEYS = ("train/entropy_loss", "train/policy_gradient_loss", "train/value_loss", "train/approx_kl",
            "train/clip_fraction", "train/loss", "train/explained_variance", "train/std", "train/n_updates")


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    previous = th.get_num_threads()
    th.set_num_threads(1)
    yield
    th.set_num_threads(previous)


def make(cls: type[BaseAlgorithm], config: dict[str, Any], **extra: Any) -> BaseAlgorithm:
    env = DummyVecEnv([lambda: gym.make("Hopper-v5") for _ in range(N_ENVS)])
    policy = "MlpLstmPolicy" if issubclass(cls, RecurrentPPO) else "MlpPolicy"
    model = cls(policy, env, seed=0, device="cpu", **{**config, **extra})
    model._setup_learn(10_000, None)
    model.set_logger(Logger(folder=None, output_formats=[]))
    return model


def collect(model: BaseAlgorithm) -> None:
    callback = CallbackList([])
    callback.init_callback(model)
    assert model.collect_rollouts(model.env, callback, model.rollout_buffer, model.n_steps)


def copy_state(source: BaseAlgorithm, target: BaseAlgorithm) -> None:
    """Same weights, optimizer state, filled rollout buffer and last observation as `source`."""
    target.set_parameters(copy.deepcopy(source.get_parameters()))  # copies: optimizers share no tensors
    src, dst = source.rollout_buffer, target.rollout_buffer
    for name, value in vars(src).items():
        if isinstance(value, np.ndarray):
            setattr(dst, name, value.copy())
    dst.pos, dst.full, dst.generator_ready = src.pos, src.full, src.generator_ready


@pytest.fixture(scope="module")
def recurrent_rollout() -> RecurrentPPO:
    """A stock RecurrentPPO with one rollout collected (weights as initialised)."""
    model = make(RecurrentPPO, RECURRENT)
    collect(model)
    collect(model)  # the second rollout: its first steps are not all episode starts (the first one's are)
    starts = model.rollout_buffer.episode_starts
    assert starts[1:].sum() >= 2, "the rollout should hold episode starts after its first step"
    assert not starts[0].all(), "an env's first step in the rollout should continue an episode"
    return model


@pytest.fixture(scope="module")
def flat_rollout() -> PPO:
    model = make(PPO, FLAT)
    collect(model)
    collect(model)
    return model


def pair(stock_rollout: BaseAlgorithm, stock_cls: type[BaseAlgorithm], fast_cls: type[BaseAlgorithm],
         config: dict[str, Any], **fast: Any) -> tuple[BaseAlgorithm, BaseAlgorithm]:
    """A stock and a fast model in the same state as the collected one."""
    stock, faster = make(stock_cls, config), make(fast_cls, config, **fast)
    if config["policy_kwargs"] != stock_rollout.policy_kwargs:  # other architecture: collect with it
        collect(stock)
        collect(stock)
    else:
        copy_state(stock_rollout, stock)
    copy_state(stock, faster)
    return stock, faster


def train_recording(model: BaseAlgorithm, seed: int = 3) -> tuple[list[list[th.Tensor]], dict[str, Any]]:
    """Run `train()` from a fixed RNG state; the gradients at each optimizer step and the logged values."""
    grads: list[list[th.Tensor]] = []

    def record(optimizer: th.optim.Optimizer, *_: Any) -> None:
        grads.append([p.grad.detach().clone() for group in optimizer.param_groups for p in group["params"]])

    handle = model.policy.optimizer.register_step_pre_hook(record)
    np.random.seed(seed)
    th.manual_seed(seed)
    model.train()
    handle.remove()
    logs = {key: model.logger.name_to_value[key] for key in LOG_KEYS if key in model.logger.name_to_value}
    return grads, logs


def assert_tensors_close(actual: list[th.Tensor], expected: list[th.Tensor], exact: bool) -> None:
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected):
        if exact:
            assert th.equal(a, e)
        else:
            th.testing.assert_close(a, e, rtol=1e-5, atol=1e-5 * float(e.detach().abs().max()) + 1e-12)


def assert_logs_close(actual: dict[str, Any], expected: dict[str, Any], exact: bool) -> None:
    assert actual.keys() == expected.keys()
    for key, value in expected.items():
        if exact:
            assert actual[key] == value, key
        else:
            assert actual[key] == pytest.approx(value, rel=1e-5, abs=1e-7), key


def params(model: BaseAlgorithm) -> list[th.Tensor]:
    return [p.detach().clone() for p in model.policy.parameters()]


# (a) the same minibatches give the same losses and gradients ------------------------------------------

@pytest.mark.parametrize("fast", [{}, EXACT], ids=["fast", "exact"])
@pytest.mark.parametrize("batch_size", [N_STEPS * N_ENVS, 16])
def test_recurrent_minibatch_losses_and_gradients(recurrent_rollout: RecurrentPPO, fast: dict,
                                                  batch_size: int) -> None:
    """With lr 0 the weights stay put, so every minibatch is evaluated at the same point in both learners:
    the gradients of each step and the logged losses (one minibatch: its own losses) must agree."""
    config = dict(RECURRENT, learning_rate=0.0, n_epochs=1, batch_size=batch_size)
    stock, faster = pair(recurrent_rollout, RecurrentPPO, FastRecurrentPPO, config, **fast)
    stock_grads, stock_logs = train_recording(stock)
    fast_grads, fast_logs = train_recording(faster)
    assert len(stock_grads) == -(-N_STEPS * N_ENVS // batch_size)
    for expected, actual in zip(stock_grads, fast_grads):
        assert_tensors_close(actual, expected, exact=bool(fast))
    assert_logs_close(fast_logs, stock_logs, exact=bool(fast))
    assert_tensors_close(params(faster), params(stock), exact=True)  # lr 0: nothing moved in either


def test_recurrent_minibatches_hold_mid_sequence_resets(recurrent_rollout: RecurrentPPO) -> None:
    """The case that matters: minibatches where sequences start at episode starts (not only env starts)."""
    faster = make(FastRecurrentPPO, RECURRENT)
    copy_state(recurrent_rollout, faster)
    np.random.seed(3)
    starts = [float(mb.samples.episode_starts.sum()) for mb in faster.rollout_buffer.minibatches(16)]
    assert sum(s > 0 for s in starts) >= 2


# (b) a whole train() ends at the same parameters -------------------------------------------------------

@pytest.mark.parametrize("config", [RECURRENT, WINNERS], ids=["default", "winners"])
@pytest.mark.parametrize("fast", [{}, EXACT], ids=["fast", "exact"])
def test_recurrent_train_matches_stock(recurrent_rollout: RecurrentPPO, config: dict, fast: dict) -> None:
    stock, faster = pair(recurrent_rollout, RecurrentPPO, FastRecurrentPPO, config, **fast)
    _, stock_logs = train_recording(stock)
    _, fast_logs = train_recording(faster)
    assert_tensors_close(params(faster), params(stock), exact=bool(fast))
    assert_logs_close(fast_logs, stock_logs, exact=bool(fast))
    assert stock_logs["train/n_updates"] == config["n_epochs"]
    # and the parameters did move (lr > 0): the comparison is not of two untouched models
    assert not all(th.equal(a, b) for a, b in zip(params(stock), params(recurrent_rollout)))


@pytest.mark.parametrize("lstm", [dict(shared_lstm=True, enable_critic_lstm=False),
                                  dict(enable_critic_lstm=False, n_lstm_layers=2)], ids=["shared", "two-layers"])
def test_recurrent_lstm_layouts_match_stock(recurrent_rollout: RecurrentPPO, lstm: dict) -> None:
    """Other LSTM layouts of sb3-contrib's policy (shared actor/critic LSTM, feed-forward critic, 2 layers)."""
    config = dict(RECURRENT, policy_kwargs=dict(RECURRENT["policy_kwargs"], **lstm))
    stock, faster = pair(recurrent_rollout, RecurrentPPO, FastRecurrentPPO, config)
    _, stock_logs = train_recording(stock)
    _, fast_logs = train_recording(faster)
    assert_tensors_close(params(faster), params(stock), exact=False)
    assert_logs_close(fast_logs, stock_logs, exact=False)


def test_recurrent_learn_matches_stock() -> None:
    """Two whole learn() iterations (collect, train, collect, train) from the same seed: the same actions in
    the first rollout (the fused LSTM's one-step outputs are bit-identical), parameters equal to rounding."""
    models, first_actions = [], []
    for cls in (RecurrentPPO, FastRecurrentPPO):  # one after the other: they share torch's global RNG
        model = cls("MlpLstmPolicy", DummyVecEnv([lambda: gym.make("Hopper-v5")] * N_ENVS), seed=5, device="cpu",
                    **RECURRENT)
        model.learn(N_ENVS * N_STEPS)
        first_actions.append(model.rollout_buffer.actions.copy())
        model.learn(N_ENVS * N_STEPS, reset_num_timesteps=False)
        models.append(model)
    stock, faster = models
    np.testing.assert_array_equal(first_actions[1], first_actions[0])
    np.testing.assert_allclose(faster.rollout_buffer.actions, stock.rollout_buffer.actions, rtol=1e-5, atol=1e-5)
    assert_tensors_close(params(faster), params(stock), exact=False)


@pytest.mark.parametrize("fast", [{}, EXACT], ids=["fast", "exact"])
def test_recurrent_dict_observations_keep_stock_buffer(fast: dict) -> None:
    """Dict observations: sb3-contrib's own buffer (the fast one is Box-only), the rest of the cuts apply."""
    trained = []
    for cls, extra in ((RecurrentPPO, {}), (FastRecurrentPPO, fast)):
        np.random.seed(0)  # SimpleMultiObsEnv draws its grid from numpy's global RNG when built
        env = DummyVecEnv([lambda: SimpleMultiObsEnv(random_start=True)] * 2)
        model = cls("MultiInputLstmPolicy", env, seed=1, device="cpu", n_steps=32, batch_size=16, n_epochs=2,
                    policy_kwargs=dict(lstm_hidden_size=8, net_arch=[8]), **extra)
        model.learn(64)
        trained.append(model)
    stock, faster = trained
    assert type(faster.rollout_buffer) is type(stock.rollout_buffer)
    assert_tensors_close(params(faster), params(stock), exact=bool(fast))


def test_fast_buffer_yields_stock_samples(recurrent_rollout: RecurrentPPO) -> None:
    """Minibatch for minibatch, the same tensors (values, padding, LSTM states) as sb3-contrib's buffer."""
    source = recurrent_rollout.rollout_buffer
    for batch_size in (16, 7, None):
        buffers = []
        for cls in (RecurrentRolloutBuffer, FastRecurrentRolloutBuffer):
            buffer = cls(N_STEPS, source.observation_space, source.action_space, source.hidden_state_shape,
                         "cpu", gae_lambda=source.gae_lambda, gamma=source.gamma, n_envs=N_ENVS)
            for name, value in vars(source).items():
                if isinstance(value, np.ndarray):
                    setattr(buffer, name, value.copy())
            buffer.pos, buffer.full, buffer.generator_ready = source.pos, source.full, source.generator_ready
            buffers.append(buffer)
        for epoch in range(2):  # the second epoch reuses the prepared tables
            np.random.seed(epoch)
            expected = list(buffers[0].get(batch_size))
            np.random.seed(epoch)
            actual = list(buffers[1].get(batch_size))
            assert len(actual) == len(expected)
            for a, e in zip(actual, expected):
                for field in e._fields:
                    got, want = getattr(a, field), getattr(e, field)
                    pairs = zip(got.pi + got.vf, want.pi + want.vf) if field == "lstm_states" else [(got, want)]
                    for g, w in pairs:
                        assert g.dtype == w.dtype and th.equal(g, w), field


# (c) saved models are stock models; stock models load ----------------------------------------------------

LOAD_WITHOUT_MYORL = """
import sys
import numpy as np
from sb3_contrib import RecurrentPPO
from stable_baselines3 import PPO
folder = sys.argv[1]
obs = np.load(folder + "/obs.npy")
for cls in (RecurrentPPO, PPO):
    model = cls.load(f"{folder}/{cls.__name__}.zip", device="cpu")
    assert type(model) is cls and type(model.policy).__module__.split(".")[0] in ("sb3_contrib", "stable_baselines3")
    flags = [(g["fused"], g["foreach"]) for g in model.policy.optimizer.param_groups]
    assert flags == [(None, None)], flags  # the optimizer as stock builds it
    saved_options = [name for name in {options} if hasattr(model, name)]
    assert not saved_options, saved_options
    kwargs = dict(state=None, episode_start=np.ones(len(obs), dtype=bool)) if cls is RecurrentPPO else {}
    actions, _ = model.predict(obs, deterministic=True, **kwargs)
    np.save(f"{folder}/{cls.__name__}.npy", actions)
assert not [m for m in sys.modules if m.split(".")[0] == "myorl"], "loading imported myorl"
"""


def test_fast_models_load_in_stock_process(tmp_path: Path) -> None:
    """Saved by FastRecurrentPPO/FastPPO, loaded by plain sb3-contrib/SB3 in a process without myorl."""
    obs = np.stack([gym.make("Hopper-v5").reset(seed=s)[0] for s in range(3)])
    np.save(tmp_path / "obs.npy", obs)
    expected = {}
    for fast_cls, stock_name, config in ((FastRecurrentPPO, "RecurrentPPO", RECURRENT), (FastPPO, "PPO", FLAT)):
        model = make(fast_cls, config)
        collect(model)
        model.train()  # the optimizer has state (and fused flags) to save
        assert model.policy.optimizer.param_groups[0]["fused"] is True
        model.save(tmp_path / f"{stock_name}.zip")
        assert model.policy.optimizer.param_groups[0]["fused"] is True  # saving left the model fast
        kwargs: dict[str, Any] = {}
        if fast_cls is FastRecurrentPPO:
            kwargs = dict(state=None, episode_start=np.ones(len(obs), dtype=bool))
        expected[stock_name], _ = model.predict(obs, deterministic=True, **kwargs)
    options = ("fused_lstm", "fast_buffer", "adam", "validate_distributions", "inference_collect")
    assert set(options) <= set(FAST_OPTIONS)
    script = LOAD_WITHOUT_MYORL.replace("{options}", repr(options))
    proc = processes.run_code(script, [str(tmp_path)], cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for name, actions in expected.items():
        np.testing.assert_array_equal(np.load(tmp_path / f"{name}.npy"), actions)


@pytest.mark.parametrize(("stock_cls", "fast_cls"), [(RecurrentPPO, FastRecurrentPPO), (PPO, FastPPO)])
def test_stock_model_loads_into_fast_class(tmp_path: Path, stock_cls: type[BaseAlgorithm],
                                           fast_cls: type[BaseAlgorithm]) -> None:
    config = RECURRENT if stock_cls is RecurrentPPO else FLAT
    stock = make(stock_cls, config)
    collect(stock)
    stock.train()
    stock.save(tmp_path / "stock.zip")
    loaded = fast_cls.load(tmp_path / "stock.zip", env=stock.env, device="cpu")
    assert type(loaded) is fast_cls and type(loaded.policy) is type(stock.policy)
    assert_tensors_close(params(loaded), params(stock), exact=True)
    saved, restored = stock.policy.optimizer.state_dict(), loaded.policy.optimizer.state_dict()
    for key in saved["state"]:
        for name in ("exp_avg", "exp_avg_sq", "step"):
            assert th.equal(restored["state"][key][name], saved["state"][key][name])
    assert loaded.policy.optimizer.param_groups[0]["fused"] is True  # fast Adam again after loading
    if fast_cls is FastRecurrentPPO:
        assert isinstance(loaded.rollout_buffer, FastRecurrentRolloutBuffer)
    loaded.learn(N_ENVS * config["n_steps"])  # and it trains
    # options given to load apply (they are not taken from the file)
    plain = fast_cls.load(tmp_path / "stock.zip", env=stock.env, device="cpu", adam="stock")
    assert plain.policy.optimizer.param_groups[0]["fused"] is None


# (d) FastPPO ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fast", [{}, dict(adam="foreach")], ids=["fast", "exact"])
def test_ppo_minibatch_gradients_and_train(flat_rollout: PPO, fast: dict) -> None:
    exact = bool(fast)
    stock, faster = pair(flat_rollout, PPO, FastPPO, dict(FLAT, learning_rate=0.0, n_epochs=1), **fast)
    stock_grads, stock_logs = train_recording(stock)
    fast_grads, fast_logs = train_recording(faster)
    assert len(stock_grads) == len(fast_grads) == N_ENVS * FLAT["n_steps"] // FLAT["batch_size"]
    for expected, actual in zip(stock_grads, fast_grads):
        assert_tensors_close(actual, expected, exact=True)  # no change in the forward/backward maths
    assert_logs_close(fast_logs, stock_logs, exact=True)

    stock, faster = pair(flat_rollout, PPO, FastPPO, FLAT, **fast)
    _, stock_logs = train_recording(stock)
    _, fast_logs = train_recording(faster)
    assert_tensors_close(params(faster), params(stock), exact=exact)
    assert_logs_close(fast_logs, stock_logs, exact=exact)
    assert isinstance(faster.rollout_buffer, FastRolloutBuffer)


def test_ppo_learn_matches_stock() -> None:
    """Collection with the policy call in inference mode draws the same actions as stock's."""
    models, first_actions = [], []
    for cls in (PPO, FastPPO):
        model = cls("MlpPolicy", DummyVecEnv([lambda: gym.make("Hopper-v5")] * N_ENVS), seed=5, device="cpu", **FLAT)
        model.learn(N_ENVS * FLAT["n_steps"])
        first_actions.append(model.rollout_buffer.actions.copy())
        model.learn(N_ENVS * FLAT["n_steps"], reset_num_timesteps=False)
        models.append(model)
    stock, faster = models
    np.testing.assert_array_equal(first_actions[1], first_actions[0])
    np.testing.assert_allclose(faster.rollout_buffer.actions, stock.rollout_buffer.actions, rtol=1e-5, atol=1e-5)
    assert_tensors_close(params(faster), params(stock), exact=False)


class GradientInCallback(BaseCallback):
    """Backpropagates through the policy at every step, as a callback training something might."""

    def _on_step(self) -> bool:
        obs = th.as_tensor(self.locals["new_obs"], dtype=th.float32)
        loss = self.model.policy.extract_features(obs, self.model.policy.features_extractor).square().sum()
        loss = loss + sum(p.square().sum() for p in self.model.policy.parameters())
        loss.backward()
        return True


@pytest.mark.parametrize(("fast_cls", "config"), [(FastPPO, FLAT), (FastRecurrentPPO, RECURRENT)])
def test_inference_mode_stays_inside_the_policy_call(fast_cls: type[BaseAlgorithm], config: dict) -> None:
    model = make(fast_cls, config)
    callback = GradientInCallback()
    callback.init_callback(model)
    assert model.collect_rollouts(model.env, callback, model.rollout_buffer, model.n_steps)
    assert "forward" not in vars(model.policy)  # the stock methods again after collecting
    assert "_process_sequence" not in vars(model.policy)
    assert not th.is_inference_mode_enabled()
    model.train()


# (e) the fused LSTM and sb3-contrib's loop agree ---------------------------------------------------------

class CountingLSTM(nn.LSTM):
    """An nn.LSTM that counts its calls (one: fused; one per time step: sb3-contrib's loop)."""

    calls = 0

    def forward(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        self.calls += 1
        return super().forward(*args, **kwargs)


def test_fast_train_runs_each_lstm_once_per_minibatch(recurrent_rollout: RecurrentPPO) -> None:
    """The speed-up itself: stock steps the LSTMs once per time step in minibatches with episode starts."""
    calls: dict[type, int] = {}
    for cls in (RecurrentPPO, FastRecurrentPPO):
        model = make(cls, RECURRENT)
        copy_state(recurrent_rollout, model)
        calls[cls] = 0

        def count(*_: Any, cls: type = cls) -> None:
            calls[cls] += 1

        model.policy.lstm_actor.register_forward_hook(count)
        np.random.seed(3)
        model.train()
    minibatches = RECURRENT["n_epochs"] * -(-N_ENVS * N_STEPS // RECURRENT["batch_size"])
    assert calls[FastRecurrentPPO] == minibatches
    assert calls[RecurrentPPO] > 2 * minibatches


@pytest.mark.filterwarnings("ignore:Full backward hook")
@pytest.mark.parametrize("case", ["default", "off", "shared"])
def test_the_critic_trains_in_its_own_thread(recurrent_rollout: RecurrentPPO, case: str) -> None:
    """`parallel_critic`: the critic's LSTM runs (forward and backward) in a second thread, the actor's in
    this one; not when switched off or when the critic has no LSTM of its own. The exactness tests above
    (`exact`: equal to stock bit for bit) run with it on."""
    policy_kwargs = dict(RECURRENT["policy_kwargs"], **({"shared_lstm": True, "enable_critic_lstm": False}
                                                         if case == "shared" else {}))
    config = dict(RECURRENT, policy_kwargs=policy_kwargs)
    faster = make(FastRecurrentPPO, config, parallel_critic=case != "off")
    if case == "shared":
        collect(faster)
    else:
        copy_state(recurrent_rollout, faster)
    threads: dict[str, set[int]] = {"actor": set(), "critic": set(), "critic backward": set()}

    def seen(key: str) -> Any:
        return lambda *_: threads[key].add(threading.get_ident())
    faster.policy.lstm_actor.register_forward_hook(seen("actor"))
    critic = faster.policy.lstm_critic or faster.policy.critic or faster.policy.lstm_actor
    critic.register_forward_hook(seen("critic"))
    critic.register_full_backward_hook(seen("critic backward"))
    np.random.seed(3)
    faster.train()
    here = {threading.get_ident()}
    assert threads["actor"] == here
    assert separate_branches(faster.policy) == (case != "shared")
    if case == "default":
        assert threads["critic"] and threads["critic"] == threads["critic backward"] and not threads["critic"] & here
    else:
        assert threads["critic"] == here


def test_recurrent_early_stop_on_target_kl_matches_stock(recurrent_rollout: RecurrentPPO) -> None:
    """A KL stop in the middle of an epoch (the critic thread's gradients of that minibatch are dropped, as
    stock computes none): same parameters and logs, bit for bit, in the exact mode."""
    config = dict(RECURRENT, target_kl=1e-4, learning_rate=3e-3, n_epochs=4)
    stock, faster = pair(recurrent_rollout, RecurrentPPO, FastRecurrentPPO, config, **EXACT)
    stock_grads, stock_logs = train_recording(stock)
    fast_grads, fast_logs = train_recording(faster)
    assert 0 < len(stock_grads) < 4 * -(-N_STEPS * N_ENVS // 16), "the KL stop should cut training short"
    assert len(fast_grads) == len(stock_grads)
    for expected, actual in zip(stock_grads, fast_grads):
        assert_tensors_close(actual, expected, exact=True)
    assert_tensors_close(params(faster), params(stock), exact=True)
    assert_logs_close(fast_logs, stock_logs, exact=True)


@pytest.mark.parametrize("starts_at", [[], [0], [0, 2], "mid"])
def test_fused_lstm_matches_loop(starts_at: list[int] | str) -> None:
    th.manual_seed(0)
    n_seq, length, n_in, hidden = 4, 6, 5, 8
    lstm = CountingLSTM(n_in, hidden)
    features = th.randn(n_seq * length, n_in, requires_grad=True)
    states = (th.randn(1, n_seq, hidden), th.randn(1, n_seq, hidden))
    starts = th.zeros(n_seq, length)
    if starts_at == "mid":
        starts[1, 3] = 1.0  # a start after a sequence's first step: only the loop handles it
    else:
        starts[starts_at, 0] = 1.0

    out_loop, (h_loop, c_loop) = RecurrentActorCriticPolicy._process_sequence(features, states, starts.flatten(), lstm)
    loop_calls, lstm.calls = lstm.calls, 0
    grad_loop = th.autograd.grad(out_loop.square().sum(), [features, *lstm.parameters()])
    out, (h, c) = fused_process_sequence(features, states, starts.flatten(), lstm)
    grad = th.autograd.grad(out.square().sum(), [features, *lstm.parameters()])

    assert loop_calls == (1 if not starts_at else length)
    assert lstm.calls == (length if starts_at == "mid" else 1)
    exact = starts_at == "mid" or not starts_at  # the same calls as stock
    assert_tensors_close([out, h, c, *grad], [out_loop, h_loop, c_loop, *grad_loop], exact=exact)
    if starts_at and starts_at != "mid":  # a start really resets: differs from running on through it
        unreset, _ = lstm(features.reshape(n_seq, length, n_in).swapaxes(0, 1), states)
        assert not th.allclose(unreset.transpose(0, 1).reshape(-1, hidden), out)
