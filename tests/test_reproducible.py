"""A seed fixes a run on the CPU."""

import numpy as np
from helpers.configs import stage, tiny_experiment

STAGES = [stage("a", budget=256), stage("b", budget=256)]


def evaluations(path, seed):
    exp = tiny_experiment(path, STAGES, seed=seed, n_envs=2)
    exp.run()
    data = np.load(exp.output_dir / "stages/01_b/evaluations.npz", allow_pickle=True)
    return data["metric"], np.array(list(data["results"]), dtype=float)


def test_same_seed_same_evaluations(tmp_path):
    a, b, c = evaluations(tmp_path / "a", 3), evaluations(tmp_path / "b", 3), evaluations(tmp_path / "c", 4)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])


def test_the_default_vec_env_trains_exactly_as_dummy(tmp_path):
    def run(kind):
        exp = tiny_experiment(tmp_path / kind, STAGES, seed=5, n_envs=3, vec_env=kind)
        exp.run()
        data = np.load(exp.output_dir / "stages/01_b/evaluations.npz", allow_pickle=True)
        return data["metric"], np.array(list(data["results"]), dtype=float)

    (auto_metric, auto_results), (dummy_metric, dummy_results) = run("auto"), run("dummy")
    assert np.array_equal(auto_metric, dummy_metric) and np.array_equal(auto_results, dummy_results)
