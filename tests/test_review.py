"""The review analyses against values recomputed by hand.

A tiny 2x2 grid sweep solved in-process (no Ray): one plant P1 (cell $100/kWh scaled by ``cell`` in
{0.9, 1.1}, freight ``freight`` in {1, 3} $/kWh), one assembly plant, 5 GWh of hard demand in each of two
years, no discounting, plus the base case (scale 1, freight 1). Every optimum ships the demand from P1, so
objective = 2 years x 5 GWh x (100 x cell + freight): 910, 930, 1110, 1130 and 1010 for the base.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tiny import TinyCase

import optimizer
from optimizer.solver import SolveOptions
from optimizer.sweep.runner import solve_in_process as run_in_process

YEARS, DEMAND_GWH, CELL, FREIGHT = 2, 5.0, 100.0, 1.0
CELL_SCALES, FREIGHTS = (0.9, 1.1), (1.0, 3.0)


def expected_objective(scale: float, freight: float) -> float:
    return YEARS * DEMAND_GWH * (CELL * scale + freight)


def solve_in_process(sweep_file: Path, out: Path) -> Path:
    """Every case of a sweep solved in this process (one sweep worker without Ray, writing as on Ray)."""
    return run_in_process(sweep_file, out, options=SolveOptions(rel_gap=0.0, threads=1, time_limit=60))


@pytest.fixture(scope="module")
def grid(tmp_path_factory) -> optimizer.load_results:
    tmp = tmp_path_factory.mktemp("grid")
    case = TinyCase.default(years=YEARS)
    optimizer.write_scenario(case.scenario(), tmp / "base")
    (tmp / "grid.yaml").write_text(f"""
name: grid
base: base
include_base: true
axes:
  cell:
    values: {list(CELL_SCALES)}
    change: {{table: plant_years, column: cell_cost_usd_per_kwh, op: scale}}
  freight:
    values: {list(FREIGHTS)}
    change: {{table: lanes, column: freight_usd_per_kwh, op: set}}
""")
    return optimizer.load_results(solve_in_process(tmp / "grid.yaml", tmp / "out"))


def by_case(frame: pd.DataFrame) -> dict:
    return frame.set_index("case").to_dict("index")


def test_grid_objectives_are_the_hand_derived_ones(grid):
    summary = grid.summary.set_index("case")
    assert summary.loc["base", "objective"] == pytest.approx(expected_objective(1.0, FREIGHT))
    for scale in CELL_SCALES:
        for freight in FREIGHTS:
            row = summary[(summary["cell"] == scale) & (summary["freight"] == freight)]
            assert row["objective"].iloc[0] == pytest.approx(expected_objective(scale, freight))


def test_tornado_on_a_full_grid_is_the_main_effect(grid):
    """cell: mean over freight at 1.1 minus at 0.9 = 10 x 100 x 0.2 = 200; freight: 10 x (3 - 1) = 20."""
    t = grid.tornado().set_index("parameter")
    assert list(t.index) == ["cell", "freight"], "the cell cost moves the total cost most"
    for name, lows, highs in (("cell", [(0.9, f) for f in FREIGHTS], [(1.1, f) for f in FREIGHTS]),
                              ("freight", [(s, 1.0) for s in CELL_SCALES], [(s, 3.0) for s in CELL_SCALES])):
        low = np.mean([expected_objective(*p) for p in lows])
        high = np.mean([expected_objective(*p) for p in highs])
        assert t.loc[name, "low_cost"] == pytest.approx(low)
        assert t.loc[name, "high_cost"] == pytest.approx(high)
        assert t.loc[name, "swing"] == pytest.approx(high - low)
        assert (t.loc[name, "n_low"], t.loc[name, "n_high"]) == (2, 2)
    assert t.loc["cell", "swing"] == pytest.approx(YEARS * DEMAND_GWH * CELL * (1.1 - 0.9))
    assert t.loc["freight", "swing"] == pytest.approx(YEARS * DEMAND_GWH * (3.0 - 1.0))
    everything = sorted([expected_objective(1.0, FREIGHT)]
                        + [expected_objective(s, f) for s in CELL_SCALES for f in FREIGHTS])
    assert t["reference"].iloc[0] == pytest.approx(everything[2])  # the median of five


def test_compare_against_the_base_case(grid):
    c = grid.compare()
    dearest = c[(c["case"] == "grid-cell=1.1,freight=3.0")].set_index(["table", "item", "metric"])
    base = expected_objective(1.0, FREIGHT)
    delta = expected_objective(1.1, 3.0) - base
    row = dearest.loc[("kpis", "total_cost_musd", "value")]
    assert (row["baseline"], row["delta"]) == (pytest.approx(base), pytest.approx(delta))
    assert row["delta_pct"] == pytest.approx(100 * delta / base)
    cell = dearest.loc[("costs", "cell", "discounted_musd")]
    assert cell["delta"] == pytest.approx(YEARS * DEMAND_GWH * CELL * 0.1)
    freight = dearest.loc[("costs", "freight", "nominal_musd")]
    assert freight["delta"] == pytest.approx(YEARS * DEMAND_GWH * (3.0 - FREIGHT))
    lane = dearest.loc[("flows", "P1 -> A1", "gwh")]
    assert (lane["value"], lane["delta"]) == (pytest.approx(YEARS * DEMAND_GWH), pytest.approx(0.0))
    # against another baseline chosen by name: that case's deltas are zero, the base's are the opposite
    other = grid.compare(baseline="grid-cell=1.1,freight=3.0")
    total = other[(other["item"] == "total_cost_musd")].set_index("case")["delta"]
    assert total["grid-cell=1.1,freight=3.0"] == 0.0
    assert total["base"] == pytest.approx(-delta)
    with pytest.raises(ValueError, match="neither a scenario"):
        grid.compare(baseline="no-such-case")


def test_landed_cost_is_cost_over_kwh(grid):
    landed = grid.landed_cost()
    flows = pd.read_parquet(grid.out / "flows.parquet")
    for row in landed.itertuples(index=False):
        lane = flows[(flows["case_key"] == row.case_key) & (flows["plant"] == row.plant)
                     & (flows["assembly"] == row.assembly) & (flows["year"] == row.year)]
        assert row.landed_usd_per_kwh == pytest.approx(lane["cost_musd"].sum() / lane["gwh"].sum())
        parts = row.cell_usd_per_kwh + row.freight_usd_per_kwh + row.tariff_usd_per_kwh + row.carbon_usd_per_kwh \
            + row.credit_usd_per_kwh
        assert parts == pytest.approx(row.landed_usd_per_kwh)
    dearest = landed[landed["case"] == "grid-cell=1.1,freight=3.0"]
    assert len(dearest) == YEARS
    assert dearest["landed_usd_per_kwh"].to_numpy() == pytest.approx([CELL * 1.1 + 3.0] * YEARS)
    whole = grid.landed_cost(by_year=False)
    assert whole["gwh"].to_numpy() == pytest.approx([YEARS * DEMAND_GWH] * 5)


def test_distributions_are_the_percentiles_of_the_objectives(grid):
    objectives = sorted([expected_objective(1.0, FREIGHT)]
                        + [expected_objective(s, f) for s in CELL_SCALES for f in FREIGHTS])
    d = grid.distributions((0.05, 0.25, 0.5, 1.0)).set_index("kpi")
    row = d.loc["objective"]
    # linear interpolation between order statistics: position q x (n - 1)
    assert row["p5"] == pytest.approx(objectives[0] + 0.2 * (objectives[1] - objectives[0]))
    assert row["p25"] == pytest.approx(objectives[1])
    assert row["p50"] == pytest.approx(objectives[2])
    assert row["p100"] == row["max"] == pytest.approx(objectives[-1])
    assert row["mean"] == pytest.approx(np.mean(objectives))
    assert row["count"] == 5
    assert d.loc["total_cost_musd", "p50"] == pytest.approx(objectives[2])
    with pytest.raises(ValueError):
        grid.distributions((50,))


@pytest.mark.slow
def test_build_frequency_of_the_smoke_sweep_counted_from_builds_parquet(smoke_sweep_dir):
    sweep = optimizer.load_results(smoke_sweep_dir)
    summary = pd.read_parquet(smoke_sweep_dir / "summary.parquet")
    solved = set(summary.loc[summary["status"].isin(["optimal", "feasible"]), "case_key"])
    assert len(summary) == 6 and len(solved) == 6
    # every case keeps its readable name (the named case's own `case` parameter does not blank the others)
    assert sorted(summary["case"]) == ["base", "grid-cn_us_tariff=0.534", "grid-cn_us_tariff=1.034",
                                       "ibaraki_slips_2y", "sample-0000", "sample-0001"]
    builds = pd.read_parquet(smoke_sweep_dir / "builds.parquet")
    chosen = Counter()
    for key in {(r.case_key, r.plant, r.kind, r.start_year) for r in builds.itertuples() if r.count > 0}:
        chosen[key[1:]] += 1
    freq = sweep.build_frequency()
    assert len(freq) == len(chosen) > 0
    for row in freq.itertuples(index=False):
        n = chosen[(row.plant, row.kind, row.start_year)]
        assert row.scenarios == n
        assert row.share == pytest.approx(n / 6)
        assert row.of == 6


def test_a_single_solve_compares_with_another_result(tmp_path):
    cheap = TinyCase.default(years=YEARS)
    dear = TinyCase.default(years=YEARS).edit("lanes", "freight_usd_per_kwh", 3.0, plant="P1")
    a, b = cheap.solve(), dear.solve()
    b.write(tmp_path / "dear")
    with pytest.raises(ValueError, match="needs a baseline"):
        a.compare()
    for baseline in (b, tmp_path / "dear", str(tmp_path / "dear")):
        c = a.compare(baseline).set_index(["table", "item", "metric"])
        assert c.loc[("kpis", "total_cost_musd", "value"), "delta"] == pytest.approx(
            expected_objective(1.0, 1.0) - expected_objective(1.0, 3.0))
    freq = a.build_frequency()
    assert len(freq) == 0 and list(freq.columns)[:3] == ["plant", "kind", "start_year"]
    assert a.tornado().empty
    assert a.distributions().set_index("kpi").loc["objective", "p50"] == pytest.approx(expected_objective(1.0, 1.0))
