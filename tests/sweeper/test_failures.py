"""Failing jobs and bad input, as a user meets them.

A job that raises fails its trial; its exception and traceback reach the output and the sweep's log file with
the trial number. Too many failures, or no completed trial at all, exit non-zero with one line. A bad
setting or search space is one line naming the problem and the fix, before anything is written.
"""

import pytest

from .helpers import sweep


def test_a_failing_job_shows_its_exception_and_traceback(tmp_path):
    run = sweep("failing", tmp_path, "x=choice(-1.0, 1.0)", "fail_above=0", "hydra/sweeper/sampler=grid",
                "hydra.sweeper.n_trials=2")
    assert run.ok, run.out[-3000:]  # one of two failed: within max_failure_rate=0.5, and one completed
    failed = next(t for t in run.study("failing").trials if t.state.name == "FAIL")
    assert failed.params == {"x": 1.0} and failed.user_attrs["fail_reason"] == "RuntimeError: x=1.0 is too large"
    log_file = (run.dir / "optuna_sweeper.log").read_text()
    for text in (run.out, log_file):
        assert f"trial {failed.number} failed: job #{failed.number} " in text
        assert "Traceback (most recent call last):" in text
        assert 'in check\n    raise RuntimeError(f"x={x} is too large")' in text
        assert "RuntimeError: x=1.0 is too large" in text


def test_the_traceback_survives_a_launcher_in_other_processes(tmp_path):
    run = sweep("failing", tmp_path, "x=choice(-1.0, 1.0, 2.0)", "fail_above=0", "hydra/sweeper/sampler=grid",
                "hydra.sweeper.n_trials=3", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2",
                "hydra.sweeper.max_failure_rate=1.0")
    assert run.ok, run.out[-3000:]
    # The frames cross the process boundary; their source lines only where the worker can read the app's file
    # (joblib 1.6's loky workers run it as "<dynamic-code>", where the traceback has no source text).
    assert run.out.count("Traceback (most recent call last):") == 2
    assert run.out.count(", in check\n") == 2
    assert all(f"RuntimeError: x={x} is too large" in run.out for x in (1.0, 2.0))
    states = sorted(t.state.name for t in run.study("failing").trials)
    assert states == ["COMPLETE", "FAIL", "FAIL"]


@pytest.mark.parametrize("rate, trials_run", [(0.5, 2), (0.0, 1)])
def test_too_many_failures_stop_the_sweep(tmp_path, rate, trials_run):
    run = sweep("failing", tmp_path, "x=interval(0, 1)", f"hydra.sweeper.max_failure_rate={rate}",
                "hydra.sweeper.n_trials=3")
    assert run.proc.returncode == 1
    assert run.error_line() == (
        f"{trials_run} of {trials_run} trials failed, more than max_failure_rate={rate} of n_trials=3: sweep "
        f"stopped (the failures' tracebacks are above and in {run.dir / 'optuna_sweeper.log'})")
    assert run.results()["trials"] == {"FAIL": trials_run}


def test_no_completed_trial_exits_non_zero_even_when_failures_are_allowed(tmp_path):
    """hydra-optuna-sweeper exits 0 here (test_failure_rate with max_failure_rate=1.0)."""
    run = sweep("failing", tmp_path, "x=interval(0, 1)", "hydra.sweeper.max_failure_rate=1.0",
                "hydra.sweeper.n_trials=3")
    assert run.proc.returncode == 1
    assert run.error_line() == ("no trial completed: of 3 trial(s), 3 failed and 0 were pruned (tracebacks above "
                                f"and in {run.dir / 'optuna_sweeper.log'})")
    assert run.results()["trials"] == {"FAIL": 3} and run.results()["best_value"] is None


BAD_INPUT = [
    (["hydra.sweeper.max_failure_rate=2.0"],
     "hydra.sweeper.max_failure_rate=2.0 is not within 0..1: it is the fraction of n_trials that may fail before "
     "the sweep stops (0: stop at the first failure, 1: never stop early); e.g. hydra.sweeper.max_failure_rate=0.5"),
    (["hydra.sweeper.direction=maximise"],
     "hydra.sweeper.direction: 'maximise' is neither minimize nor maximize; write hydra.sweeper.direction=minimize "
     "or =maximize, or one per objective: 'hydra.sweeper.direction=[minimize,maximize]'"),
    (["hydra.sweeper.sampler=tpee"],
     "unknown sampler 'tpee': choose one with hydra/sweeper/sampler=NAME, NAME one of tpe, random, cmaes, grid, "
     "nsgaii, gp, qmc"),
    (["hydra.sweeper.pruner=medain"],
     "unknown pruner 'medain': choose one with hydra/sweeper/pruner=NAME, NAME one of median, none, "
     "successive_halving, hyperband, threshold, percentile"),
    (["+hydra.sweeper.params.y='choice(1,'"],
     "hydra.sweeper.params.y: cannot read 'choice(1,' (no viable alternative at input 'choice(1,'); write one of "
     "choice(a, b), range(start, stop, step), interval(low, high), int(interval(low, high)), "
     "tag(log, interval(low, high)), or a fixed value"),
    (["hydra/sweeper/sampler=grid"],
     "hydra/sweeper/sampler=grid needs choice(...) or range(...) params, but 'x' is sampled from "
     "FloatDistribution(low=0.0, high=1.0): give it as range(start, stop, step) or choice(...), or use another sampler"),
    (["hydra.sweeper.custom_search_space=nowhere.configure"],
     "hydra.sweeper.custom_search_space=nowhere.configure: no module 'nowhere' on sys.path; give module.function, "
     "a function(cfg, trial) in a module on sys.path"),
    (["hydra.sweeper.seeds_per_trial=2"],
     "hydra.sweeper.seeds_per_trial=2 needs a top-level `seed` key in the app's config (each job gets "
     "seed=<seed + i>); add one, or set seeds_per_trial=1"),
    (["hydra/sweeper/pruner=threshold"],
     "hydra.sweeper.pruner: optuna.pruners.ThresholdPruner rejected its settings (TypeError: Either lower or upper "
     "must be specified.); the presets are hydra/sweeper/pruner=NAME, NAME one of median, none, successive_halving, "
     "hyperband, threshold, percentile"),
]


@pytest.mark.parametrize("args, line", BAD_INPUT, ids=[a[0].split("=")[0].rsplit(".", 1)[-1] for a, _ in BAD_INPUT])
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, args, line):
    storage = tmp_path / "study.db"
    run = sweep("quadratic", tmp_path, "x=interval(0, 1)", f"hydra.sweeper.storage=sqlite:///{storage}", *args)
    assert run.proc.returncode == 1
    assert run.error_line() == line
    assert not run.dir.exists() and not storage.exists()  # no sweep dir, no study


def test_an_unknown_sampler_group_is_refused_by_hydra_with_the_names(tmp_path):
    """`hydra/sweeper/sampler=NAME` is a config group: Hydra refuses an unknown name while composing."""
    run = sweep("quadratic", tmp_path, "x=interval(0, 1)", "hydra/sweeper/sampler=tpee")
    assert run.proc.returncode == 1 and not run.dir.exists()
    assert "Could not find 'hydra/sweeper/sampler/tpee'" in run.proc.stderr
    assert "\tnsgaii\n\tqmc\n\trandom\n\ttpe" in run.proc.stderr
