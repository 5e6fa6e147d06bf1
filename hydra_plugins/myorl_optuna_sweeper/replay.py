"""`hydra/sweeper=replay`: Hydra's basic sweeper (a grid of the command line's `key=a,b` sweeps) that accepts the
Optuna sweeper's settings and ignores them.

A search-space file (a `# @package _global_` config such as myorl's `+hparams_search=NAME`) chooses
`hydra/sweeper: optuna` and sets `hydra.sweeper.n_trials`, `params`, `pruner`, ...; a trial's jobs keep that file
among their overrides. Re-running a trial's overrides as a grid (e.g. over more seeds) with `hydra/sweeper=basic`
does not compose (`Key 'n_trials' not in 'BasicSweeperConf'`), and with the Optuna sweeper it would search again.
`replay` has the Optuna sweeper's keys, so such a file composes, and sweeps only the command line, as the basic
sweeper does.
"""

# No `from __future__ import annotations`: Hydra's plugin scan runs this module (see config.py).

from typing import Any

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper


class ReplaySweeper(BasicSweeper):
    """The basic sweeper over the command line's overrides; `hydra.sweeper.params` and the Optuna keys are ignored.

    Its config, `hydra/sweeper=replay`, is `config.ReplaySweeperConf`.
    """

    def __init__(self, max_batch_size: int | None = None, **optuna_settings: Any) -> None:
        super().__init__(max_batch_size=max_batch_size, params=None)
