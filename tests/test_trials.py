"""Which trial is really best: `python -m myorl.trials` (the best trials again, fresh seeds) and `+from_trial`.

One real Optuna sweep serves the tests of a module: a search-space file of its own (`--config-dir`,
`+hparams_search=tiny`: the Optuna sweeper and its settings, as the shipped ones do), a grid of two learning
rates by two env ids, one of which (`Nope-v0`) is no env: 2 COMPLETE and 2 FAIL trials, each of two seeds (5, 6).
"""

import json
import shutil
import sys
from pathlib import Path

import optuna
import pytest
import yaml
from helpers import processes
from helpers.configs import TINY_ALGO
from omegaconf import OmegaConf
from optuna.trial import TrialState
from sweeper.helpers import sweep as app_sweep

from myorl import run as myorl_run
from myorl.tools import trials as trials_tool

TINY = ["+curriculum=inverted_pendulum", *TINY_ALGO, "progress=false", "tracking=none", "max_timesteps=256",
        "curriculum.stages.0.eval.freq=128", "curriculum.stages.0.eval.episodes=2"]
SEARCH = """# @package _global_
defaults:
  - override /hydra/sweeper: optuna
hydra:
  sweeper:
    n_trials: 4
    seeds_per_trial: 2
    plots: false
    params:
      algo.learning_rate: choice(1e-4, 1e-3)
      curriculum.stages.0.env.id: choice(InvertedPendulum-v5, Nope-v0)
"""


def study_of(sweep_dir: Path) -> optuna.Study:
    return optuna.load_study(study_name="inverted_pendulum", storage=f"sqlite:///{sweep_dir}/optuna.db")


def config_without(path: Path, *keys: str) -> dict:
    """A run's experiment.yaml (the resolved config the core ran with) without the given top-level keys."""
    config = OmegaConf.to_container(OmegaConf.load(path))
    return {k: v for k, v in config.items() if k not in keys}


@pytest.fixture(scope="module")
def sweep(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("trials")
    conf = root / "conf" / "hparams_search"
    conf.mkdir(parents=True)
    (conf / "tiny.yaml").write_text(SEARCH)
    sweep_dir = root / "sweep"
    proc = processes.myorl_run(["-m", "--config-dir", str(root / "conf"), "+hparams_search=tiny", *TINY, "seed=5",
                                "hydra/sweeper/sampler=grid", "hydra.sweeper.sampler.seed=0",
                                f"hydra.sweep.dir={sweep_dir}"], cwd=root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    states = sorted(t.state.name for t in study_of(sweep_dir).trials)
    assert states == ["COMPLETE", "COMPLETE", "FAIL", "FAIL"]
    return sweep_dir


@pytest.fixture(scope="module")
def failed_sweep(tmp_path_factory) -> Path:
    """A sweep none of whose trials completed."""
    root = tmp_path_factory.mktemp("failed")
    proc = processes.myorl_run(["-m", *TINY, "hydra/sweeper=optuna", "hydra.sweeper.n_trials=1", "hydra.sweeper.plots=false",
                                "curriculum.stages.0.env.id=Nope-v0", f"hydra.sweep.dir={root / 'sweep'}"], cwd=root)
    assert proc.returncode != 0 and "no trial completed" in proc.stdout + proc.stderr
    return root / "sweep"


@pytest.fixture(scope="module")
def pareto_sweep(tmp_path_factory) -> Path:
    """A two-objective sweep of a plain Hydra app (tests/sweeper/apps/multi_objective.py)."""
    run = app_sweep("multi_objective", tmp_path_factory.mktemp("pareto"), "hydra/sweeper/sampler=random",
                    "hydra.sweeper.n_trials=2")
    assert run.ok, run.out[-3000:]
    return run.dir


def complete_trials(sweep_dir: Path) -> list[optuna.trial.FrozenTrial]:
    """COMPLETE trials, best first."""
    done = [t for t in study_of(sweep_dir).trials if t.state == TrialState.COMPLETE]
    return sorted(done, key=lambda t: -t.value)


# --------------------------------------------------------------------------- re-evaluating the best
@pytest.mark.slow
def test_the_best_trials_are_retrained_with_fresh_seeds_through_joblib(sweep):
    before = {t.number: t.value for t in complete_trials(sweep)}
    proc = processes.run("myorl.trials", [str(sweep), "--top", "2", "--seeds", "2", "hydra/launcher=joblib",
                                          "hydra.launcher.n_jobs=2"], cwd=sweep.parent)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "with fresh seeds 0, 1 (their runs used 5, 6)" in proc.stdout

    study = study_of(sweep)
    means = {}
    for trial in complete_trials(sweep):
        runs = sweep / "reevaluation" / f"trial_{trial.number}"
        multirun = OmegaConf.load(runs / "multirun.yaml")
        assert multirun.hydra.sweeper._target_.endswith("ReplaySweeper")  # the search file's sweeper is replaced
        assert multirun.hydra.launcher._target_.endswith("JoblibLauncher")  # passed through
        job = Path(trial.user_attrs["run_dirs"][0])
        objectives = {}
        for run in sorted(p for p in runs.iterdir() if p.name.isdigit()):
            seed = OmegaConf.load(run / "experiment.yaml").seed
            objectives[seed] = json.loads((run / "summary.json").read_text())["objective"]
            # the trial's configuration: only the seed differs, and the trial link is gone
            assert config_without(run / "experiment.yaml", "seed") == config_without(job / "experiment.yaml", "seed")
            assert not any(o.lstrip("+").startswith("optuna") for o in
                           yaml.safe_load((run / ".hydra" / "overrides.yaml").read_text()))
        assert sorted(objectives) == [0, 1] and not set(objectives) & set(trial.user_attrs["seeds"])
        attrs = trial.user_attrs
        assert attrs["reevaluation_seeds"] == [0, 1]
        assert attrs["reevaluation_objectives"] == [objectives[0], objectives[1]]
        assert attrs["reevaluation_mean"] == pytest.approx((objectives[0] + objectives[1]) / 2)
        low, high = attrs["reevaluation_ci"]
        assert min(objectives.values()) <= low <= attrs["reevaluation_mean"] <= high <= max(objectives.values())
        assert trial.value == before[trial.number]  # the sweep's own value is kept
        means[trial.number] = attrs["reevaluation_mean"]
    assert len(means) == 2 and len(study.trials) == 4  # nothing was added to the study

    report = (sweep / "reevaluation.md").read_text()
    rows = [line.split("|") for line in report.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert [int(r[2]) for r in rows] == sorted(means, key=lambda n: -means[n])  # ranked by the fresh-seed mean
    for r in rows:
        assert f"{means[int(r[2])]:.4g} [" in r[4] and "algo.learning_rate=" in r[7]
    assert f"python -m myorl.trials {sweep} --top 2 --seeds 2 hydra/launcher=joblib" in report
    assert f"+from_trial={sweep}:{rows[0][2].strip()} seed=0,1" in report

    again = processes.run("myorl.trials", [str(sweep), "--top", "1", "--seeds", "1"], cwd=sweep.parent)
    assert again.returncode != 0 and again.stderr.strip().startswith("myorl: ") and "exists" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1


def test_runs_without_an_objective_are_reported_after_the_report_is_written(sweep, tmp_path):
    """A fault in the re-evaluation's runs (an env id that is none, passed through): the report says 'failed'."""
    copy = shutil.copytree(sweep, tmp_path / "sweep", ignore=shutil.ignore_patterns("reevaluation*"))
    best = complete_trials(copy)[0].number
    proc = processes.run("myorl.trials", [str(copy), "--top", "1", "--seeds", "2", "curriculum.stages.0.env.id=Nope-v0"],
                         cwd=tmp_path)
    assert proc.returncode == 1 and "unknown env id 'Nope-v0'" in proc.stdout + proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == (f"myorl: 2 run(s) gave no objective (trial {best} seed 0, trial "
                                                    f"{best} seed 1): their errors are above")
    assert f"| 1 | {best} |" in (copy / "reevaluation.md").read_text() and "| failed | failed |" in (
        copy / "reevaluation.md").read_text()
    attrs = next(t for t in study_of(copy).trials if t.number == best).user_attrs
    assert attrs["reevaluation_mean"] is None and attrs["reevaluation_objectives"] == [None, None]
    assert "reevaluation_mean" not in next(t for t in study_of(sweep).trials if t.number == best).user_attrs or \
        (sweep / "reevaluation.md").exists()  # the copy's own storage took the attrs


# --------------------------------------------------------------------------- +from_trial
def test_from_trial_runs_the_trials_configuration_as_a_normal_run(sweep, tmp_path):
    best, other = complete_trials(sweep)
    proc = processes.myorl_run([f"+from_trial={sweep}:best", f"hydra.run.dir={tmp_path / 'best'}"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    job = Path(best.user_attrs["run_dirs"][0])  # its first job: seed 5
    assert config_without(tmp_path / "best" / "experiment.yaml") == config_without(job / "experiment.yaml")
    assert OmegaConf.load(tmp_path / "best" / ".hydra" / "config.yaml").optuna.storage is None  # no trial link
    assert (tmp_path / "best" / "stages").is_dir() and not (tmp_path / "best" / "multirun.yaml").exists()

    # trial N, with the user's override on top of the trial's own (max_timesteps=256 there)
    proc = processes.myorl_run([f"+from_trial={sweep}:{other.number}", "max_timesteps=128",
                                f"hydra.run.dir={tmp_path / 'other'}"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    config = OmegaConf.load(tmp_path / "other" / "experiment.yaml")
    assert config.max_timesteps == 128 and config.algo.learning_rate == other.params["algo.learning_rate"]
    job = Path(other.user_attrs["run_dirs"][0])
    assert config_without(tmp_path / "other" / "experiment.yaml", "max_timesteps") == config_without(
        job / "experiment.yaml", "max_timesteps")
    overrides = yaml.safe_load((tmp_path / "other" / ".hydra" / "overrides.yaml").read_text())
    assert "+hparams_search=tiny" in overrides and "max_timesteps=128" in overrides  # --config-dir came along
    assert "max_timesteps=256" not in overrides and not any("from_trial" in o or "optuna" in o for o in overrides)


def test_a_moved_sweep_dir_still_finds_its_trials_runs(sweep, tmp_path):
    moved = shutil.copytree(sweep, tmp_path / "moved", ignore=shutil.ignore_patterns("reevaluation*"))
    job = Path(complete_trials(sweep)[0].user_attrs["run_dirs"][0]).name
    trial = optuna.trial.create_trial(value=1.0, user_attrs={"sweep_dir": "/gone/sweep", "run_dirs": [f"/gone/sweep/{job}"]})
    config = trials_tool.Sweep.open(moved).config_of(trial)
    assert config.run_dir == moved / job and "+hparams_search=tiny" in config.overrides
    assert config.flags == ["--config-dir", str(sweep.parent / "conf")] and config.seeds == [5]


# --------------------------------------------------------------------------- bad input
def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("myorl: "), text
    return lines[0]


def from_trial_error(monkeypatch, capsys, spec: str) -> str:
    """`python -m myorl.run +from_trial=SPEC` in-process: it must stop before Hydra, with exit code 2."""
    monkeypatch.setattr(sys, "argv", ["myorl.run", f"+from_trial={spec}"])
    with pytest.raises(SystemExit) as stop:
        myorl_run.main()
    assert stop.value.code == 2
    return one_line(capsys.readouterr().err)


@pytest.mark.parametrize("spec, says", [
    ("{tmp}/nope:best", "'{tmp}/nope' does not exist"),
    ("{tmp}:best", "'{tmp}' is not a sweep dir (no multirun.yaml)"),
    ("{sweep}/0:best", "'{sweep}/0' is one run of a sweep, not the sweep dir: give '{sweep}'"),
    ("{sweep}", "write +from_trial=SWEEP_DIR:best or +from_trial=SWEEP_DIR:N"),
    ("{sweep}:99", "has no trial 99 (its trials: 0 to 3)"),
    ("{sweep}:{failed}", "is FAIL, not COMPLETE"),
    ("{failed_sweep}:best", "has no COMPLETE trial (1 FAIL): none is best yet"),
    ("{pareto}:best", "has 2 objectives: no trial is best on its own"),
    ("{pareto}:0", "is not a myorl run (no experiment.yaml or .hydra/overrides.yaml): the sweep ran another app"),
])
def test_a_bad_from_trial_is_one_line(monkeypatch, capsys, tmp_path, sweep, failed_sweep, pareto_sweep, spec, says):
    failed = next(t.number for t in study_of(sweep).trials if t.state == TrialState.FAIL)
    names = {"tmp": tmp_path, "sweep": sweep, "failed_sweep": failed_sweep, "pareto": pareto_sweep, "failed": failed}
    line = from_trial_error(monkeypatch, capsys, spec.format(**names))
    assert says.format(**names) in line and line.startswith(f"myorl: +from_trial={spec.format(**names)}: ")


def trials_error(capsys, args: list[str]) -> str:
    """`python -m myorl.trials ARGS` in-process: a non-zero exit and one line."""
    try:
        code = trials_tool.main(args)
    except SystemExit as stop:  # argparse's errors
        code = stop.code
    assert code != 0
    return one_line(capsys.readouterr().err)


@pytest.mark.parametrize("args, says", [
    ([], "give the dir of an Optuna sweep: python -m myorl.trials SWEEP_DIR"),
    (["{sweep}", "--top", "0"], "argument --top: '0' is not a positive whole number"),
    (["{sweep}", "--seeds", "-2"], "argument --seeds: '-2' is not a positive whole number"),
    (["{tmp}/nope"], "'{tmp}/nope' does not exist"),
    (["{tmp}"], "'{tmp}' is not a sweep dir"),
    (["{sweep}", "seed=3"], "'seed=3': myorl.trials sets seed itself"),
    (["{sweep}", "joblib"], "'joblib' is not a key=value override"),
    (["{failed_sweep}"], "has no COMPLETE trial (1 FAIL)"),
    (["{pareto}"], "has 2 objectives: a re-evaluation ranks trials by one"),
])
def test_a_bad_trials_argument_is_one_line_and_writes_nothing(capsys, tmp_path, sweep, failed_sweep, pareto_sweep,
                                                              args, says):
    names = {"tmp": tmp_path, "sweep": sweep, "failed_sweep": failed_sweep, "pareto": pareto_sweep}
    listings = {d: sorted(p.name for p in d.iterdir()) for d in (sweep, failed_sweep, pareto_sweep)}
    assert says.format(**names) in trials_error(capsys, [a.format(**names) for a in args])
    assert listings == {d: sorted(p.name for p in d.iterdir()) for d in listings}


def test_what_the_user_sees_on_a_bad_input(sweep, tmp_path):
    proc = processes.myorl_run([f"+from_trial={sweep}:99"], cwd=tmp_path)
    assert proc.returncode == 2 and "has no trial 99" in one_line(proc.stderr) and not proc.stdout
    proc = processes.run("myorl.trials", [str(sweep), "--top", "0"], cwd=tmp_path)
    assert proc.returncode == 2 and "--top: '0' is not a positive whole number" in one_line(proc.stderr)


def test_fresh_seeds_share_no_stage_seed_with_the_trials_runs():
    assert trials_tool.fresh_seeds({0}, stages=1, n=3) == [1, 2, 3]
    assert trials_tool.fresh_seeds({5, 6}, stages=1, n=2) == [0, 1]
    # two stages: run seed s trains its stages with s and s + 1
    seeds = trials_tool.fresh_seeds({0, 1}, stages=2, n=2)
    stage_seeds = [{s, s + 1} for s in seeds]
    assert seeds == [3, 5] and not set().union(*stage_seeds) & {0, 1, 2}
    assert all(not a & b for a in stage_seeds for b in stage_seeds if a is not b)
