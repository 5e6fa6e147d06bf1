"""Test utilities (kept out of conftest.py): composing configs, tiny experiments, starting processes, test envs."""
