"""myorl: curricula, sweeps and run records on top of Stable-Baselines3."""
