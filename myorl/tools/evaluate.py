"""`python -m myorl.evaluate run=DIR [stage=NAME] [model=best|last] [episodes=N] [record=true] ...`

Evaluates one stage of a finished run: loads the stage's best (or last) model with the
normalisation statistics saved with it, rebuilds the stage's evaluation env from the run's
`experiment.yaml` (same seed, so the first episodes are those of the stage's evaluations), prints
mean +- std return, success rate / solved fraction where the env reports them and the episode
length, and writes `evaluation.json` into the stage dir. `record=true` also writes
`video_<model>.mp4` there (and logs it to the stage's W&B run when tracking was on).

`supermodel.cw=DIR supermodel.ccw=DIR [supermodel.hold=DIR]` evaluates the CW/CCW super model on
random-direction Baoding instead (see `myorl.supermodel`) and writes into `out=` (default
`outputs/supermodel/<date>_<time>/`).
"""

from __future__ import annotations

import os

os.environ.setdefault("MUJOCO_GL", "egl")  # before anything imports MuJoCo: headless rendering

import sys  # noqa: E402
import time  # noqa: E402
from dataclasses import asdict, dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from omegaconf import OmegaConf  # noqa: E402
from omegaconf.errors import ConfigKeyError, OmegaConfBaseException  # noqa: E402

from myorl import files  # noqa: E402
from myorl.config import HandoverModel  # noqa: E402
from myorl.envs import EVAL_SEED_OFFSET, build_eval_env  # noqa: E402
from myorl.errors import MyorlError  # noqa: E402
from myorl.handover import carry_statistics  # noqa: E402
from myorl.metrics import Evaluation, evaluate  # noqa: E402
from myorl.rundir import Stage, open_stage  # noqa: E402
from myorl.tools.video import Video, log_to_tracking, write_video  # noqa: E402

SUPERMODEL_EPISODES = 20


@dataclass
class SuperModelArgs:
    cw: str | None = None  # the clockwise expert: a run dir (its last stage) or a stage dir
    ccw: str | None = None  # the counter-clockwise expert
    hold: str | None = None  # optional: plays hold episodes (else the ccw expert does)


@dataclass
class EvaluateArgs:
    """The command line's keys (`key=value`); a typo'd key fails with OmegaConf's message."""

    run: str | None = None  # a run dir, or one of its stage dirs
    stage: str | None = None  # name, index or dir name (00_hold); default: the last stage trained
    model: HandoverModel = HandoverModel.best
    episodes: int | None = None  # default: the stage's eval.episodes (20 for the super model)
    deterministic: bool | None = None  # default: the stage's eval.deterministic (true for the super model)
    seed: int | None = None  # default: the stage's seed (0 for the super model); the env adds 10000 as in training
    record: bool = False
    video_episodes: int = 3
    out: str | None = None  # the super model's output dir
    supermodel: SuperModelArgs = field(default_factory=SuperModelArgs)


def parse_args(argv: list[str]) -> EvaluateArgs:
    """`key=value` arguments checked against `EvaluateArgs`; anything wrong is one MyorlError line."""
    loose = [a for a in argv if "=" not in a]
    if loose:
        raise MyorlError(f"arguments are key=value (e.g. run=outputs/demo/<date_time> episodes=20); got {loose[0]!r}")
    try:
        merged = OmegaConf.merge(OmegaConf.structured(EvaluateArgs), OmegaConf.from_cli(argv))
        args = OmegaConf.to_object(merged)
    except OmegaConfBaseException as exc:
        where = f" ({exc.full_key})" if getattr(exc, "full_key", None) else ""
        keys = f"; valid keys: {', '.join(_keys(EvaluateArgs))}" if isinstance(exc, ConfigKeyError) else ""
        raise MyorlError(f"{str(exc).splitlines()[0]}{where}{keys}") from None
    assert isinstance(args, EvaluateArgs)
    for key in ("episodes", "video_episodes"):
        if getattr(args, key) is not None and getattr(args, key) <= 0:
            raise MyorlError(f"{key} must be positive, got {getattr(args, key)}")
    return args


def _keys(schema: type) -> list[str]:
    keys: list[str] = []
    for name, value in asdict(schema()).items():
        keys += [f"{name}.{k}" for k in value] if isinstance(value, dict) else [name]
    return keys


def evaluate_stage(stage: Stage, which: HandoverModel | str = HandoverModel.best, episodes: int | None = None,
                   deterministic: bool | None = None, seed: int | None = None) -> Evaluation:
    """Evaluate a stage's model on the stage's evaluation env (defaults: as during training)."""
    plan = stage.plan
    model, stats = stage.load_model(which), stage.load_statistics(which)
    env = build_eval_env(plan.env, seed=plan.seed if seed is None else seed, normalize=plan.normalize,
                         frame_stack=plan.frame_stack)
    if stats is not None:
        carry_statistics(stats, env)
    try:
        return evaluate(model, env, episodes or plan.eval.episodes,
                        plan.eval.deterministic if deterministic is None else deterministic)
    finally:
        env.close()


def video_of_stage(stage: Stage, which: HandoverModel | str = HandoverModel.best, episodes: int = 3,
                   deterministic: bool | None = None, seed: int | None = None) -> Video:
    """Write `video_<model>.mp4` of the evaluation env's first `episodes` episodes into the stage dir."""
    plan = stage.plan
    model, stats = stage.load_model(which), stage.load_statistics(which)
    return write_video(model, plan.env, stage.dir.video(which), episodes=episodes,
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


def evaluation_fields(evaluation: Evaluation, episodes: int) -> dict[str, Any]:
    """evaluation.json's metric fields: those the env reports, plus every episode."""
    out: dict[str, Any] = {"mean_reward": evaluation.mean_reward, "std_reward": evaluation.std_reward,
                           "episodes": episodes, "mean_ep_length": evaluation.mean_ep_length}
    for key in ("success_rate", "solved_fraction"):
        if getattr(evaluation, key) is not None:
            out[key] = getattr(evaluation, key)
    out["info"] = evaluation.info  # every numeric info key, averaged over the steps
    out["episode_rewards"], out["episode_lengths"] = list(evaluation.episode_rewards), list(evaluation.episode_lengths)
    return out


def run_stage(args: EvaluateArgs) -> Path:
    assert args.run is not None
    stage = open_stage(args.run, args.stage)
    plan, which = stage.plan, HandoverModel(args.model).value
    episodes = args.episodes or plan.eval.episodes
    deterministic = plan.eval.deterministic if args.deterministic is None else args.deterministic
    seed = plan.seed if args.seed is None else args.seed
    _threads(stage.run.config.torch_threads)
    print(f"run {stage.run.path}: stage '{stage.name}' ({plan.dirname}), {which} model, {_episodes(episodes)}, "
          f"{'deterministic' if deterministic else 'stochastic'}, eval seed {seed + EVAL_SEED_OFFSET}")
    evaluation = evaluate_stage(stage, which, episodes, deterministic, seed)
    print("  " + summary_line(evaluation))
    result = {"run": str(stage.run.path), "stage": stage.name, "model": which,
              **evaluation_fields(evaluation, episodes), "deterministic": deterministic, "seed": seed}
    if args.record:
        video = video_of_stage(stage, which, args.video_episodes, deterministic, seed)
        result["video"] = video.path.name
        print(f"  video: {video.path} ({_episodes(len(video.episode_lengths))}, {video.frames} frames)")
        if (run_id := log_to_tracking(stage.dir.tracking_file, video.path)) is not None:
            print(f"  video logged to W&B run {run_id}")
    path = files.write_json(stage.dir.evaluation_file, result)
    print(f"  wrote {path}")
    return path


def run_supermodel(args: EvaluateArgs) -> Path:
    from myorl.baoding.supermodel import DECIDE_AFTER, SuperModel, evaluate_supermodel, random_direction_env

    experts = args.supermodel
    if args.run or args.stage:
        raise MyorlError("give either run=... or supermodel.cw=... supermodel.ccw=..., not both")
    if not (experts.cw and experts.ccw):
        raise MyorlError("the super model needs both supermodel.cw=<run or stage dir> and supermodel.ccw=<...>")
    episodes = args.episodes or SUPERMODEL_EPISODES
    deterministic = True if args.deterministic is None else args.deterministic
    seed = 0 if args.seed is None else args.seed
    cw_stage = open_stage(experts.cw)
    _threads(cw_stage.run.config.torch_threads)
    env = random_direction_env(cw_stage.plan.env)
    model = SuperModel.load(experts.cw, experts.ccw, experts.hold, which=args.model, env=env)
    out = Path(args.out or Path("outputs", "supermodel", time.strftime("%Y-%m-%d_%H-%M-%S")))
    print(f"super model: cw {model.experts['cw'].source}, ccw {model.experts['ccw'].source}"
          + (f", hold {model.experts['hold'].source}" if "hold" in model.experts else ", hold episodes -> ccw")
          + f"; {env.id} {dict(env.kwargs)}, {_episodes(episodes)}")
    result = evaluate_supermodel(model, env, episodes, seed, deterministic)
    found = result.detection
    print("  " + summary_line(result.evaluation))
    per_task = ", ".join(f"{task} {t['correct']}/{t['episodes']}" for task, t in found.per_task.items() if t["episodes"])
    print(f"  direction detected after {DECIDE_AFTER} steps: {found.accuracy:.1%} right ({per_task})")
    fields = {"supermodel": {name: e.source for name, e in model.experts.items()},
              "env": {"id": env.id, "kwargs": dict(env.kwargs)},
              "model": HandoverModel(args.model).value, **evaluation_fields(result.evaluation, episodes),
              "deterministic": deterministic, "seed": seed,
              "detection": {"accuracy": found.accuracy, "decided_after_steps": DECIDE_AFTER,
                            "per_task": found.per_task, "undecided": found.undecided}}
    if args.record:
        video = write_video(model, env, out / "video.mp4", episodes=args.video_episodes, seed=seed,
                            deterministic=deterministic)
        fields["video"] = video.path.name
        print(f"  video: {video.path} ({_episodes(len(video.episode_lengths))}, {video.frames} frames)")
    path = files.write_json(out / "evaluation.json", fields)
    print(f"  wrote {path}")
    return path


def _episodes(n: int) -> str:
    return f"{n} episode{'s' * (n != 1)}"


def _threads(n: int) -> None:
    import torch

    torch.set_num_threads(n)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if any(a in ("-h", "--help") for a in argv):
        print(__doc__.strip())
        return 0
    try:
        args = parse_args(argv)
        if args.supermodel.cw or args.supermodel.ccw or args.supermodel.hold:
            run_supermodel(args)
        elif args.run:
            run_stage(args)
        else:
            raise MyorlError("nothing to evaluate: give run=<run dir> (e.g. outputs/demo/<date_time>) or "
                             "supermodel.cw=<run> supermodel.ccw=<run>")
    except MyorlError as err:
        print(f"myorl: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
