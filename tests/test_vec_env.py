"""BatchedSubprocVecEnv: DummyVecEnv's results exactly, on real MuJoCo and MyoSuite envs, and clear failures.

Workers start with forkserver (the default), so every factory here is importable: `functools.partial`
of `gymnasium.make`, or a function of `helpers.vec_env_factories` or `helpers.faulty_envs` (pytest puts tests/ on
sys.path, which the workers inherit). Those modules import little: a worker that had to import this one
would import torch and SB3 too (seconds per worker on 2 busy cores).
"""

from __future__ import annotations

import gc
import os
import signal
import textwrap
import time
from functools import partial
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch
from helpers import processes
from helpers.faulty_envs import make_faulty
from helpers.vec_env_factories import LoadsBadly, dict_obs, hanging, recorded, rendering
from stable_baselines3 import PPO
from stable_baselines3.common.running_mean_std import RunningMeanStd
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv, VecNormalize

from myorl.vec_env import BatchedSubprocVecEnv, VecEnvWorkerError, usable_cpus

pytestmark = pytest.mark.timeout(120)  # a hang fails the test instead of the run

BAODING = "myosuite:myoChallengeBaodingP1-v1"


def assert_same(a: Any, b: Any, where: str = "") -> None:
    """Equal values of equal types; arrays equal exactly, with the same dtype."""
    if isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape, where
        assert np.array_equal(a, b), where
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), f"{where}: {a.keys()} != {b.keys()}"
        for key in a:
            assert_same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    else:
        assert type(a) is type(b) and a == b, f"{where}: {a!r} != {b!r}"


def lockstep(ours: VecEnv, dummy: VecEnv, steps: int, seed: int, actions: Any) -> tuple[int, int]:
    """Step both with the same actions, comparing everything; reseed and reset half-way.

    Returns (terminations, truncations) seen, so a test can check the run covered both.
    """
    assert_same(ours.seed(seed), dummy.seed(seed))
    assert_same(ours.reset(), dummy.reset(), "reset")
    assert_same(ours.reset_infos, dummy.reset_infos, "reset_infos")
    terminations = truncations = 0
    for t in range(steps):
        if t == steps // 2:
            ours.seed(seed + 1000)
            dummy.seed(seed + 1000)
            assert_same(ours.reset(), dummy.reset(), f"reset at {t}")
        act = actions(t)
        obs, rewards, dones, infos = ours.step(act)
        obs_d, rewards_d, dones_d, infos_d = dummy.step(act)
        assert_same(obs, obs_d, f"obs at {t}")
        assert_same(rewards, rewards_d, f"rewards at {t}")
        assert_same(dones, dones_d, f"dones at {t}")
        assert_same(infos, infos_d, f"infos at {t}")  # terminal_observation, TimeLimit.truncated included
        assert_same(ours.reset_infos, dummy.reset_infos, f"reset_infos at {t}")
        truncated = sum(bool(i["TimeLimit.truncated"]) for i in infos)
        truncations += truncated
        terminations += int(dones.sum()) - truncated
    return terminations, truncations


def pair(fns: list, **kwargs: Any) -> tuple[BatchedSubprocVecEnv, DummyVecEnv]:
    return BatchedSubprocVecEnv(fns, **kwargs), DummyVecEnv(fns)


def uniform_actions(space: gym.spaces.Box, n_envs: int, seed: int):
    rng = np.random.default_rng(seed)
    return lambda t: rng.uniform(space.low, space.high, (n_envs, *space.shape)).astype(space.dtype)


@pytest.mark.parametrize("n_envs, n_workers", [(5, 2), (3, 3)])
def test_hopper_matches_dummy_over_terminations_and_truncations(n_envs, n_workers):
    fns = [partial(gym.make, "Hopper-v5", max_episode_steps=25) for _ in range(n_envs)]
    ours, dummy = pair(fns, n_workers=n_workers)
    try:
        assert ours.n_workers == n_workers
        terminations, truncations = lockstep(ours, dummy, 120, seed=3,
                                             actions=uniform_actions(ours.action_space, n_envs, 0))
        assert terminations > 0 and truncations > 0, (terminations, truncations)
    finally:
        ours.close()
        dummy.close()


def test_pendulum_with_float64_actions_matches_dummy():
    """Actions of another dtype than the space's go through the pipes unchanged, as DummyVecEnv passes them."""
    fns = [partial(gym.make, "InvertedPendulum-v5", max_episode_steps=12) for _ in range(3)]
    ours, dummy = pair(fns, n_workers=2)
    try:
        rng = np.random.default_rng(1)
        scale = np.array([[3.0], [0.1], [0.1]])  # env 0 falls over, envs 1 and 2 balance until truncated
        terminations, truncations = lockstep(ours, dummy, 80, seed=11,
                                             actions=lambda t: rng.uniform(-1, 1, (3, 1)) * scale)
        assert terminations > 0 and truncations > 0, (terminations, truncations)
    finally:
        ours.close()
        dummy.close()


def test_baoding_matches_dummy():
    fns = [partial(gym.make, BAODING, max_episode_steps=25) for _ in range(3)]
    ours, dummy = pair(fns, n_workers=2)
    try:
        assert ours.observation_space == dummy.observation_space
        rng = np.random.default_rng(2)
        # random actions drop the balls after ~18 steps (terminated), zero actions after ~36 (truncated at 25)
        scale = np.array([[1.0], [1.0], [0.0]], np.float32)
        terminations, truncations = lockstep(ours, dummy, 50, seed=5,
                                             actions=lambda t: rng.uniform(-1, 1, (3, 39)).astype(np.float32) * scale)
        assert terminations > 0 and truncations > 0, (terminations, truncations)
    finally:
        ours.close()
        dummy.close()


def test_discrete_spaces_match_dummy():
    fns = [partial(gym.make, "FrozenLake-v1", max_episode_steps=6) for _ in range(4)]
    ours, dummy = pair(fns, n_workers=2)
    try:
        rng = np.random.default_rng(0)
        terminations, truncations = lockstep(ours, dummy, 60, seed=0, actions=lambda t: rng.integers(0, 4, 4))
        assert terminations > 0 and truncations > 0, (terminations, truncations)
    finally:
        ours.close()
        dummy.close()


def test_attributes_methods_and_options_reach_the_right_env():
    fns = [partial(recorded, "Hopper-v5") for _ in range(5)]
    ours, dummy = pair(fns, n_workers=2)
    try:
        assert [ours.worker_of(i) for i in range(5)] == [0, 0, 0, 1, 1]  # contiguous groups, sizes 3 and 2
        for venv in (ours, dummy):
            venv.seed(7)
            venv.set_options([{"k": i} for i in range(5)])
            venv.reset()
        assert ours.get_attr("last_seed") == [7, 8, 9, 10, 11] == dummy.get_attr("last_seed")
        assert ours.get_attr("last_options") == [{"k": i} for i in range(5)] == dummy.get_attr("last_options")
        assert ours.get_attr("last_seed", [4, 0, 3]) == [11, 7, 10] == dummy.get_attr("last_seed", [4, 0, 3])
        assert ours.get_attr("last_seed", 2) == [9]

        ours.set_attr("tag", "odd", indices=[1, 3])
        assert ours.get_attr("tag", [3, 1]) == ["odd", "odd"]
        assert not ours.has_attr("tag") and ours.has_attr("last_seed")
        assert ours.env_method("scaled", 2.0, indices=[4, 1], factor=3.0) == [6.0, 6.0]
        assert ours.env_method("get_wrapper_attr", "last_seed", indices=[3]) == [10]
        assert ours.env_is_wrapped(gym.wrappers.TimeLimit) == dummy.env_is_wrapped(gym.wrappers.TimeLimit) == [True] * 5
        assert ours.env_is_wrapped(gym.wrappers.ClipAction, indices=[0]) == [False]

        # an exception inside an env keeps its type (so `except AttributeError` works) and names the worker
        with pytest.raises(AttributeError, match="nope") as info:
            ours.get_attr("nope", indices=[4])
        assert "worker 1 (pid" in "\n".join(info.value.__notes__) and "in env 4" in "\n".join(info.value.__notes__)
        ours.step(np.zeros((5, 3), np.float32))  # still usable

        for venv in (ours, dummy):  # options are used once: the next reset passes none
            venv.reset()
        assert ours.get_attr("last_options") == [None] * 5 == dummy.get_attr("last_options")
        assert ours.metadata == dummy.metadata
        with pytest.warns(UserWarning, match="rgb_array"):
            assert ours.get_images() == [None] * 5
    finally:
        ours.close()
        dummy.close()


def test_rgb_images_come_from_the_workers():
    ours = BatchedSubprocVecEnv([rendering] * 3, n_workers=2)
    try:
        ours.reset()
        images = ours.get_images()
        assert [img.shape for img in images] == [(48, 64, 3)] * 3
        assert ours.render().shape == (2 * 48, 2 * 64, 3)  # tiled 2x2
    finally:
        ours.close()


def test_an_env_that_raises_names_worker_env_and_cause():
    fns = [partial(gym.make, "InvertedPendulum-v5")] * 3 + [partial(make_faulty, crash_at=4)]
    ours = BatchedSubprocVecEnv(fns, n_workers=2)
    ours.reset()
    with pytest.raises(VecEnvWorkerError) as info:
        for _ in range(10):
            ours.step(np.zeros((4, 1), np.float32))
    err = info.value
    assert (err.worker, err.env_index, err.env_indices, err.command) == (1, 3, (2, 3), "step")
    assert (err.cause_type, err.cause_message) == ("RuntimeError", "injected crash at step 4")
    assert isinstance(err.__cause__, RuntimeError)
    message = str(err)
    assert "worker 1" in message and "envs 2-3" in message and "in env 3" in message
    assert "RuntimeError: injected crash at step 4" in message and "faulty_envs.py" in message  # the traceback
    with pytest.raises(VecEnvWorkerError, match="unusable after an earlier failure"):
        ours.step(np.zeros((4, 1), np.float32))
    ours.close()
    ours.close()


def test_an_unknown_id_at_construction_says_how_to_fix_it():
    with pytest.raises(VecEnvWorkerError, match=r"(?s)during construction: NameNotFound.*'module:Id'") as info:
        BatchedSubprocVecEnv([partial(gym.make, "myoChallengeBaodingP1-v1")] * 2, n_workers=2)
    assert info.value.env_index in (0, 1)
    assert not _alive(info.value.pid)  # the workers were stopped


def test_a_factory_that_does_not_unpickle_in_the_worker_is_a_construction_error():
    fns = [partial(gym.make, "InvertedPendulum-v5"), partial(gym.make, "InvertedPendulum-v5", bad=LoadsBadly())]
    with pytest.raises(VecEnvWorkerError, match="worker 1 .* raised in env 1 during construction: ImportError"):
        BatchedSubprocVecEnv(fns, n_workers=2)


def test_a_killed_worker_raises_instead_of_hanging():
    fns = [partial(gym.make, "Hopper-v5") for _ in range(4)]
    ours = BatchedSubprocVecEnv(fns, n_workers=2)
    ours.reset()
    ours.step(np.zeros((4, 3), np.float32))
    victim = ours.pids[1]
    assert victim is not None
    os.kill(victim, signal.SIGKILL)
    with pytest.raises(VecEnvWorkerError) as info:
        ours.step(np.zeros((4, 3), np.float32))
    err = info.value
    assert err.worker == 1 and err.pid == victim and err.env_indices == (2, 3) and err.cause_type is None
    assert "died (was killed by SIGKILL) during step" in str(err) and "envs 2-3" in str(err)
    with pytest.raises(VecEnvWorkerError, match="unusable"):
        ours.reset()
    ours.close()
    ours.close()
    assert not _alive(ours.pids[0])


def test_a_worker_killed_while_stepping_raises():
    fns = [partial(gym.make, "InvertedPendulum-v5"), partial(hanging, 2)]  # env 1 sleeps in its 2nd step
    ours = BatchedSubprocVecEnv(fns, n_workers=2)
    ours.reset()
    ours.step(np.zeros((2, 1), np.float32))
    ours.step_async(np.zeros((2, 1), np.float32))
    os.kill(ours.pids[1], signal.SIGKILL)
    with pytest.raises(VecEnvWorkerError, match="worker 1 .*died"):
        ours.step_wait()
    ours.close()


def test_a_hung_worker_times_out_and_close_stops_it():
    fns = [partial(gym.make, "InvertedPendulum-v5"), partial(hanging, 3)]
    ours = BatchedSubprocVecEnv(fns, n_workers=2, timeout=1.0)
    ours.reset()
    with pytest.raises(VecEnvWorkerError, match=r"worker 1 \(pid \d+, env 1\) gave no answer within 1.0 s"):
        for _ in range(5):
            ours.step(np.zeros((2, 1), np.float32))
    ours.close()
    assert not any(_alive(pid) for pid in ours.pids)


def test_close_is_idempotent_and_garbage_collection_frees_workers_and_memory():
    ours = BatchedSubprocVecEnv([partial(gym.make, "InvertedPendulum-v5")] * 3)
    assert ours.n_workers == min(3, usable_cpus())  # the default: one worker per usable core
    ours.reset()
    pids, names = ours.pids, _shm_names(ours)
    assert not os.path.exists(names[0])  # the block's name is unlinked once the workers mapped it
    assert all(os.path.exists(name) for name in names[1:])  # the semaphores' names live with the vec env
    ours.close()
    ours.close()
    assert not any(_alive(pid) for pid in pids)
    assert not any(os.path.exists(name) for name in names)
    with pytest.raises(RuntimeError, match="after close"):
        ours.reset()

    ours = BatchedSubprocVecEnv([partial(gym.make, "InvertedPendulum-v5")] * 2, n_workers=2)
    pids, names = ours.pids, _shm_names(ours)
    del ours
    gc.collect()
    assert not any(_alive(pid) for pid in pids)
    assert not any(os.path.exists(name) for name in names)


def _shm_names(venv: BatchedSubprocVecEnv) -> list[str]:
    """/dev/shm paths of a vec env's shared block and semaphores (private attributes: a leak test).

    Only these names: other processes on a shared machine create and remove their own in /dev/shm.
    """
    block = venv._shared.block
    assert block is not None
    sems = [sem._semlock.name for w in venv._workers for sem in (w.go, w.done)]
    return [f"/dev/shm/{block.name.lstrip('/')}", *(f"/dev/shm/sem.{name.lstrip('/')}" for name in sems)]


def test_workers_exit_when_the_parent_is_killed():
    """Workers block on a semaphore, not on their pipe: they must notice a dead parent themselves."""
    code = textwrap.dedent("""
        import os, signal
        from functools import partial
        import gymnasium as gym
        from myorl.vec_env import BatchedSubprocVecEnv
        venv = BatchedSubprocVecEnv([partial(gym.make, "InvertedPendulum-v5")] * 2, n_workers=2)
        venv.reset()
        print(*venv.pids, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    # The workers inherit stdout: run() returns once they have exited too (else it times out).
    proc = processes.run_code(code, timeout=90)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    pids = [int(pid) for pid in proc.stdout.split()]
    assert len(pids) == 2 and not any(_alive(pid) for pid in pids)


def test_dict_observations_are_refused_clearly():
    with pytest.raises(ValueError, match="Dict.*use SubprocVecEnv"):
        BatchedSubprocVecEnv([dict_obs] * 2, n_workers=2)


@pytest.mark.parametrize("start_method", ["spawn", "fork"])
def test_other_start_methods(start_method):
    fns = [partial(gym.make, "InvertedPendulum-v5", max_episode_steps=10) for _ in range(3)]
    ours, dummy = pair(fns, n_workers=2, start_method=start_method)
    try:
        lockstep(ours, dummy, 30, seed=1, actions=uniform_actions(ours.action_space, 3, 3))
    finally:
        ours.close()
        dummy.close()


def test_ppo_with_vecnormalize_learns_exactly_as_with_dummy():
    """Same seed, same envs: PPO's weights and VecNormalize's statistics come out identical."""

    def train(venv: VecEnv) -> tuple[dict[str, torch.Tensor], np.ndarray]:
        env = VecNormalize(venv)
        model = PPO("MlpPolicy", env, n_steps=64, batch_size=64, n_epochs=2, seed=0, device="cpu",
                    policy_kwargs={"net_arch": [16]})
        model.learn(256)  # one rollout of 4 x 64 steps and one update
        env.close()
        assert isinstance(env.obs_rms, RunningMeanStd)
        return model.policy.state_dict(), env.obs_rms.mean

    fns = [partial(gym.make, "InvertedPendulum-v5") for _ in range(4)]
    weights, mean = train(BatchedSubprocVecEnv(fns, n_workers=2))
    weights_d, mean_d = train(DummyVecEnv(fns))
    assert np.array_equal(mean, mean_d)
    assert weights.keys() == weights_d.keys()
    assert all(torch.equal(weights[k], weights_d[k]) for k in weights)


def _alive(pid: int | None, wait_s: float = 5.0) -> bool:
    """Whether process `pid` still runs after up to `wait_s` (a killed process takes a moment to go)."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        status = Path(f"/proc/{pid}/stat")
        try:
            if status.read_text().split(")")[-1].split()[0] == "Z":  # a zombie: exited, not yet reaped
                return False
        except (FileNotFoundError, ProcessLookupError):
            return False
        time.sleep(0.05)
    return True
