"""`python -m myorl.evaluate`: the recorded best evaluation reproduced, the video, clear errors."""

import json
import shutil

import numpy as np
import pytest
from helpers import processes
from helpers.configs import ROOT, stage, tiny_experiment

from myorl.rundir import open_stage
from myorl.tools.evaluate import evaluate_stage, main
from myorl.tools.video import count_frames

NORM = {"obs": True, "reward": True, "clip_obs": 10.0, "clip_reward": 10.0}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """PPO with VecNormalize and frame stacking; one evaluation (freq = budget), so the best model's
    evaluation was the first one its eval env ran: the very episodes a new evaluation sees."""
    exp = tiny_experiment(tmp_path_factory.mktemp("evaluate"),
                          [stage("warmup", budget=128, freq=128),
                           stage("stacked", budget=256, freq=256, episodes=3, frame_stack=2)], normalize=NORM)
    exp.run()
    return exp.output_dir


def evaluate_cli(args, tmp_path):
    return processes.run("myorl.evaluate", args, cwd=tmp_path, timeout=300)


def test_cli_reproduces_the_best_evaluation_and_records_a_video(run, tmp_path):
    proc = evaluate_cli([f"run={run}", "record=true", "video_episodes=2"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    stage_dir = run / "stages" / "01_stacked"
    record = json.loads((stage_dir / "evaluation.json").read_text())
    recorded = json.loads((stage_dir / "stage.json").read_text())
    evals = np.load(stage_dir / "evaluations.npz", allow_pickle=True)
    best = int(np.argmax(evals["metric"]))
    assert record["stage"] == "stacked" and record["model"] == "best" and record["episodes"] == 3
    assert record["mean_reward"] == recorded["best_metric"]  # exactly
    assert record["episode_rewards"] == [float(r) for r in evals["results"][best]]
    assert record["info"]["reward_survive"] == evals["info/reward_survive"][best]
    assert record["episode_lengths"] == [int(n) for n in evals["ep_lengths"][best]]
    assert f"return {record['mean_reward']:.2f} ± {record['std_reward']:.2f}" in proc.stdout
    # the video shows the evaluation's first two episodes: one frame per reset and per step
    assert record["video"] == "video_best.mp4"
    assert count_frames(stage_dir / "video_best.mp4") == sum(record["episode_lengths"][:2]) + 2


def test_recurrent_ppo_keeps_its_lstm_state_per_episode(tmp_path):
    # No reset noise and a deterministic policy: every episode is the same, whichever evaluation was best,
    # as long as the LSTM state starts afresh each episode.
    exp = tiny_experiment(tmp_path, [stage("lstm", env={"id": "InvertedPendulum-v5", "kwargs": {"reset_noise_scale": 0.0}},
                                           budget=256, freq=128, episodes=2)],
                          overrides=["algo=recurrent_ppo", "algo.policy_kwargs.lstm_hidden_size=8"])
    exp.run()
    record = json.loads((exp.output_dir / "stages/00_lstm/stage.json").read_text())
    evaluation = evaluate_stage(open_stage(exp.output_dir), "best", episodes=3)
    assert evaluation.mean_reward == record["best_metric"] and evaluation.std_reward == 0.0
    assert evaluate_stage(open_stage(exp.output_dir / "stages/00_lstm"), "last", episodes=1).mean_ep_length > 0


@pytest.mark.parametrize("args, expected", [
    (["run={missing}"], "does not exist"),
    (["run={root}"], "is not a myorl run"),
    (["run={run}", "stage=nope"], "has no stage 'nope'; its stages: warmup, stacked"),
    (["run={broken}", "stage=warmup"], "has no best model (best_model.zip is missing); try model=last"),
    (["run={run}", "episdes=3"], "episdes"),
    (["run={run}", "model=middle"], "model"),
    ([], "nothing to evaluate"),
    (["supermodel.cw={run}"], "needs both"),
])
def test_bad_input_is_one_clear_line(run, tmp_path, capsys, args, expected):
    broken = tmp_path / "broken"
    shutil.copytree(run, broken)
    (broken / "stages/00_warmup/best_model.zip").unlink()
    paths = {"missing": tmp_path / "nope", "root": ROOT, "run": run, "broken": broken}
    assert main([a.format(**paths) for a in args]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("myorl: ") and expected in err[0], err


def test_cli_error_has_no_traceback(tmp_path):
    proc = evaluate_cli([f"run={tmp_path}/nope"], tmp_path)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert proc.stderr.strip() == f"myorl: run dir '{tmp_path}/nope' does not exist"


def test_video_goes_to_the_stages_wandb_run(tmp_path):
    import wandb

    from myorl.tools.video import log_to_tracking, write_mp4

    stage_dir = tmp_path / "stage"
    stage_dir.mkdir()
    first = wandb.init(project="myorl", mode="offline", dir=str(tmp_path), reinit="create_new",
                       settings=wandb.Settings(silent=True))
    first.finish()
    (stage_dir / "tracking.json").write_text(json.dumps({"id": first.id, "project": "myorl", "mode": "offline",
                                                          "dir": str(tmp_path)}))
    video = write_mp4(stage_dir / "video_best.mp4", [np.zeros((32, 32, 3), np.uint8)] * 3, fps=10)
    assert log_to_tracking(stage_dir / "tracking.json", video) == first.id
    assert list((tmp_path / "wandb").glob(f"offline-run-*-{first.id}/files/media/videos/*.mp4"))
    assert log_to_tracking(tmp_path / "tracking.json", video) is None  # no tracking.json: nothing, silently
