"""`python -m myorl.distill`: a super model of smoke-trained Baoding experts distilled into one recurrent network.

The experts are PPO models trained for a few dozen steps, with PyTorch's default initialisation
(`ortho_init=false`) so that their actions are far from zero: something to imitate.
"""

import json

import numpy as np
import pytest
from helpers import processes
from helpers.configs import stage, tiny_experiment

from myorl import algos
from myorl.config import VecEnvKind, algo_config
from myorl.envs import build_envs, load_statistics, make_vec_env
from myorl.handover import carry_statistics, copy_weights
from myorl.rundir import StageDir, open_stage
from myorl.tools.distill import (
    BCArgs,
    DaggerArgs,
    DistillArgs,
    Distillation,
    TeacherArgs,
    action_error,
    algo_preset,
    collect,
    load_teacher,
    main,
)
from myorl.tools.ensemble import Member
from myorl.tools.evaluate import evaluate_stage

NORM = {"obs": True, "reward": False, "clip_obs": 10.0, "clip_reward": 10.0}
STUDENT = {"policy_kwargs": {"lstm_hidden_size": 16, "net_arch": {"pi": [32], "vf": [32]}}}
BUDGET = DistillArgs(bc=BCArgs(steps=600, epochs=30), dagger=DaggerArgs(rounds=1, steps=300, epochs=10),
                     episodes=3, n_envs=4, batch_size=256)


@pytest.fixture(scope="module")
def experts(tmp_path_factory):
    root = tmp_path_factory.mktemp("experts")
    found = {}
    for task in ("cw", "ccw"):
        exp = tiny_experiment(root / task, [stage(task, env={"id": "myorl/Baoding-v1", "kwargs": {"task": task}},
                                                  budget=64, freq=64, episodes=1)],
                              overrides=["algo.policy_kwargs.ortho_init=false"], normalize=NORM)
        exp.run()
        found[task] = str(exp.output_dir)
    return found


@pytest.fixture(scope="module")
def distilled(experts, tmp_path_factory):
    teacher = load_teacher(TeacherArgs(cw=experts["cw"], ccw=experts["ccw"]))
    algo = algo_config(algo_preset("recurrent_ppo"), STUDENT)
    out = tmp_path_factory.mktemp("distilled") / "run"
    record = Distillation(teacher, algo, out, BUDGET, log=lambda _line: None).run()
    return teacher, algo, out, record


def test_the_student_agrees_with_the_teacher_better_than_an_untrained_network(distilled):
    teacher, algo, out, _ = distilled
    env = make_vec_env(teacher.env, 2, VecEnvKind.dummy, seed=99)  # held out: not the seed it learned from
    held_out = collect(teacher.policy, env, 300)
    student = Member.load(out)
    untrained = Member(algos.build_model(algo, env, seed=7, device="cpu"), student.statistics, "untrained")
    env.close()
    assert action_error(student, held_out) < 0.5 * action_error(untrained, held_out)


def test_the_run_dir_records_teacher_and_student_side_by_side(distilled):
    _, _, out, record = distilled
    saved = json.loads((out / "distill.json").read_text())
    assert saved["teacher"]["source"].startswith("super model: cw ")
    assert saved["env"] == {"id": "myorl/Baoding-v1", "kwargs": {"task": "random"}}
    for who in ("teacher", "student"):
        assert set(saved[who]) >= {"solved_fraction", "per_task", "mean_reward", "episode_lengths"}
        assert sum(t["episodes"] for t in saved[who]["per_task"].values()) == 3
    # the same seeded episodes: each episode's task is the same for both
    assert saved["teacher"]["per_task"].keys() == saved["student"]["per_task"].keys()
    assert [r["round"] for r in saved["rounds"]] == ["bc", "dagger 1/1"]
    assert saved["rounds"][-1]["labelled"] == sum(r["steps"] for r in saved["rounds"]) >= 900
    summary = json.loads((out / "summary.json").read_text())
    assert summary["curriculum"] == "distill" and summary["stages"][0]["status"] == "budget_exhausted"
    assert summary["objective"] == record["student"]["solved_fraction"]
    assert not list(out.parent.glob(".run.tmp-*"))  # written whole, then renamed


def test_the_run_dir_evaluates_and_hands_over_like_any_other(distilled):
    _, algo, out, record = distilled
    stage_ = open_stage(out)
    assert stage_.name == "distill" and stage_.plan.algo == algo and stage_.plan.normalize.obs
    evaluation = evaluate_stage(stage_, "best")  # the student's evaluation, reproduced from the run dir alone
    assert evaluation.episode_rewards == tuple(record["student"]["episode_rewards"])
    assert evaluation.solved_fraction == record["student"]["solved_fraction"]
    # a hand-over into a fresh RL stage of the same algo: every tensor, both statistics; then it trains on
    train_env, eval_env = build_envs(stage_.plan.env, n_envs=1, kind=VecEnvKind.dummy, seed=5,
                                     normalize=stage_.plan.normalize, gamma=0.99, frame_stack=None)
    model = algos.build_model(algo_config(algo, {"n_steps": 32, "batch_size": 32}), train_env, seed=5, device="cpu")
    transfer = copy_weights(StageDir(out / "stages/00_distill").model("best"), model, strict=True)
    assert not transfer.skipped
    carried, _ = carry_statistics(load_statistics(StageDir(out / "stages/00_distill").statistics("best")), train_env)
    assert carried == ["observation", "return"]
    model.learn(32)
    assert model.num_timesteps == 32
    for env in (train_env, eval_env):
        env.close()


@pytest.mark.slow
def test_cli_distils_and_the_result_evaluates(experts, tmp_path):
    out = tmp_path / "student"
    proc = processes.run("myorl.distill", [f"teacher.cw={experts['cw']}", f"teacher.ccw=[{experts['ccw']}]",
                                           "algo=recurrent_ppo", "algo.policy_kwargs.lstm_hidden_size=8",
                                           "bc.steps=200", "bc.epochs=2", "dagger.rounds=1", "dagger.steps=100",
                                           "dagger.epochs=1", "episodes=2", "n_envs=2", f"out={out}"],
                         cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "teacher vs student (best: " in proc.stdout and f"python -m myorl.evaluate run={out}" in proc.stdout
    proc = processes.run("myorl.evaluate", [f"run={out}", "episodes=2"], cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    record = json.loads((out / "stages/00_distill/evaluation.json").read_text())
    distilled = json.loads((out / "distill.json").read_text())
    assert record["stage"] == "distill" and record["per_task"] == distilled["student"]["per_task"]
    assert "solved per task: " in proc.stdout


@pytest.mark.parametrize("args, expected", [
    (["teacher.cw={cw}"], "needs both teacher.cw=<run or stage dir> and teacher.ccw=<...>"),
    ([], "no teacher"),
    (["teacher.policy={cw}", "teacher.cw={cw}", "teacher.ccw={ccw}"], "not both"),
    (["teacher.policy={cw}", "bc.epochs=0"], "bc.epochs must be positive, got 0"),
    (["teacher.policy={cw}", "dagger.round=2"], "dagger.round"),
    (["teacher.policy={cw}", "algo=ppo2"], "unknown algo 'ppo2'; choose one of: ppo, "),
    (["teacher.policy={cw}", "algo.learnin_rate=1"], "learnin_rate"),
    (["teacher.policy={cw}", "algo.batch_size=100000"], "batch_size 100000 exceeds the rollout size"),
    (["teacher.policy={cw}", "env.id=Hopper-v5"], "the teacher observes shape (86,), env 'Hopper-v5' {} has (11,)"),
    (["teacher.policy={cw}", "model=checkpoint:3"], "has no checkpoint at 3 steps"),
    (["teacher.policy=nope"], "run dir 'nope' does not exist"),
    (["teacher.policy={cw}", "out={cw}"], "already exists; choose another out="),
])
def test_bad_input_is_one_clear_line_and_writes_nothing(experts, tmp_path, capsys, args, expected):
    default_out = [] if any(a.startswith("out=") for a in args) else [f"out={tmp_path}/out"]
    assert main([a.format(**experts) for a in args] + default_out) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("myorl: ") and expected in err[0], err
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out.tmp-*"))


def test_a_ppo_teacher_distils_into_a_ppo_student(experts, tmp_path):
    teacher = load_teacher(TeacherArgs(policy=experts["cw"]))
    assert teacher.env.kwargs == {"task": "cw"}  # a plain model's own env
    budget = DistillArgs(bc=BCArgs(steps=200, epochs=20), dagger=DaggerArgs(rounds=0), episodes=1, n_envs=2)
    record = Distillation(teacher, teacher.algo, tmp_path / "run", budget, log=lambda _line: None).run()
    assert [r["round"] for r in record["rounds"]] == ["bc"]
    assert open_stage(tmp_path / "run").load_model("last").policy_kwargs["ortho_init"] is False
    assert np.isfinite(record["rounds"][0]["loss"])
