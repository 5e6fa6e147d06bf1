"""A plain Hydra app with a `custom_search_space` (as hydra-optuna-sweeper's example): z lies within
max_z_difference_from_x of x, and `+w` is a param the config does not have (added by its override)."""

import hydra
from omegaconf import DictConfig
from optuna.trial import Trial


def configure(cfg: DictConfig, trial: Trial) -> None:
    """Called by the sweeper with the sweep's config and each trial once x and y are sampled."""
    x = trial.params["x"]
    trial.suggest_float("z", x - cfg.max_z_difference_from_x, x + cfg.max_z_difference_from_x)
    trial.suggest_float("+w", 0.0, 1.0)


def broken(cfg: DictConfig, trial: Trial) -> None:
    raise KeyError("no such param")


@hydra.main(config_path="conf", config_name="custom_space", version_base="1.3")
def main(cfg: DictConfig) -> float:
    return cfg.x**2 + cfg.y**2 + cfg.z**2 + cfg.w


if __name__ == "__main__":
    main()
