"""Hydra's sweep syntax as Optuna distributions, and a trial's values back as overrides.

    key=choice(a, b, c)  or  key=a,b,c       -> CategoricalDistribution (lists as their text: choice([1,2],[3]))
    key=range(start, stop[, step])           -> IntDistribution with step (ints) / FloatDistribution with step
                                                (any float): Hydra's range, stop excluded
    key=interval(low, high)                  -> FloatDistribution
    key=int(interval(low, high))             -> IntDistribution
    key=tag(log, interval(...))              -> the same, sampled on a log scale
    key=shuffle(...)                         -> CategoricalDistribution of its values (order means nothing here)
    key=value                                -> fixed: passed to every job as is

Hydra parses the syntax (its own override grammar); this module maps the parsed sweeps onto Optuna. A bad
entry raises `SweepError` naming the entry and the syntax. Unlike hydra-optuna-sweeper 1.3, `range` keeps
Hydra's meaning (stop excluded, as in the basic sweeper's grid): `range(1, 4)` is 1, 2, 3.
"""

# Hydra's plugin scan executes this module at the start of every Hydra app: Optuna (~0.3 s to import) is
# imported inside the functions that need it.

from collections.abc import Mapping, Sequence
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import (
    ChoiceSweep,
    IntervalSweep,
    Override,
    Quote,
    QuotedString,
    RangeSweep,
    Transformer,
)
from hydra.errors import OverrideParseException

from .errors import SweepError

PRIMITIVES = (str, int, float, bool, type(None))
SYNTAX = ("choice(a, b), range(start, stop, step), interval(low, high), int(interval(low, high)), "
          "tag(log, interval(low, high))")


class SearchSpace:
    """The searched params as Optuna distributions, the fixed overrides, and how to write values back."""

    def __init__(self) -> None:
        self.distributions: dict[str, Any] = {}  # param name -> Optuna BaseDistribution
        self.fixed: list[str] = []  # overrides every job gets
        self.keys: dict[str, str] = {}  # param name -> override key ("+a.b", "a.b", "group")
        self.texts: dict[str, dict[Any, str]] = {}  # categorical value -> its override text

    def overrides(self, params: Mapping[str, Any]) -> list[str]:
        """A trial's values as Hydra overrides; params of a `custom_search_space` use their name as the key."""
        return [f"{self.keys.get(name, name)}={self._text(name, value)}" for name, value in params.items()]

    def _text(self, name: str, value: Any) -> str:
        if name in self.texts and value in self.texts[name]:
            return self.texts[name][value]
        return value_text(value)

    def grid(self) -> dict[str, list[Any]]:
        """Every param's values, for Optuna's GridSampler: choices and ranges only."""
        from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

        grid: dict[str, list[Any]] = {}
        for name, dist in self.distributions.items():
            if isinstance(dist, CategoricalDistribution):
                grid[name] = list(dist.choices)
            elif isinstance(dist, IntDistribution) and not dist.log:
                grid[name] = list(range(dist.low, dist.high + 1, dist.step))
            elif isinstance(dist, FloatDistribution) and dist.step is not None:
                count = round((dist.high - dist.low) / dist.step) + 1
                grid[name] = [round(dist.low + i * dist.step, 12) for i in range(count)]
            else:
                raise SweepError(f"hydra/sweeper/sampler=grid needs choice(...) or range(...) params, but '{name}' "
                                 f"is sampled from {type(dist).__name__}(low={dist.low}, high={dist.high}"
                                 f"{', log=True' if dist.log else ''}): give it as range(start, stop, step) or "
                                 f"choice(...), or use another sampler")
        return grid


def value_text(value: Any) -> str:
    """A Python value as override text that Hydra reads back as the same value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    return QuotedString(text=str(value), quote=Quote.single).with_quotes()


def parse(params: Mapping[str, Any], arguments: Sequence[str], config_loader: Any = None) -> SearchSpace:
    """`hydra.sweeper.params` and the command line's overrides (the command line wins on the same key)."""
    parser = OverridesParser.create(config_loader=config_loader)
    by_name: dict[str, Override] = {}
    for key, text in params.items():
        try:
            (override,) = parser.parse_overrides([f"{key}={text}"])
        except OverrideParseException as exc:
            reason = " ".join(line for line in str(exc).splitlines()
                              if line.strip() and not line.startswith(("See https:", "Error parsing override")))
            raise SweepError(f"hydra.sweeper.params.{key}: cannot read '{text}' ({reason}); write one of "
                             f"{SYNTAX}, or a fixed value") from None
        by_name[_name(override)] = override
    for override in parser.parse_overrides(list(arguments)):  # Hydra has parsed these once already
        by_name[_name(override)] = override
    space = SearchSpace()
    for name, override in by_name.items():
        if not override.is_sweep_override():
            space.fixed.append(override.input_line or f"{override.get_key_element()}="
                                                       f"{override.get_value_element_as_str()}")
            continue
        space.keys[name] = override.get_key_element()
        try:
            space.distributions[name] = _distribution(name, override, space)
        except (ValueError, TypeError) as exc:
            raise SweepError(f"search space of '{override.input_line}': {exc}") from None
    return space


def _name(override: Override) -> str:
    return override.get_key_element().lstrip("~+")


def _distribution(name: str, override: Override, space: SearchSpace) -> Any:
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    value = override.value()
    log = "log" in set(getattr(value, "tags", ()) or ())
    if override.is_choice_sweep() or getattr(value, "shuffle", False):
        if log:
            raise ValueError("tag(log, ...) applies to interval and range, not to choices")
        texts: dict[Any, str] = {}
        if isinstance(value, (ChoiceSweep, RangeSweep)):
            value.shuffle = False  # keep the written order: a shuffled set of choices is still the same set
        for element in override.sweep_iterator():
            text = Transformer.str(element)
            plain = element.text if isinstance(element, QuotedString) else element
            # Optuna's choices are primitives; lists and dicts are stored as their override text.
            texts[plain if isinstance(plain, PRIMITIVES) else text] = text
        if not texts:
            raise ValueError("no values to choose from")
        space.texts[name] = texts
        return CategoricalDistribution(list(texts))
    if isinstance(value, RangeSweep):
        values = list(value.range())
        if not values:
            raise ValueError(f"the range is empty (Hydra's range excludes stop: range({value.start}, "
                             f"{value.stop}, {value.step}))")
        if all(isinstance(x, int) for x in (value.start, value.stop, value.step)):
            return IntDistribution(int(min(values)), int(max(values)), log=log, step=abs(int(value.step)))
        values = [round(x, 12) for x in values]  # Hydra's float range accumulates 0.30000000000000004
        return FloatDistribution(min(values), max(values), log=log, step=abs(float(value.step)))
    if isinstance(value, IntervalSweep):
        assert value.start is not None and value.end is not None  # Hydra's grammar: interval(start, end)
        if isinstance(value.start, int) and isinstance(value.end, int):
            return IntDistribution(value.start, value.end, log=log)
        return FloatDistribution(value.start, value.end, log=log)
    raise ValueError(f"unsupported sweep {value!r}: write one of {SYNTAX}")
