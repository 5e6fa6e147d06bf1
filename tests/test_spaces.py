"""Hand-over between stages whose spaces differ."""

import logging

import pytest
from conftest import stage

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
