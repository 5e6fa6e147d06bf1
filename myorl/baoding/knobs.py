"""MyoSuite 3's `BaodingEnv` with the 2022 winners' curriculum knobs (see `myorl.baoding.env` for each one).

A subclass, not a copy: MyoSuite still builds the model, draws the task, steps and computes its reward
terms. This class adds, per episode, the starting-angle, RSI and initial-pose draws (after MyoSuite's own
draws, so with every knob off the episode is MyoSuite's, draw for draw), an `alive` reward term, and
lean, scalar step infos. Imported only when a `myorl/Baoding-v1` env is made (it imports MyoSuite).
"""

from __future__ import annotations

import collections
import inspect
from collections.abc import Mapping
from typing import Any

import mujoco
import numpy as np
from gymnasium.utils import EzPickle
from myosuite.envs.myo.tasks.challenge.baoding import BaodingEnv, Task

from myorl.baoding.env import REST_ANGLE

TASK_OF = {"hold": Task.HOLD, "ccw": Task.BAODING_CCW, "cw": Task.BAODING_CW}
NAME_OF = {task: name for name, task in TASK_OF.items()}

DEG = np.pi / 180.0
# Initial-pose noise at magnitude 1, per joint: (low, high) offset in rad from MyoSuite's initial pose
# (hand open, palm up). From the winners' CustomBaodingEnv: palm 10 deg, thumb 10 deg, flexion 30 deg,
# abduction 5 deg. Every range lies inside the joint's limits.
PALM_NOISE: dict[str, tuple[float, float]] = {
    "pro_sup": (0.0, 10 * DEG),  # pronation-supination: away from palm-up only (palm-up is the joint's limit)
    "deviation": (-10 * DEG, 10 * DEG),  # radial-ulnar deviation of the wrist
    "flexion": (-10 * DEG, 10 * DEG),  # wrist flexion-extension
}
FINGER_NOISE: dict[str, tuple[float, float]] = {
    # the thumb's four joints
    **{j: (-10 * DEG, 10 * DEG) for j in ("cmc_abduction", "cmc_flexion", "mp_flexion", "ip_flexion")},
    # the fingers' flexion joints: bent, never over-open
    **{f"{j}{f}_flexion": (0.0, 30 * DEG) for f in (2, 3, 4, 5) for j in ("mcp", "pm", "md")},
    **{f"mcp{f}_abduction": (-5 * DEG, 5 * DEG) for f in (2, 3, 4, 5)},  # sideways spread
}

# MyoSuite's BaodingEnv takes **kwargs and reads only these from it: any other unknown kwarg would be ignored.
_MYOSUITE_ARGS = frozenset(inspect.signature(BaodingEnv.__init__).parameters) - {"self", "kwargs"} | {
    "render_mode", "model_recipe"}


# The collision BVH arrays `refresh_geom_derived_fields` rewrites for a ball whose size changed.
_BVH = ("bvh_aabb", "bvh_child", "bvh_depth", "bvh_nodeid")

_JointNoise = tuple[np.ndarray, np.ndarray, np.ndarray]  # qpos addresses, low and high offsets (rad)


def _probability(name: str, value: float) -> float:
    if not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{name} must lie in [0, 1], got {value}")
    return float(value)


class CurriculumBaodingEnv(BaodingEnv):
    """`BaodingEnv` plus task, RSI, starting-angle and initial-pose knobs, an `alive` term, lean infos."""

    ball_1_starting_angle: float  # MyoSuite's: where the targets' goal trajectory starts (rad)
    ball_2_starting_angle: float

    def __init__(
        self,
        *args: Any,
        task: str = "ccw",
        rsi: float = 0.0,
        noise_palm: float = 0.0,
        noise_fingers: float = 0.0,
        noise_balls: float = 0.0,
        balls_overlap: float = 0.0,
        limit_init_angle: float | None = None,
        lean_info: bool = True,
        **kwargs: Any,
    ) -> None:
        if task not in (*TASK_OF, "random"):
            raise ValueError(f"task must be one of hold, ccw, cw, random; got '{task}'")
        if "task_choice" in kwargs:
            raise TypeError("pass task (hold|ccw|cw|random) instead of MyoSuite's task_choice")
        unknown = sorted(kwargs.keys() - _MYOSUITE_ARGS)
        if unknown:  # MyoSuite would swallow them: a typo in a curriculum would silently change nothing
            raise TypeError(f"unknown Baoding kwargs {unknown}")
        if noise_balls < 0:
            raise ValueError(f"noise_balls must be >= 0 (metres), got {noise_balls}")
        if limit_init_angle is not None and not limit_init_angle >= 0:
            raise ValueError(f"limit_init_angle must be >= 0 (radians) or None, got {limit_init_angle}")
        weights = kwargs.pop("weighted_reward_keys", BaodingEnv.DEFAULT_RWD_KEYS_AND_WEIGHTS)
        super().__init__(*args, task_choice="random" if task == "random" else "fixed", **kwargs)
        self.task = task
        self.rsi = _probability("rsi", rsi)
        self.noise_palm = _probability("noise_palm", noise_palm)
        self.noise_fingers = _probability("noise_fingers", noise_fingers)
        self.noise_balls = float(noise_balls)
        self.balls_overlap = _probability("balls_overlap", balls_overlap)
        self.limit_init_angle = None if limit_init_angle is None else float(limit_init_angle)
        self.lean_info = bool(lean_info)
        self.rsi_phase: float | None = None  # this episode's RSI phase (rad), None without RSI
        # MyoSuite's fixed tasks never redraw the start: restored each episode, as the knobs move it.
        self._myosuite_start = (self.ball_1_starting_angle, self.ball_2_starting_angle)

        self.reward_keys = self._reward_keys()
        self.rwd_keys_wt = {str(k): float(w) for k, w in dict(weights).items()}
        unknown = sorted(self.rwd_keys_wt.keys() - set(self.reward_keys))
        if unknown:
            raise ValueError(f"weighted_reward_keys {unknown} are no Baoding reward terms; "
                             f"use {self.reward_keys}")

        self._palm = self._joint_noise(PALM_NOISE)
        self._fingers = self._joint_noise(FINGER_NOISE)
        self._ball_qpos = [int(self.model.jnt_qposadr[self.model.body_jntadr[b]])
                           for b in (self.object1_bid, self.object2_bid)]
        if self.task != "random":
            self.which_task = TASK_OF[self.task]
        # Pickling rebuilds the env from these (MyoSuite's own record would carry task_choice, not ours).
        EzPickle.__init__(self, *args, task=task, rsi=rsi, noise_palm=noise_palm, noise_fingers=noise_fingers,
                          noise_balls=noise_balls, balls_overlap=balls_overlap,
                          limit_init_angle=limit_init_angle, lean_info=lean_info,
                          weighted_reward_keys=dict(self.rwd_keys_wt), **kwargs)

    # ── setup helpers ────────────────────────────────────────────────────────────────────────────────

    def _reward_keys(self) -> tuple[str, ...]:
        """The terms `weighted_reward_keys` may weigh: MyoSuite's (from a real reward dict) and `alive`."""
        self.rwd_keys_wt = {}
        terms = BaodingEnv.get_reward_dict(self, self.get_obs_dict())
        return (*(k for k in terms if k != "dense"), "alive")

    def _joint_noise(self, table: Mapping[str, tuple[float, float]]) -> _JointNoise:
        """qpos addresses and (low, high) offsets of the named hinge joints."""
        addresses = np.array([self.model.jnt_qposadr[self.model.joint(name).id] for name in table])
        low, high = np.array(list(table.values())).T
        return addresses, low, high

    # ── episode start ────────────────────────────────────────────────────────────────────────────────

    def reset_task(self, np_random: np.random.Generator) -> dict[str, Any]:
        """MyoSuite's draws first (unchanged), then the knobs' draws, each only when its knob is on."""
        if self.task != "random":
            self.which_task = TASK_OF[self.task]
        self.ball_1_starting_angle, self.ball_2_starting_angle = self._myosuite_start
        state = super().reset_task(np_random)
        self.rsi_phase = None
        if self.rsi > 0 and np_random.uniform() < self.rsi:
            self.rsi_phase = float(np_random.uniform(-np.pi, np.pi))
            self._start_targets_at(REST_ANGLE + self.rsi_phase)
        elif self.balls_overlap > 0 and np_random.uniform() < self.balls_overlap:
            self._start_targets_at(REST_ANGLE)
        elif self.limit_init_angle is not None:
            limit = self.limit_init_angle
            self._start_targets_at(REST_ANGLE + np_random.uniform(-limit, limit))
        if self.noise_palm > 0:
            self._perturb(np_random, self._palm, self.noise_palm)
        if self.noise_fingers > 0:
            self._perturb(np_random, self._fingers, self.noise_fingers)
        if self.rsi_phase is not None:
            self._balls_to_targets()
        if self.noise_balls > 0:
            for adr in self._ball_qpos:
                self.data.qpos[adr: adr + 3] += np_random.uniform(-self.noise_balls, self.noise_balls, size=3)
        return state

    def _start_targets_at(self, angle: float) -> None:
        """Ball 1's target starts at `angle` (ball 2's opposite); the goal trajectory is relative to it."""
        self.ball_1_starting_angle = float(angle)
        self.ball_2_starting_angle = float(angle) - np.pi
        self._update_target_sites()

    def _perturb(self, np_random: np.random.Generator, joints: _JointNoise, magnitude: float) -> None:
        addresses, low, high = joints
        self.data.qpos[addresses] += np_random.uniform(low * magnitude, high * magnitude)

    def _balls_to_targets(self) -> None:
        """Move each ball (x-y only) under its target, for the hand pose the episode starts in."""
        mujoco.mj_kinematics(self.model, self.data)
        pairs = ((self.object1_sid, self.target1_sid), (self.object2_sid, self.target2_sid))
        for adr, (ball, target) in zip(self._ball_qpos, pairs, strict=True):
            self.data.qpos[adr: adr + 2] += self.data.site_xpos[target, :2] - self.data.site_xpos[ball, :2]

    def reset(self, seed: int | None = None, options: dict | None = None,
              **kwargs: Any) -> tuple[np.ndarray, dict]:
        obs, info = super().reset(seed=seed, options=options, **kwargs)
        return obs, {**info, "task": NAME_OF[self.which_task]}

    # ── resume ───────────────────────────────────────────────────────────────────────────────────────

    def get_resume_state(self) -> dict[str, Any]:
        """What this episode depends on beyond MuJoCo's data, the generator and the model's small arrays
        (myorl.env_state reads those): MyoSuite's task, goal trajectory, step counter, radii and starting
        angles, the RSI phase, and the balls' collision BVH, which P2's size ranges recompute at each reset."""
        return {
            "which_task": self.which_task.value, "counter": self.counter, "goal": self.goal.copy(),
            "x_radius": self.x_radius, "y_radius": self.y_radius, "rsi_phase": self.rsi_phase,
            "ball_1_starting_angle": self.ball_1_starting_angle, "ball_2_starting_angle": self.ball_2_starting_angle,
            "task_state": dict(self._task_state),
            "bvh": {name: getattr(self.model, name)[nodes].copy() for name in _BVH for nodes in [self._ball_bvh()]},
        }

    def set_resume_state(self, state: dict[str, Any]) -> None:
        """Write back `get_resume_state()`."""
        self.which_task = Task(state["which_task"])
        self.counter, self.goal = state["counter"], state["goal"].copy()
        self.x_radius, self.y_radius, self.rsi_phase = state["x_radius"], state["y_radius"], state["rsi_phase"]
        self.ball_1_starting_angle = state["ball_1_starting_angle"]
        self.ball_2_starting_angle = state["ball_2_starting_angle"]
        self._task_state = dict(state["task_state"])
        nodes = self._ball_bvh()
        for name, values in state["bvh"].items():
            getattr(self.model, name)[nodes] = values

    def _ball_bvh(self) -> np.ndarray:
        """The BVH nodes of both balls."""
        model = self.model
        return np.concatenate([np.arange(model.body_bvhadr[b], model.body_bvhadr[b] + model.body_bvhnum[b])
                               for b in (self.object1_bid, self.object2_bid)])

    # ── reward and info ──────────────────────────────────────────────────────────────────────────────

    def get_reward_dict(self, obs_dict: dict[str, np.ndarray]) -> dict[str, Any]:
        """MyoSuite's terms plus `alive` (1 while no ball is below `drop_th`); `dense` weighs them all."""
        weights = self.rwd_keys_wt
        self.rwd_keys_wt = {}  # MyoSuite's own dense cannot look `alive` up; it is recomputed below
        try:
            terms = super().get_reward_dict(obs_dict)
        finally:
            self.rwd_keys_wt = weights
        terms = collections.OrderedDict(terms)
        terms["alive"] = 0.0 if terms["done"] else 1.0
        # The same expression as MyoSuite's: bit-identical rewards for its own weights.
        terms["dense"] = float(np.sum([wt * terms[key] for key, wt in weights.items()]))
        return terms

    def _finalize_step(self, obs_dict: dict[str, np.ndarray], rwd_dict: dict[str, Any]
                       ) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Info: each reward term as a float, `effort` (mean muscle activation), `task`; no arrays if lean."""
        obs, reward, terminated, truncated, info = super()._finalize_step(obs_dict, rwd_dict)
        scalars: dict[str, Any] = {key: float(value) for key, value in rwd_dict.items()}
        scalars["effort"] = float(np.mean(self.data.act)) if self.model.na else 0.0
        scalars["task"] = NAME_OF[self.which_task]
        return obs, reward, terminated, truncated, scalars if self.lean_info else {**info, **scalars}

