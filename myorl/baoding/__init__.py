"""MyoSuite's Baoding balls: the fixed-direction env (`myorl/Baoding-v1`) and the CW/CCW super model."""

from myorl.baoding.env import TASKS, make_baoding

__all__ = ["TASKS", "make_baoding"]
