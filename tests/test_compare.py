"""`python -m myorl.compare`: curves and a table for single runs and for a Hydra seed sweep."""

import numpy as np
import pytest
from helpers import processes
from helpers.configs import TINY_ALGO, stage, tiny_experiment

from myorl.tools.compare import bootstrap, compare, main

PNG = b"\x89PNG\r\n\x1a\n"


def test_two_runs_give_two_curves_and_a_table(tmp_path):
    runs = []
    for name, lr in [("a", 3e-4), ("b", 1e-3)]:
        exp = tiny_experiment(tmp_path / name, [stage("first", budget=256), stage("second", budget=128)],
                              overrides=[f"algo.learning_rate={lr}"])
        exp.run()
        runs.append(exp.output_dir)
    result = compare(runs, tmp_path / "out")
    assert [g.label for g in result.groups] == ["algo.learning_rate=0.0003", "algo.learning_rate=0.001"]
    assert result.png.read_bytes().startswith(PNG)
    rows = [line for line in result.table.read_text().splitlines() if line.startswith("| algo.")]
    assert len(rows) == 4  # 2 runs x 2 stages, no aggregate rows for single seeds
    assert all("budget_exhausted" in row and "| — |" in row for row in rows)  # never converged


@pytest.mark.slow
def test_a_hydra_seed_sweep_is_aggregated(tmp_path):
    # The shipped demo, capped to 256 steps a stage; stage 0 "converges" at its first evaluation (target 5).
    proc = processes.myorl_run(["-m", "+curriculum=demo", *TINY_ALGO, "progress=false", "tracking=none", "max_timesteps=256",
                    "curriculum.stages.0.eval.freq=128", "curriculum.stages.0.convergence.target=5",
                    "curriculum.stages.0.eval.episodes=2", "curriculum.stages.1.eval.episodes=2",
                    "seed=0,1,2,3,4", f"hydra.sweep.dir={tmp_path}/multirun/demo/now"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = tmp_path / "compared"
    cli = processes.run("myorl.compare", [str(tmp_path / "multirun" / "demo"), "--out", str(out)], cwd=tmp_path,
                        timeout=300)
    assert cli.returncode == 0, cli.stderr[-2000:]
    assert (out / "curves.png").read_bytes().startswith(PNG)
    table = (out / "table.md").read_text()
    runs = [line for line in table.splitlines() if line.startswith("| demo |")]
    assert len(runs) == 10 and [r.split(" | ")[2] for r in runs[::2]] == ["0", "1", "2", "3", "4"]
    aggregate = [line for line in table.splitlines() if "IQM of 5 seeds [95% CI]" in line]
    assert len(aggregate) == 2 and "5/5 converged" in aggregate[0]  # target 5 is met at the first evaluation
    assert "converged (target) 5" in aggregate[0]


def test_bootstrap_mean_and_iqm():
    values = np.array([[0.0], [1.0], [2.0], [3.0], [100.0]])
    center, low, high = bootstrap(values, iqm=True)
    assert center[0] == pytest.approx(2.0) and low[0] <= 2.0 <= high[0]
    center, low, high = bootstrap(np.full((3, 4), 7.0), iqm=False)
    assert np.all(center == 7.0) and np.all(low == 7.0) and np.all(high == 7.0)


def test_not_a_run_is_one_line(tmp_path, capsys):
    assert main([str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"myorl: '{tmp_path}' holds no myorl run (no experiment.yaml in it or below it)"]


def test_any_evaluation_key_against_wall_time(tmp_path, capsys):
    exp = tiny_experiment(tmp_path / "a", [stage("first", budget=256), stage("second", budget=128)])
    exp.run()
    out = tmp_path / "out"
    assert main([str(exp.output_dir), "metric=info/reward_survive", "--metric", "mean_ep_length", "x=wall",
                 f"out={out}"]) == 0
    assert (out / "curves.png").read_bytes().startswith(PNG)
    result = compare([exp.output_dir], tmp_path / "again", metrics=["info/reward_survive"], x="wall")
    x, y = result.groups[0].curves[0].points["info/reward_survive"]
    assert len(x) == 3 and np.all(np.diff(x) > 0) and np.all((0 < y) & (y < 1))  # 2 + 1 evaluations, in hours
    assert x[-1] < 1.0  # hours: a tiny run takes seconds
    assert main([str(exp.output_dir), "--metric", "info/nope"]) == 1
    assert "no evaluation reports ['info/nope']; the runs' evaluations.npz hold: " in capsys.readouterr().err
