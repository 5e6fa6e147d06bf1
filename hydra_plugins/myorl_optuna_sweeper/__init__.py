"""`hydra/sweeper=optuna`: a Hydra Sweeper on current Optuna, with pruning, seeds per trial and shared storage.

The released hydra-optuna-sweeper pins optuna<3 and has no pruning, so myorl ships its own. Hydra finds
this package by scanning the `hydra_plugins` namespace; `config.py` registers the config groups.
"""
