"""What the `key=value` commands share (`myorl.evaluate`, `myorl.distill`): parsing against a dataclass schema
into one MyorlError line, env overrides, the default output dir.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, TypeVar

from omegaconf import OmegaConf
from omegaconf.errors import ConfigKeyError, OmegaConfBaseException

from myorl.config import EnvConfig
from myorl.errors import MyorlError

T = TypeVar("T")


@dataclass
class EnvOverride:
    """`env.id=...` / `env.kwargs.<key>=...`: play another env of the same spaces.

    Without `id` the kwargs are merged key by key into the env's own; an `id` other than the env's own
    starts from the given kwargs alone (the old env's kwargs may mean nothing to the new one).
    """

    id: str | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def given(self) -> bool:
        return self.id is not None or bool(self.kwargs)

    def apply(self, env: EnvConfig) -> EnvConfig:
        if not self.given:
            return env
        if self.id is None or self.id == env.id:
            return EnvConfig(env.id, {**dict(env.kwargs), **self.kwargs})
        return EnvConfig(self.id, dict(self.kwargs))


def parse_key_values(schema: type[T], argv: list[str], example: str) -> T:
    """`key=value` arguments checked against the dataclass `schema`; anything wrong is one MyorlError line."""
    loose = [a for a in argv if "=" not in a]
    if loose:
        raise MyorlError(f"arguments are key=value (e.g. {example}); got {loose[0]!r}")
    try:
        merged = OmegaConf.merge(OmegaConf.structured(schema), OmegaConf.from_cli(argv))
        args = OmegaConf.to_object(merged)
    except OmegaConfBaseException as exc:
        where = f" ({exc.full_key})" if getattr(exc, "full_key", None) else ""
        valid = f"; valid keys: {', '.join(keys(schema))}" if isinstance(exc, ConfigKeyError) else ""
        raise MyorlError(f"{str(exc).splitlines()[0]}{where}{valid}") from None
    assert isinstance(args, schema)
    return args


def keys(schema: Any, prefix: str = "") -> list[str]:
    """Every key of a dataclass schema, nested ones dotted (`bc.epochs`); free-form dicts as `key.<key>`."""
    found: list[str] = []
    for f in fields(schema):
        value = getattr(schema(), f.name) if isinstance(schema, type) else getattr(schema, f.name)
        if is_dataclass(value):
            found += keys(value, f"{prefix}{f.name}.")
        elif isinstance(value, dict):
            found.append(f"{prefix}{f.name}.<key>")
        else:
            found.append(f"{prefix}{f.name}")
    return found


def output_dir(out: str | None, kind: str) -> Path:
    """`out=`, or `outputs/<kind>/<date>_<time>/`."""
    return Path(out) if out else Path("outputs", kind, time.strftime("%Y-%m-%d_%H-%M-%S"))


def positive(args: Any, *names: str) -> None:
    """One line for a key that must be positive (dotted names reach into nested sections)."""
    for name in names:
        value: Any = args
        for part in name.split("."):
            value = getattr(value, part)
        if value is not None and value <= 0:
            raise MyorlError(f"{name} must be positive, got {value}")


def set_threads(n: int) -> None:
    import torch

    torch.set_num_threads(n)


def episodes_text(n: int) -> str:
    return f"{n} episode{'s' * (n != 1)}"
