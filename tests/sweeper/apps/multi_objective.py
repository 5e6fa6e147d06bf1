"""A plain Hydra app with two objectives (Binh and Korn, as hydra-optuna-sweeper's example), both minimised.

Returns a tuple by default, a list or a numpy array with `kind=list|numpy`; `kind=wrong` returns three values.
"""

import hydra
import numpy as np
from omegaconf import DictConfig


@hydra.main(config_path="conf", config_name="multi_objective", version_base="1.3")
def main(cfg: DictConfig) -> object:
    x, y = cfg.x, cfg.y
    v0 = 4 * x**2 + 4 * y**2
    v1 = (x - 5) ** 2 + (y - 5) ** 2
    if cfg.kind == "list":
        return [v0, v1]
    if cfg.kind == "numpy":
        return np.array([v0, v1], dtype=np.float32)
    if cfg.kind == "wrong":
        return v0, v1, 0.0
    return v0, v1


if __name__ == "__main__":
    main()
