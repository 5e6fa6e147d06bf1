"""`myorl/Baoding-v1`: MyoSuite's Baoding balls with a chosen task and the 2022 winners' curriculum knobs.

`gym.make("myorl/Baoding-v1", **kwargs)` builds MyoSuite 3's `BaodingEnv` (P1 by default, `base_id`
picks another registered Baoding id, e.g. `myoChallengeBaodingP2-v1`, with its ranges and wrappers)
through the subclass `myorl.baoding.knobs.CurriculumBaodingEnv`. With no knob set an episode is
MyoSuite's own: the same observations and rewards for the same seed and actions. Knobs (defaults in
brackets); the winners are Chiappa et al.'s MyoChallenge 2022 solution (github amathislab/myochallenge,
`src/envs/baoding.py`, `CustomBaodingEnv` / `CustomBaodingP2Env`, and the stages' `config.json`):

- `task` [`ccw`]: `hold`, `ccw`, `cw` or `random`. MyoSuite only knows "fixed" (always ccw) and
  "random" (hold, cw or ccw drawn per episode); myorl adds hold and cw. Every info has `task`.
- `rsi` [0]: probability of reference state initialisation (the winners' `enable_rsi` and
  `rsi_probability` in one number). Such an episode draws a phase uniform in [-pi, pi), starts the
  targets that far along their cycle (ball 1's target at `REST_ANGLE` + phase; the goal trajectory
  runs on from there) and moves both balls (x-y; z unchanged) under their targets before the first
  observation. The winners took a zero-action step first because MyoSuite 1 placed the targets only in
  `step()`; MyoSuite 3 places them at reset, so no step is taken here: the episode starts at time 0,
  step 0, with no muscle activation, and the first observation shows the balls on their targets.
  The targets are placed for the hand's (possibly noisy, see below) initial pose. The episode's phase
  is `env.unwrapped.rsi_phase` (None without RSI).
- `balls_overlap` [0]: probability that an episode (without RSI) starts its targets right over the
  balls, i.e. ball 1's target at `REST_ANGLE` = 3pi/4 (the winners' `overlap_probability`; 0.9 in their
  stage 15). Their boolean `balls_overlap` (RSI episodes whose targets then jump to a random angle) was
  never used with RSI in their stages and is not reproduced.
- `limit_init_angle` [None]: otherwise ball 1's target starts at `REST_ANGLE` + uniform(-limit, +limit)
  radians (the winners' stages 16-21 and 28+ widened it 0.05pi -> pi; pi is a uniform start). None keeps
  MyoSuite's start: pi/4 for hold/ccw/cw, uniform over the circle for random. 3pi/4 is where the
  targets overlap the balls in MyoSuite 3's model (1.3 and 1.0 cm away at reset; 2.5 and 3.7 cm at pi/4).
- `noise_palm` [0, at most 1]: initial wrist pose offsets, uniform, times the magnitude: pronation
  0..+10 deg away from palm-up, deviation and flexion +-10 deg (the winners' `noise_palm`).
- `noise_fingers` [0, at most 1]: thumb joints +-10 deg, finger flexion joints 0..30 deg (bent),
  finger abduction +-5 deg, times the magnitude (the winners' `noise_fingers`, P1 version). Each joint
  draws its own offset (the winners' code drew one value per group and gave it to every joint of it).
- `noise_balls` [0, metres]: uniform +-noise_balls added to each ball's x, y and z (the winners'
  `noise_balls`, never used in their stages). A downward z offset puts the ball into the palm.
- `drop_th` [MyoSuite's 1.25]: a ball below this height (m) has dropped: the episode ends (the winners
  used 1.3).
- `weighted_reward_keys` [MyoSuite's `{pos_dist_1: 5, pos_dist_2: 5}`]: reward = sum of weight x term.
  Terms: MyoSuite's `pos_dist_1`, `pos_dist_2` (minus the ball-target distances, m), `act_reg` (minus
  ||activation|| / 39), `sparse` (minus both distances), `solved` (both within `proximity_th`, no drop),
  `done` (a drop), and `alive` (1.0 while both balls are at or above `drop_th`, 0.0 at the step of the
  drop). The winners' weights: `WINNERS_REWARD_WEIGHTS`. An unknown key raises at construction.
- `lean_info` [True]: step infos hold only scalars: each reward term as a float (`pos_dist_1`,
  `pos_dist_2`, `act_reg`, `sparse`, `solved`, `done`, `alive`, `dense` = the reward), `effort` (the
  mean muscle activation after the step) and `task`. False adds MyoSuite's `obs_dict` and `rwd_dict`
  (dicts of arrays that cost pickling time when infos cross SubprocVecEnv pipes).

Every draw comes from the env's seeded `np_random`, after MyoSuite's own, and only when its knob is on:
a seeded env is reproducible, and a knob left off changes no other draw. MyoSuite's other kwargs
(`goal_time_period`, `goal_xrange`, `obj_mass_range`, `proximity_th`, ...) pass through; an unknown
kwarg raises (MyoSuite would silently ignore it). `python -m myorl.baoding.measure` measures steps to a
drop under the winners' stage-1 settings and the cost of full infos.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import gymnasium as gym
import numpy as np

TASKS = ("hold", "ccw", "cw", "random")
# Ball 1's target angle at which both targets lie over the balls as the hand model places them (ball 2's is
# this minus pi). Measured at reset: targets 1.3 and 1.0 cm from the balls; at MyoSuite 3's fixed start
# (pi/4) they are 2.5 and 3.7 cm away. The winners' MyoSuite 1 env started its P1 targets here too.
REST_ANGLE = 3.0 * np.pi / 4.0
WINNERS_REWARD_WEIGHTS = {"pos_dist_1": 1.0, "pos_dist_2": 1.0, "alive": 1.0, "solved": 5.0, "act_reg": 0.0,
                          "done": 0.0, "sparse": 0.0}
_MYOSUITE_BAODING = "myosuite.envs.myo.tasks.challenge.baoding:BaodingEnv"
_ENTRY_POINT = "myorl.baoding.knobs:CurriculumBaodingEnv"


def make_baoding(task: str = "ccw", base_id: str = "myoChallengeBaodingP1-v1", **kwargs: Any) -> gym.Env:
    """MyoSuite's `base_id` env (its kwargs, wrappers and time limit) built with the knobs' subclass."""
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got '{task}'")
    import myosuite  # noqa: F401  (registers the MyoSuite ids)

    spec = gym.spec(base_id)
    if spec.entry_point != _MYOSUITE_BAODING:
        raise ValueError(f"base_id '{base_id}' is no MyoSuite Baoding env (entry point {spec.entry_point})")
    # `task` decides (P2 registers task_choice="random").
    own = {k: v for k, v in (spec.kwargs or {}).items() if k != "task_choice"}
    return gym.make(dataclasses.replace(spec, entry_point=_ENTRY_POINT, kwargs=own), task=task, **kwargs)

