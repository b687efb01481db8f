"""Sweep files and changes: expansion (grid, zip, named cases, samples), determinism, every op and event
on the base case, the exact problems bad sweep files raise, and every shipped sweep loading and applying.

Resolving a case (``apply_changes``) re-checks the edited columns and rebuilds the scenario (about 10 ms on
the base case; tests/test_sweep_fastpath.py shows it equals a full re-validation), so the shipped sweeps are
checked case by case with ``check_changes`` (the same structural and range checks, without rebuilding the
scenario) and only a few cases of each are resolved in full.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from optimizer import InputError, Problem, load_scenario
from optimizer.sweep.apply import apply_changes, check_changes
from optimizer.sweep.cases import MODEL_VERSION, Case, scenario_id
from optimizer.sweep.changes import (
    BudgetCut,
    Delay,
    Outage,
    SettingChange,
    TableChange,
    normalize_where,
)
from optimizer.sweep.spec import load_sweep

ROOT = Path(__file__).resolve().parents[1]
BASE = ROOT / "scenarios" / "base"
SWEEPS = ROOT / "scenarios" / "sweeps"
SHIPPED = sorted(SWEEPS.glob("*.yaml"))
CN_US = normalize_where({"plant.region": "CN", "assembly.region": "US"})


@pytest.fixture(scope="module")
def base():
    return load_scenario(BASE)


def write(tmp_path: Path, text: str, name: str = "sweep.yaml") -> Path:
    """A sweep file in tmp_path whose ``base:`` points at the shipped base case."""
    path = tmp_path / name
    path.write_text(text.replace("BASE", str(BASE)), encoding="utf-8")
    return path


def problems_of(path: Path) -> list[Problem]:
    with pytest.raises(InputError) as info:
        load_sweep(path)
    return info.value.problems


def only(problems: list[Problem], column: str | None) -> Problem:
    found = [p for p in problems if p.column == column]
    assert len(found) == 1, problems
    return found[0]


def column_by(scenario, table: str, column: str, **where) -> dict:
    frame = scenario.table(table)
    for k, v in where.items():
        frame = frame[frame[k] == v]
    key = [k for k in ("plant", "assembly", "model", "year") if k in frame.columns and k not in where]
    return {tuple(r[k] for k in key) if len(key) > 1 else r[key[0]]: r[column] for _, r in frame.iterrows()}


# ---------------------------------------------------------------------------------------------------
# expansion


EXPANSION = """
name: expand
base: BASE
options: {time_limit: 30}
axes:
  cn_us_tariff:
    values: [0.5, 1.0, 1.5]
    change: {table: lanes, column: tariff_rate, op: set, where: {plant.region: CN, assembly.region: US}}
  carbon:
    values: [10, 20]
    change: {table: years, column: carbon_price_usd_per_t, op: set}
zip:
  - demand_eu: {values: [0.8, 1.2], change: {table: demand, column: vehicles, op: scale, where: {assembly.region: EU}}}
    demand_uk: {values: [0.9, 1.1], change: {table: demand, column: vehicles, op: scale, where: {assembly.region: UK}}}
cases:
  - name: ibaraki_slips_2y
    changes: [{event: delay, plant: Ibaraki, years: 2}]
  - name: zama_out
    changes: [{event: outage, plant: Zama, years: [2026, 2027]}, {event: budget_cut, share: 0.5}]
samples:
  count: 40
  seed: 11
  method: lhs
  parameters:
    capex: {distribution: triangular, low: 0.8, mode: 1.0, high: 1.5,
            change: [{table: plants, column: opening_cost_musd, op: scale},
                     {table: plants, column: step_cost_musd, op: scale}]}
    jpy: {distribution: normal, mean: 1.0, sd: 0.1, low: 0.8, high: 1.2, change: {setting: fx.JPY, op: set}}
    uniform: {distribution: uniform, low: 0, high: 100, change: {table: years, column: carbon_price_usd_per_t}}
    slip: {distribution: discrete, values: [0, 1, 2], weights: [2, 1, 1], change: {event: delay, plant: Ibaraki}}
"""


def test_expansion_counts_order_names_and_params(tmp_path):
    sweep = load_sweep(write(tmp_path, EXPANSION))
    cases = list(sweep.cases())
    assert sweep.count() == len(cases) == 1 + 3 * 2 * 2 + 2 + 40
    assert sweep.name == "expand" and sweep.options == {"time_limit": 30.0}
    assert sweep.base_path == BASE
    assert sweep.parameter_names == ("cn_us_tariff", "carbon", "demand_eu", "demand_uk", "case",
                                     "capex", "jpy", "uniform", "slip")
    assert [c.kind for c in cases] == ["base"] + ["grid"] * 12 + ["case"] * 2 + ["sample"] * 40
    assert cases[0] == Case("base", (), (), "base")

    grid = cases[1:13]
    # product of the axes, then the zip group as one axis; the last varies fastest
    assert [dict(c.params)["cn_us_tariff"] for c in grid] == [0.5] * 4 + [1.0] * 4 + [1.5] * 4
    assert [dict(c.params)["carbon"] for c in grid[:4]] == [10, 10, 20, 20]
    assert [(dict(c.params)["demand_eu"], dict(c.params)["demand_uk"]) for c in grid[:2]] == [(0.8, 0.9), (1.2, 1.1)]
    assert grid[1].name == "grid-cn_us_tariff=0.5,carbon=10,demand_eu=1.2,demand_uk=1.1"
    assert grid[1].changes == (
        TableChange("lanes", "tariff_rate", "set", 0.5, CN_US),
        TableChange("years", "carbon_price_usd_per_t", "set", 10.0),
        TableChange("demand", "vehicles", "scale", 1.2, (("assembly.region", ("EU",)),)),
        TableChange("demand", "vehicles", "scale", 1.1, (("assembly.region", ("UK",)),)),
    )
    assert len({c.name for c in cases}) == len(cases)

    named = cases[13:15]
    assert named[0] == Case("ibaraki_slips_2y", (("case", "ibaraki_slips_2y"),), (Delay("Ibaraki", 2),), "case")
    assert named[1].changes == (Outage("Zama", (2026, 2027)), BudgetCut(0.5, None))

    samples = cases[15:]
    assert [c.name for c in samples[:2]] == ["sample-0000", "sample-0001"]
    values = {name: np.array([dict(c.params)[name] for c in samples]) for name in ("capex", "jpy", "uniform")}
    assert values["capex"].min() >= 0.8 and values["capex"].max() <= 1.5
    assert values["jpy"].min() >= 0.8 and values["jpy"].max() <= 1.2
    # Latin hypercube: exactly one draw in each of the 40 equal-probability strata of every dimension
    assert sorted(np.floor(values["uniform"] / 100 * 40).astype(int)) == list(range(40))
    slips = [dict(c.params)["slip"] for c in samples]
    assert set(slips) == {0, 1, 2} and slips.count(0) == 20  # weights 2:1:1, stratified
    first = samples[0]
    capex = dict(first.params)["capex"]
    assert first.changes[:2] == (TableChange("plants", "opening_cost_musd", "scale", capex),
                                 TableChange("plants", "step_cost_musd", "scale", capex))
    assert first.changes[2] == SettingChange("fx.JPY", "set", dict(first.params)["jpy"])
    assert first.changes[4] == Delay("Ibaraki", dict(first.params)["slip"])


def test_random_method_and_lazy_cases(tmp_path):
    path = write(tmp_path, """
base: BASE
include_base: false
samples:
  count: 100000
  seed: 3
  method: random
  parameters:
    c: {distribution: uniform, low: 0, high: 150, change: {table: years, column: carbon_price_usd_per_t}}
""", "big.yaml")
    sweep = load_sweep(path)
    assert sweep.name == "big"  # the file's stem
    assert sweep.count() == 100_000
    head = list(itertools.islice(sweep.cases(), 3))
    assert [c.name for c in head] == ["sample-00000", "sample-00001", "sample-00002"]
    expected = np.random.default_rng(3).random((3, 1))[:, 0] * 150
    assert [dict(c.params)["c"] for c in head] == pytest.approx(expected, rel=1e-9)


def test_determinism_same_values_and_ids_every_time(tmp_path, base):
    path = write(tmp_path, EXPANSION)
    one, two = list(load_sweep(path).cases()), list(load_sweep(path).cases())
    assert one == two
    assert [repr(c.changes) for c in one] == [repr(c.changes) for c in two]
    options = {"time_limit": 30.0, "rel_gap": 1e-4}
    ids = [scenario_id(apply_changes(base, one[15].changes), options) for _ in range(2)]
    assert ids[0] == ids[1] and len(ids[0]) == 16 and ids[0] != scenario_id(base, options)
    # the same in every run (and on every machine): the draws come from default_rng(seed) only
    assert dict(one[15].params) == {"capex": 0.8794210891, "jpy": 0.9613280804, "uniform": 13.88310059, "slip": 2}


def test_scenario_id_formula(base):
    options = {"rel_gap": 1e-4, "time_limit": 60}
    text = base.inputs_sha256 + json.dumps(options, sort_keys=True) + MODEL_VERSION
    assert scenario_id(base, options) == hashlib.sha256(text.encode()).hexdigest()[:16]
    assert scenario_id(base, {"time_limit": 60, "rel_gap": 1e-4}) == scenario_id(base, options)
    assert scenario_id(base, {"time_limit": 61, "rel_gap": 1e-4}) != scenario_id(base, options)
    # the hash is of the resolved inputs: the same content reached another way has the same id
    same = apply_changes(base, [TableChange("lanes", "tariff_rate", "scale", 1.0)])
    assert scenario_id(same, options) == scenario_id(base, options)


def test_changes_and_cases_are_small_frozen_and_picklable():
    change = TableChange("lanes", "tariff_rate", "set", 1.0, CN_US, path="axes.x.change")
    assert change == TableChange("lanes", "tariff_rate", "set", 1.0, CN_US)  # the path is not identity
    assert repr(change) == repr(TableChange("lanes", "tariff_rate", "set", 1.0, CN_US))
    case = Case("c", (("case", "c"),), (change, Delay("Ibaraki", 2), Outage("Zama", (2026,)), BudgetCut(0.1)))
    assert pickle.loads(pickle.dumps(case)) == case
    assert hash(case) == hash(pickle.loads(pickle.dumps(case)))


# ---------------------------------------------------------------------------------------------------
# ops and events on the base case


def test_set_with_plant_and_assembly_region_filter(base):
    before = column_by(base, "lanes", "tariff_rate")
    after = column_by(apply_changes(base, [TableChange("lanes", "tariff_rate", "set", 1.034, CN_US)]),
                      "lanes", "tariff_rate")
    changed = {k for k in before if before[k] != after[k]}
    assert changed == {("Wuxi", "SmyrnaCanton"), ("Cangzhou", "SmyrnaCanton"), ("Ordos", "SmyrnaCanton")}
    assert all(after[k] == 1.034 for k in changed)
    assert column_by(base, "lanes", "tariff_rate") == before  # the base is untouched


def test_scale_with_assembly_region_filter(base):
    change = TableChange("demand", "vehicles", "scale", 0.5, normalize_where({"assembly.region": ["EU", "UK"]}))
    before, after = base.table("demand"), apply_changes(base, [change]).table("demand")
    europe = before["assembly"].isin(["Douai", "Sunderland"])
    assert after["vehicles"][europe].tolist() == pytest.approx((before["vehicles"][europe] * 0.5).tolist())
    assert after["vehicles"][~europe].tolist() == before["vehicles"][~europe].tolist()


def test_add_with_year_filter_and_model_attribute(base):
    change = TableChange("years", "carbon_price_usd_per_t", "add", 25.0, normalize_where({"year": [2030, 2031]}))
    after = column_by(apply_changes(base, [change]), "years", "carbon_price_usd_per_t")
    assert after == {t: (25.0 if t in (2030, 2031) else 0.0) for t in base.years}
    lfp = TableChange("demand", "vehicles", "scale", 2.0, normalize_where({"model.cell_type": "LFP"}))
    before, after = base.table("demand"), apply_changes(base, [lfp]).table("demand")
    n7 = before["model"].str.startswith("N7")
    assert after["vehicles"][n7].tolist() == pytest.approx((before["vehicles"][n7] * 2).tolist())
    assert after["vehicles"][~n7].tolist() == before["vehicles"][~n7].tolist()


def test_changes_apply_in_order(base):
    changes = [TableChange("years", "carbon_price_usd_per_t", "set", 10.0),
               TableChange("years", "carbon_price_usd_per_t", "scale", 3.0),
               TableChange("years", "carbon_price_usd_per_t", "add", 1.0)]
    after = column_by(apply_changes(base, changes), "years", "carbon_price_usd_per_t")
    assert set(after.values()) == {31.0}


def test_settings_fx_and_blank_budget(base):
    out = apply_changes(base, [SettingChange("fx.JPY", "scale", 1.1), SettingChange("discount_rate", "add", 0.02),
                               SettingChange("unserved_penalty_usd_per_kwh", "set", 800.0),
                               SettingChange("demand", "set", "hard")])
    assert out.config.fx["JPY"] == pytest.approx(1.1) and out.config.fx["GBP"] == 1.0
    assert out.config.discount_rate == pytest.approx(0.10)
    assert out.config.unserved_penalty_usd_per_kwh == 800.0 and out.config.demand == "hard"
    bare = base.derive(fx={}, total_budget_musd=None)
    out = apply_changes(bare, [SettingChange("fx.JPY", "scale", 1.1), SettingChange("total_budget_musd", "scale", 0.5)])
    assert out.config.fx == {"JPY": pytest.approx(1.1)}  # absent fx entries count as 1.0
    assert out.config.total_budget_musd is None  # blank (no limit) stays blank
    assert base.config.fx["JPY"] == 1.0  # untouched


def test_outage_sets_availability_zero_in_those_years_only(base):
    out = apply_changes(base, [Outage("Sunderland2", (2028, 2029))])
    avail = out.table("plant_years").set_index(["plant", "year"])["availability"]
    assert avail[("Sunderland2", 2028)] == 0 and avail[("Sunderland2", 2029)] == 0
    others = avail.drop([("Sunderland2", 2028), ("Sunderland2", 2029)])
    assert (others == 1.0).all()


def test_delay_adds_lead_time_and_shifts_the_ramp_up(base):
    out = apply_changes(base, [Delay("Sunderland2", 2), Delay("BowlingGreen", 1), Delay("Zama", 1)])
    lead = dict(zip(out.tables["plants"]["plant"], out.tables["plants"]["lead_time_years"]))
    old = dict(zip(base.tables["plants"]["plant"], base.tables["plants"]["lead_time_years"]))
    assert lead["Sunderland2"] == old["Sunderland2"] + 2 and lead["BowlingGreen"] == old["BowlingGreen"] + 1
    assert lead["Ibaraki"] == old["Ibaraki"]
    cap = column_by(out, "plant_years", "capacity_gwh", plant="Sunderland2")
    # 7.9 -> 12.64 -> 15.8 from 2026, two years later (already producing in 2026: keeps 7.9 meanwhile)
    assert [cap[t] for t in range(2026, 2032)] == [7.9, 7.9, 7.9, 12.64, 15.8, 15.8]
    offtake = column_by(out, "plant_years", "min_offtake_gwh", plant="Sunderland2")
    assert [offtake[t] for t in range(2026, 2031)] == [0, 0, 0, 4, 4]  # take-or-pay from 2027 -> 2029
    # a closure is not postponed by a delay
    assert column_by(out, "plant_years", "capacity_gwh", plant="Zama") == \
        column_by(base, "plant_years", "capacity_gwh", plant="Zama")


def test_budget_cut_scales_budgets(base):
    out = apply_changes(base, [BudgetCut(0.2)])
    assert list(column_by(out, "years", "capex_budget_musd").values()) == pytest.approx([1200.0] * 10)
    assert out.config.total_budget_musd == pytest.approx(4800.0)
    out = apply_changes(base, [BudgetCut(0.5, (2027, 2028))])
    budget = column_by(out, "years", "capex_budget_musd")
    assert budget == {t: (750.0 if t in (2027, 2028) else 1500.0) for t in base.years}
    assert out.config.total_budget_musd == 6000.0  # a cut in named years leaves the horizon total


def test_apply_problems_name_the_change(base):
    with pytest.raises(InputError) as info:
        apply_changes(base, [TableChange("lanes", "tarif_rate", "set", 1.0, path="axes.t.change"),
                             TableChange("lanes", "tariff_rate", "set", 1.0, normalize_where({"plant.region": "XX"})),
                             Delay("Ibarak", 1), SettingChange("start_year", "set", 2030)], source="s.yaml")
    assert [(p.file, p.column, p.rule) for p in info.value.problems] == [
        ("s.yaml", "axes.t.change.column", "unknown-column"),
        ("s.yaml", "changes[1].where.plant.region", "no-match"),
        ("s.yaml", "changes[2].plant", "unknown-plant"),
        ("s.yaml", "changes[3].setting", "unknown-setting"),
    ]
    assert "did you mean 'tariff_rate'" in info.value.problems[0].message
    # a value the schema rejects is found by the re-validation and pointed at the change
    with pytest.raises(InputError) as info:
        apply_changes(base, [SettingChange("discount_rate", "set", 2.0, path="cases[0].changes[0]")], "s.yaml")
    assert [(p.file, p.column, p.rule) for p in info.value.problems] == [("s.yaml", "cases[0].changes[0]", "value")]
    with pytest.raises(InputError) as info:
        apply_changes(base, [TableChange("lanes", "tariff_rate", "add", -1.0, path="axes.t.change")], "s.yaml")
    assert {(p.file, p.column, p.rule) for p in info.value.problems} == {("s.yaml", "axes.t.change", "range")}


# ---------------------------------------------------------------------------------------------------
# bad sweep files


def test_malformed_yaml(tmp_path):
    path = write(tmp_path, "base: BASE\naxes: {a: [1, 2}\n")
    assert problems_of(path) == [Problem(str(path), 2, None, "yaml", problems_of(path)[0].message)]
    assert problems_of(path)[0].message.startswith("malformed YAML")
    path = write(tmp_path, "base: BASE\nbase: BASE\n", "twice.yaml")
    assert [(p.row, p.rule) for p in problems_of(path)] == [(2, "duplicate-key")]


def test_unknown_keys_with_did_you_mean(tmp_path):
    path = write(tmp_path, """
base: BASE
axis: {}
axes:
  t:
    valeus: [1]
    change: {table: lanes, column: tariff_rate, wehre: {plant.region: CN}}
""")
    problems = problems_of(path)
    p = only(problems, "axis")
    assert (p.file, p.rule) == (str(path), "unknown-key") and "did you mean 'axes'" in p.message
    p = only(problems, "axes.t.valeus")
    assert p.rule == "unknown-key" and "did you mean 'values'" in p.message
    assert only(problems, "axes.t.values").rule == "missing-key"


def test_change_addressing_a_missing_column(tmp_path):
    path = write(tmp_path, """
base: BASE
axes:
  cn_us_tariff:
    values: [0.5]
    change: {table: lanes, column: tarif_rate, where: {plant.region: CN, assembly.region: US}}
""")
    assert problems_of(path) == [Problem(str(path), None, "axes.cn_us_tariff.change.column", "unknown-column",
                                         "'tarif_rate' is not a column of lanes (did you mean 'tariff_rate'?)")]


def test_filter_that_matches_nothing(tmp_path):
    path = write(tmp_path, """
base: BASE
axes:
  t:
    values: [0.5]
    change: {table: lanes, column: tariff_rate, where: {plant.region: CN, assembly: Tochigi, plant: Sunwoda}}
  u:
    values: [0.5]
    change: {table: lanes, column: tariff_rate, where: {plant.region: [CN, XX]}}
""")
    problems = problems_of(path)
    assert [(p.file, p.column, p.rule) for p in problems] == [
        (str(path), "axes.t.change.where", "no-match"),
        (str(path), "axes.u.change.where.plant.region", "no-match"),
    ]
    assert "XX" in problems[1].message  # a value matching nothing is a typo even if others match


def test_zip_groups_of_unequal_length(tmp_path):
    path = write(tmp_path, """
base: BASE
zip:
  - a: {values: [1, 2], change: {setting: fx.JPY, op: scale}}
    b: {values: [1, 2, 3], change: {setting: fx.GBP, op: scale}}
""")
    [p] = problems_of(path)
    assert (p.file, p.column, p.rule) == (str(path), "zip[0]", "zip-length")
    assert "a: 2, b: 3" in p.message


def test_missing_base(tmp_path):
    path = write(tmp_path, "base: ../no_such_base\naxes: {a: {values: [1], change: {setting: fx.JPY}}}\n")
    [p] = problems_of(path)
    assert (p.file, p.column, p.rule) == (str(path), "base", "base-not-found")
    path = write(tmp_path, "axes: {a: {values: [1], change: {setting: fx.JPY}}}\n", "nobase.yaml")
    assert [(p.column, p.rule) for p in problems_of(path)] == [("base", "missing-key")]


def test_more_bad_files(tmp_path):
    path = write(tmp_path, """
base: BASE
axes:
  case: {values: [1], change: {setting: fx.JPY}}
  t: {values: [0.5, 0.5], change: {table: lanes, column: tariff_rate, value: 1}}
  d: {values: [-1], change: {event: delay, plant: Ibaraki}}
  w: {values: [-0.5], change: {table: lanes, column: tariff_rate, op: add}}
cases:
  - name: c1
    changes: [{event: delay, plant: Ibarak, years: 2}, {event: outage, plant: Zama, years: [2040]}]
  - name: c1
    changes: [{event: delya, plant: Ibaraki}]
  - name: c2
    changes: [{event: delay, plant: Ibaraki}]
samples:
  count: 10
  seed: 1
  parameters:
    s: {distribution: uniform, low: 0, high: 2, change: {event: delay, plant: Ibaraki}}
    e: {distribution: normall, mean: 1}
    b: {distribution: uniform, low: 0, high: 1.5, change: {event: budget_cut}}
""")
    got = {(p.column, p.rule) for p in problems_of(path)}
    assert got == {
        ("axes.case", "value"),  # reserved: the named cases' column
        ("axes.t.change.value", "value"),  # an axis supplies the value
        ("axes.d.values[0]", "value"),  # delays are >= 0
        ("axes.w.values[0]", "range"),  # tariff_rate would go below 0
        ("cases[0].changes[0].plant", "unknown-plant"),
        ("cases[0].changes[1].years", "no-match"),  # outside the horizon
        ("cases[1].changes[0].event", "value"),
        ("cases[1].name", "duplicate-name"),
        ("cases[2].changes[0].years", "missing-key"),
        ("samples.parameters.s.distribution", "value"),  # delays take whole years: discrete only
        ("samples.parameters.e.distribution", "value"),
        ("samples.parameters.b.high", "value"),  # a share above 1
    }


# ---------------------------------------------------------------------------------------------------
# the shipped sweeps


_loaded: dict[Path, object] = {}


def shipped(path: Path):
    """Each shipped sweep loaded once per test session."""
    if path not in _loaded:
        _loaded[path] = load_sweep(path)
    return _loaded[path]


def test_the_shipped_sweeps_exist():
    assert {p.stem for p in SHIPPED} >= {"tariffs", "demand", "capex_delays", "monte_carlo", "smoke"}


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_sweep_loads_and_every_case_applies(path):
    sweep = shipped(path)
    base = sweep.load_base()
    assert sweep.base_path == BASE and sweep.name == path.stem
    limit = 20 if sweep.count() > 100 else None
    cases = list(itertools.islice(sweep.cases(), limit))
    assert limit is not None or len(cases) == sweep.count()
    assert len({c.name for c in cases}) == len(cases)
    for case in cases:
        assert check_changes(base, case.changes, str(path)) == [], case.name
    # resolve some in full (each takes a re-validation of the whole scenario): the last case, and in
    # the smoke sweep the last of each kind
    for case in {c.kind: c for c in cases}.values() if path.stem == "smoke" else cases[-1:]:
        apply_changes(base, case.changes, str(path))


def test_shipped_sizes():
    sizes = {p.stem: shipped(p).count() for p in SHIPPED}
    assert sizes["monte_carlo"] == 1000
    assert sizes["smoke"] <= 8 and sizes["demand"] <= 30
    assert all(n >= 1 for n in sizes.values())


def test_capex_delays_cases_touch_the_right_plants():
    sweep = shipped(SWEEPS / "capex_delays.yaml")
    delays = [c for case in sweep.cases() for c in case.changes if isinstance(c, Delay)]
    assert {c.plant for c in delays} == {"Ibaraki", "Sunderland2", "BowlingGreen"}
    assert {c.years for c in delays} == {1, 2}
