"""Cases resolved on arrays (:mod:`optimizer.sweep.arrays`) give what the pandas path gives.

Random cases mix every change kind a sweep file can write (table changes set/scale/add on every table,
numeric, exchange-rate and choice settings, outages, delays, budget cuts), some covered by the array
path and some not (structural changes, columns the checks across tables read, bad values). For each:
the array path either leaves the case to the pandas path or gives the pandas path's parameter vector
(exactly), its scenario (tables, settings, model data) and its inputs hash; bad cases end with the
pandas path's error. Then one worker (one build, then the push) against a fresh solve of each case.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import optimizer
from optimizer import InputError, load_scenario
from optimizer.model.params import param_groups
from optimizer.sweep.apply import apply_changes
from optimizer.sweep.arrays import ArrayCases
from optimizer.sweep.cases import scenario_id, scenario_id_of
from optimizer.sweep.changes import BudgetCut, Delay, Outage, SettingChange, TableChange
from optimizer.sweep.push import param_vector
from optimizer.sweep.spec import Case
from optimizer.sweep.worker import CaseSolver

ROOT = Path(__file__).resolve().parents[1]
OPTIONS = optimizer.SolveOptions(threads=1, rel_gap=0.0)
REGIONS = ("JP", "UK", "US", "EU", "CN")


@pytest.fixture(scope="module")
def base():
    return load_scenario(ROOT / "scenarios" / "base")


def _u(rng, lo: float, hi: float) -> float:
    return round(float(rng.uniform(lo, hi)), 4)


def _regions(rng) -> tuple:
    return tuple(rng.choice(REGIONS, int(rng.integers(1, 3)), replace=False).tolist())


def _years(rng, years) -> tuple:
    start = int(rng.integers(years[0], years[-1] + 1))
    return tuple(range(start, years[-1] + 1))


# covered on arrays (unless the values make them structural, e.g. demand added where there was none)
COVERED = [
    lambda r, y: TableChange("demand", "vehicles", "scale", _u(r, 0.6, 1.3), (("assembly.region", _regions(r)),)),
    lambda r, y: TableChange("demand", "vehicles", "scale", _u(r, 0.6, 1.3), (("model", ("LeafUS", "N7_58")),)),
    lambda r, y: TableChange("lanes", "tariff_rate", "set", _u(r, 0, 0.6),
                             (("plant.region", ("CN",)), ("assembly.region", _regions(r)))),
    lambda r, y: TableChange("lanes", "freight_usd_per_kwh", "scale", _u(r, 0.8, 1.5)),
    lambda r, y: TableChange("lane_years", "tariff_rate", "add", _u(r, 0, 0.2), (("year", _years(r, y)),)),
    lambda r, y: TableChange("lane_years", "freight_usd_per_kwh", "set", _u(r, 0.005, 0.03),
                             (("plant.region", ("JP",)),)),
    lambda r, y: TableChange("plant_years", "cell_cost_usd_per_kwh", "scale", _u(r, 0.8, 1.2),
                             (("plant.region", _regions(r)),)),
    lambda r, y: TableChange("plant_years", "credit_usd_per_kwh", "set", _u(r, 0, 0.04), (("year", _years(r, y)),)),
    lambda r, y: TableChange("plant_years", "co2_kg_per_kwh", "scale", _u(r, 0.5, 1.5)),
    lambda r, y: TableChange("plant_years", "availability", "scale", _u(r, 0.7, 1.0), (("plant.region", _regions(r)),)),
    lambda r, y: TableChange("plant_years", "min_offtake_gwh", "scale", _u(r, 0.5, 1.0)),
    lambda r, y: TableChange("years", "carbon_price_usd_per_t", "set", _u(r, 0, 150)),
    lambda r, y: TableChange("years", "capex_budget_musd", "scale", _u(r, 0.6, 1.4), (("year", _years(r, y)),)),
    lambda r, y: TableChange("assembly_years", "capacity_vehicles", "scale", _u(r, 0.8, 1.3)),
    lambda r, y: TableChange("plants", "opening_cost_musd", "scale", _u(r, 0.8, 1.5)),
    lambda r, y: TableChange("plants", "step_cost_musd", "add", _u(r, 0, 50), (("plant.region", _regions(r)),)),
    lambda r, y: TableChange("plants", "fixed_om_musd_per_gwh", "scale", _u(r, 0.8, 1.2)),
    lambda r, y: TableChange("plants", "closure_cost_musd", "set", _u(r, 0, 60), (("plant", ("Zama", "Smyrna")),)),
    lambda r, y: SettingChange(str(r.choice(["fx.JPY", "fx.GBP", "fx.EUR", "fx.CNY"])), "set", _u(r, 0.7, 1.3)),
    lambda r, y: SettingChange("fx.USD", "scale", _u(r, 0.9, 1.1)),
    lambda r, y: SettingChange("unserved_penalty_usd_per_kwh", "scale", _u(r, 0.5, 2.0)),
    lambda r, y: SettingChange("total_budget_musd", "scale", _u(r, 0.6, 1.2)),
    lambda r, y: Outage(str(r.choice(["Zama", "Sunderland1", "Wuxi", "Douai"])), _years(r, y)[:2]),
    lambda r, y: Delay(str(r.choice(["Zama", "Smyrna"])), 0),
    lambda r, y: BudgetCut(_u(r, 0, 0.4)),
    lambda r, y: BudgetCut(_u(r, 0, 0.4), _years(r, y)),
]
# left to the pandas path: the model's structure changes, or a column the checks across tables read
STRUCTURAL = [
    lambda r, y: TableChange("demand", "vehicles", "set", 0.0, (("model", ("LeafUS",)),)),
    lambda r, y: TableChange("years", "co2_cap_kt", "set", _u(r, 2000, 9000)),
    lambda r, y: TableChange("plant_years", "capacity_gwh", "scale", _u(r, 0.8, 1.2), (("plant.region", ("JP",)),)),
    lambda r, y: TableChange("plants", "lead_time_years", "add", 1, (("plant", ("BowlingGreen",)),)),
    lambda r, y: TableChange("models", "pack_kwh", "scale", _u(r, 0.9, 1.1)),
    lambda r, y: TableChange("assembly", "max_supplier_share", "set", _u(r, 0.6, 1.0)),
    lambda r, y: TableChange("rules", "min_share", "set", _u(r, 0.3, 0.65)),
    lambda r, y: SettingChange("discount_rate", "set", _u(r, 0.04, 0.1)),
    lambda r, y: SettingChange("economic_life_years", "add", 2),
    lambda r, y: SettingChange("investment_cost", "set", "upfront"),
    lambda r, y: SettingChange("single_sourcing", "set", True),
    lambda r, y: SettingChange("demand", "set", "hard"),
    lambda r, y: Delay(str(r.choice(["Smyrna", "BowlingGreen"])), 1),
]
BAD = [
    TableChange("plant_years", "availability", "scale", 3.0),
    TableChange("lanes", "tariff_rate", "set", 20.0),
    TableChange("plants", "opening_cost_musd", "set", 2e9),
    TableChange("plants", "opening_cost_musd", "add", -1e5),
    TableChange("demand", "vehicles", "scale", 1.0, (("assembly.region", ("XX",)),)),
    TableChange("demand", "vehicle", "scale", 1.0),
    SettingChange("fx.XXX", "set", 1.0),
    SettingChange("fx.JPY", "set", -1.0),
    SettingChange("unserved_penalty_usd_per_kwh", "set", -5.0),
    Outage("Nowhere", (2030,)),
    Outage("Zama", (2050,)),
    BudgetCut(1.5),
]


def _random_cases(base, n: int, seed: int, structural: bool) -> list[Case]:
    rng = np.random.default_rng(seed)
    menu = COVERED + (STRUCTURAL if structural else [])
    cases = []
    for i in range(n):
        picks = rng.choice(len(menu), int(rng.integers(1, 6)), replace=False)
        changes = tuple(menu[int(j)](rng, base.years) for j in picks)
        cases.append(Case(f"random-{i:02d}", (), changes, "sample"))
    return cases


def test_every_covered_change_kind_resolves_on_arrays(base):
    arrays = ArrayCases(base)
    rng = np.random.default_rng(0)
    for make in COVERED:
        assert arrays.resolve([make(rng, base.years)]) is not None, make(rng, base.years)
    for make in STRUCTURAL:
        assert arrays.resolve([make(rng, base.years)]) is None, make(rng, base.years)


def test_array_path_equals_pandas_path_on_random_cases(base):
    """Parameter vector (exact), scenario and inputs hash of the array path against apply_changes."""
    arrays = ArrayCases(base)
    keys = [(g, k) for g, v in param_groups(base).items() for k in v]
    covered = 0
    for case in _random_cases(base, 120, seed=1, structural=True):
        got = arrays.resolve(case.changes)
        try:
            want = apply_changes(base, case.changes)
        except InputError:  # e.g. a filter that matches no row: only the pandas path reports it
            assert got is None
            continue
        if got is None:
            continue
        covered += 1
        np.testing.assert_array_equal(got.vector(keys), param_vector(keys, param_groups(want)))
        assert got.inputs_sha256 == want.inputs_sha256
        s = got.scenario()
        assert s.data == want.data and s.config == want.config
        assert np.array_equal(param_vector(keys, param_groups(s)), param_vector(keys, param_groups(want)))
        for name, frame in want.tables.items():
            pd.testing.assert_frame_equal(s.tables[name], frame, check_dtype=False)
    assert 20 <= covered < 120  # both paths exercised


def test_scenario_ids_are_stable_and_follow_the_inputs(base):
    """The same case gives the same id in two workers; different inputs give different ids; two change
    lists that resolve to the same inputs share an id."""
    options = OPTIONS.as_dict()
    one, two = ArrayCases(base), ArrayCases(base)
    cases = _random_cases(base, 30, seed=2, structural=False)
    ids = [scenario_id_of(one.resolve(c.changes).inputs_sha256, options) for c in cases]
    assert ids == [scenario_id_of(two.resolve(c.changes).inputs_sha256, options) for c in cases]
    assert len(set(ids)) == len(ids)
    same = [TableChange("years", "carbon_price_usd_per_t", "set", 40.0)]
    also = [TableChange("years", "carbon_price_usd_per_t", "set", 20.0),
            TableChange("years", "carbon_price_usd_per_t", "scale", 2.0)]
    assert one.resolve(same).inputs_sha256 == one.resolve(also).inputs_sha256
    assert scenario_id_of(one.resolve(same).inputs_sha256, options) == scenario_id(apply_changes(base, same), options)
    unchanged = [TableChange("years", "carbon_price_usd_per_t", "scale", 1.0)]
    assert one.resolve(unchanged).inputs_sha256 == base.inputs_sha256


@pytest.mark.parametrize("bad", BAD, ids=repr)
def test_bad_cases_end_with_the_pandas_paths_error(base, bad):
    with pytest.raises(InputError) as err:
        apply_changes(base, [bad], source="sweep.yaml")
    worker = CaseSolver(base, OPTIONS, source="sweep.yaml")
    got = worker.solve("k", Case("bad", (), (bad,)))
    assert got.status == "error" and got.message == err.value.render()
    assert worker.rebuilds == 0


def _plan(builds: pd.DataFrame) -> list[tuple]:
    return sorted(zip(builds["plant"], builds["kind"], builds["start_year"], builds["count"].round(6)))


@pytest.mark.slow
def test_worker_equals_a_fresh_solve_on_every_change_kind(base):
    """20 random cases of every change kind through one worker: objective and plan equal to a fresh solve
    of the pandas path's scenario, and the scenario id equal to that scenario's."""
    worker = CaseSolver(base, OPTIONS)
    arrays = ArrayCases(base)
    on_arrays = 0
    for i, case in enumerate(_random_cases(base, 20, seed=3, structural=True)):
        got = worker.solve(str(i), case)
        try:
            scenario = apply_changes(base, case.changes)
        except InputError as exc:
            assert got.status == "error" and got.message == exc.render()
            continue
        fresh = optimizer.solve(scenario, OPTIONS, duals=False)
        assert got.status == fresh.status.value, got.message
        assert got.scenario_id == scenario_id(scenario, OPTIONS.as_dict())
        if fresh.status.has_solution:
            assert got.objective == pytest.approx(fresh.objective, rel=1e-6)
            assert _plan(got.tables["builds"]) == _plan(fresh.builds)
        on_arrays += arrays.resolve(case.changes) is not None
    assert 5 <= on_arrays < 20
