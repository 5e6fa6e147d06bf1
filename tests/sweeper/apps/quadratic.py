"""A plain Hydra app: (x - 2)^2 + (y + 1)^2, minimum 0 at x=2, y=-1. `sleep` seconds first (heartbeat tests)."""

import time

import hydra
from omegaconf import DictConfig


@hydra.main(config_path="conf", config_name="quadratic", version_base="1.3")
def main(cfg: DictConfig) -> float:
    time.sleep(cfg.sleep)
    return (cfg.x - 2) ** 2 + (cfg.y + 1) ** 2


if __name__ == "__main__":
    main()
