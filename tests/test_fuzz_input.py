"""Fuzzing the two hand-written input files, sweep files and ``scenario.yaml``, with hypothesis.

Documents are drawn from the formats' own vocabulary (keys, tables, columns, ops, events, distributions,
filters) mixed with arbitrary YAML values (huge and non-finite numbers, long text, nested lists and
mappings, mappings of nulls that YAML writes as sets ``{CN, JP}``) and some raw text. For each one the
loader the CLI calls must either return or raise :class:`InputError` with a bounded message: no other
exception (a traceback at the CLI) and no unbounded run (each example has a deadline; an accepted sweep's
case count is within its limit, and its first cases apply to the base scenario or raise InputError).

Derandomized and bounded (a fixed number of examples), so it runs the same in CI every time.
"""

from __future__ import annotations

import copy
import itertools
import shutil
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tiny import TinyCase

from optimizer.errors import InputError
from optimizer.io import load_scenario, write_scenario
from optimizer.limits import CASES
from optimizer.sweep.apply import apply_changes
from optimizer.sweep.spec import load_sweep


def fuzz(examples: int):
    """Derandomized (the same examples on every run), no example database, a deadline of 10 s per example
    (a load takes well under a second: a slower one is an unbounded run)."""
    return settings(max_examples=examples, derandomize=True, deadline=timedelta(seconds=10), database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


FAST, LONG = 25, 400  # examples per test in the fast tier, and in the slow tier (pytest -m slow)
MESSAGE_BOUND = 20_000  # characters of an error message

WHERE_KEYS = ["plant.region", "assembly.region", "plant.country", "year", "plant", "model", "x.y.z"]
WORDS = ["P1", "A1", "M", "EU", "CN", "JP", "NMC", "set", "scale", "add", "lhs", "random", "base", "grid-a=1",
         "sample-0001", "../evil", "a" * 300, "", " ", "=HYPERLINK(\"x\")", "{CN, JP}", "2026"]

scalars = st.one_of(
    st.none(), st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([0, 1, 2, 2026, 2027, -1, 10**6, 10**9, 10**20, 100_000]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, 0.5, 1.0, 1e-9, 1e9, 1e300, -1e300, 1e308, float("nan"), float("inf")]),
    st.sampled_from(WORDS), st.text(max_size=12),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.one_of(st.sampled_from(WORDS + WHERE_KEYS), st.text(max_size=6)),
                                            inner, max_size=3)),
    max_leaves=12,
)


regions = st.sampled_from(["EU", "CN", "JP", "FR"])
filters = st.dictionaries(st.sampled_from(["plant.region", "assembly.region", "plant.country", "plant", "year"]),
                          st.one_of(regions, st.lists(regions, min_size=1, max_size=3),
                                    st.sampled_from(["P1", "A1", 2026, 2027, [2026, 2027]]),
                                    st.dictionaries(regions, st.none(), min_size=1, max_size=2)),  # YAML {CN, JP}
                          min_size=1, max_size=2)
VALID = [("lanes", "tariff_rate"), ("lanes", "freight_usd_per_kwh"), ("demand", "vehicles"),
         ("plant_years", "capacity_gwh"), ("plants", "step_cost_musd"), ("plants", "lead_time_years"),
         ("years", "capex_budget_musd")]
table_change = st.builds(lambda pair, rest: {"table": pair[0], "column": pair[1], **rest}, st.sampled_from(VALID),
                         st.fixed_dictionaries({}, optional={"op": st.sampled_from(["set", "scale", "add"]),
                                                             "where": filters}))
setting_change = st.fixed_dictionaries({"setting": st.sampled_from(
    ["discount_rate", "fx.JPY", "total_budget_musd", "economic_life_years", "unserved_penalty_usd_per_kwh"])},
    optional={"op": st.sampled_from(["set", "scale", "add"])})
event_change = st.one_of(st.just({"event": "delay", "plant": "P1"}), st.just({"event": "outage", "plant": "P1"}),
                         st.just({"event": "budget_cut", "years": [2026]}))
change = st.one_of(table_change, table_change, setting_change, event_change)
numbers = st.one_of(st.floats(min_value=0, max_value=2), st.sampled_from([0, 1, 2, 0.5, 1e9, 1e300, -1]))
axis_names = st.sampled_from(["t", "u", "v", "w_1"])
axis = st.fixed_dictionaries({"values": st.lists(numbers, min_size=1, max_size=4), "change": change})
valued = st.builds(lambda c, v: {**c, "value": v}, change, numbers)
case = st.fixed_dictionaries({"name": st.sampled_from(["c1", "c2", "late"]),
                              "changes": st.lists(valued, min_size=1, max_size=2)})
distribution = st.one_of(
    st.builds(lambda c: {"distribution": "uniform", "low": 0.1, "high": 0.9, "change": c}, change),
    st.builds(lambda c: {"distribution": "normal", "mean": 1.0, "sd": 0.1, "low": 0.5, "high": 1.5, "change": c},
              change),
    st.builds(lambda c: {"distribution": "triangular", "low": 0.5, "mode": 1.0, "high": 1.2, "change": c}, change),
    st.builds(lambda c: {"distribution": "discrete", "values": [0.5, 1.0], "weights": [0.5, 0.5], "change": c},
              change))
samples = st.fixed_dictionaries({"count": st.integers(min_value=1, max_value=20), "seed": st.integers(0, 1000),
                                 "parameters": st.dictionaries(st.sampled_from(["p", "q"]), distribution,
                                                               min_size=1, max_size=2)},
                                optional={"method": st.sampled_from(["lhs", "random"])})
sweep_document = st.fixed_dictionaries({}, optional={
    "name": st.sampled_from(["fuzz", "f-1"]), "description": st.text(max_size=20),
    "include_base": st.booleans(), "options": st.fixed_dictionaries({}, optional={
        "time_limit": st.sampled_from([1, 60]), "rel_gap": st.sampled_from([0, 1e-4])}),
    "axes": st.dictionaries(axis_names, axis, min_size=1, max_size=2),
    "zip": st.lists(st.dictionaries(st.sampled_from(["z1", "z2"]), axis, min_size=1, max_size=2), max_size=1),
    "cases": st.lists(case, min_size=1, max_size=2),
    "samples": samples,
})
hostile = st.one_of(values, st.sampled_from([{"CN": None, "JP": None}, "a" * 300, 10**20, 1e308, -1, [], {}, None,
                                             "../x", [list(range(10))] * 10, 10**7, "2026"]))


@st.composite
def mutated_sweep(draw) -> dict:
    """A well-formed sweep document with 0 to 3 spots (a key's value, a list item, or a new key) replaced by
    hostile values: most of the document stays valid, so the loader gets past the first check to the deep ones."""
    document = copy.deepcopy(draw(sweep_document))  # st.just values are shared between draws
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        node = document
        while True:
            keys = list(node.keys()) if isinstance(node, dict) else list(range(len(node)))
            if not keys:
                break
            key = draw(st.sampled_from(keys))
            child = node[key]
            if not isinstance(child, (dict, list)) or not child or draw(st.booleans()):
                node[key] = draw(hostile)
                break
            node = child
        if isinstance(node, dict) and draw(st.integers(0, 4)) == 0:
            node[draw(st.sampled_from(["extra", "values", "change", "where", "count", "name"]))] = draw(hostile)
    return document


@pytest.fixture(scope="module")
def base_folder(tmp_path_factory) -> Path:
    case = (TinyCase(years=2).plant("P1", capacity=10, step_gwh=5, step_cost_musd=100, max_steps=2)
            .demand(gwh=5).year_params(capex_budget_musd=1000))
    return write_scenario(case.scenario(), tmp_path_factory.mktemp("fuzz") / "base")


def dump(document: object) -> str:
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


def check_sweep_text(text: str, base: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sweep.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            sweep = load_sweep(path)
        except InputError as exc:
            assert exc.problems and len(exc.render()) < MESSAGE_BOUND
            return
        assert 0 < sweep.count() <= CASES.value
        scenario = load_scenario(base)
        for c in itertools.islice(sweep.cases(), 3):
            try:
                apply_changes(scenario, c.changes, source=str(path))
            except InputError as exc:
                assert exc.problems and len(exc.render()) < MESSAGE_BOUND


def sweep_text_examples():
    return st.one_of(st.text(max_size=200), st.sampled_from([
        "base: {b}\naxes: [1, 2", "base: {b}\naxes:\n  t: {{values: {{CN, JP}}, change: 1}}", "{{{{", "- - - -",
        "base: {b}\n? [a, b]\n: 1", "base: {b}\naxes: !!python/object:os.system {{}}", "base: {b}\n\t x: 1",
        "base: {b}\ncases: !!set {{a, b}}", "base: {b}\nname: !!binary aGVsbG8=",
        "base: {b}\nsamples: {{count: 1e9}}", "0: {{{{}}}}"]))


settings_keys = st.sampled_from(["name", "description", "start_year", "end_year", "discount_rate",
                                 "investment_cost", "economic_life_years", "demand", "unserved_penalty_usd_per_kwh",
                                 "total_budget_musd", "single_sourcing", "fx", "sources", "discount_rat", "<<"])
settings_changes = st.dictionaries(settings_keys, st.one_of(
    values, st.dictionaries(st.sampled_from(["JPY", "USD", ""]), scalars, max_size=2)), max_size=4)


def check_scenario_yaml(changes: dict, dropped: list, base: Path) -> None:
    config = yaml.safe_load((base / "scenario.yaml").read_text())
    config.update(changes)
    for key in dropped:
        config.pop(key, None)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "case"
        shutil.copytree(base, folder)
        (folder / "scenario.yaml").write_text(dump(config), encoding="utf-8")
        try:
            load_scenario(folder)
        except InputError as exc:
            assert exc.problems and len(exc.render()) < MESSAGE_BOUND


@fuzz(FAST)
@given(body=mutated_sweep())
def test_fuzzed_sweep_files_load_or_are_refused(body, base_folder):
    check_sweep_text(dump({"base": str(base_folder), **body}), base_folder)


@fuzz(FAST)
@given(text=sweep_text_examples())
def test_fuzzed_sweep_text_loads_or_is_refused(text, base_folder):
    check_sweep_text(text.replace("{b}", str(base_folder)), base_folder)


@fuzz(FAST)
@given(changes=settings_changes, dropped=st.lists(settings_keys, max_size=2))
def test_fuzzed_scenario_yaml_loads_or_is_refused(changes, dropped, base_folder):
    check_scenario_yaml(changes, dropped, base_folder)


@pytest.mark.slow
@fuzz(LONG)
@given(body=mutated_sweep())
def test_fuzzed_sweep_files_long(body, base_folder):
    check_sweep_text(dump({"base": str(base_folder), **body}), base_folder)


@pytest.mark.slow
@fuzz(LONG)
@given(text=sweep_text_examples())
def test_fuzzed_sweep_text_long(text, base_folder):
    check_sweep_text(text.replace("{b}", str(base_folder)), base_folder)


@pytest.mark.slow
@fuzz(LONG)
@given(changes=settings_changes, dropped=st.lists(settings_keys, max_size=2))
def test_fuzzed_scenario_yaml_long(changes, dropped, base_folder):
    check_scenario_yaml(changes, dropped, base_folder)
