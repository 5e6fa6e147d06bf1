"""MyoSuite's Baoding balls: the env with the 2022 winners' knobs (`myorl/Baoding-v1`) and the CW/CCW super model."""

from myorl.baoding.env import TASKS, make_baoding

__all__ = ["TASKS", "make_baoding"]
