"""Hydra's sweep syntax as Optuna distributions, and a trial's values back as overrides.

    key=choice(a, b, c)  or  key=a,b,c       -> CategoricalDistribution
    key=range(start, stop[, step])           -> IntDistribution (ints) / FloatDistribution with step (floats)
    key=interval(low, high)                  -> FloatDistribution
    key=int(interval(low, high))             -> IntDistribution
    key=tag(log, interval(...))              -> the same, sampled on a log scale
    key=value                                -> fixed: passed to every job as is

Hydra parses the syntax (its own override grammar); this module only maps the parsed sweeps onto Optuna.
"""

# No `from __future__ import annotations` here: Hydra's plugin scan runs this module without putting it in
# sys.modules, where dataclasses look up string annotations.

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import IntervalSweep, Override, QuotedString, RangeSweep, Transformer
from hydra.errors import HydraException
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

PRIMITIVES = (str, int, float, bool, type(None))


@dataclass
class SearchSpace:
    distributions: dict[str, BaseDistribution] = field(default_factory=dict)  # param name -> distribution
    fixed: list[str] = field(default_factory=list)  # overrides every job gets
    keys: dict[str, str] = field(default_factory=dict)  # param name -> override key ("+a.b", "a.b", "group")
    texts: dict[str, dict[Any, str]] = field(default_factory=dict)  # categorical value -> its override text

    def overrides(self, params: Mapping[str, Any]) -> list[str]:
        """A trial's sampled values as Hydra overrides."""
        return [f"{self.keys[name]}={self._text(name, value)}" for name, value in params.items()]

    def _text(self, name: str, value: Any) -> str:
        if name in self.texts:
            return self.texts[name][value]
        return str(value) if isinstance(value, int) else repr(float(value))

    def grid(self) -> dict[str, list[Any]]:
        """Every param's values, for Optuna's GridSampler: choices and ranges only."""
        grid = {}
        for name, dist in self.distributions.items():
            if isinstance(dist, CategoricalDistribution):
                grid[name] = list(dist.choices)
            elif isinstance(dist, IntDistribution) and not dist.log:
                grid[name] = list(range(dist.low, dist.high + 1, dist.step))
            else:
                raise HydraException(f"hydra/sweeper/sampler=grid needs choice(...) or range(...) params; "
                                     f"'{name}' is {dist}")
        return grid


def parse(params: Mapping[str, Any], arguments: Sequence[str], config_loader: Any = None) -> SearchSpace:
    """`hydra.sweeper.params` and the command line's overrides (the command line wins on the same key)."""
    parser = OverridesParser.create(config_loader=config_loader)
    by_name: dict[str, Override] = {}
    for override in [*parser.parse_overrides([f"{k}={v}" for k, v in params.items()]),
                     *parser.parse_overrides(list(arguments))]:
        by_name[_name(override)] = override
    space = SearchSpace()
    for name, override in by_name.items():
        if not override.is_sweep_override():
            space.fixed.append(override.input_line)
            continue
        space.keys[name] = override.get_key_element()
        try:
            space.distributions[name] = _distribution(name, override, space)
        except (ValueError, TypeError) as exc:
            raise HydraException(f"search space of '{override.input_line}': {exc}") from None
    return space


def _name(override: Override) -> str:
    return override.get_key_element().lstrip("~+")


def _distribution(name: str, override: Override, space: SearchSpace) -> BaseDistribution:
    value = override.value()
    tags = set(getattr(value, "tags", ()) or ())
    log = "log" in tags
    if override.is_choice_sweep():
        if log:
            raise ValueError("tag(log, ...) applies to interval and range, not choice")
        if getattr(value, "shuffle", False):
            raise ValueError("shuffle(...) has no meaning for Optuna")
        texts: dict[Any, str] = {}
        for element in override.sweep_iterator():
            text = Transformer.str(element)
            plain = element.text if isinstance(element, QuotedString) else element
            # Optuna's choices are primitives; lists and dicts are stored as their override text.
            texts[plain if isinstance(plain, PRIMITIVES) else text] = text
        space.texts[name] = texts
        return CategoricalDistribution(list(texts))
    if isinstance(value, RangeSweep):
        if value.shuffle:
            raise ValueError("shuffle(...) has no meaning for Optuna")
        values = list(value.range())
        if not values:
            raise ValueError("the range is empty")
        if all(isinstance(x, int) for x in (value.start, value.stop, value.step)):
            return IntDistribution(min(values), max(values), log=log, step=abs(value.step))
        values = [round(x, 12) for x in values]  # Hydra's float range accumulates 0.9500000000000001
        return FloatDistribution(min(values), max(values), log=log, step=abs(value.step))
    if isinstance(value, IntervalSweep):
        if isinstance(value.start, int) and isinstance(value.end, int):
            return IntDistribution(value.start, value.end, log=log)
        return FloatDistribution(value.start, value.end, log=log)
    raise ValueError(f"unsupported sweep {value!r}")
