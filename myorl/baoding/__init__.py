"""MyoSuite Baoding balls for myorl: importing this package registers `myorl/Baoding-v1`."""

from myorl.baoding.env import TASKS, make_baoding

__all__ = ["TASKS", "make_baoding"]
