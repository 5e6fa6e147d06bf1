"""`python -m myorl.distill teacher.cw=DIR teacher.ccw=DIR [teacher.hold=DIR] [algo=NAME] [key=value ...]`

Distils a teacher into one student network: behaviour cloning on the teacher's own episodes, then DAgger
rounds in which the student acts and the teacher labels every state the student visits; after each round
the student trains on everything labelled so far. The teacher is a super model (`teacher.cw`, `teacher.ccw`,
optional `teacher.hold`, each a run or stage dir or a list of them: an ensemble), or any model or ensemble
(`teacher.policy=DIR` or `teacher.policy=[DIR,DIR]`). The student is the usual `algo` (`algo=NAME` picks a
`conf/algo/` preset, `algo.<key>=...` overrides; default: the algo and network the teacher's (first)
model was trained with). The env is random-direction Baoding for a super model (the cw expert's env with
`task: random`), else the teacher's own; `env.id=` / `env.kwargs.<key>=` change it.

The result is a normal run dir (`out=`, default `outputs/distill/<date>_<time>/`): `experiment.yaml` (one
stage, `distill`, on that env), `stages/00_distill/` with `best_model.zip` / `last_model.zip` and their
VecNormalize statistics, `evaluations.npz` (one evaluation per round, against labelled steps) and
`stage.json`, `summary.json`, and `distill.json`: the budget, each round's loss and the student's
disagreement with the teacher, and the teacher's and the student's scores on the same evaluation episodes
(same seed): return, solved fraction and solved fraction per task. `python -m myorl.evaluate run=<out>`
evaluates, records and compares it like any run; a stage handed `stages/00_distill` fine-tunes it with RL.
The run dir appears whole at the end (built in a hidden sibling folder, then renamed): bad input, an error
or Ctrl-C leave nothing behind.

Why not the `imitation` library: its latest release (1.0.1) pins stable-baselines3~=2.2.1 and
gymnasium~=0.29 (pip would downgrade both below what sb3-contrib 2.9 and myosuite 3 need); installed
without its dependencies, its BC trains a PPO policy here, but its DAgger needs HuggingFace `datasets`,
its BC calls `policy.evaluate_actions(obs, acts)`, which RecurrentPPO's policy does not take (it needs LSTM
states and episode starts), and its DAgger expert is a stateless SB3 policy, not a super model with
per-episode state. So this is a small loop of our own:

- a recurrent student learns from whole episodes: each minibatch is a batch of episodes, padded, run
  through the LSTM from a zero state (as `predict` starts every episode), padding masked out of the loss;
- a feed-forward student learns from shuffled steps;
- the loss is the mean squared error between the student's deterministic action (its distribution's mean)
  and the teacher's deterministic action, so `log_std` keeps the algo's `log_std_init` for RL fine-tuning.
  The critic is not trained (there is no value to imitate);
- the student's observation statistics are those of the teacher's own episodes (the BC data), then frozen.
"""

from __future__ import annotations

import math
import os
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException
from sb3_contrib.common.recurrent.policies import RecurrentActorCriticPolicy
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.vec_env import VecEnv, VecNormalize

from myorl import algos, files
from myorl.config import (
    ConvergenceConfig,
    CurriculumConfig,
    EnvConfig,
    EvalConfig,
    HandoverConfig,
    Metric,
    NormalizeConfig,
    PPOConfig,
    RunSettings,
    StageConfig,
    VecEnvKind,
    algo_config,
)
from myorl.convergence import EvalHistory
from myorl.envs import EVAL_SEED_OFFSET, build_eval_env, make_vec_env
from myorl.errors import MyorlError
from myorl.metrics import Evaluation
from myorl.rundir import RunDir, StageDir, StageRecord, model_reference
from myorl.status import Status
from myorl.tools.cli import EnvOverride, keys, parse_key_values, positive, set_threads
from myorl.tools.ensemble import Member, check_fits, load_policy
from myorl.tools.scores import evaluate_by_task, per_task_line

CONF_DIR = Path(__file__).resolve().parents[2] / "conf"
CURRICULUM = STAGE = "distill"
GRAD_CLIP = 1.0  # max gradient norm of each BC step


# --------------------------------------------------------------------------- the command line
@dataclass
class TeacherArgs:
    cw: Any = None  # super model: the clockwise expert (a run or stage dir, or a list: an ensemble)
    ccw: Any = None  # super model: the counter-clockwise expert
    hold: Any = None  # super model, optional: plays hold episodes (else the ccw expert does)
    policy: Any = None  # any other teacher: a run or stage dir (a model) or a list of them (an ensemble)


@dataclass
class BCArgs:
    steps: int = 10_000  # teacher-played steps labelled for behaviour cloning
    epochs: int = 20  # passes over them


@dataclass
class DaggerArgs:
    rounds: int = 3  # rounds in which the student plays and the teacher labels (0: behaviour cloning only)
    steps: int = 5_000  # steps per round
    epochs: int = 10  # passes over everything labelled so far, after each round


@dataclass
class DistillArgs:
    """The command line's keys (`key=value`), besides `algo=NAME` and `algo.<key>=...`."""

    teacher: TeacherArgs = field(default_factory=TeacherArgs)
    model: str = "best"  # which model of each teacher dir: best | last | checkpoint:<timesteps> | checkpoint:latest
    bc: BCArgs = field(default_factory=BCArgs)
    dagger: DaggerArgs = field(default_factory=DaggerArgs)
    batch_size: int = 512  # steps per gradient step (whole episodes for a recurrent student)
    lr: float = 1e-3  # Adam's learning rate for imitation
    episodes: int = 20  # evaluation episodes for the teacher and the student after each round
    n_envs: int = 8  # envs collecting at once (in one process)
    seed: int = 0  # envs, network initialisation, shuffling; evaluations use seed + 10000
    torch_threads: int = 1
    env: EnvOverride = field(default_factory=EnvOverride)  # env.id=..., env.kwargs.<key>=...
    out: str | None = None  # the run dir to write (must not exist yet); default outputs/distill/<date>_<time>


def parse_args(argv: list[str]) -> tuple[DistillArgs, str | None, dict[str, Any]]:
    """(args, algo preset name or None, algo overrides); anything wrong is one MyorlError line."""
    name, overrides, rest = None, [], []
    for arg in argv:
        if arg.startswith("algo="):
            name = arg.split("=", 1)[1]
        elif arg.startswith("algo."):
            overrides.append(arg[len("algo."):])
        else:
            rest.append(arg)
    args = parse_key_values(DistillArgs, rest, "teacher.cw=outputs/baoding_cw/<date_time> teacher.ccw=...")
    positive(args, "bc.steps", "bc.epochs", "dagger.steps", "dagger.epochs", "batch_size", "lr", "episodes",
             "n_envs", "torch_threads")
    if args.dagger.rounds < 0:
        raise MyorlError(f"dagger.rounds must be 0 or more, got {args.dagger.rounds}")
    args.model = model_reference(args.model)
    try:
        algo_overrides = OmegaConf.to_container(OmegaConf.from_cli(overrides))
    except OmegaConfBaseException as exc:
        raise MyorlError(f"algo: {str(exc).splitlines()[0]}") from None
    assert isinstance(algo_overrides, dict)
    return args, name, {str(k): v for k, v in algo_overrides.items()}


def algo_preset(name: str) -> PPOConfig:
    """`conf/algo/<name>.yaml` as Hydra composes it for `python -m myorl.run algo=<name>`."""
    known = sorted(p.stem for p in (CONF_DIR / "algo").glob("*.yaml"))
    if name not in known:
        raise MyorlError(f"unknown algo '{name}'; choose one of: {', '.join(known)} (algo=NAME)")
    from hydra import compose, initialize_config_dir

    from myorl.config import register_configs

    register_configs()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("config", overrides=[f"algo={name}", "tracking=none"])
    return algo_config(OmegaConf.to_container(cfg.algo, resolve=True))


# --------------------------------------------------------------------------- the teacher
@dataclass
class Teacher:
    policy: Any  # SB3's predict: a Member, an Ensemble or a SuperModel
    env: EnvConfig  # the env the student learns on
    algo: PPOConfig  # the (first) model's algo: the student's default
    source: str


def load_teacher(args: TeacherArgs, which: str = "best", env: EnvOverride | None = None) -> Teacher:
    """A super model (cw, ccw, optional hold) or a model / ensemble (`policy`), and the env to distil on."""
    env = env or EnvOverride()
    experts = {name: path for name, path in (("cw", args.cw), ("ccw", args.ccw), ("hold", args.hold)) if path}
    if experts and args.policy:
        raise MyorlError("give either teacher.cw=... teacher.ccw=... (a super model) or teacher.policy=..., not both")
    if experts:
        from myorl.baoding.supermodel import Expert, SuperModel

        if not {"cw", "ccw"} <= experts.keys():
            raise MyorlError("a super model teacher needs both teacher.cw=<run or stage dir> and teacher.ccw=<...>")
        loaded = {name: Expert.load(name, path, which) for name, path in experts.items()}
        played = env.apply(SuperModel.default_env(loaded["cw"]))
        model = SuperModel.build(loaded, played)
        stage = loaded["cw"].policy.stage
        assert stage is not None
        return Teacher(model, played, stage.plan.algo, model.source)
    if not args.policy:
        raise MyorlError("no teacher: give teacher.cw=<run> teacher.ccw=<run> [teacher.hold=<run>] (a super "
                         "model), or teacher.policy=<run> / teacher.policy=[<run>,<run>] (a model or an ensemble)")
    policy = load_policy(args.policy, which)
    assert policy.stage is not None and policy.env is not None
    return Teacher(policy, env.apply(policy.env), policy.stage.plan.algo, policy.source)


# --------------------------------------------------------------------------- data
@dataclass
class Episode:
    """One (part of an) episode: the raw observations the policies saw and the teacher's action at each."""

    obs: np.ndarray  # (T, obs_dim)
    actions: np.ndarray  # (T, action_dim)


def collect(teacher: Any, env: VecEnv, steps: int, student: Any = None, deterministic: bool = True) -> list[Episode]:
    """Play at least `steps` steps (all envs together) and label each with the teacher's action.

    The teacher acts when `student` is None (behaviour cloning), else the student does (DAgger). Both see
    every observation from the episode's start, so their LSTM states (and the super model's decision) are
    current. Episodes still running at the end are kept as they are: a prefix of an episode is a valid
    sequence. `env` is reset first.
    """
    obs: Any = env.reset()
    n = env.num_envs
    starts = np.ones(n, dtype=bool)
    teacher_state: Any = None
    student_state: Any = None
    running: list[tuple[list[np.ndarray], list[np.ndarray]]] = [([], []) for _ in range(n)]
    done_episodes: list[Episode] = []
    for _ in range(math.ceil(steps / n)):
        labels, teacher_state = teacher.predict(obs, teacher_state, starts, deterministic)
        if student is None:
            actions = labels
        else:
            actions, student_state = student.predict(obs, student_state, starts, deterministic)
        for i in range(n):
            running[i][0].append(np.array(obs[i], dtype=np.float32))
            running[i][1].append(np.array(labels[i], dtype=np.float32))
        obs, _, dones, _ = env.step(actions)
        for i in map(int, np.flatnonzero(dones)):
            done_episodes.append(Episode(np.stack(running[i][0]), np.stack(running[i][1])))
            running[i] = ([], [])
        starts = np.asarray(dones, dtype=bool)
    done_episodes += [Episode(np.stack(o), np.stack(a)) for o, a in running if o]
    return done_episodes


def observation_statistics(env: VecEnv, episodes: list[Episode], clip_obs: float = 10.0) -> VecNormalize:
    """VecNormalize statistics of these episodes' observations (what the student will see), frozen."""
    stats = VecNormalize(env, training=False, norm_obs=True, norm_reward=False, clip_obs=clip_obs)
    stats.obs_rms.update(np.concatenate([e.obs for e in episodes]).astype(np.float64))
    return stats


# --------------------------------------------------------------------------- learning
def is_recurrent(model: BaseAlgorithm) -> bool:
    return isinstance(model.policy, RecurrentActorCriticPolicy)


def _mean_actions(policy: Any, obs: torch.Tensor) -> torch.Tensor:
    """The policy's deterministic actions (before clipping) for `obs` of shape (B, T, d): B whole sequences
    from their start for an LSTM policy, any B*T steps for a feed-forward one. Returns (B, T, action_dim)."""
    b, t, d = obs.shape
    flat = obs.reshape(b * t, d)
    if isinstance(policy, RecurrentActorCriticPolicy):
        layers, _, hidden = policy.lstm_hidden_state_shape
        zeros = torch.zeros(layers, b, hidden, device=flat.device)
        # sequences are laid out one after another: sb3-contrib reshapes to (B, T) and runs the LSTM over T
        distribution, _ = policy.get_distribution(flat, (zeros, zeros), torch.zeros(b * t, device=flat.device))
    else:
        distribution = policy.get_distribution(flat)
    return distribution.get_actions(deterministic=True).reshape(b, t, -1)


def _batches(lengths: list[int], batch_size: int, recurrent: bool, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffled minibatches: of episode indices (recurrent, about `batch_size` steps each) or of step indices."""
    if not recurrent:
        order = rng.permutation(sum(lengths))
        return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    batches, current, size = [], [], 0
    for index in rng.permutation(len(lengths)):
        current.append(index)
        size += lengths[index]
        if size >= batch_size:
            batches.append(np.array(current))
            current, size = [], 0
    if current:
        batches.append(np.array(current))
    return batches


def _padded(episodes: list[tuple[np.ndarray, np.ndarray]], index: np.ndarray
            ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Episodes `index` as (B, T, .) tensors, zero-padded at the end, and the (B, T) mask of real steps."""
    chosen = [episodes[int(i)] for i in index]
    longest = max(len(o) for o, _ in chosen)
    obs = np.zeros((len(chosen), longest, chosen[0][0].shape[1]), dtype=np.float32)
    actions = np.zeros((len(chosen), longest, chosen[0][1].shape[1]), dtype=np.float32)
    mask = np.zeros((len(chosen), longest), dtype=np.float32)
    for row, (o, a) in enumerate(chosen):
        obs[row, :len(o)], actions[row, :len(a)], mask[row, :len(o)] = o, a, 1.0
    return torch.from_numpy(obs), torch.from_numpy(actions), torch.from_numpy(mask)


def fit(student: BaseAlgorithm, statistics: VecNormalize | None, episodes: list[Episode], epochs: int,
        batch_size: int, optimizer: torch.optim.Optimizer, rng: np.random.Generator) -> float:
    """Train the student to output the teacher's actions; the mean loss of the last epoch."""
    policy = student.policy
    recurrent = is_recurrent(student)
    data = [(np.asarray(statistics.normalize_obs(e.obs), dtype=np.float32) if statistics is not None else e.obs,
             e.actions) for e in episodes]
    if not recurrent:
        all_obs = torch.from_numpy(np.concatenate([o for o, _ in data]))[:, None]  # (N, 1, d)
        all_actions = torch.from_numpy(np.concatenate([a for _, a in data]))[:, None]
    policy.set_training_mode(True)
    losses: list[float] = []
    try:
        for _ in range(epochs):
            losses = []
            for index in _batches([len(o) for o, _ in data], batch_size, recurrent, rng):
                if recurrent:
                    obs, target, mask = _padded(data, index)
                else:
                    obs, target = all_obs[index], all_actions[index]
                    mask = torch.ones(obs.shape[:2])
                error = ((_mean_actions(policy, obs) - target) ** 2).mean(dim=-1)
                loss = (error * mask).sum() / mask.sum()
                optimizer.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(policy.parameters(), GRAD_CLIP)
                optimizer.step()
                losses.append(loss.item())
    finally:
        policy.set_training_mode(False)
    return float(np.mean(losses)) if losses else float("nan")


def action_error(policy: Any, episodes: list[Episode], deterministic: bool = True) -> float:
    """Mean squared difference between `policy`'s actions and the labels, over every step of `episodes`
    played through the policy's own `predict` (LSTM state from each episode's start)."""
    longest = max(len(e.obs) for e in episodes)
    total, count = 0.0, 0
    state: Any = None
    for t in range(longest):
        obs = np.stack([e.obs[min(t, len(e.obs) - 1)] for e in episodes])
        starts = np.full(len(episodes), t == 0)
        actions, state = policy.predict(obs, state, starts, deterministic)
        for row, episode in enumerate(episodes):
            if t < len(episode.obs):
                total += float(np.mean((actions[row] - episode.actions[t]) ** 2))
                count += 1
    return total / count


class Shadowed:
    """SB3's `predict` of `acting`; `watching` sees the same observations and the squared difference of their
    actions is averaged (the student's disagreement with the teacher on the states the student visits)."""

    def __init__(self, acting: Any, watching: Any):
        self.acting, self.watching = acting, watching
        self.total, self.count = 0.0, 0

    def predict(self, observation: np.ndarray, state: Any = None, episode_start: np.ndarray | None = None,
                deterministic: bool = False) -> tuple[np.ndarray, Any]:
        mine, theirs = state if state is not None else (None, None)
        actions, mine = self.acting.predict(observation, mine, episode_start, deterministic)
        labels, theirs = self.watching.predict(observation, theirs, episode_start, True)
        self.total += float(np.mean((np.asarray(actions) - np.asarray(labels)) ** 2))
        self.count += 1
        return actions, (mine, theirs)

    @property
    def disagreement(self) -> float:
        return self.total / self.count if self.count else float("nan")


# --------------------------------------------------------------------------- the distillation
@dataclass
class Score:
    """One evaluation of the teacher or the student, on the same seeded evaluation env."""

    evaluation: Evaluation
    per_task: dict[str, Any] | None
    disagreement: float | None = None  # the student's, with the teacher, on the states it visited

    def as_json(self) -> dict[str, Any]:
        ev = self.evaluation
        out: dict[str, Any] = {"mean_reward": ev.mean_reward, "std_reward": ev.std_reward,
                               "mean_ep_length": ev.mean_ep_length}
        if ev.solved_fraction is not None:
            out["solved_fraction"] = ev.solved_fraction
        if ev.success_rate is not None:
            out["success_rate"] = ev.success_rate
        if self.per_task is not None:
            out["per_task"] = self.per_task
        if self.disagreement is not None:
            out["disagreement"] = self.disagreement
        out["episode_rewards"], out["episode_lengths"] = list(ev.episode_rewards), list(ev.episode_lengths)
        return out


@dataclass
class Distillation:
    """Teacher -> student on `env`; `run()` writes the run dir `out` and returns its record (distill.json)."""

    teacher: Teacher
    algo: PPOConfig
    out: Path
    config: DistillArgs = field(default_factory=DistillArgs)
    log: Any = print

    def check(self) -> None:
        """Everything that can be wrong before anything is written or trained."""
        cfg = self.config
        if self.out.exists() and (not self.out.is_dir() or any(self.out.iterdir())):
            raise MyorlError(f"'{self.out}' already exists; choose another out=")
        algos.check(self.algo, cfg.n_envs, where="algo")
        if self.algo.name == "ppo" and type(self.teacher.policy).__name__ == "SuperModel":
            self.log("note: a feed-forward (ppo) student sees one observation at a time and cannot tell the "
                     "direction of rotation from it; algo=recurrent_ppo can")

    def run(self) -> dict[str, Any]:
        self.check()
        cfg = self.config
        started = time.monotonic()
        tmp = self.out.parent / f".{self.out.name}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        env = make_vec_env(self.teacher.env, cfg.n_envs, VecEnvKind.dummy, cfg.seed)
        try:
            check_fits(self.teacher.policy, env.observation_space, env.action_space, self.teacher.env, "the teacher")
            student = algos.build_model(self.algo, env, seed=cfg.seed, device="cpu")
            record = self._distil(student, env, RunDir(tmp), started)
            self.out.parent.mkdir(parents=True, exist_ok=True)
            if self.out.is_dir():
                self.out.rmdir()  # an empty dir the user made: replaced whole
            os.rename(tmp, self.out)
            return record
        finally:
            env.close()
            shutil.rmtree(tmp, ignore_errors=True)

    def _score(self, policy: Any, watch: Any = None) -> Score:
        cfg = self.config
        venv = build_eval_env(self.teacher.env, seed=cfg.seed, normalize=NormalizeConfig(), frame_stack=None)
        shadow = Shadowed(policy, watch) if watch is not None else None
        try:
            evaluation, per_task = evaluate_by_task(shadow or policy, venv, cfg.episodes, deterministic=True)
        finally:
            venv.close()
        return Score(evaluation, per_task, shadow.disagreement if shadow else None)

    def _distil(self, student: BaseAlgorithm, env: VecEnv, run_dir: RunDir, started: float) -> dict[str, Any]:
        cfg, teacher = self.config, self.teacher
        rng = np.random.default_rng(cfg.seed)
        torch.manual_seed(cfg.seed)
        self.log(f"teacher: {teacher.source}")
        self.log(f"  env {teacher.env.id} {dict(teacher.env.kwargs)}; {cfg.episodes} evaluation episodes, "
                 f"eval seed {cfg.seed + EVAL_SEED_OFFSET}")
        teacher_score = self._score(teacher.policy)
        metric = Metric.solved_fraction if teacher_score.evaluation.solved_fraction is not None else Metric.mean_reward
        self._show("teacher", teacher_score)
        stage_dir = StageDir(run_dir.path / "stages" / f"00_{STAGE}")
        history, rounds = EvalHistory(), list[dict[str, Any]]()
        best: tuple[float, float] | None = None  # (metric, -disagreement) of the best round
        best_round, data, labelled = 0, [], 0
        optimizer = torch.optim.Adam(student.policy.parameters(), lr=cfg.lr)
        statistics: VecNormalize | None = None
        plan = [("bc", cfg.bc.steps, cfg.bc.epochs)] + [("dagger", cfg.dagger.steps, cfg.dagger.epochs)] * cfg.dagger.rounds
        for number, (kind, steps, epochs) in enumerate(plan):
            t0 = time.monotonic()
            acting = None if kind == "bc" else Member(student, statistics, "student")
            new = collect(teacher.policy, env, steps, student=acting)
            if statistics is None:
                statistics = observation_statistics(env, new)
            data += new
            labelled += sum(len(e.obs) for e in new)
            collected = time.monotonic() - t0
            loss = fit(student, statistics, data, epochs, cfg.batch_size, optimizer, rng)
            trained = time.monotonic() - t0 - collected
            score = self._score(Member(student, statistics, "student"), watch=teacher.policy)
            value = score.evaluation.metric(metric)
            name = "bc" if kind == "bc" else f"dagger {number}/{cfg.dagger.rounds}"
            self.log(f"{name}: {sum(len(e.obs) for e in new):,} steps labelled ({len(new)} episodes; {labelled:,} in "
                     f"all), {epochs} epochs: loss {loss:.4g}; collect {collected:.0f}s, train {trained:.0f}s")
            self._show("  student", score)
            history.add(labelled, value, score.evaluation, time.monotonic() - started)
            history.save(stage_dir.evaluations_file)
            key = (value, -(score.disagreement or 0.0))
            if best is None or key > best:
                best, best_round = key, number
                stage_dir.save_model("best", student, statistics)
            rounds.append({"round": name, "steps": sum(len(e.obs) for e in new), "episodes": len(new),
                           "labelled": labelled, "epochs": epochs, "loss": loss, "collect_seconds": round(collected, 2),
                           "train_seconds": round(trained, 2), "student": score.as_json(), metric.value: value})
        assert statistics is not None and best is not None
        stage_dir.save_model("last", student, statistics)
        wall = time.monotonic() - started
        run_dir.write_config(self._experiment(labelled, metric))
        stage_dir.write_record(StageRecord(name=STAGE, status=Status.budget_exhausted, reason=None, timesteps=labelled,
                                           metric=metric.value, best_metric=best[0],
                                           best_timestep=int(history.timesteps[best_round]),
                                           wall_seconds=round(wall, 2)))
        run_dir.write_summary(CURRICULUM)
        best_score: dict[str, Any] = rounds[best_round]["student"]
        record = {"teacher": {"source": teacher.source, **teacher_score.as_json()},
                  "student": {"algo": self.algo.name, "model": f"best (round {rounds[best_round]['round']})",
                              **best_score},
                  "env": {"id": teacher.env.id, "kwargs": dict(teacher.env.kwargs)},
                  "metric": metric.value, "episodes": cfg.episodes, "seed": cfg.seed, "eval_seed": cfg.seed + EVAL_SEED_OFFSET,
                  "budget": {"bc": asdict(cfg.bc), "dagger": asdict(cfg.dagger), "batch_size": cfg.batch_size,
                             "lr": cfg.lr, "n_envs": cfg.n_envs},
                  "rounds": rounds, "labelled_steps": labelled, "wall_seconds": round(wall, 2)}
        files.write_json(run_dir.distill_file, record)
        self._side_by_side(teacher_score, rounds[best_round], metric)
        return record

    def _experiment(self, labelled: int, metric: Metric) -> dict[str, Any]:
        """experiment.yaml: one stage on the distillation env, the student's algo, observation normalisation."""
        cfg = self.config
        stage = StageConfig(name=STAGE, env=self.teacher.env, max_timesteps=labelled,
                            eval=EvalConfig(freq=min(cfg.bc.steps, labelled), episodes=cfg.episodes, deterministic=True),
                            convergence=ConvergenceConfig(metric=metric))
        settings = RunSettings(seed=cfg.seed, n_envs=cfg.n_envs, torch_threads=cfg.torch_threads, progress=False)
        return {"curriculum": asdict(CurriculumConfig(CURRICULUM, [stage])), "algo": asdict(self.algo),
                "normalize": asdict(NormalizeConfig(obs=True, reward=False)), "handover": asdict(HandoverConfig()),
                "on_stall": "stop", **asdict(settings)}

    def _show(self, who: str, score: Score) -> None:
        from myorl.tools.evaluate import summary_line

        extra = f"   disagreement {score.disagreement:.4g}" if score.disagreement is not None else ""
        self.log(f"{who}: {summary_line(score.evaluation)}{extra}")
        if line := per_task_line(score.per_task):
            self.log(f"{' ' * (len(who) - len(who.lstrip()))}  {line}")

    def _side_by_side(self, teacher: Score, best: dict[str, Any], metric: Metric) -> None:
        student = best["student"]
        tasks = list((teacher.per_task or {}).keys())
        head = f"{'':<9}{metric.value:>16}" + "".join(f"{t:>8}" for t in tasks) + f"{'return':>10}{'length':>8}"
        self.log(f"teacher vs student (best: {best['round']}), {self.config.episodes} episodes, same seeds:")
        self.log(head)
        for who, row in (("teacher", teacher.as_json()), ("student", student)):
            cells = [_cell(row.get(metric.value))]
            cells += [_cell(((row.get("per_task") or {}).get(t) or {}).get("solved_fraction")) for t in tasks]
            self.log(f"{who:<9}{cells[0]:>16}" + "".join(f"{c:>8}" for c in cells[1:])
                     + f"{row['mean_reward']:>10.2f}{row['mean_ep_length']:>8.1f}")


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


# --------------------------------------------------------------------------- entry point
def run(argv: list[str]) -> dict[str, Any]:
    args, name, overrides = parse_args(argv)
    teacher = load_teacher(args.teacher, args.model, args.env)
    algo = algo_config(algo_preset(name) if name else teacher.algo, overrides, where="algo")
    set_threads(args.torch_threads)
    out = Path(args.out) if args.out else Path("outputs", CURRICULUM, time.strftime("%Y-%m-%d_%H-%M-%S"))
    record = Distillation(teacher, algo, out, args).run()
    print(f"wrote {out} (python -m myorl.evaluate run={out})")
    return record


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if any(a in ("-h", "--help") for a in argv):
        print(__doc__.strip())
        print("\nkeys: " + ", ".join(["algo", "algo.<key>", *keys(DistillArgs)]))
        return 0
    try:
        run(argv)
    except MyorlError as err:
        print(f"myorl: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("myorl: interrupted; nothing was written", file=sys.stderr)
        return 130
    return 0

