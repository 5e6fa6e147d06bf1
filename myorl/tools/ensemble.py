"""Trained models as policies of raw observations: one stage's model (`Member`) or several averaged (`Ensemble`).

A `Member` is a stage's saved model with the VecNormalize statistics saved with it: it normalises the
raw observations it is given itself, so policies trained with different statistics can play one
un-normalised env side by side (the ensemble, the super model's experts, a distillation's teacher and
student). Normalising here is `VecNormalize.normalize_obs` with the saved statistics, the very operation
the stage's evaluation env applies, so a member plays exactly as its stage's evaluation did.

An `Ensemble` holds several members of the same spaces, each with its own statistics and (RecurrentPPO)
LSTM state; its action is the mean of the members' actions (each deterministic when `deterministic`).
Both have SB3's `predict(observation, state, episode_start, deterministic)`: `evaluate_policy` (and so
`myorl.evaluate`, the video, the super model) drives them like any model, and `episode_start` resets each
member's LSTM state at an episode's start, as it does a RecurrentPPO's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from gymnasium import spaces
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.vec_env import VecNormalize

from myorl.config import EnvConfig
from myorl.errors import MyorlError
from myorl.rundir import Stage, open_stage


@dataclass
class Member:
    """One trained model and the normalisation statistics saved with it."""

    model: BaseAlgorithm
    statistics: VecNormalize | None
    source: str  # where it came from, for the record: "<stage dir> (best)"
    env: EnvConfig | None = None  # the env its stage trained on (None when built in memory)
    stage: Stage | None = None

    @classmethod
    def load(cls, path: Path | str, which: str = "best") -> Member:
        """The model `which` (best, last, checkpoint:<timesteps>, checkpoint:latest) of a run dir's last stage or
        of a stage dir."""
        stage = open_stage(path)
        if stage.plan.frame_stack:
            raise MyorlError(f"'{path}' stacks frames (frame_stack={stage.plan.frame_stack}); ensembles, super "
                             "models and distillation take models without frame_stack")
        model, statistics, which = stage.load(which)
        return cls(model, statistics, f"{stage.path} ({which})", stage.plan.env, stage)

    @property
    def observation_space(self) -> spaces.Space:
        return self.model.observation_space

    @property
    def action_space(self) -> spaces.Space:
        return self.model.action_space

    def predict(self, observation: np.ndarray, state: Any = None, episode_start: np.ndarray | None = None,
                deterministic: bool = False) -> tuple[np.ndarray, Any]:
        """SB3's `predict` on raw observations: normalised with this member's statistics first."""
        seen = self.statistics.normalize_obs(observation) if self.statistics is not None else observation
        return self.model.predict(seen, state=state, episode_start=episode_start, deterministic=deterministic)


class Ensemble:
    """Members of the same spaces whose (deterministic) actions are averaged; see the module docstring."""

    def __init__(self, members: Sequence[Member]):
        if not members:
            raise MyorlError("an ensemble needs at least one member")
        self.members = list(members)
        first = self.members[0]
        if not isinstance(first.action_space, spaces.Box):
            raise MyorlError(f"an ensemble averages actions: it needs continuous (Box) actions, and "
                             f"{first.source} acts in {first.action_space}")
        for member in self.members[1:]:
            for what in ("observation_space", "action_space"):
                mine, theirs = getattr(first, what), getattr(member, what)
                if mine.shape != theirs.shape:
                    raise MyorlError(f"ensemble members differ in {what.split('_')[0]} shape: {first.source} "
                                     f"{mine.shape}, {member.source} {theirs.shape}; members need the same spaces")
        self.observation_space = first.observation_space
        self.action_space = first.action_space

    @classmethod
    def load(cls, paths: Sequence[Path | str], which: str = "best") -> Ensemble:
        return cls([Member.load(path, which) for path in paths])

    @property
    def source(self) -> str:
        return f"ensemble of {len(self.members)}: " + ", ".join(m.source for m in self.members)

    @property
    def env(self) -> EnvConfig | None:
        """The first member's training env: what the ensemble plays unless told otherwise."""
        return self.members[0].env

    @property
    def stage(self) -> Stage | None:
        """The first member's stage (its eval settings and seed are the ensemble's defaults)."""
        return self.members[0].stage

    def predict(self, observation: np.ndarray, state: list[Any] | None = None,
                episode_start: np.ndarray | None = None, deterministic: bool = False) -> tuple[np.ndarray, list[Any]]:
        """SB3's signature; `state` holds each member's own state (LSTM states for RecurrentPPO, else None)."""
        states = state if state is not None else [None] * len(self.members)
        actions, new_states = [], []
        for member, member_state in zip(self.members, states):
            action, new_state = member.predict(observation, member_state, episode_start, deterministic)
            actions.append(action)
            new_states.append(new_state)
        return np.mean(actions, axis=0).astype(actions[0].dtype, copy=False), new_states


Policy = Member | Ensemble


def load_policy(source: Any, which: str = "best") -> Policy:
    """A run or stage dir as a `Member`, a list of them as an `Ensemble` (a one-element list too)."""
    if isinstance(source, (str, Path)):
        return Member.load(source, which)
    if isinstance(source, Sequence) and all(isinstance(s, (str, Path)) for s in source):
        return Ensemble.load(list(source), which)
    raise MyorlError(f"expected a run or stage dir, or a list of them [dir1,dir2] (an ensemble); got {source!r}")


def check_fits(policy: Any, observation: spaces.Space, action: spaces.Space, env: EnvConfig, what: str) -> None:
    """One line when `policy` cannot play `env` (other observation or action shapes)."""
    for name, mine, theirs in (("observes", policy.observation_space, observation),
                               ("acts in", policy.action_space, action)):
        if mine.shape != theirs.shape:
            raise MyorlError(f"{what} {name} shape {mine.shape}, env '{env.id}' {dict(env.kwargs)} has {theirs.shape}; "
                             "evaluate on an env of the same spaces")
