"""Tests of the `hydra/sweeper=optuna` plugin on plain Hydra apps of their own (`apps/`), without myorl."""
