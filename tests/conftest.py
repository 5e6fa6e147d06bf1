"""Fixtures only; test utilities live in `tests/helpers/`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers.configs import tiny_experiment

from myorl.experiment import Experiment


@pytest.fixture
def tiny(tmp_path: Path) -> Callable[..., Experiment]:
    """`tiny(stages, overrides=(), **top)`: a tiny experiment writing into this test's tmp_path."""
    def make(stages: list[dict[str, Any]], overrides: tuple[str, ...] = (), **top: Any) -> Experiment:
        return tiny_experiment(tmp_path, stages, overrides, **top)
    return make
