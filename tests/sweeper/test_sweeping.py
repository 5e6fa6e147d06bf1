"""Sweeps of plain Hydra apps, run as a user runs them (`python app.py -m hydra/sweeper=optuna ...`).

The cases of hydra-optuna-sweeper's own suite (sweeping with the basic launcher, the grid sampler,
multi-objective results, a custom search space), plus what this sweeper adds: the direction's default per
app, the trial link only for apps that declare it, numpy/torch results, plots.
"""

import pytest

from .helpers import sweep


def dominates(a, b):
    return all(x <= y for x, y in zip(a, b)) and any(x < y for x, y in zip(a, b))


@pytest.mark.parametrize("with_commandline", [True, False])
def test_quadratic_sweep_minimizes_and_writes_results(tmp_path, with_commandline):
    """hydra-optuna-sweeper's test_optuna_example, on a plain app with no trial link."""
    space = (["x=interval(-5, 5)", "y=range(-3, 3)"] if with_commandline else
             ["+hydra.sweeper.params.x='interval(-5, 5)'", "+hydra.sweeper.params.y='range(-3, 3)'"])
    run = sweep("quadratic", tmp_path, *space, f"hydra.sweeper.n_trials={6 if with_commandline else 3}",
                "hydra.sweeper.sampler.seed=123", "hydra.sweeper.sampler.n_startup_trials=3", plots=with_commandline)
    assert run.ok, run.out[-3000:]
    results = run.results()
    study = run.study("quadratic")  # the default study name: the app's job name
    assert results["name"] == "optuna" and results["direction"] == "minimize"  # hydra-optuna-sweeper's default
    assert results["best_params"] == study.best_trial.params and results["best_value"] == study.best_value
    assert results["trials"] == {"COMPLETE": 6 if with_commandline else 3}
    assert results["best_value"] == min(t.value for t in study.trials)
    assert set(study.best_trial.params) == {"x", "y"} and isinstance(study.best_trial.params["y"], int)
    assert not any(o.startswith(("optuna.", "++optuna.")) for o in run.overrides(0))  # no trial link here
    assert "Trials of study 'quadratic'" in run.out and (run.dir / "optuna_sweeper.log").exists()
    pngs = sorted(p.name for p in run.dir.glob("*.png"))
    assert pngs == (["optimization_history.png", "parallel_coordinate.png", "param_importances.png"]
                    if with_commandline else [])


def test_fixed_params_are_passed_not_searched(tmp_path):
    run = sweep("quadratic", tmp_path, "x=choice(0, 2)", "y=-1", "hydra.sweeper.n_trials=2",
                "hydra/sweeper/sampler=grid")
    assert run.ok, run.out[-3000:]
    assert "y" not in run.results()["best_params"] and run.results()["best_value"] == 0
    assert "y=-1" in run.overrides(0) and "y=-1" in run.overrides(1)


def test_grid_sampler_with_a_float_range_tries_every_point_once(tmp_path):
    """hydra-optuna-sweeper's test_example_with_grid_sampler, over a float range (Hydra's range: stop excluded)."""
    run = sweep("quadratic", tmp_path, "hydra/sweeper/sampler=grid", "x=range(1.5, 2.9, 0.5)", "y=choice(-1, 0)",
                "hydra.sweeper.n_trials=20", "hydra/launcher=basic")
    assert run.ok, run.out[-3000:]
    trials = run.study("quadratic").trials
    assert sorted((t.params["x"], t.params["y"]) for t in trials) == [
        (x, y) for x in (1.5, 2.0, 2.5) for y in (-1, 0)]  # 6 points, then the grid is exhausted
    assert run.results()["best_value"] == 0 and run.results()["best_params"] == {"x": 2.0, "y": -1}
    assert "every point of the grid has been tried" in run.out


@pytest.mark.parametrize("with_commandline", [True, False])
def test_multi_objective_results_hold_the_pareto_front(tmp_path, with_commandline):
    """hydra-optuna-sweeper's test_optuna_multi_objective_example, with the nsgaii preset and a list result."""
    args = ["x=range(0, 5)", "y=range(0, 3)", "kind=list", "hydra/sweeper/sampler=nsgaii"] if with_commandline \
        else ["hydra/sweeper/sampler=random"]
    run = sweep("multi_objective", tmp_path, *args, "hydra.sweeper.sampler.seed=123", "hydra.sweeper.n_trials=6",
                plots=not with_commandline)
    assert run.ok, run.out[-3000:]
    results = run.results()
    study = run.study("multi-objective")
    assert results["name"] == "optuna" and results["directions"] == ["minimize", "minimize"]
    solutions = results["solutions"]
    assert [s["trial"] for s in solutions] == [t.number for t in study.best_trials] and solutions
    for a in solutions:
        assert all(float(v) * 2 % 1 == 0 for v in a["params"].values())  # on the range's grid
        assert not any(dominates(b["values"], a["values"]) for b in solutions)
    assert "Optuna cannot prune multi-objective trials" in run.out  # the default median pruner is not used
    if not with_commandline:
        assert sorted(p.name for p in run.dir.glob("*.png")) == [
            "optimization_history_0.png", "optimization_history_1.png", "pareto_front.png"]


def test_multi_objective_job_with_the_wrong_number_of_values_fails_its_trial(tmp_path):
    run = sweep("multi_objective", tmp_path, "kind=wrong", "hydra.sweeper.n_trials=2",
                "hydra.sweeper.max_failure_rate=1.0")
    assert not run.ok
    assert "returned 3 values for 2 directions" in run.out
    assert "no trial completed: of 2 trial(s), 2 failed" in run.error_line()


def test_custom_search_space(tmp_path):
    """hydra-optuna-sweeper's test_optuna_custom_search_space_example."""
    run = sweep("custom_space", tmp_path, "max_z_difference_from_x=0.3", "hydra.sweeper.n_trials=4")
    assert run.ok, run.out[-3000:]
    best = run.results()["best_params"]
    assert abs(best["x"] - best["z"]) <= 0.3 and 0 <= best["+w"] <= 1
    assert {"z", "+w"} <= set(run.study("custom_space").trials[0].params)
    assert any(o.startswith("+w=") for o in run.overrides(0))


def test_a_raising_custom_search_space_stops_the_sweep_with_one_line(tmp_path):
    run = sweep("custom_space", tmp_path, "hydra.sweeper.custom_search_space=custom_space.broken")
    assert not run.ok
    assert run.error_line().startswith("hydra.sweeper.custom_search_space=custom_space.broken raised KeyError: "
                                       "'no such param' in trial 0")
    assert 'raise KeyError("no such param")' in run.out  # the traceback, in the output ...
    assert 'raise KeyError("no such param")' in (run.dir / "optuna_sweeper.log").read_text()  # ... and the log
    assert [t.state.name for t in run.study("custom_space").trials] == ["FAIL"]


def test_numpy_and_torch_results_are_numbers(tmp_path):
    kinds = ["numpy_float32", "numpy_0d", "torch_0d", "torch_0d_grad", "infinite", "vector"]
    # (more kinds, in-process: tests/sweeper/test_plugin.py)
    run = sweep("number_types", tmp_path, f"kind=choice({', '.join(kinds)})", "hydra/sweeper/sampler=grid",
                f"hydra.sweeper.n_trials={len(kinds)}", "hydra.sweeper.max_failure_rate=1.0", "x=3")
    assert run.ok, run.out[-3000:]
    trials = {t.params["kind"]: t for t in run.study("number_types").trials}
    for kind in kinds[:4]:
        assert trials[kind].state.name == "COMPLETE" and trials[kind].value == 9.0, kind
    for kind, reason in [("infinite", "returned tensor(inf): no finite result"), ("vector", "not a number")]:
        assert trials[kind].state.name == "FAIL" and reason in trials[kind].user_attrs["fail_reason"], kind


def test_an_app_declaring_the_trial_link_is_maximized_reports_and_is_pruned(tmp_path):
    """`optuna.storage` in the app's config: its jobs get the link, and the direction defaults to maximize."""
    run = sweep("linked", tmp_path, "x=choice(-1.0, 0.5, 1.0)", "hydra/sweeper/sampler=grid",
                "hydra/sweeper/pruner=threshold", "hydra.sweeper.pruner.lower=0", "hydra.sweeper.n_trials=3",
                "hydra.sweeper.seeds_per_trial=2", "seed=5")
    assert run.ok, run.out[-3000:]
    results = run.results()
    assert results["direction"] == "maximize" and results["best_params"] == {"x": 1.0}
    trials = {t.params["x"]: t for t in run.study("linked").trials}
    assert trials[-1.0].state.name == "PRUNED" and trials[-1.0].intermediate_values == {1: -1.0}
    assert trials[1.0].state.name == "COMPLETE" and trials[1.0].intermediate_values == {1: 1.0, 2: 2.0, 3: 3.0}
    assert trials[1.0].user_attrs["seeds"] == [5, 6]
    job0, job1 = run.overrides(0), run.overrides(1)  # trial 0's two seeds
    assert {"optuna.study_name='linked'", "optuna.trial=0", "optuna.report=true", "seed=5"} <= set(job0)
    assert {"optuna.report=false", "seed=6"} <= set(job1)
    assert any(o.startswith("++optuna.pruner={_target_:optuna.pruners.ThresholdPruner") for o in job0)


def test_an_explicit_direction_always_wins(tmp_path):
    run = sweep("linked", tmp_path, "x=choice(-1.0, 1.0)", "hydra/sweeper/sampler=grid", "hydra.sweeper.n_trials=2",
                "hydra.sweeper.direction=minimize", "hydra/sweeper/pruner=none")
    assert run.ok, run.out[-3000:]
    assert run.results()["direction"] == "minimize" and run.results()["best_params"] == {"x": -1.0}
