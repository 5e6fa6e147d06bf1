"""`python -m myorl.evaluate run=DIR [stage=NAME] [model=best|last|checkpoint:N] [episodes=N] [record=true] ...`

Evaluates one stage of a finished run: loads the stage's best (or last) model with the
normalisation statistics saved with it, rebuilds the stage's evaluation env from the run's
`experiment.yaml` (same seed, so the first episodes are those of the stage's evaluations), prints
mean +- std return, success rate / solved fraction where the env reports them (and the solved
fraction per task where the env names each episode's task) and the episode length, and writes
`evaluation.json` into the stage dir. `record=true` also writes `video_<model>.mp4` there (and logs
it to the stage's W&B run when tracking was on).

`model=checkpoint:<timesteps>` (or `checkpoint:latest`) evaluates one of the stage's checkpoints with
the statistics saved with it. `env.id=...` / `env.kwargs.<key>=...` evaluate on another env of the same
spaces (e.g. `env.kwargs.base_id=myoChallengeBaodingP2-v1`); such an evaluation is not the stage's own, so
it goes to `out=` (default `outputs/evaluate/<date>_<time>/`), as any evaluation does when `out=` is given.

`ensemble=[DIR,DIR,...]` evaluates the mean of several models of the same spaces (`myorl.tools.ensemble`)
on the first one's evaluation env; `supermodel.cw=DIR supermodel.ccw=DIR [supermodel.hold=DIR]` (each may
be a list: an ensemble) the CW/CCW super model on random-direction Baoding (`myorl.baoding.supermodel`).
Both write into `out=` (default `outputs/ensemble/...`, `outputs/supermodel/...`).
"""

from __future__ import annotations

import os

os.environ.setdefault("MUJOCO_GL", "egl")  # before anything imports MuJoCo: headless rendering

import sys  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from myorl import files  # noqa: E402
from myorl.config import EnvConfig, HandoverModel, NormalizeConfig  # noqa: E402
from myorl.envs import EVAL_SEED_OFFSET, build_eval_env  # noqa: E402
from myorl.errors import MyorlError  # noqa: E402
from myorl.handover import carry_statistics  # noqa: E402
from myorl.metrics import Evaluation  # noqa: E402
from myorl.rundir import Stage, model_reference, open_stage  # noqa: E402
from myorl.tools.cli import EnvOverride, episodes_text, output_dir, parse_key_values, positive, set_threads  # noqa: E402
from myorl.tools.ensemble import Ensemble, check_fits  # noqa: E402
from myorl.tools.scores import evaluate_by_task, per_task_line  # noqa: E402
from myorl.tools.video import Video, log_to_tracking, write_video  # noqa: E402

SUPERMODEL_EPISODES = 20


@dataclass
class SuperModelArgs:
    cw: Any = None  # the clockwise expert: a run dir (its last stage) or a stage dir, or a list of them (an ensemble)
    ccw: Any = None  # the counter-clockwise expert
    hold: Any = None  # optional: plays hold episodes (else the ccw expert does)


@dataclass
class EvaluateArgs:
    """The command line's keys (`key=value`); a typo'd key fails with OmegaConf's message."""

    run: str | None = None  # a run dir, or one of its stage dirs
    stage: str | None = None  # name, index or dir name (00_hold); default: the last stage trained
    model: str = "best"  # best | last | checkpoint:<timesteps> | checkpoint:latest
    episodes: int | None = None  # default: the stage's eval.episodes (20 for the super model)
    deterministic: bool | None = None  # default: the stage's eval.deterministic (true for ensembles, super models)
    seed: int | None = None  # default: the stage's seed (0 for the super model); the env adds 10000 as in training
    record: bool = False
    video_episodes: int = 3
    out: str | None = None  # where evaluation.json (and video.mp4) go, instead of the stage dir
    env: EnvOverride = field(default_factory=EnvOverride)  # env.id=..., env.kwargs.<key>=...: another env
    ensemble: Any = None  # [run or stage dir, ...]: the mean of these models' actions
    supermodel: SuperModelArgs = field(default_factory=SuperModelArgs)


def parse_args(argv: list[str]) -> EvaluateArgs:
    """`key=value` arguments checked against `EvaluateArgs`; anything wrong is one MyorlError line."""
    args = parse_key_values(EvaluateArgs, argv, "run=outputs/demo/<date_time> episodes=20")
    positive(args, "episodes", "video_episodes")
    args.model = model_reference(args.model)
    return args


def evaluate_stage(stage: Stage, which: HandoverModel | str = HandoverModel.best, episodes: int | None = None,
                   deterministic: bool | None = None, seed: int | None = None,
                   env: EnvConfig | None = None) -> Evaluation:
    """Evaluate a stage's model on the stage's evaluation env (defaults: as during training), or on `env`."""
    return evaluate_stage_by_task(stage, which, episodes, deterministic, seed, env)[0]


def evaluate_stage_by_task(stage: Stage, which: HandoverModel | str = HandoverModel.best,
                           episodes: int | None = None, deterministic: bool | None = None, seed: int | None = None,
                           env: EnvConfig | None = None) -> tuple[Evaluation, dict[str, Any] | None]:
    """`evaluate_stage` and the scores per task (None when the env names no task)."""
    plan = stage.plan
    model, stats, _ = stage.load(which)
    env = env or plan.env
    venv = build_eval_env(env, seed=plan.seed if seed is None else seed, normalize=plan.normalize,
                          frame_stack=plan.frame_stack)
    try:
        check_fits(model, venv.observation_space, venv.action_space, env, f"stage '{stage.name}'")
        if stats is not None:
            carry_statistics(stats, venv)
        return evaluate_by_task(model, venv, episodes or plan.eval.episodes,
                                plan.eval.deterministic if deterministic is None else deterministic)
    finally:
        venv.close()


def video_of_stage(stage: Stage, which: HandoverModel | str = HandoverModel.best, episodes: int = 3,
                   deterministic: bool | None = None, seed: int | None = None, env: EnvConfig | None = None,
                   path: Path | None = None) -> Video:
    """Write `video_<model>.mp4` of the evaluation env's first `episodes` episodes into the stage dir (or `path`)."""
    plan = stage.plan
    model, stats, which = stage.load(which)
    return write_video(model, env or plan.env, path or stage.dir.video(which), episodes=episodes,
                       seed=plan.seed if seed is None else seed,
                       deterministic=plan.eval.deterministic if deterministic is None else deterministic,
                       normalize=plan.normalize, normalize_stats=stats, frame_stack=plan.frame_stack)


def summary_line(evaluation: Evaluation) -> str:
    parts = [f"return {evaluation.mean_reward:.2f} ± {evaluation.std_reward:.2f}"]
    if evaluation.success_rate is not None:
        parts.append(f"success rate {evaluation.success_rate:.1%}")
    if evaluation.solved_fraction is not None:
        parts.append(f"solved fraction {evaluation.solved_fraction:.3f}")
    parts.append(f"episode length {evaluation.mean_ep_length:.1f}")
    if "effort" in evaluation.info:
        parts.append(f"effort {evaluation.info['effort']:.3f}")
    return "   ".join(parts)


def evaluation_fields(evaluation: Evaluation, episodes: int, per_task: dict[str, Any] | None = None) -> dict[str, Any]:
    """evaluation.json's metric fields: those the env reports, the scores per task, plus every episode."""
    out: dict[str, Any] = {"mean_reward": evaluation.mean_reward, "std_reward": evaluation.std_reward,
                           "episodes": episodes, "mean_ep_length": evaluation.mean_ep_length}
    for key in ("success_rate", "solved_fraction"):
        if getattr(evaluation, key) is not None:
            out[key] = getattr(evaluation, key)
    if per_task is not None:
        out["per_task"] = per_task  # task -> episodes, solved_fraction, mean_reward
    out["info"] = evaluation.info  # every numeric info key, averaged over the steps
    out["episode_rewards"], out["episode_lengths"] = list(evaluation.episode_rewards), list(evaluation.episode_lengths)
    return out


def _report(evaluation: Evaluation, per_task: dict[str, Any] | None) -> None:
    print("  " + summary_line(evaluation))
    if line := per_task_line(per_task):
        print("  " + line)


def _env_fields(env: EnvConfig) -> dict[str, Any]:
    return {"id": env.id, "kwargs": dict(env.kwargs)}


def run_stage(args: EvaluateArgs) -> Path:
    assert args.run is not None
    stage = open_stage(args.run, args.stage)
    plan = stage.plan
    episodes = args.episodes or plan.eval.episodes
    deterministic = plan.eval.deterministic if args.deterministic is None else args.deterministic
    seed = plan.seed if args.seed is None else args.seed
    env = args.env.apply(plan.env)
    out = output_dir(args.out, "evaluate") if args.out or args.env.given else None  # not the stage's own env
    set_threads(stage.run.config.torch_threads)
    which = stage.reference(args.model)  # fails early on a missing model or checkpoint
    where = f" on {env.id} {dict(env.kwargs)}" if args.env.given else ""
    print(f"run {stage.run.path}: stage '{stage.name}' ({plan.dirname}), {which} model{where}, "
          f"{episodes_text(episodes)}, {'deterministic' if deterministic else 'stochastic'}, "
          f"eval seed {seed + EVAL_SEED_OFFSET}")
    evaluation, per_task = evaluate_stage_by_task(stage, which, episodes, deterministic, seed, env)
    _report(evaluation, per_task)
    result = {"run": str(stage.run.path), "stage": stage.name, "model": which, "env": _env_fields(env),
              **evaluation_fields(evaluation, episodes, per_task), "deterministic": deterministic, "seed": seed}
    if args.record:
        video = video_of_stage(stage, which, args.video_episodes, deterministic, seed, env,
                               path=out / "video.mp4" if out else None)
        result["video"] = video.path.name
        print(f"  video: {video.path} ({episodes_text(len(video.episode_lengths))}, {video.frames} frames)")
        if out is None and (run_id := log_to_tracking(stage.dir.tracking_file, video.path)) is not None:
            print(f"  video logged to W&B run {run_id}")
    path = files.write_json(out / "evaluation.json" if out else stage.dir.evaluation_file, result)
    print(f"  wrote {path}")
    return path


def run_ensemble(args: EvaluateArgs) -> Path:
    members = [args.ensemble] if isinstance(args.ensemble, str) else args.ensemble
    if args.run or args.stage:
        raise MyorlError("give either run=... or ensemble=[...], not both")
    if not isinstance(members, list) or not members or not all(isinstance(m, str) for m in members):
        raise MyorlError(f"ensemble= takes a list of run or stage dirs, e.g. ensemble=[outputs/a,outputs/b]; "
                         f"got {args.ensemble!r}")
    ensemble = Ensemble.load(members, args.model)
    first = ensemble.stage
    assert first is not None
    plan = first.plan
    env = args.env.apply(plan.env)
    episodes = args.episodes or plan.eval.episodes
    deterministic = True if args.deterministic is None else args.deterministic
    seed = plan.seed if args.seed is None else args.seed
    set_threads(first.run.config.torch_threads)
    out = output_dir(args.out, "ensemble")
    print(f"{ensemble.source}; {env.id} {dict(env.kwargs)}, {episodes_text(episodes)}, "
          f"{'deterministic' if deterministic else 'stochastic'}, eval seed {seed + EVAL_SEED_OFFSET}")
    venv = build_eval_env(env, seed=seed, normalize=NormalizeConfig(), frame_stack=None)  # members normalise
    try:
        check_fits(ensemble, venv.observation_space, venv.action_space, env, "the ensemble")
        evaluation, per_task = evaluate_by_task(ensemble, venv, episodes, deterministic)
    finally:
        venv.close()
    _report(evaluation, per_task)
    result: dict[str, Any] = {"ensemble": [m.source for m in ensemble.members], "model": args.model,
                              "env": _env_fields(env), **evaluation_fields(evaluation, episodes, per_task),
                              "deterministic": deterministic, "seed": seed}
    if args.record:
        result["video"] = _record(ensemble, env, out, args.video_episodes, seed, deterministic)
    path = files.write_json(out / "evaluation.json", result)
    print(f"  wrote {path}")
    return path


def _record(policy: Any, env: EnvConfig, out: Path, episodes: int, seed: int, deterministic: bool) -> str:
    video = write_video(policy, env, out / "video.mp4", episodes=episodes, seed=seed, deterministic=deterministic)
    print(f"  video: {video.path} ({episodes_text(len(video.episode_lengths))}, {video.frames} frames)")
    return video.path.name


def run_supermodel(args: EvaluateArgs) -> Path:
    from myorl.baoding.supermodel import DECIDE_AFTER, Expert, SuperModel, evaluate_supermodel

    experts = args.supermodel
    if args.run or args.stage or args.ensemble:
        raise MyorlError("give either run=..., ensemble=[...] or supermodel.cw=... supermodel.ccw=..., not several")
    if not (experts.cw and experts.ccw):
        raise MyorlError("the super model needs both supermodel.cw=<run or stage dir> and supermodel.ccw=<...>")
    episodes = args.episodes or SUPERMODEL_EPISODES
    deterministic = True if args.deterministic is None else args.deterministic
    seed = 0 if args.seed is None else args.seed
    loaded = {name: Expert.load(name, path, args.model)
              for name, path in (("cw", experts.cw), ("ccw", experts.ccw), ("hold", experts.hold)) if path}
    if (stage := loaded["cw"].policy.stage) is not None:
        set_threads(stage.run.config.torch_threads)
    env = args.env.apply(SuperModel.default_env(loaded["cw"]))
    model = SuperModel.build(loaded, env)
    out = output_dir(args.out, "supermodel")
    print(f"{model.source}" + ("" if "hold" in model.experts else ", hold episodes -> ccw")
          + f"; {env.id} {dict(env.kwargs)}, {episodes_text(episodes)}")
    result = evaluate_supermodel(model, env, episodes, seed, deterministic)
    found = result.detection
    _report(result.evaluation, result.per_task)
    per_task = ", ".join(f"{task} {t['correct']}/{t['episodes']}" for task, t in found.per_task.items() if t["episodes"])
    print(f"  direction detected after {DECIDE_AFTER} steps: {found.accuracy:.1%} right ({per_task})")
    fields = {"supermodel": {name: e.source for name, e in model.experts.items()},
              "env": _env_fields(env), "model": args.model,
              **evaluation_fields(result.evaluation, episodes, result.per_task),
              "deterministic": deterministic, "seed": seed,
              "detection": {"accuracy": found.accuracy, "decided_after_steps": DECIDE_AFTER,
                            "per_task": found.per_task, "undecided": found.undecided}}
    if args.record:
        fields["video"] = _record(model, env, out, args.video_episodes, seed, deterministic)
    path = files.write_json(out / "evaluation.json", fields)
    print(f"  wrote {path}")
    return path


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if any(a in ("-h", "--help") for a in argv):
        print(__doc__.strip())
        return 0
    try:
        args = parse_args(argv)
        if args.supermodel.cw or args.supermodel.ccw or args.supermodel.hold:
            run_supermodel(args)
        elif args.ensemble is not None:
            run_ensemble(args)
        elif args.run:
            run_stage(args)
        else:
            raise MyorlError("nothing to evaluate: give run=<run dir> (e.g. outputs/demo/<date_time>), "
                             "ensemble=[<run>,<run>] or supermodel.cw=<run> supermodel.ccw=<run>")
    except MyorlError as err:
        print(f"myorl: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
