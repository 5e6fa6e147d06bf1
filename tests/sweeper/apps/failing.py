"""A plain Hydra app whose job raises when x > fail_above (and always with fail_above=null)."""

import hydra
from omegaconf import DictConfig


def check(x: float, fail_above: float | None) -> None:
    if fail_above is None or x > fail_above:
        raise RuntimeError(f"x={x} is too large")


@hydra.main(config_path="conf", config_name="failing", version_base="1.3")
def main(cfg: DictConfig) -> float:
    check(cfg.x, cfg.fail_above)
    return cfg.x ** 2


if __name__ == "__main__":
    main()
