"""Sweeps as a user types them: Hydra multirun grids, the Optuna sweeper (pruning, failures, seeds), launchers.

Every sweep is real (Hydra, Optuna, joblib, submitit) and tiny: InvertedPendulum-v5, 256 steps, two evaluations.
Faults come from the search space: `Nope-v0` is not an env (the run raises), and Pendulum-v1's returns are
always negative, so a threshold pruner at 0 prunes it at its first evaluation while InvertedPendulum's
(positive) returns never are.
"""

import json
import math

import optuna
import pytest
import yaml
from helpers import processes
from helpers.configs import TINY_ALGO, compose_config
from hydra.core.utils import JobReturn, JobStatus
from omegaconf import OmegaConf
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState

from hydra_plugins.myorl_optuna_sweeper import search_space
from hydra_plugins.myorl_optuna_sweeper._impl import judge
from myorl.experiment import Experiment


def compose_hydra(overrides):
    return compose_config(overrides, hydra=True)


TINY_RUN = ["+curriculum=inverted_pendulum", *TINY_ALGO, "progress=false", "max_timesteps=256",
            "curriculum.stages.0.eval.freq=128", "curriculum.stages.0.eval.episodes=2"]
ENV = "curriculum.stages.0.env.id"
# one trial per env id (grid), a threshold pruner at 0: Pendulum is pruned, Nope-v0 fails
FAULTY_GRID = ["hydra/sweeper=optuna", "hydra/sweeper/sampler=grid", "hydra.sweeper.sampler.seed=0",
               "hydra/sweeper/pruner=threshold", "hydra.sweeper.pruner.lower=0"]


def multirun(sweep_dir, *args, cwd=None, timeout=400):
    return processes.myorl_run(["-m", *TINY_RUN, *args, f"hydra.sweep.dir={sweep_dir}"], cwd=cwd or sweep_dir.parent,
                   timeout=timeout)


def load(sweep_dir, name="inverted_pendulum"):
    return optuna.load_study(study_name=name, storage=f"sqlite:///{sweep_dir}/optuna.db")


def by_env(study):
    return {t.params[ENV]: t for t in study.trials}


def run_status(run_dir):
    return json.loads((run_dir / "summary.json").read_text())["stages"][0]["status"]


def overlapping(a, b):
    return a.datetime_start < b.datetime_complete and b.datetime_start < a.datetime_complete


# --------------------------------------------------------------------------- grids (Hydra's basic sweeper)
def test_grid_multirun_runs_one_job_per_combination(tmp_path):
    sweep = tmp_path / "grid"
    proc = multirun(sweep, "seed=0,1", "algo.learning_rate=1e-4,3e-4")
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs = sorted(p for p in sweep.iterdir() if p.is_dir() and not p.name.startswith("."))
    combos = set()
    for job in jobs:
        overrides = dict(o.split("=", 1) for o in yaml.safe_load((job / ".hydra" / "overrides.yaml").read_text()))
        combos.add((int(overrides["seed"]), float(overrides["algo.learning_rate"])))
        assert run_status(job) == "budget_exhausted"
    assert combos == {(seed, lr) for seed in (0, 1) for lr in (1e-4, 3e-4)}

def test_a_failing_grid_job_does_not_stop_the_others(tmp_path):
    sweep = tmp_path / "grid"
    proc = multirun(sweep, f"{ENV}=Nope-v0,InvertedPendulum-v5")
    assert proc.returncode != 0  # Hydra's grid reports the failure once every job has run
    assert "unknown env id 'Nope-v0'" in proc.stdout + proc.stderr
    assert not (sweep / "0" / "stages").exists() and run_status(sweep / "1") == "budget_exhausted"


# --------------------------------------------------------------------------- the Optuna sweeper
def test_optuna_sweep_records_failed_pruned_and_complete_trials(tmp_path):
    sweep = tmp_path / "optuna"
    proc = multirun(sweep, *FAULTY_GRID, "hydra.sweeper.seeds_per_trial=2", "hydra.sweeper.n_trials=5",
                    f"{ENV}=choice(InvertedPendulum-v5, Pendulum-v1, Nope-v0)")
    assert proc.returncode == 0, proc.stderr[-3000:]
    study = load(sweep)
    assert len(study.trials) == 3  # the grid is exhausted before n_trials
    trials = by_env(study)

    failed = trials["Nope-v0"]
    assert failed.state == TrialState.FAIL and "unknown env id 'Nope-v0'" in failed.user_attrs["fail_reason"]

    pruned = trials["Pendulum-v1"]
    assert pruned.state == TrialState.PRUNED
    assert list(pruned.intermediate_values) == [128]  # reported at the curriculum's timesteps, then stopped
    assert pruned.value == pruned.intermediate_values[128] < 0  # Optuna keeps the last reported value
    partial = []
    for run_dir in pruned.user_attrs["run_dirs"]:  # both seeds stopped, and their run dirs say so
        summary = json.loads((tmp_path / run_dir / "summary.json").read_text())
        assert summary["stages"][0]["status"] == "pruned" and summary["stages"][0]["timesteps"] < 256
        partial.append(summary["objective"])
    assert pruned.user_attrs["partial_objective"] < 0  # the mean of what the jobs' Pruned carry: as on disk
    assert pruned.user_attrs["partial_objective"] == pytest.approx(sum(partial) / 2)

    complete = trials["InvertedPendulum-v5"]
    assert complete.state == TrialState.COMPLETE and complete.user_attrs["seeds"] == [0, 1]
    objectives = [json.loads((tmp_path / d / "summary.json").read_text())["objective"]
                  for d in complete.user_attrs["run_dirs"]]
    assert complete.value == pytest.approx(sum(objectives) / 2)  # the mean over the trial's seeds
    assert sorted(complete.intermediate_values) == [128, 256]

    results = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    assert results["best_value"] == complete.value and results["best_params"] == {ENV: "InvertedPendulum-v5"}
    assert results["trials"] == {"COMPLETE": 1, "PRUNED": 1, "FAIL": 1}
    out = proc.stdout + proc.stderr
    assert "Trials of study 'inverted_pendulum'" in out and "PRUNED" in out and "InvertedPendulum-v5" in out

    # Optuna's own command line reads the study
    cli = processes.run(tool="optuna", args=["trials", "--storage", f"sqlite:///{sweep}/optuna.db",
                                             "--study-name", "inverted_pendulum", "-f", "json"])
    assert cli.returncode == 0, cli.stderr
    assert sorted(t["state"] for t in json.loads(cli.stdout)) == ["COMPLETE", "FAIL", "PRUNED"]


def test_too_many_failures_stop_the_sweep(tmp_path):
    sweep = tmp_path / "failing"
    proc = multirun(sweep, "hydra/sweeper=optuna", "hydra.sweeper.n_trials=4", "hydra.sweeper.max_failure_rate=0.25",
                    f"{ENV}=Nope-v0", "algo.learning_rate=interval(1e-4, 1e-3)")
    assert proc.returncode != 0
    assert "more than max_failure_rate=0.25" in proc.stdout + proc.stderr
    assert [t.state for t in load(sweep).trials] == [TrialState.FAIL] * 2  # 2 > 0.25 * 4: stopped there
    assert yaml.safe_load((sweep / "optimization_results.yaml").read_text())["trials"] == {"FAIL": 2}


def test_search_space_syntax():
    space = search_space.parse(
        {"algo.gamma": "choice(0.99, 0.995)", "algo.n_epochs": "5"},
        ["algo.learning_rate=tag(log, interval(1e-5, 1e-3))", "algo.n_steps=choice(256, 512)",
         "algo.batch_size=int(interval(16, 128))", "+x.k=tag(log, int(interval(1, 64)))",
         "algo.policy_kwargs.net_arch.pi=choice([64,64],[256,256])", "algo.gae_lambda=range(0.9, 1.0, 0.05)",
         "algo.n_epochs=range(5, 20, 5)", "algo.gamma=0.98,0.99", "+curriculum=hopper"])
    d = space.distributions
    assert d["algo.learning_rate"] == FloatDistribution(1e-5, 1e-3, log=True)
    assert d["algo.n_steps"] == CategoricalDistribution([256, 512])
    assert d["algo.batch_size"] == IntDistribution(16, 128)
    assert d["x.k"] == IntDistribution(1, 64, log=True)
    assert d["algo.policy_kwargs.net_arch.pi"] == CategoricalDistribution(["[64,64]", "[256,256]"])
    assert d["algo.gae_lambda"].step == pytest.approx(0.05) and d["algo.gae_lambda"].low == 0.9
    assert d["algo.n_epochs"] == IntDistribution(5, 15, step=5)  # the command line wins over params
    assert d["algo.gamma"] == CategoricalDistribution([0.98, 0.99])
    assert space.fixed == ["+curriculum=hopper"]
    overrides = space.overrides({"algo.learning_rate": 1e-4, "x.k": 8, "algo.policy_kwargs.net_arch.pi": "[64,64]",
                                 "algo.n_steps": 512})
    assert overrides == ["algo.learning_rate=0.0001", "+x.k=8", "algo.policy_kwargs.net_arch.pi=[64,64]",
                         "algo.n_steps=512"]
    cfg = compose_hydra(["+curriculum=hopper", *overrides[:1], *overrides[2:]])
    assert cfg.algo.learning_rate == 1e-4 and list(cfg.algo.policy_kwargs.net_arch.pi) == [64, 64]


def test_a_job_without_a_finite_objective_fails_its_trial():
    def ret(value, status=JobStatus.COMPLETED):
        return JobReturn(status=status, _return_value=value)

    verdict = judge([ret(1.0), ret(3.0)])
    assert (verdict.state, verdict.values) == (TrialState.COMPLETE, [2.0])
    verdict = judge([ret(1.0), ret(math.nan)])
    assert verdict.state == TrialState.FAIL and "nan" in verdict.attrs["fail_reason"]
    assert judge([ret(None)]).state == TrialState.FAIL  # no evaluation at all
    assert judge([ret(optuna.TrialPruned(), JobStatus.FAILED), ret(1.0)]).state == TrialState.PRUNED
    assert judge([ret(optuna.TrialPruned(), JobStatus.FAILED), ret(ValueError("x"), JobStatus.FAILED)]).state == \
        TrialState.FAIL


# --------------------------------------------------------------------------- launchers
@pytest.mark.parametrize("launcher", [
    ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"],
    pytest.param(["hydra/launcher=submitit_local", "hydra.sweeper.n_jobs=2"], marks=pytest.mark.slow),
])
def test_launchers_run_trials_in_parallel_and_prune_across_processes(tmp_path, launcher):
    sweep = tmp_path / "parallel"
    proc = multirun(sweep, *FAULTY_GRID, *launcher, "hydra.sweeper.n_trials=2",
                    f"{ENV}=choice(InvertedPendulum-v5, Pendulum-v1)")
    assert proc.returncode == 0, proc.stderr[-3000:]
    trials = by_env(load(sweep))
    assert trials["InvertedPendulum-v5"].state == TrialState.COMPLETE
    assert trials["Pendulum-v1"].state == TrialState.PRUNED  # pruned inside the launcher's worker process
    assert overlapping(trials["InvertedPendulum-v5"], trials["Pendulum-v1"])  # asked together: one batch of two
    assert run_status(tmp_path / trials["Pendulum-v1"].user_attrs["run_dirs"][0]) == "pruned"


def test_slurm_preset_composes_over_submitit():
    cfg = compose_hydra(["+curriculum=demo", "hydra/launcher=slurm", "hydra.launcher.partition=gpu",
                        "hydra.launcher.gpus_per_node=1"])
    launcher = cfg.hydra.launcher
    assert launcher._target_ == "hydra_plugins.myorl_submitit_launcher.launcher.SlurmLauncher"  # requeues with resume=true
    assert launcher.partition == "gpu" and launcher.gpus_per_node == 1
    assert {"timeout_min", "cpus_per_task", "mem_gb", "array_parallelism", "setup"} <= set(launcher)


@pytest.mark.parametrize("overrides, curriculum", [
    (["+curriculum=hopper", "+hparams_search=ppo_hopper"], "hopper"),
    (["+hparams_search=recurrent_ppo_baoding"], "baoding_hold"),
    (["+curriculum=baoding_ccw", "+hparams_search=recurrent_ppo_baoding"], "baoding_hold"),
])
def test_shipped_search_spaces_compose(overrides, curriculum, tmp_path):
    cfg = compose_hydra(overrides)
    assert cfg.hydra.sweeper._target_.endswith("OptunaSweeper") and cfg.curriculum.name == curriculum
    space = search_space.parse(cfg.hydra.sweeper.params, [])
    assert "algo.learning_rate" in space.distributions and not space.fixed
    # every corner of the space composes into a valid config
    for pick in (0, -1):
        values = {name: (dist.choices[pick] if isinstance(dist, CategoricalDistribution)
                         else (dist.low, dist.high)[pick]) for name, dist in space.distributions.items()}
        job = compose_hydra([*overrides, *space.overrides(values)])
        assert OmegaConf.select(job, "algo.learning_rate") == values["algo.learning_rate"]
        Experiment.from_config(compose_config([*overrides, *space.overrides(values)]), tmp_path).plans()


# --------------------------------------------------------------------------- many workers, one study
@pytest.mark.slow
def test_two_sweep_processes_share_a_postgres_study(tmp_path, postgres):
    args = ["hydra/sweeper=optuna", f"hydra.sweeper.storage={postgres}", "hydra.sweeper.study_name=shared",
            "hydra.sweeper.n_trials=2", "algo.learning_rate=tag(log, interval(1e-5, 1e-3))"]
    workers = [processes.start("myorl.run", ["-m", *TINY_RUN, *args, f"hydra.sweep.dir={tmp_path / name}"], cwd=tmp_path,
                               merge_output=True) for name in ("a", "b")]
    outputs = [w.communicate(timeout=400)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs[0][-2000:] + outputs[1][-2000:]
    study = optuna.load_study(study_name="shared", storage=postgres)
    trials = study.trials
    assert len(trials) == 4 and all(t.state == TrialState.COMPLETE for t in trials)
    assert sorted(t.number for t in trials) == [0, 1, 2, 3]  # one numbering: one study
    by_worker = {name: [t for t in trials if t.user_attrs["sweep_dir"] == str(tmp_path / name)] for name in "ab"}
    assert all(len(ts) == 2 for ts in by_worker.values())
    assert any(overlapping(a, b) for a in by_worker["a"] for b in by_worker["b"])  # they ran at the same time
