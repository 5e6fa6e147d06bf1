"""What plugs into a run from outside the core: W&B tracking and the Optuna job side, wired by `myorl.run`."""
