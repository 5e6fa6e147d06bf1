"""The plugin in-process: discovery, presets, verdicts on job results, results files, the study-wide count."""

import math
import pickle
import warnings

import numpy as np
import optuna
import pytest
import torch
import yaml
from hydra.core.config_store import ConfigStore
from hydra.core.plugins import Plugins
from hydra.core.utils import JobReturn, JobStatus
from hydra.plugins.sweeper import Sweeper
from hydra.utils import instantiate
from omegaconf import OmegaConf
from optuna.trial import TrialState

from hydra_plugins.myorl_optuna_sweeper import _results
from hydra_plugins.myorl_optuna_sweeper._impl import TRACEBACK_ATTR, KeepTraceback, judge
from hydra_plugins.myorl_optuna_sweeper._storage import trials_counted
from hydra_plugins.myorl_optuna_sweeper.config import PRUNERS, SAMPLERS
from hydra_plugins.myorl_optuna_sweeper.optuna_sweeper import OptunaSweeper


def test_discovery():
    """hydra-optuna-sweeper's test_discovery: Hydra finds the class by scanning `hydra_plugins`."""
    assert OptunaSweeper.__name__ in [x.__name__ for x in Plugins.instance().discover(Sweeper)]


def test_plugin_modules_do_not_import_myorl():
    from pathlib import Path

    package = Path(OptunaSweeper.__module__.replace(".", "/")).parent
    root = Path(__file__).resolve().parents[2]
    for module in (root / package).glob("*.py"):
        assert "myorl." not in module.read_text().replace("myorl_optuna_sweeper", ""), module


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_every_sampler_preset_builds_its_optuna_class(name):
    conf = OmegaConf.to_container(OmegaConf.structured(SAMPLERS[name]))
    if name == "grid":
        conf["search_space"] = {"x": [1, 2]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # GPSampler, QMCSampler
        sampler = instantiate(conf)
    assert type(sampler).__name__ == conf["_target_"].rsplit(".", 1)[1]
    stored = ConfigStore.instance().load(f"hydra/sweeper/sampler/{name}.yaml")
    assert stored.node._target_ == conf["_target_"]


@pytest.mark.parametrize("name", sorted(PRUNERS))
def test_every_pruner_preset_builds_its_optuna_class(name):
    extra = {"lower": 0.0} if name == "threshold" else {}  # Optuna's ThresholdPruner needs a bound
    assert isinstance(instantiate(OmegaConf.structured(PRUNERS[name]), **extra), optuna.pruners.BasePruner)


def ret(value, status=JobStatus.COMPLETED):
    return JobReturn(status=status, _return_value=value)


@pytest.mark.parametrize("value", [2.0, 2, np.float32(2.0), np.float64(2.0), np.int64(2), np.array(2.0),
                                   torch.tensor(2.0), torch.tensor(2.0, requires_grad=True) * 1.0, True * 2])
def test_a_result_is_anything_float_converts(value):
    verdict = judge([ret(value)])
    assert (verdict.state, verdict.values) == (TrialState.COMPLETE, [2.0])
    assert isinstance(verdict.values[0], float) and verdict.attrs["objectives"] == [2.0]


@pytest.mark.parametrize("value, reason", [
    (math.nan, "no finite result"), (np.float32("inf"), "no finite result"), (torch.tensor(math.nan), "no finite"),
    (None, "not a number"), ("a lot", "not a number"), (torch.tensor([1.0, 2.0]), "not a number"), ([1.0], "not a number"),
])
def test_a_result_that_is_no_finite_number_fails_the_trial(value, reason):
    verdict = judge([ret(value)])
    assert verdict.state == TrialState.FAIL and reason in verdict.attrs["fail_reason"]
    assert verdict.failures[0][2] is None  # returned, raised nothing: no traceback


class CarryingPruned(optuna.TrialPruned):
    """An app's own TrialPruned carrying the best value the job reached, as myorl's `Pruned` does."""

    def __init__(self, message, partial_objective=None):
        super().__init__(message)
        self.partial_objective = partial_objective


def test_a_pruned_trials_partial_objective_is_what_its_jobs_carry():
    carried = pickle.loads(pickle.dumps(CarryingPruned("pruned", partial_objective=np.float64(-3.0))))  # a worker's
    verdict = judge([ret(carried, JobStatus.FAILED), ret(1.0)])
    assert verdict.state == TrialState.PRUNED and verdict.attrs["partial_objective"] == -1.0  # with the complete seed
    assert judge([ret(optuna.TrialPruned(), JobStatus.FAILED)]).attrs["partial_objective"] is None  # carries none


def test_several_objectives_take_a_sequence_per_job_and_average_over_seeds():
    verdict = judge([ret((1.0, np.float32(4.0))), ret(torch.tensor([3.0, 6.0]))], n_objectives=2)
    assert (verdict.state, verdict.values) == (TrialState.COMPLETE, [2.0, 5.0])
    assert verdict.attrs["objectives"] == [[1.0, 4.0], [3.0, 6.0]]
    assert "3 values for 2 directions" in judge([ret([1, 2, 3])], 2).attrs["fail_reason"]
    assert "not a list of 2 numbers" in judge([ret(1.0)], 2).attrs["fail_reason"]
    assert "not a list of 2 numbers" in judge([ret("ab")], 2).attrs["fail_reason"]
    assert judge([ret([1.0, math.nan])], 2).state == TrialState.FAIL


def test_a_failed_job_keeps_its_traceback_across_processes():
    def app(cfg):
        raise ValueError(f"bad x {cfg}")

    with pytest.raises(ValueError) as caught:
        KeepTraceback(app)(3)
    exc = pickle.loads(pickle.dumps(caught.value))  # what a joblib or submitit launcher hands back
    assert exc.__traceback__ is None
    verdict = judge([ret(exc, JobStatus.FAILED)])
    (_, reason, text), = verdict.failures
    assert verdict.state == TrialState.FAIL and reason == verdict.attrs["fail_reason"] == "ValueError: bad x 3"
    assert text == getattr(exc, TRACEBACK_ATTR).rstrip()
    assert text.startswith("Traceback") and 'raise ValueError(f"bad x {cfg}")' in text and "KeepTraceback" not in text


def test_results_of_one_and_of_several_objectives(tmp_path):
    one = optuna.create_study(direction="maximize", study_name="one")
    one.add_trial(optuna.create_trial(value=1.0, params={"x": 1}, distributions={"x": optuna.distributions.IntDistribution(0, 3)}))
    one.add_trial(optuna.create_trial(value=3.0, params={"x": 3}, distributions={"x": optuna.distributions.IntDistribution(0, 3)}))
    one.add_trial(optuna.create_trial(state=TrialState.FAIL))
    found = _results.write_results(one, tmp_path / "one.yaml")
    assert yaml.safe_load((tmp_path / "one.yaml").read_text()) == found == {
        "name": "optuna", "study_name": "one", "direction": "maximize", "best_trial": 1, "best_value": 3.0,
        "best_params": {"x": 3}, "trials": {"COMPLETE": 2, "FAIL": 1}}
    table = _results.trials_table(one).splitlines()
    assert table[0].split() == ["trial", "state", "value", "seconds", "x"] and table[2].startswith("1*")

    two = optuna.create_study(directions=["minimize", "minimize"], study_name="two")
    dist = {"x": optuna.distributions.FloatDistribution(0, 1)}
    for values, x in (([1, 3], 0.1), ([2, 2], 0.2), ([3, 3], 0.3)):
        two.add_trial(optuna.create_trial(values=values, params={"x": x}, distributions=dist))
    found = _results.results(two)
    assert found["directions"] == ["minimize", "minimize"]
    assert found["solutions"] == [{"trial": 0, "params": {"x": 0.1}, "values": [1.0, 3.0]},
                                  {"trial": 1, "params": {"x": 0.2}, "values": [2.0, 2.0]}]
    assert "2 Pareto-optimal" in _results.summary(found)


def test_plots_are_written_or_skipped_never_raised(tmp_path, caplog):
    study = optuna.create_study()
    dist = {"x": optuna.distributions.FloatDistribution(0, 1)}
    for x in (0.1, 0.5, 0.9):
        study.add_trial(optuna.create_trial(value=x * x, params={"x": x}, distributions=dist))
    with caplog.at_level("INFO"):
        written = _results.plot(study, tmp_path)
    assert sorted(p.name for p in written) == ["optimization_history.png", "parallel_coordinate.png"]
    assert "plot param_importances skipped: needs >= 2 params" in caplog.text
    assert _results.plot(optuna.create_study(), tmp_path / "none") == []  # an empty study: all skipped


def test_max_total_trials_counts_a_retried_trial_once():
    study = optuna.create_study()
    study.add_trial(optuna.create_trial(state=TrialState.FAIL))  # a dead worker's trial ...
    study.add_trial(optuna.create_trial(state=TrialState.WAITING, system_attrs={"failed_trial": 0, "retry_history": [0]}))
    assert trials_counted(study) == 0  # ... and its retry, not yet run
    study.ask()  # the retry runs
    study.add_trial(optuna.create_trial(value=1.0))
    assert trials_counted(study) == 2
