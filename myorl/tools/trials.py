"""Which trial of an Optuna sweep is really best: re-evaluating the best with fresh seeds, and running one trial.

    python -m myorl.trials SWEEP_DIR [--top K] [--seeds N] [key=value ...]
    python -m myorl.run +from_trial=SWEEP_DIR:best [overrides]      # or SWEEP_DIR:N, trial number N

A sweep scores each trial with one seed (or a few): the best value is partly luck, and tuned values often do
not reproduce (RL Zoo #204, #458). `myorl.trials` re-trains the K best COMPLETE trials' configurations with N
fresh seeds each, the same seeds for every trial, none of which any of their runs used at any stage (a stage
trains with its run's seed + its index). Each trial's seeds run as one Hydra multirun,
`python -m myorl.run -m +from_trial=SWEEP_DIR:n seed=a,b hydra.sweep.dir=SWEEP_DIR/reevaluation/trial_n
[key=value ...]`, so `hydra/launcher=joblib` or `=slurm` passed through run them in parallel or on a cluster.
The trials are ranked by their mean objective over the fresh seeds, with a 95% bootstrap interval
(`compare.bootstrap`), in `SWEEP_DIR/reevaluation.md`, and the results are stored on the trials as user attrs
`reevaluation_mean`, `reevaluation_ci`, `reevaluation_seeds`, `reevaluation_objectives`.

A trial's configuration is its first job's `.hydra/overrides.yaml` (the job dir is in the trial's `run_dirs`
user attr) without the sweeper's trial link (`optuna.*`), plus the `--config-dir`/`--config-name` the sweep
ran with (its `.hydra/hydra.yaml`). The job's own seed is kept: `+from_trial` reruns the trial's first run; the
user's overrides replace the trial's on the same key. The study is found as the sweeper found it: the storage
`hydra.sweeper.storage` of `SWEEP_DIR/multirun.yaml` (default `SWEEP_DIR/optuna.db`), the study name
`hydra.sweeper.study_name`, else the app's `optuna.study_name`, `curriculum.name`, the job name.

Several objectives: no trial is best on its own (a Pareto front), so `:best` and `myorl.trials` refuse such a
study; `+from_trial=SWEEP_DIR:N` runs any of its trials.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, NoReturn

from omegaconf import DictConfig, OmegaConf

from myorl import files
from myorl.errors import MyorlError

FROM_TRIAL = "from_trial"
LINK = "optuna"  # the sweeper's trial link in a job's overrides: optuna.storage, .study_name, .trial, ...
OPTUNA_SWEEPER = "OptunaSweeper"  # the class name of hydra/sweeper=optuna (the plugin is never imported here)
REPLAY = "hydra/sweeper=replay"  # a grid that ignores the Optuna settings a search-space file brings along
OUT = "reevaluation"
REPORT = "reevaluation.md"
ATTRS = ("reevaluation_mean", "reevaluation_ci", "reevaluation_seeds", "reevaluation_objectives")
EXAMPLE = "multirun/<curriculum>/<date_time>"


def override_key(arg: str) -> str:
    """The key an override sets: `+a.b=1` -> `a.b`, `hydra/launcher=joblib` -> `hydra/launcher`."""
    return arg.split("=", 1)[0].lstrip("~+")


def is_override(arg: str) -> bool:
    return "=" in arg and not arg.startswith("-")


# --------------------------------------------------------------------------- a sweep dir read back
@dataclass
class TrialConfig:
    """A trial's configuration, as its first job ran it."""

    number: int
    overrides: list[str]  # the job's task overrides, without the trial link
    flags: list[str]  # --config-dir / --config-name the sweep ran with
    seeds: list[int]  # the seeds of the trial's runs
    stages: int  # stages in its curriculum
    run_dir: Path  # its first job's run dir
    metric: str | None  # the objective's metric (the last stage's convergence metric)


class Sweep:
    """An Optuna sweep dir: its study (storage and name, from `multirun.yaml`) and its trials' configurations."""

    def __init__(self, path: Path, config: DictConfig, url: str, study_name: str) -> None:
        self.path, self.config, self.url, self.study_name = path, config, url, study_name

    @classmethod
    def open(cls, path: Path | str) -> Sweep:
        """The sweep at `path`; a MyorlError line when it is none (nothing is written, not even a database)."""
        path = Path(path)
        if not path.is_dir():
            raise MyorlError(f"'{path}' does not exist; give the dir of an Optuna sweep (hydra/sweeper=optuna), "
                             f"e.g. {EXAMPLE}")
        saved = path / "multirun.yaml"
        if not saved.is_file() and (path.parent / "multirun.yaml").is_file():
            raise MyorlError(f"'{path}' is one run of a sweep, not the sweep dir: give '{path.parent}'")
        if not saved.is_file():
            raise MyorlError(f"'{path}' is not a sweep dir (no multirun.yaml); give the dir an Optuna sweep "
                             f"(-m ... hydra/sweeper=optuna) wrote, e.g. {EXAMPLE}")
        config = OmegaConf.load(saved)
        assert isinstance(config, DictConfig)
        target = str(OmegaConf.select(config, "hydra.sweeper._target_", default=""))
        if not target.endswith(OPTUNA_SWEEPER):
            raise MyorlError(f"'{path}' is a sweep of {target.rsplit('.', 1)[-1] or 'another sweeper'}, not of "
                             f"hydra/sweeper=optuna: it has no trials to choose from (python -m myorl.compare "
                             f"{path} compares its runs)")
        url = OmegaConf.select(config, "hydra.sweeper.storage", default=None) or f"sqlite:///{path.absolute()}/optuna.db"
        database = url[len("sqlite:///"):] if url.startswith("sqlite:///") else None
        if database and not Path(database).is_file():
            raise MyorlError(f"'{path}': the sweep's Optuna storage {database} is missing, so are its trials")
        return cls(path, config, url, _study_name(config))

    @cached_property
    def study(self) -> Any:
        import optuna
        import sqlalchemy.exc

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        try:
            return optuna.load_study(study_name=self.study_name, storage=self.url)
        except KeyError:
            raise MyorlError(f"'{self.path}': the storage {_shown(self.url)} holds no study '{self.study_name}'"
                             ) from None
        except sqlalchemy.exc.SQLAlchemyError as exc:
            raise MyorlError(f"'{self.path}': cannot open the study's storage {_shown(self.url)} "
                             f"({str(exc).splitlines()[0]})") from None

    @property
    def objectives(self) -> int:
        return len(self.study.directions)

    @property
    def maximize(self) -> bool:
        import optuna

        return bool(self.study.directions[0] == optuna.study.StudyDirection.MAXIMIZE)

    def complete(self) -> list[Any]:
        """The COMPLETE trials, best first (single objective)."""
        from optuna.trial import TrialState

        done = self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        return sorted(done, key=lambda t: (-t.value if self.maximize else t.value, t.number))

    def best(self, k: int) -> list[Any]:
        """The `k` best COMPLETE trials (fewer when fewer completed); one objective only."""
        if self.objectives > 1:
            front = ", ".join(str(t.number) for t in self.study.best_trials) or "none yet"
            raise MyorlError(f"study '{self.study_name}' in '{self.path}' has {self.objectives} objectives: no trial is "
                             f"best on its own (its Pareto front: trials {front}); name one, SWEEP_DIR:N")
        found = self.complete()[:k]
        if not found:
            raise MyorlError(f"study '{self.study_name}' in '{self.path}' has no COMPLETE trial "
                             f"({_states(self.study)}): none is best yet")
        return found

    def trial(self, which: str) -> Any:
        """`best`, or the trial numbered `which`, which must be COMPLETE."""
        from optuna.trial import TrialState

        if which == "best":
            return self.best(1)[0]
        trials = self.study.get_trials(deepcopy=False)
        found = [t for t in trials if t.number == int(which)]
        if not found:
            numbers = f"0 to {max(t.number for t in trials)}" if trials else "none"
            raise MyorlError(f"study '{self.study_name}' in '{self.path}' has no trial {which} (its trials: "
                             f"{numbers})")
        trial = found[0]
        if trial.state != TrialState.COMPLETE:
            done = ", ".join(str(t.number) for t in trials if t.state == TrialState.COMPLETE) or "none"
            raise MyorlError(f"trial {which} of study '{self.study_name}' is {trial.state.name}, not COMPLETE: it "
                             f"has no result to reproduce; choose a complete trial ({done}) or :best")
        return trial

    def config_of(self, trial: Any) -> TrialConfig:
        """The trial's configuration, from its first job's dir (see the module's docstring)."""
        run_dirs = trial.user_attrs.get("run_dirs") or []
        if not run_dirs or not run_dirs[0]:
            raise MyorlError(f"trial {trial.number} of study '{self.study_name}' names no run dir (user attr "
                             f"run_dirs): it was not run by this package's hydra/sweeper=optuna")
        run_dir = self._located(str(run_dirs[0]), trial)
        hydra_dir = run_dir / ".hydra"
        if not (run_dir / "experiment.yaml").is_file() or not (hydra_dir / "overrides.yaml").is_file():
            raise MyorlError(f"trial {trial.number}'s run dir '{run_dir}' is not a myorl run (no experiment.yaml or "
                             f".hydra/overrides.yaml): the sweep ran another app")
        overrides = [str(o) for o in OmegaConf.load(hydra_dir / "overrides.yaml")]
        hydra: Any = OmegaConf.load(hydra_dir / "hydra.yaml").hydra
        flags = [arg for source in hydra.runtime.config_sources if source.provider == "command-line"
                 for arg in ("--config-dir", str(source.path))]
        if hydra.job.config_name != "config":
            flags += ["--config-name", str(hydra.job.config_name)]
        job: Any = OmegaConf.load(hydra_dir / "config.yaml")
        seeds = [int(s) for s in trial.user_attrs.get("seeds") or [job.seed]]
        summary = run_dir / "summary.json"
        stages = files.read_json(summary).get("stages", []) if summary.is_file() else []
        return TrialConfig(trial.number, [o for o in overrides if not _linked(o)], flags, seeds,
                           len(job.curriculum.stages), run_dir, stages[-1].get("metric") if stages else None)

    def _located(self, run_dir: str, trial: Any) -> Path:
        """The run dir as recorded, or at the same place below this sweep dir (a sweep dir that was moved)."""
        path = Path(run_dir)
        if path.is_dir():
            return path
        recorded = trial.user_attrs.get("sweep_dir")
        if recorded:
            try:
                moved = self.path / path.relative_to(recorded)
            except ValueError:
                moved = None
            if moved is not None and moved.is_dir():
                return moved
        raise MyorlError(f"trial {trial.number}'s run dir '{run_dir}' is gone (moved, deleted or on another machine): "
                         f"its configuration is read from the run dir's .hydra/overrides.yaml")

    def record(self, trial: Any, attrs: dict[str, Any]) -> None:
        """Store user attrs on a finished trial.

        Optuna's API refuses to change a finished trial (UpdateFinishedTrialError); its RDB storage's table of
        user attributes takes them (the sweeper's storages are all RDB: SQLite, PostgreSQL, MySQL).
        """
        from optuna.storages import RDBStorage
        from optuna.storages._rdb.models import TrialUserAttributeModel as Attr
        from sqlalchemy.orm import Session

        storage = RDBStorage(self.url)
        try:
            with Session(storage.engine) as session, session.begin():
                for key, value in attrs.items():
                    row = session.query(Attr).filter_by(trial_id=trial._trial_id, key=key).one_or_none()
                    if row is None:
                        session.add(Attr(trial_id=trial._trial_id, key=key, value_json=json.dumps(value)))
                    else:
                        row.value_json = json.dumps(value)
        finally:
            storage.engine.dispose()


def _study_name(config: DictConfig) -> str:
    """As the sweeper chose it: `hydra.sweeper.study_name`, the app's `optuna.study_name`, `curriculum.name`, the job."""
    for key in ("hydra.sweeper.study_name", f"{LINK}.study_name", "curriculum.name", "hydra.job.name"):
        found = OmegaConf.select(config, key, default=None, throw_on_missing=False)
        if found:
            return str(found)
    return "run"


def _linked(override: str) -> bool:
    key = override_key(override)
    return key == LINK or key.startswith(f"{LINK}.")


def _states(study: Any) -> str:
    counts: dict[str, int] = {}
    for t in study.get_trials(deepcopy=False):
        counts[t.state.name] = counts.get(t.state.name, 0) + 1
    return ", ".join(f"{n} {state}" for state, n in counts.items()) or "no trials"


def _shown(url: str) -> str:
    """A storage URL with its password hidden."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001
        return url


# --------------------------------------------------------------------------- +from_trial for myorl.run
def expand_from_trial(argv: list[str]) -> list[str]:
    """`python -m myorl.run`'s arguments with `+from_trial=SWEEP_DIR:best|N` replaced by that trial's overrides.

    The trial's overrides go where `+from_trial` was, without those whose key the other arguments set (the
    user's win); its `--config-dir`/`--config-name` come first unless given. With `-m`, `hydra/sweeper=replay`
    unless a sweeper is chosen: the grid runs as Hydra's basic sweeper even when the trial's overrides hold a
    search-space file that chooses the Optuna sweeper. Returns `argv` unchanged without `from_trial`.
    """
    at = [i for i, arg in enumerate(argv) if is_override(arg) and override_key(arg) == FROM_TRIAL]
    if not at:
        return argv
    if len(at) > 1:
        raise MyorlError(f"{FROM_TRIAL} is given {len(at)} times; give one: +from_trial=SWEEP_DIR:best")
    spec = argv[at[0]].split("=", 1)[1]
    path, colon, which = spec.rpartition(":")
    if not colon or not path or not (which == "best" or which.isdigit()):
        raise MyorlError(f"+from_trial={spec}: write +from_trial=SWEEP_DIR:best or +from_trial=SWEEP_DIR:N "
                         f"(N a trial number), SWEEP_DIR an Optuna sweep's dir such as {EXAMPLE}")
    try:
        sweep = Sweep.open(path)
        trial = sweep.trial(which)
        config = sweep.config_of(trial)
    except MyorlError as err:
        raise MyorlError(f"+from_trial={spec}: {err}") from None
    rest = argv[:at[0]] + argv[at[0] + 1:]
    mine = {override_key(arg) for arg in rest if is_override(arg)}
    theirs = [o for o in config.overrides if override_key(o) not in mine]
    short = {"--config-dir": "-cd", "--config-name": "-cn"}
    flags = [arg for flag, value in zip(config.flags[::2], config.flags[1::2])
             if not any(a in (flag, short[flag]) or a.startswith(f"{flag}=") for a in rest) for arg in (flag, value)]
    multirun = any(a in ("-m", "--multirun") for a in rest)
    replay = [REPLAY] if multirun and "hydra/sweeper" not in mine else []
    values = ", ".join(f"{v:.6g}" for v in trial.values)
    print(f"from_trial: trial {trial.number} of study '{sweep.study_name}' (value {values}, run {config.run_dir}): "
          f"{' '.join(theirs)}", flush=True)
    return [*flags, *rest[:at[0]], *theirs, *rest[at[0]:], *replay]


# --------------------------------------------------------------------------- re-evaluating the best
@dataclass
class Reevaluated:
    """One trial re-trained with the fresh seeds."""

    trial: Any
    config: TrialConfig
    command: list[str]
    seeds: list[int]  # the fresh seeds
    objectives: list[float | None]  # one per seed; None: that run gave no objective
    mean: float | None = None
    ci: tuple[float, float] | None = None

    @property
    def done(self) -> list[float]:
        return [v for v in self.objectives if v is not None]


def fresh_seeds(used: set[int], stages: int, n: int) -> list[int]:
    """`n` run seeds, smallest first, none of whose stage seeds (seed + stage index) is in `used` or each other's."""
    taken = {seed + i for seed in used for i in range(stages)}
    found: list[int] = []
    seed = 0
    while len(found) < n:
        mine = {seed + i for i in range(stages)}
        if not mine & taken:
            found.append(seed)
            taken |= mine
        seed += 1
    return found


def reevaluate(path: Path | str, top: int, seeds: int, overrides: list[str], command: str) -> tuple[Path, list[Reevaluated]]:
    """Re-train the `top` best trials with `seeds` fresh seeds each; write the report and the user attrs.

    Every check comes before anything is written. Returns the report's path and the trials, best first.
    """
    for arg in overrides:
        if not is_override(arg):
            raise MyorlError(f"'{arg}' is not a key=value override (the arguments after SWEEP_DIR are passed to "
                             f"python -m myorl.run, e.g. hydra/launcher=joblib hydra.launcher.n_jobs=2)")
        if override_key(arg) in ("seed", FROM_TRIAL, "hydra.sweep.dir"):
            raise MyorlError(f"'{arg}': myorl.trials sets {override_key(arg)} itself (fresh seeds: --seeds N; the "
                             f"runs go to SWEEP_DIR/{OUT}/); leave it out")
    sweep = Sweep.open(path)
    if sweep.objectives > 1:
        raise MyorlError(f"study '{sweep.study_name}' in '{sweep.path}' has {sweep.objectives} objectives: a "
                         f"re-evaluation ranks trials by one; run a trial of its Pareto front with "
                         f"+from_trial={sweep.path}:N")
    out, report = sweep.path / OUT, sweep.path / REPORT
    for earlier in (out, report):
        if earlier.exists():
            raise MyorlError(f"'{earlier}' exists (an earlier re-evaluation): move or delete it, and "
                             f"{report.name if earlier == out else OUT + '/'} with it, to re-evaluate again")
    best = sweep.best(top)
    configs = [sweep.config_of(t) for t in best]
    used = {s for c in configs for s in c.seeds}
    chosen = fresh_seeds(used, max(c.stages for c in configs), seeds)
    complete = len(sweep.complete())
    print(f"re-evaluating trial{'s' * (len(best) > 1)} {', '.join(str(t.number) for t in best)} (the best "
          f"{len(best)} of {complete} COMPLETE) of study '{sweep.study_name}' with fresh seeds "
          f"{', '.join(map(str, chosen))} (their runs used {', '.join(map(str, sorted(used)))})", flush=True)
    results: list[Reevaluated] = []
    for trial, config in zip(best, configs):
        runs = out / f"trial_{trial.number}"
        args = ["-m", f"+{FROM_TRIAL}={path}:{trial.number}", f"seed={','.join(map(str, chosen))}",
                f"hydra.sweep.dir={_value(str(runs))}", *overrides]
        code = _run([sys.executable, "-m", "myorl.run", *args])
        if not runs.is_dir() and not results:  # it stopped before any job: a bad override, most likely
            raise MyorlError(f"python -m myorl.run stopped before running trial {trial.number}'s first job (exit "
                             f"code {code}, its message is above); nothing was re-evaluated")
        by_seed = _objectives(runs)
        results.append(Reevaluated(trial, config, ["python", "-m", "myorl.run", *args], chosen,
                                   [by_seed.get(s) for s in chosen]))
    _rank(results, sweep.maximize)
    written = files.write_text(report, _report(sweep, results, chosen, used, complete, command))
    for r in results:
        sweep.record(r.trial, dict(zip(ATTRS, (r.mean, list(r.ci) if r.ci else None, chosen, r.objectives))))
    return written, results


def _run(command: list[str]) -> int:
    """Run `command`, its output on the console; on Ctrl-C (which it gets too) wait for it to stop cleanly."""
    with subprocess.Popen(command) as child:
        try:
            return child.wait()
        except KeyboardInterrupt:
            child.wait()  # a run saves its checkpoint before it stops
            raise


def _value(text: str) -> str:
    """`text` as the value of a Hydra override: quoted when Hydra's grammar would read more into it."""
    from hydra.core.override_parser.types import Quote, QuotedString

    if re.fullmatch(r"[\w./:@+-]+", text):
        return text
    return QuotedString(text=text, quote=Quote.single).with_quotes()


def _objectives(runs: Path) -> dict[int, float]:
    """Each finished job's objective (`summary.json`) by its seed."""
    found: dict[int, float] = {}
    for job in sorted(runs.iterdir()) if runs.is_dir() else []:
        try:
            seed = int(OmegaConf.load(job / ".hydra" / "config.yaml").seed)
            objective = files.read_json(job / "summary.json")["objective"]
        except (OSError, ValueError, KeyError, AttributeError):
            continue
        if isinstance(objective, (int, float)) and math.isfinite(objective):
            found[seed] = float(objective)
    return found


def _rank(results: list[Reevaluated], maximize: bool) -> None:
    """Mean and 95% bootstrap interval over each trial's fresh seeds; best first, trials with no result last."""
    import numpy as np

    from myorl.tools.compare import bootstrap

    for r in results:
        if r.done:
            center, low, high = bootstrap(np.array(r.done)[:, None], iqm=False)
            r.mean, r.ci = float(center[0]), (float(low[0]), float(high[0]))
    sign = -1 if maximize else 1
    results.sort(key=lambda r: (r.mean is None, sign * (r.mean or 0.0), r.trial.number))


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.4g}"


def _params(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={_num(v) if isinstance(v, float) else v}" for k, v in params.items())


def _report(sweep: Sweep, results: list[Reevaluated], seeds: list[int], used: set[int], complete: int,
            command: str) -> str:
    """reevaluation.md: the ranking, how it was made, and the commands."""
    metric = next((r.config.metric for r in results if r.config.metric), None)
    objective = f"the last stage's best {metric}" if metric else "the run's objective"
    direction = "maximize" if sweep.maximize else "minimize"
    lines = [f"# Re-evaluation of study '{sweep.study_name}'", "",
             f"The {len(results)} best of {complete} COMPLETE trials of `{sweep.path}` ({direction} {objective}), "
             f"each re-trained with the same {len(seeds)} fresh seed{'s' * (len(seeds) > 1)}: "
             f"{', '.join(map(str, seeds))}. The trials' own runs used seed{'s' * (len(used) > 1)} "
             f"{', '.join(map(str, sorted(used)))}; a stage trains with its run's seed + its index, and no stage of "
             f"a fresh run shares its seed with a stage of theirs. Ranked by the mean objective over the fresh seeds, "
             f"with its 95% bootstrap confidence interval (resampling the seeds).", "",
             f"| rank | trial | sweep value | fresh-seed mean [95% CI] | {' | '.join(f'seed {s}' for s in seeds)} | "
             "params |",
             "|---|---|---|---|" + "---|" * len(seeds) + "---|"]
    for rank, r in enumerate(results, 1):
        ci = f" [{_num(r.ci[0])}, {_num(r.ci[1])}]" if r.ci else ""
        each = " | ".join("failed" if v is None else _num(v) for v in r.objectives)
        lines.append(f"| {rank} | {r.trial.number} | {_num(r.trial.value)} | {_num(r.mean)}{ci} | {each} | "
                     f"{_params(r.trial.params)} |")
    lines += ["", f"Runs: `{OUT}/trial_<n>/<job>/`. The trials' user attrs {', '.join(ATTRS)} hold these results "
              f"(storage {_shown(sweep.url)}). Made by", "", f"    {command}", "", "which ran", ""]
    lines += [f"    {shlex.join(r.command)}" for r in sorted(results, key=lambda r: r.trial.number)]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- the command
class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"myorl: {message}; see python -m myorl.trials --help\n")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not a positive whole number")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(prog="python -m myorl.trials", description=__doc__.split("\n\n")[0])
    parser.add_argument("sweep", type=Path, nargs="?", help="the dir of an Optuna sweep (hydra/sweeper=optuna)")
    parser.add_argument("--top", type=_positive, default=3, help="how many of the best COMPLETE trials (3)")
    parser.add_argument("--seeds", type=_positive, default=3, help="fresh seeds per trial (3)")
    parser.add_argument("overrides", nargs="*", help="passed to python -m myorl.run, e.g. hydra/launcher=joblib")
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_intermixed_args(argv)
    if args.sweep is None:
        parser.error(f"give the dir of an Optuna sweep: python -m myorl.trials SWEEP_DIR, e.g. {EXAMPLE}")
    command = shlex.join(["python", "-m", "myorl.trials", *argv])
    try:
        report, results = reevaluate(args.sweep, args.top, args.seeds, args.overrides, command)
    except MyorlError as err:
        print(f"myorl: {err}", file=sys.stderr)
        return 1
    print(report.read_text())
    print(f"wrote {report}")
    failed = [f"trial {r.trial.number} seed {s}" for r in results for s, v in zip(r.seeds, r.objectives) if v is None]
    if failed:
        print(f"myorl: {len(failed)} run(s) gave no objective ({', '.join(failed)}): their errors are above",
              file=sys.stderr)
        return 1
    return 0
