"""The flagship curriculum end to end on MyoSuite: every stage runs and leaves every file."""

import json

import numpy as np
import pytest
from helpers.configs import ROOT
from helpers.processes import myorl_run

from myorl.config import EnvConfig, Metric
from myorl.envs import make_env


@pytest.mark.slow
def test_baoding_ccw_smoke_run_writes_every_stage(tmp_path):
    run = tmp_path / "run"
    # Smoke size (2 rollouts a stage; the README's smoke command uses 2048), the shipped algo; on_stall=continue
    # because a hand trained for so few steps learns nothing and every stage's floor says so (stalled).
    fewer_episodes = [f"curriculum.stages.{i}.eval.episodes=2" for i in range(11)]  # evaluation is not under test
    proc = myorl_run(["+curriculum=baoding_ccw", "max_timesteps=512", "n_envs=2", "on_stall=continue",
                      "progress=false", "tracking=none", *fewer_episodes, f"hydra.run.dir={run}"], cwd=ROOT,
                     timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((run / "summary.json").read_text())
    names = ["hold", "rsi_period_30", "rsi_period_25", "rsi_period_20", "rsi_period_15", "period_10", "period_9",
             "period_8", "period_7", "period_6", "p1_period_5"]
    assert [s["name"] for s in summary["stages"]] == names
    for n, name in enumerate(names):
        d = run / "stages" / f"{n:02d}_{name}"
        for f in ["best_model.zip", "best_vecnormalize.pkl", "last_model.zip", "last_vecnormalize.pkl",
                  "evaluations.npz", "stage.json"]:
            assert (d / f).is_file(), d / f
        record = summary["stages"][n]
        assert record["metric"] == Metric.solved_fraction.value and 0.0 <= record["best_metric"] <= 1.0
        assert record["status"] in ("stalled", "budget_exhausted", "converged") and 512 <= record["timesteps"]
        evals = np.load(d / "evaluations.npz", allow_pickle=True)
        assert {"info/alive", "info/solved", "info/effort", "info/pos_dist_1"} <= set(evals.files)
    assert "starts from 00_hold/best_model.zip (the whole model, optimizer state included" in proc.stdout + proc.stderr


def test_the_shipped_baoding_curricula_set_a_floor():
    from helpers.configs import compose_config

    for name in ("baoding_ccw", "baoding_cw"):
        stages = compose_config([f"+curriculum={name}"]).curriculum.stages
        assert all(stage.convergence.floor is not None and stage.convergence.floor > 0 for stage in stages)


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
