"""Fixtures only; test utilities live in `tests/helpers/`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers import postgres as pg
from helpers.configs import tiny_experiment

from myorl.experiment import Experiment


@pytest.fixture
def tiny(tmp_path: Path) -> Callable[..., Experiment]:
    """`tiny(stages, overrides=(), **top)`: a tiny experiment writing into this test's tmp_path."""
    def make(stages: list[dict[str, Any]], overrides: tuple[str, ...] = (), **top: Any) -> Experiment:
        return tiny_experiment(tmp_path, stages, overrides, **top)
    return make


@pytest.fixture
def postgres() -> Any:
    """A throwaway PostgreSQL server on loopback; yields its database URL (skips where none is installed)."""
    if not pg.tool("initdb"):
        pytest.skip("PostgreSQL is not installed (no initdb): apt-get install postgresql")
    with pg.server() as url:
        yield url
