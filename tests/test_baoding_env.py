"""`myorl/Baoding-v1`'s knobs, each measured in the real MyoSuite simulation (a few hundred steps each)."""

from __future__ import annotations

import pickle
from typing import cast

import gymnasium as gym
import numpy as np
import pytest

import myorl.baoding  # noqa: F401  (registers myorl/Baoding-v1)
from myorl.baoding.env import REST_ANGLE, WINNERS_REWARD_WEIGHTS
from myorl.baoding.knobs import CurriculumBaodingEnv

# MyoSuite's default obs: hand_pos (23), ball 1 pos, vel, ball 2 pos, vel, targets, errors, act (39)
HAND = slice(0, 23)
BALL1, BALL2 = slice(23, 26), slice(29, 32)
ACT = slice(-39, None)
DEG = np.pi / 180


def make(**kwargs) -> gym.Env:
    return gym.make("myorl/Baoding-v1", **kwargs)


def core(env: gym.Env) -> CurriculumBaodingEnv:
    return cast(CurriculumBaodingEnv, env.unwrapped)


def target_angle(env: gym.Env) -> float:
    """Ball 1's target angle on its ellipse, from where MyoSuite put the target site (hand-bone frame)."""
    u = core(env)
    x, y = u.model.site_pos[u.target1_sid, :2]
    return float(np.arctan2((y - u.center_pos[1]) / u.y_radius, (x - u.center_pos[0]) / u.x_radius))


def wrapped(angle: float) -> float:
    return float((angle + np.pi) % (2 * np.pi) - np.pi)


def distances(env: gym.Env) -> tuple[float, float]:
    od = core(env).get_obs_dict()
    return float(np.linalg.norm(od["target1_err"])), float(np.linalg.norm(od["target2_err"]))


def rollout(env: gym.Env, seed: int, episodes: int = 2, steps: int = 40) -> list[tuple]:
    """Observations, rewards, terminations and reward-term infos of random-action episodes."""
    actions = np.random.default_rng(seed)
    out: list[tuple] = []
    for episode in range(episodes):
        obs, _ = env.reset(seed=seed if episode == 0 else None)
        out.append((obs,))
        for _ in range(steps):
            obs, reward, terminated, _, info = env.step(actions.uniform(-1, 1, 39).astype(np.float32))
            terms = {k: float(info[k]) for k in ("pos_dist_1", "pos_dist_2", "act_reg", "sparse", "solved")}
            out.append((obs, reward, terminated, terms))
            if terminated:
                break
    return out


@pytest.mark.parametrize("task,base", [("ccw", "P1"), ("hold", "P1"), ("cw", "P1"), ("random", "P1"),
                                       ("random", "P2"), ("cw", "P2")])
def test_defaults_reproduce_plain_myosuite(task, base):
    from myosuite.envs.myo.tasks.challenge.baoding import Task

    base_id = f"myoChallengeBaoding{base}-v1"
    plain = gym.make(base_id, task_choice="random" if task == "random" else "fixed")
    if task in ("hold", "cw"):  # what myorl did before the knobs: set MyoSuite's task before the reset
        plain.unwrapped.which_task = {"hold": Task.HOLD, "cw": Task.BAODING_CW}[task]
    ours, theirs = rollout(make(task=task, base_id=base_id), seed=5), rollout(plain, seed=5)
    assert len(ours) == len(theirs) > 20
    for a, b in zip(ours, theirs, strict=True):
        assert np.array_equal(a[0], b[0])  # bit for bit
        assert a[1:] == b[1:]


def test_rsi_starts_both_balls_on_their_targets_and_the_goal_runs_on_from_there():
    env = make(task="ccw", rsi=1.0, goal_time_period=[5, 5])
    u = core(env)
    for episode in range(4):
        obs, _ = env.reset(seed=11 if episode == 0 else None)
        assert max(distances(env)) < u.proximity_th  # z differs by < 1 cm; x-y coincide
        assert np.array_equal(obs, u.get_obs().astype(np.float32))  # the first obs is the state after RSI
        assert u.counter == 0 and u.data.time == 0.0 and not u.data.act.any()  # no step was taken
        assert wrapped(target_angle(env) - REST_ANGLE - u.rsi_phase) == pytest.approx(0, abs=1e-9)
        zero = np.zeros(39, dtype=np.float32)
        for step in range(3):
            env.step(zero)  # targets move before the physics: after step k they show goal[k - 1]
            expected = REST_ANGLE + u.rsi_phase + u.goal[step, 0]
            assert wrapped(target_angle(env) - expected) == pytest.approx(0, abs=1e-9)
        assert u.goal[2, 0] == pytest.approx(2 * 2 * np.pi * u.dt / 5)

    plain = make(task="ccw")
    plain.reset(seed=11)
    assert min(distances(plain)) > u.proximity_th and core(plain).rsi_phase is None  # 2.5 and 3.7 cm


def test_rsi_phase_is_reproducible_for_a_seed_and_differs_between_episodes():
    def phases(seed: int, rsi: float, episodes: int = 12) -> list[float | None]:
        env = make(task="hold", rsi=rsi)
        found = []
        for episode in range(episodes):
            env.reset(seed=seed if episode == 0 else None)
            found.append(core(env).rsi_phase)
            if found[-1] is None:  # MyoSuite's own start, whatever the episode before did
                assert target_angle(env) == pytest.approx(np.pi / 4) and max(distances(env)) > 0.02
        return found

    first = phases(3, 1.0)
    assert first == phases(3, 1.0) and first != phases(4, 1.0)
    assert len(set(first)) == len(first) and all(-np.pi <= p < np.pi for p in first)
    half = phases(3, 0.5, episodes=40)
    assert 5 < sum(p is None for p in half) < 35  # a probability: some episodes with RSI, some without


def test_alive_is_one_per_step_until_a_ball_drops_and_the_episode_ends_there():
    env = make(task="hold", weighted_reward_keys={"alive": 1.0})
    env.reset(seed=0)
    drop_th = core(env).drop_th
    zero = np.zeros(39, dtype=np.float32)
    alive, done, lowest, terminated, truncated = [], [], [], False, False
    while not (terminated or truncated):
        obs, reward, terminated, truncated, info = env.step(zero)
        assert reward == info["alive"]  # the only weighted term
        alive.append(info["alive"])
        done.append(info["done"])
        lowest.append(min(obs[BALL1][2], obs[BALL2][2]))
    assert terminated and not truncated and 10 < len(alive) < 100  # zero action drops a ball after ~36 steps
    assert alive == [1.0] * (len(alive) - 1) + [0.0] and done == [0.0] * (len(done) - 1) + [1.0]
    assert min(lowest[:-1]) >= drop_th > lowest[-1]

    high = make(task="hold", drop_th=1.47, weighted_reward_keys={"alive": 1.0})  # above both resting balls
    high.reset(seed=0)
    _, reward, terminated, _, info = high.step(zero)
    assert terminated and info["alive"] == reward == 0.0


def test_winners_stage_1_reward_is_the_weighted_sum_of_the_terms():
    # Their stage 1 set no task: MyoSuite 1's default, ccw, held still by a period of 1e100 s.
    env = make(task="ccw", rsi=1.0, goal_time_period=[1e100, 1e100], drop_th=1.3,
               weighted_reward_keys=WINNERS_REWARD_WEIGHTS)
    env.reset(seed=2)
    u = core(env)
    targets = [u.target1_sid, u.target2_sid]
    start = u.model.site_pos[targets].copy()
    rng = np.random.default_rng(2)
    rewards = []
    for _ in range(60):
        _, reward, terminated, _, info = env.step(rng.uniform(-1, 1, 39).astype(np.float32) * 0.2)
        assert reward == pytest.approx(sum(w * info[k] for k, w in WINNERS_REWARD_WEIGHTS.items()), abs=1e-12)
        assert info["dense"] == reward
        rewards.append(reward)
        if terminated:
            break
    assert rewards[0] > 5  # solved at the first step thanks to RSI: 5 + 1 - small distances
    assert terminated and rewards[-1] < 0  # the drop: no alive, no solved
    assert np.array_equal(u.model.site_pos[targets], start)  # still, in the frame of the bone carrying them


def _initial_hand_offsets(episodes: int = 30, **kwargs) -> np.ndarray:
    env = make(task="hold", **kwargs)
    base = make(task="hold").reset(seed=0)[0][HAND]
    offsets = [env.reset(seed=1 if e == 0 else None)[0][HAND] - base for e in range(episodes)]
    return np.array(offsets)


def test_noise_palm_turns_the_wrist_within_its_bounds_and_leaves_the_fingers():
    offsets = _initial_hand_offsets(noise_palm=0.5)
    bound = 0.5 * 10 * DEG + 1e-6
    assert (offsets[:, 0] >= -1e-6).all() and (offsets[:, 0] <= bound).all()  # pronation: one way only
    assert (np.abs(offsets[:, 1:3]) <= bound).all()
    assert offsets[:, 0].max() > 0.6 * bound and np.abs(offsets[:, 1:3]).max(axis=0).min() > 0.6 * bound
    assert not offsets[:, 3:].any()


def test_noise_fingers_bends_thumb_and_fingers_within_their_bounds_and_leaves_the_wrist():
    offsets = _initial_hand_offsets(noise_fingers=1.0)
    thumb, abduction = offsets[:, 3:7], offsets[:, [8, 12, 16, 20]]
    flexion = offsets[:, [7, 9, 10, 11, 13, 14, 15, 17, 18, 19, 21, 22]]
    assert (np.abs(thumb) <= 10 * DEG + 1e-6).all() and (np.abs(abduction) <= 5 * DEG + 1e-6).all()
    assert (flexion >= -1e-6).all() and (flexion <= 30 * DEG + 1e-6).all()
    assert np.abs(thumb).max() > 8 * DEG and flexion.max() > 25 * DEG and np.abs(abduction).max() > 4 * DEG
    assert len(np.unique(np.round(flexion[0], 6))) > 1  # each joint draws its own offset
    assert not offsets[:, :3].any()


def test_noise_balls_moves_the_balls_within_bounds():
    base = make(task="hold").reset(seed=0)[0]
    env = make(task="hold", noise_balls=0.004)
    moved = []
    for episode in range(20):
        obs = env.reset(seed=1 if episode == 0 else None)[0]
        moved.append(np.concatenate([obs[BALL1] - base[BALL1], obs[BALL2] - base[BALL2]]))
    moved = np.array(moved)
    assert (np.abs(moved) <= 0.004 + 1e-6).all() and np.abs(moved).max(axis=0).min() > 0.002


def test_limit_init_angle_bounds_the_targets_start_and_balls_overlap_puts_them_over_the_balls():
    env = make(task="random", limit_init_angle=0.3)
    found = []
    for episode in range(40):
        env.reset(seed=0 if episode == 0 else None)
        found.append(wrapped(target_angle(env) - REST_ANGLE))
    assert max(np.abs(found)) <= 0.3 + 1e-9 and min(found) < -0.2 and max(found) > 0.2

    free = make(task="random")  # MyoSuite's random task: anywhere on the circle
    spread = [wrapped(target_angle(free) - REST_ANGLE) for _ in range(40) if free.reset()]
    assert max(np.abs(spread)) > 2.0

    overlap = make(task="ccw", balls_overlap=1.0)
    overlap.reset(seed=0)
    assert wrapped(target_angle(overlap) - REST_ANGLE) == pytest.approx(0, abs=1e-9)
    assert max(distances(overlap)) < 0.015  # 1.3 and 1.0 cm, vs 2.5 and 3.7 cm at MyoSuite's own start


def test_lean_info_holds_scalars_only_and_full_info_keeps_myosuites_dicts():
    terms = {"pos_dist_1", "pos_dist_2", "act_reg", "sparse", "solved", "done", "alive", "dense", "effort"}
    for lean in (True, False):
        env = make(task="random", lean_info=lean)
        _, info = env.reset(seed=0)
        assert info["task"] in ("hold", "cw", "ccw")
        obs, reward, _, _, info = env.step(np.full(39, 0.3, dtype=np.float32))
        assert terms <= info.keys() and all(type(info[k]) is float for k in terms)
        assert info["dense"] == reward and info["effort"] == pytest.approx(float(np.mean(obs[ACT])), rel=1e-6)
        assert 0 < info["effort"] < 1
        if lean:
            assert set(info) == terms | {"task"}
        else:
            assert {"obs_dict", "rwd_dict"} <= info.keys() and info["rwd_dict"]["alive"] == info["alive"]


def test_bad_kwargs_raise_and_the_env_pickles_with_its_knobs():
    with pytest.raises(TypeError, match="noise_plam"):
        make(noise_plam=0.5)
    with pytest.raises(ValueError, match="alvie"):
        make(weighted_reward_keys={"alvie": 1.0})
    with pytest.raises(ValueError, match="rsi"):
        make(rsi=1.5)
    env = make(task="cw", rsi=0.25, limit_init_angle=0.5, lean_info=False,
               weighted_reward_keys=WINNERS_REWARD_WEIGHTS)
    copy = pickle.loads(pickle.dumps(core(env)))
    assert (copy.task, copy.rsi, copy.limit_init_angle, copy.lean_info) == ("cw", 0.25, 0.5, False)
    assert copy.rwd_keys_wt == WINNERS_REWARD_WEIGHTS
