"""The super model: a clockwise and a counter-clockwise Baoding expert behind one SB3-style `predict`.

MyoSuite's random-direction Baoding (`task_choice="random"`) draws hold, clockwise or
counter-clockwise per episode; experts are trained for one direction each. The super model watches
the start of each episode, decides the direction from the target positions, then acts with the
expert for it. `evaluate_policy`, `myorl.evaluate` and the video recorder drive it like any model.

How it decides. The two targets are attached to a hand bone (the trapezium), so in world
coordinates they move with the wrist as much as with the task: over the first steps the hand's own
motion turns the line between them by up to ~0.1 rad a step, three times the task's rotation. The
observation also holds the hand's 23 joint angles, so the super model runs MuJoCo's forward
kinematics on its own instance of the hand model and expresses both targets in the frame of the bone that
carries them; there only the task moves them (exactly: it recovers MyoSuite's own target site
positions to 1e-7 m). The angle of the line from target 2 to target 1 then turns by about
2*pi*dt/period per step (0.028..0.035 rad measured for P1's 5 s period, >= 0.020 for P2; positive is
counter-clockwise) and not at all when holding (<= 2e-6 rad, float32 noise). The target shown after
the first step is still the initial one (MyoSuite moves the targets before each step), so the first
change is visible in the observation after the second step: `DECIDE_AFTER = 2` steps (50 ms of the
10 s episode). |change| < `HOLD_BELOW` rad means hold (rotation periods up to ~150 s still count as
rotating). Right on 1,500 of 1,500 random-direction episodes (P1 and P2, deterministic and stochastic
experts; see the README).

Before the decision (2 steps) it acts with the mean of the experts' actions. Every expert sees
every observation, normalised with its own VecNormalize statistics, so each one's LSTM state is
current when it takes over; all of it resets at each episode start. Hold episodes are played by the
`hold` expert when one is given (e.g. a run's `stages/00_hold`), else by the counter-clockwise one.
Any expert may be an ensemble (a list of run or stage dirs, `myorl.tools.ensemble`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

from myorl.config import EnvConfig, HandoverModel, NormalizeConfig
from myorl.envs import build_eval_env, make_env
from myorl.errors import MyorlError
from myorl.metrics import Evaluation, evaluate
from myorl.tools.ensemble import Policy, load_policy
from myorl.tools.scores import TaskScores

DECIDE_AFTER = 2  # env steps after the reset: the first observation in which the targets have moved
HOLD_BELOW = 1e-3  # rad: a smaller turn of the targets over those steps means "hold"
DIRECTIONS = ("hold", "cw", "ccw")


class PalmFrame:
    """Baoding target positions in the frame of the hand bone that carries them, from an observation."""

    def __init__(self, env: gym.Env):
        import mujoco

        env.reset(seed=0)
        obs, *_ = env.step(np.zeros(env.action_space.shape, dtype=np.float32))
        unwrapped: Any = env.unwrapped
        if not (hasattr(unwrapped, "get_obs_dict") and hasattr(unwrapped, "obs_keys")):
            raise MyorlError(f"the super model needs MyoSuite's Baoding env; '{env.spec.id if env.spec else env}' "
                             "has no obs_dict")
        obs_dict = unwrapped.get_obs_dict()  # the last step's observation by key (step infos may be lean)
        offsets, start = {}, 0
        for key in unwrapped.obs_keys:
            size = int(np.size(obs_dict[key]))
            offsets[key], start = slice(start, start + size), start + size
        missing = {"hand_pos", "target1_pos", "target2_pos"} - offsets.keys()
        if missing or start != np.size(obs):
            raise MyorlError(f"the Baoding observation lacks {sorted(missing)} or has another layout; the "
                             "super model reads hand_pos, target1_pos and target2_pos (MyoSuite's default obs_keys)")
        self.size = start
        self.hand, self.target1, self.target2 = offsets["hand_pos"], offsets["target1_pos"], offsets["target2_pos"]
        self.model = unwrapped.model
        self.data = mujoco.MjData(self.model)
        self.body = int(self.model.site_bodyid[self.model.site("target1_site").id])
        self._kinematics = mujoco.mj_kinematics

    def angle(self, obs: np.ndarray) -> float:
        """Angle (rad) of the line from target 2 to target 1, in the carrying bone's frame."""
        obs = np.asarray(obs, dtype=np.float64)
        self.data.qpos[: self.hand.stop - self.hand.start] = obs[self.hand]
        self._kinematics(self.model, self.data)
        rotation = self.data.xmat[self.body].reshape(3, 3)
        line = rotation.T @ (obs[self.target1] - obs[self.target2])  # the bone's origin cancels out
        return float(np.arctan2(line[1], line[0]))


def decide(turn: float) -> str:
    """The direction of a turn (rad) of the targets over `DECIDE_AFTER` steps."""
    if abs(turn) < HOLD_BELOW:
        return "hold"
    return "ccw" if turn > 0 else "cw"


@dataclass
class Expert:
    """One expert: a trained model with the normalisation statistics saved with it, or an ensemble of such."""

    name: str
    policy: Policy

    @property
    def source(self) -> str:
        return self.policy.source

    @classmethod
    def load(cls, name: str, path: Any, which: str = "best") -> Expert:
        """From a run dir (its last stage) or a stage dir, or a list of them (an ensemble)."""
        try:
            return cls(name, load_policy(path, which))
        except MyorlError as err:
            raise MyorlError(f"the {name} expert: {err}") from None

    def predict(self, obs: np.ndarray, state: Any, episode_start: np.ndarray, deterministic: bool):
        return self.policy.predict(obs, state, episode_start, deterministic)


@dataclass
class SuperState:
    """Per env of the batch: steps into the episode, the first target angle, the choice; experts' states."""

    steps: np.ndarray
    first_angle: np.ndarray
    choice: list[str | None]
    experts: dict[str, Any] = field(default_factory=dict)


class SuperModel:
    """A CW and a CCW expert (and optionally a hold expert) switched per episode; see the module doc."""

    def __init__(self, experts: Mapping[str, Expert], palm: PalmFrame):
        if not {"cw", "ccw"} <= experts.keys():
            raise MyorlError("the super model needs a cw and a ccw expert")
        self.experts = dict(experts)
        self.palm = palm
        for expert in self.experts.values():
            shape = expert.policy.observation_space.shape
            if shape != (palm.size,):
                raise MyorlError(f"the {expert.name} expert ({expert.source}) observes shape {shape}, the Baoding env "
                                 f"{(palm.size,)}: it was not trained on this Baoding env")
        actions = {e.policy.action_space.shape for e in self.experts.values()}
        if len(actions) != 1:
            raise MyorlError(f"the experts' action spaces differ: {sorted(map(str, actions))}")
        self.observation_space = self.experts["cw"].policy.observation_space
        self.action_space = self.experts["cw"].policy.action_space
        self.decisions: list[list[str | None]] = []  # per env of the batch, one entry per episode

    @classmethod
    def load(cls, cw: Any, ccw: Any, hold: Any = None, which: HandoverModel | str = HandoverModel.best,
             env: EnvConfig | None = None) -> SuperModel:
        """Experts from run dirs (their last stage) or stage dirs, or lists of them (ensembles); `which` is
        best, last, checkpoint:<timesteps> or checkpoint:latest. `env` defaults to the cw expert's, random."""
        which = HandoverModel(which).value if isinstance(which, HandoverModel) else which
        experts = {"cw": Expert.load("cw", cw, which), "ccw": Expert.load("ccw", ccw, which)}
        if hold is not None:
            experts["hold"] = Expert.load("hold", hold, which)
        return cls.build(experts, env)

    @classmethod
    def build(cls, experts: Mapping[str, Expert], env: EnvConfig | None = None) -> SuperModel:
        """From loaded experts; `env` (the Baoding env it will play) defaults to the cw expert's, random."""
        if "cw" not in experts:
            raise MyorlError("the super model needs a cw and a ccw expert")
        probe = make_env(env or cls.default_env(experts["cw"]))
        try:
            palm = PalmFrame(probe)
        finally:
            probe.close()
        return cls(experts, palm)

    @staticmethod
    def default_env(cw: Expert) -> EnvConfig:
        """The cw expert's (first member's) training env with random directions."""
        env = cw.policy.env
        if env is None:
            raise MyorlError("the cw expert was not loaded from a run; give the super model its env")
        return random_direction_env(env)

    @property
    def source(self) -> str:
        hold = f", hold {self.experts['hold'].source}" if "hold" in self.experts else ""
        return f"super model: cw {self.experts['cw'].source}, ccw {self.experts['ccw'].source}{hold}"

    def expert_for(self, direction: str) -> str:
        return direction if direction in self.experts else "ccw"

    def predict(self, observation: np.ndarray, state: SuperState | None = None,
                episode_start: np.ndarray | None = None, deterministic: bool = False):
        """SB3's signature: (actions, state). Accepts one observation or a batch (one row per env)."""
        obs = np.asarray(observation)
        single = obs.ndim == 1
        if single:
            obs = obs[None]
        n = len(obs)
        if state is None:
            state = SuperState(np.zeros(n, dtype=int), np.zeros(n), [None] * n)
            starts = np.ones(n, dtype=bool)
        else:
            starts = np.zeros(n, dtype=bool) if episode_start is None else np.asarray(episode_start, dtype=bool)
        while len(self.decisions) < n:
            self.decisions.append([])
        for i in map(int, np.flatnonzero(starts)):
            state.steps[i], state.choice[i] = 0, None
            self.decisions[i].append(None)
        for i in range(n):
            if state.steps[i] == 0:
                state.first_angle[i] = self.palm.angle(obs[i])
            elif state.steps[i] == DECIDE_AFTER and state.choice[i] is None:
                turn = (self.palm.angle(obs[i]) - state.first_angle[i] + np.pi) % (2 * np.pi) - np.pi
                state.choice[i] = self.decisions[i][-1] = decide(turn)
        actions = {}
        for name, expert in self.experts.items():
            actions[name], state.experts[name] = expert.predict(obs, state.experts.get(name), starts, deterministic)
        undecided = np.mean([actions["cw"], actions["ccw"]], axis=0)
        chosen = np.stack([actions[self.expert_for(c)][i] if c else undecided[i] for i, c in enumerate(state.choice)])
        state.steps += 1
        return (chosen[0] if single else chosen), state


def random_direction_env(env: EnvConfig) -> EnvConfig:
    """An expert's Baoding env, with the direction drawn per episode (hold, cw or ccw)."""
    kwargs = dict(env.kwargs)
    if env.id == "myorl/Baoding-v1":
        return EnvConfig("myorl/Baoding-v1", {**kwargs, "task": "random"})
    if "Baoding" in env.id:
        kwargs.pop("task_choice", None)
        return EnvConfig("myorl/Baoding-v1", {**kwargs, "base_id": env.id.split(":")[-1], "task": "random"})
    raise MyorlError(f"the super model's experts must be Baoding experts; this one was trained on '{env.id}'")


@dataclass
class Detection:
    """How often the detected direction was the episode's task."""

    episodes: int
    correct: int
    per_task: dict[str, dict[str, int]]  # task -> {"episodes": n, "correct": k}
    undecided: int  # episodes that ended before DECIDE_AFTER steps

    @property
    def accuracy(self) -> float:
        return self.correct / self.episodes if self.episodes else float("nan")


@dataclass
class SuperEvaluation:
    evaluation: Evaluation
    detection: Detection
    per_task: dict[str, dict[str, Any]] | None = None  # solved fraction and return per task (hold, cw, ccw)


def evaluate_supermodel(model: SuperModel, env: EnvConfig, episodes: int, seed: int,
                        deterministic: bool = True) -> SuperEvaluation:
    """Score, score per task and direction-detection accuracy over `episodes` episodes of `env` (un-normalised)."""
    venv = build_eval_env(env, seed=seed, normalize=NormalizeConfig(), frame_stack=None)
    model.decisions = []
    try:
        spec = venv.get_attr("spec")[0]
        scores = TaskScores(int(getattr(spec, "max_episode_steps", None) or 0))
        evaluation = evaluate(model, venv, episodes, deterministic, callback=scores)
    finally:
        venv.close()
    tasks = [[t or "" for t in env_tasks] for env_tasks in scores.tasks]
    return SuperEvaluation(evaluation, detection(tasks, model.decisions), scores.per_task())


def detection(tasks: list[list[str]], decisions: list[list[str | None]]) -> Detection:
    """Compare each episode's task with the decision taken in it (both per env, in episode order)."""
    per_task = {task: {"episodes": 0, "correct": 0} for task in DIRECTIONS}
    undecided = 0
    for env_tasks, env_decisions in zip(tasks, decisions):
        for task, decided in zip(env_tasks, env_decisions):
            if task not in per_task:
                raise MyorlError("the env does not report each episode's task (info['task']); evaluate the super "
                                 "model on myorl/Baoding-v1")
            per_task[task]["episodes"] += 1
            per_task[task]["correct"] += int(decided == task)
            undecided += int(decided is None)
    total = sum(t["episodes"] for t in per_task.values())
    return Detection(total, sum(t["correct"] for t in per_task.values()), per_task, undecided)
