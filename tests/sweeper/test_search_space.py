"""Hydra's sweep syntax as Optuna distributions: hydra-optuna-sweeper's own cases, and ours (in-process, fast)."""

import re

import pytest
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import CompactHydraException
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from hydra_plugins.myorl_optuna_sweeper.search_space import parse, value_text

# Hydra's plugin scan executes the plugin's modules again, making a new SweepError class: match Hydra's base
# class, which prints the message alone, and the name.
SweepError = CompactHydraException


def distribution(text: str):
    space = parse({}, [text])
    (dist,) = space.distributions.values()
    return dist


@pytest.mark.parametrize("text, expected", [
    # hydra-optuna-sweeper's test_create_optuna_distribution_from_override
    ("key=choice(1,2)", CategoricalDistribution([1, 2])),
    ("key=choice(true, false)", CategoricalDistribution([True, False])),
    ("key=choice('hello', 'world')", CategoricalDistribution(["hello", "world"])),
    ("key=shuffle(range(1,3))", CategoricalDistribution([1, 2])),
    ("key=interval(1, 5)", FloatDistribution(1, 5)),
    ("key=int(interval(1, 5))", IntDistribution(1, 5)),
    ("key=tag(log, interval(1, 5))", FloatDistribution(1, 5, log=True)),
    ("key=tag(log, int(interval(1, 5)))", IntDistribution(1, 5, log=True)),
    # range keeps Hydra's meaning (stop excluded), where hydra-optuna-sweeper 1.3 includes stop
    ("key=range(1,3)", IntDistribution(1, 2)),
    ("key=range(0.5, 5.5, step=1)", FloatDistribution(0.5, 4.5, step=1)),
    ("key=range(256, 2049, 256)", IntDistribution(256, 2048, step=256)),
    ("key=1,2,3", CategoricalDistribution([1, 2, 3])),
    ("key=choice([64,64],[256,256])", CategoricalDistribution(["[64,64]", "[256,256]"])),
])
def test_sweep_syntax_to_distribution(text, expected):
    assert distribution(text) == expected


def test_float_range_is_stepped_and_rounded():
    dist = distribution("key=range(0.1, 0.5, 0.1)")
    assert isinstance(dist, FloatDistribution)
    assert (dist.low, dist.high, dist.step) == (0.1, 0.4, 0.1)  # Hydra's range accumulates 0.30000000000000004


@pytest.mark.parametrize("overrides, searched, fixed", [
    # hydra-optuna-sweeper's test_create_params_from_overrides
    (["key=choice(1,2)"], {"key": CategoricalDistribution([1, 2])}, []),
    (["key=5"], {}, ["key=5"]),
    (["key1=choice(1,2)", "key2=5"], {"key1": CategoricalDistribution([1, 2])}, ["key2=5"]),
    (["key1=choice(1,2)", "key2=5", "key3=range(1,3)"],
     {"key1": CategoricalDistribution([1, 2]), "key3": IntDistribution(1, 2)}, ["key2=5"]),
])
def test_searched_and_fixed_params(overrides, searched, fixed):
    space = parse({}, overrides)
    assert space.distributions == searched and space.fixed == fixed


def test_params_from_the_config_and_the_command_line_which_wins():
    space = parse({"a": "interval(0, 1)", "b": "choice(x, y)", "c": "3"}, ["a=range(1, 10, 3)", "+d=tag(log, interval(1e-5, 1e-3))"])
    assert space.distributions == {"a": IntDistribution(1, 7, step=3), "b": CategoricalDistribution(["x", "y"]),
                                   "d": FloatDistribution(1e-5, 1e-3, log=True)}
    assert space.fixed == ["c=3"] and space.keys["d"] == "+d"


def test_values_go_back_as_overrides_hydra_reads_the_same():
    space = parse({}, ["a=interval(0, 1)", "+n=int(interval(1, 9))", "net=choice([64,64],[8])", "s=choice(adam, 'a b')"])
    overrides = space.overrides({"a": 1e-4, "n": 3, "net": "[8]", "s": "a b", "+w": 0.5, "flag": True, "t": "x=y"})
    assert overrides == ["a=0.0001", "+n=3", "net=[8]", "s=a\\ b", "+w=0.5", "flag=true", "t='x=y'"]
    parsed = OverridesParser.create().parse_overrides(overrides)
    assert [o.value() for o in parsed] == [0.0001, 3, [8], "a b", 0.5, True, "x=y"]
    assert value_text(None) == "null" and value_text(2) == "2"


def test_grid_of_choices_int_and_float_ranges():
    space = parse({}, ["a=choice(x, y)", "b=range(1, 7, 2)", "c=range(0.1, 0.5, 0.1)"])
    assert space.grid() == {"a": ["x", "y"], "b": [1, 3, 5], "c": [0.1, 0.2, 0.3, 0.4]}


def test_grid_refuses_an_interval_naming_the_param():
    with pytest.raises(SweepError, match="'a' is sampled from FloatDistribution.*range\\(start, stop, step\\)"):
        parse({}, ["a=interval(0, 1)"]).grid()


@pytest.mark.parametrize("params, overrides, message", [
    ({"x": "choice(1,"}, [], "hydra.sweeper.params.x: cannot read 'choice(1,'"),
    ({"x": "interva(1, 2)"}, [], "Unknown function 'interva'"),
    ({}, ["x=interval(5, 1)"], "search space of 'x=interval(5, 1)'"),
    ({}, ["x=range(3, 1)"], "the range is empty"),
    ({}, ["x=tag(log, choice(1, 2))"], "tag(log, ...) applies to interval and range"),
    ({}, ["x=tag(log, range(1, 10, 2))"], "search space of"),
])
def test_a_bad_search_space_is_one_line_naming_it(params, overrides, message):
    with pytest.raises(SweepError, match=re.escape(message)) as caught:
        parse(params, overrides)
    assert type(caught.value).__name__ == "SweepError" and "\n" not in str(caught.value)
