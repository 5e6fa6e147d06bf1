"""Several workers on one study: a killed worker's trial is failed and re-run by another; a study-wide cap."""

import time

import optuna
import pytest

from .helpers import popen, sweep


@pytest.mark.slow
def test_a_killed_workers_trial_is_failed_and_rerun_by_a_live_worker(tmp_path):
    storage = f"sqlite:///{tmp_path / 'shared.db'}"
    shared = [f"hydra.sweeper.storage={storage}", "hydra.sweeper.study_name=shared", "hydra.sweeper.n_trials=1",
              "hydra.sweeper.heartbeat_interval=1", "hydra.sweeper.grace_period=2", "x=interval(-5, 5)"]
    first = popen("quadratic", tmp_path, *shared, "sleep=120", name="first")  # its trial runs for two minutes
    deadline = time.time() + 120
    running = []
    while not running and time.time() < deadline:
        time.sleep(0.5)
        try:
            running = optuna.load_study(study_name="shared", storage=storage).get_trials(
                states=(optuna.trial.TrialState.RUNNING,))
        except KeyError:  # the study is not created yet
            pass
    assert running, first.communicate(timeout=5)[0]
    time.sleep(2)  # the job is sleeping; the worker beats every second
    first.kill()  # kill -9: no chance to tell Optuna anything
    first.wait(timeout=30)
    assert optuna.load_study(study_name="shared", storage=storage).trials[0].state.name == "RUNNING"
    time.sleep(3)  # longer than grace_period without a heartbeat

    second = sweep("quadratic", tmp_path, *shared, "sleep=0", name="second")
    assert second.ok, second.out[-3000:]
    dead, rerun = optuna.load_study(study_name="shared", storage=storage).trials
    assert dead.state.name == "FAIL" and rerun.state.name == "COMPLETE"
    assert rerun.params == dead.params and rerun.system_attrs["failed_trial"] == 0
    assert rerun.user_attrs["sweep_dir"] == str(second.dir)
    assert "trial 0: no heartbeat for more than 2 s (its worker died): FAIL, enqueued again with the same params " \
           "(retry 1 of max_retry=3)" in second.out
    assert "trial 1 (re-run of trial 0) COMPLETE" in second.out


def test_max_total_trials_caps_the_study_across_workers_and_reruns(tmp_path):
    """A second sweep in the same dir uses the same default storage (its optuna.db): one study, one cap."""
    args = ["hydra.sweeper.n_trials=3", "hydra.sweeper.max_total_trials=4", "x=interval(-5, 5)"]
    first = sweep("quadratic", tmp_path, *args)
    assert first.ok, first.out[-3000:]
    second = sweep("quadratic", tmp_path, *args)
    assert second.ok, second.out[-3000:]
    assert "study 'quadratic' holds max_total_trials=4 trials: no more asked" in second.out
    assert len(second.study("quadratic").trials) == 4
    assert sorted(int(p.name) for p in second.dir.iterdir() if p.name.isdigit()) == [0, 1, 2, 3]  # none overwritten
    assert second.overrides(3)[0] == f"x={second.study('quadratic').trials[3].params['x']!r}"
