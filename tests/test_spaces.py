"""Hand-over between stages whose spaces differ."""

import logging

import pytest
from helpers.configs import stage

from myorl.errors import MyorlError

DOUBLE = "InvertedDoublePendulum-v5"  # 9-dim observations instead of 4, same 1-dim action


def test_partial_transfer_copies_what_matches_and_says_what_not(tiny, caplog):
    exp = tiny([stage("single", budget=128), stage("double", env_id=DOUBLE, budget=128)])
    with caplog.at_level(logging.WARNING, logger="myorl"):
        summary = exp.run()
    assert [s.status for s in summary.stages] == ["budget_exhausted"] * 2
    warning = "\n".join(r.getMessage() for r in caplog.records if "hand-over" in r.getMessage())
    assert "not transferred" in warning and "mlp_extractor.policy_net.0.weight" in warning
    assert "log_std" not in warning.split("not transferred")[1]  # same action space: copied


def test_strict_handover_refuses_before_training(tiny):
    exp = tiny([stage("single", budget=128), stage("double", env_id=DOUBLE, budget=128)],
               handover={"model": "best", "strict": True})
    with pytest.raises(MyorlError, match="other spaces.*handover.strict=false"):
        exp.run()
    assert not (exp.output_dir / "stages").exists()


def test_nothing_matching_is_refused(tiny):
    other_net = {"policy_kwargs": {"net_arch": {"pi": [8], "vf": [8]}}}
    exp = tiny([stage("single", budget=128), stage("swim", env_id="Swimmer-v5", budget=128, algo=other_net)])
    with pytest.raises(MyorlError, match="no weights of .* fit"):
        exp.run()


def test_statistics_carry_what_fits_and_the_stage_log_line_says_so(tiny, caplog):
    import pickle

    norm = {"obs": True, "reward": True, "clip_obs": 10.0, "clip_reward": 10.0}
    exp = tiny([stage("single", budget=128), stage("double", env_id=DOUBLE, budget=128)], normalize=norm)
    with caplog.at_level(logging.INFO, logger="myorl"):
        exp.run()
    line = next(r.getMessage() for r in caplog.records if "starts from" in r.getMessage())
    assert line.startswith("stage 'double' starts from 00_single/best_model.zip (")
    assert "return statistics" in line and "NOT observation statistics (shape (4,) -> (9,)" in line
    stages = exp.output_dir / "stages"
    first = pickle.loads((stages / "00_single/best_vecnormalize.pkl").read_bytes())
    second = pickle.loads((stages / "01_double/last_vecnormalize.pkl").read_bytes())
    assert second.ret_rms.count > first.ret_rms.count  # the return statistics went on from stage 1's
    assert second.obs_rms.count < first.obs_rms.count + 128  # the observation statistics started afresh
