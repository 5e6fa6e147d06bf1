"""The flagship curriculum end to end on MyoSuite: every stage runs and leaves every file."""

import json

import pytest
from helpers.configs import ROOT
from helpers.processes import myorl_run

from myorl.config import EnvConfig, Metric
from myorl.envs import make_env


@pytest.mark.slow
def test_baoding_ccw_smoke_run_writes_every_stage(tmp_path):
    run = tmp_path / "run"
    # The winners' batch 32 x 10 epochs makes each stage ~100 s on 2 cores; cheaper updates keep CI short.
    proc = myorl_run(["+curriculum=baoding_ccw", "max_timesteps=512", "n_envs=2", "algo.n_epochs=1",
                    "algo.batch_size=256", "progress=false", "tracking=none", f"hydra.run.dir={run}"], cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((run / "summary.json").read_text())
    names = ["hold", "period_20", "period_15", "period_10", "period_7", "p1_period_5"]
    assert [s["name"] for s in summary["stages"]] == names
    for n, name in enumerate(names):
        d = run / "stages" / f"{n:02d}_{name}"
        for f in ["best_model.zip", "best_vecnormalize.pkl", "last_model.zip", "last_vecnormalize.pkl",
                  "evaluations.npz", "stage.json"]:
            assert (d / f).is_file(), d / f
        assert summary["stages"][n]["metric"] == Metric.solved_fraction.value
        assert 0.0 <= summary["stages"][n]["best_metric"] <= 1.0


def test_clockwise_env_rotates_the_other_way():
    import numpy as np

    def target_angles(task):
        env = make_env(EnvConfig("myorl/Baoding-v1", {"task": task, "goal_time_period": [1, 1]}))
        env.reset(seed=0)
        goal = env.unwrapped.goal[:5, 0]
        env.close()
        return np.diff(goal)

    assert (target_angles("ccw") > 0).all() and (target_angles("cw") < 0).all()
    assert (target_angles("hold") == 0).all()
