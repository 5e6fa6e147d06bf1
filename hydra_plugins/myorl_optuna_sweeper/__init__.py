"""`hydra/sweeper=optuna`: a Hydra Sweeper on current Optuna, for any Hydra app.

The released hydra-optuna-sweeper pins optuna<3; this one runs on Optuna 5 and adds pruning (for apps that
declare the trial link), seeds per trial, multi-objective studies, heartbeats with retries of dead workers'
trials, a study-wide trial cap and plots. Hydra finds it by scanning the `hydra_plugins` namespace:
`config.py` registers the config groups, `optuna_sweeper.py` is the plugin class (keys documented there),
`_impl.py` the sweep, `search_space.py` the syntax, `_storage.py` heartbeats, `_results.py` the results,
`replay.py` a grid sweeper for re-running a trial's configuration.
Nothing here imports myorl: the package can be published on its own.
"""
