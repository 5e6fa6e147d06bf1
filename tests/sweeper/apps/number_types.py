"""A plain Hydra app returning x^2 as the number type `kind` names: numpy and torch scalars, and non-numbers."""

import math

import hydra
import numpy as np
import torch
from omegaconf import DictConfig

KINDS = {
    "python": lambda v: v,
    "int": lambda v: round(v),
    "numpy_float32": np.float32,
    "numpy_float64": np.float64,
    "numpy_0d": lambda v: np.array(v),
    "torch_0d": lambda v: torch.tensor(v),
    "torch_0d_grad": lambda v: torch.tensor(float(v), requires_grad=True) * 1.0,  # a loss
    "not_a_number": lambda v: math.nan,
    "infinite": lambda v: torch.tensor(math.inf),
    "nothing": lambda v: None,
    "text": lambda v: "a lot",
    "vector": lambda v: torch.tensor([v, v]),
}


@hydra.main(config_path="conf", config_name="number_types", version_base="1.3")
def main(cfg: DictConfig) -> object:
    return KINDS[cfg.kind](cfg.x**2)


if __name__ == "__main__":
    main()
