"""Infeasible scenarios explain themselves: the elastic re-solve (optimizer/explain.py) names the smallest
weighted relaxation in business words. Every expected figure is derived by hand from the tiny instance."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tiny import TinyCase

from optimizer.explain import explain_infeasible, find_relaxations, lp_conflict
from optimizer.io import write_scenario
from optimizer.solver import Status


def explained(case: TinyCase) -> list[str]:
    """Solve (it must be infeasible) and return the explanation the manifest carries."""
    result = case.solve()
    assert result.status == Status.INFEASIBLE
    assert result.manifest["why_infeasible"] == result.why_infeasible
    return result.why_infeasible


def test_capacity_short_of_hard_demand():
    # 10 GWh demanded, 7 GWh at the only plant: 3 GWh more capacity (weight 1 x 3) beats dropping 3 GWh of
    # firm demand (weight 10 x 3)
    case = TinyCase().plant("P1", capacity=7).demand(gwh=10)
    assert explained(case) == [f"P1 2026: {10 - 7:.1f} GWh of cell capacity short"]
    # the LP relaxation is infeasible too, and its IIS is exactly the demand row against the capacity row
    assert lp_conflict(case.scenario()) == ["demand_balance[A1,M,2026]", "plant_capacity[P1,2026]"]


def test_take_or_pay_above_demand():
    # P1 must ship 8 GWh but only 5 GWh are demanded: 3 GWh of the minimum cannot be met
    case = TinyCase().plant("P1", capacity=10, min_offtake_gwh=8).demand(gwh=5)
    assert explained(case) == [f"P1 2026: take-or-pay minimum of 8.0 GWh is {8 - 5:.1f} GWh short"]


def test_local_content_rule_points_short():
    # the only local plant P2 has no lane to A1: local share 0 against 60 % of 5 GWh -> 3 GWh = 60 points
    case = (TinyCase().assembly("A1").assembly("A2").plant("P1", capacity=10, to=["A1"])
            .plant("P2", capacity=10, to=["A2"]).demand(gwh=5).rule("R", plants="P2", min_share=0.6))
    assert explained(case) == [f"R local-content rule 2026: {100 * 0.6:.1f} points short ({0.6 * 5:.1f} GWh of "
                               "local cells)"]


def test_capital_budget_short():
    # 2 GWh existing, 5 demanded: one 5 GWh step ($150M) is needed, the budget is $100M -> $50M short
    # (weight 0.01 x 50 = 0.5, less than 3 GWh of capacity at weight 1)
    case = (TinyCase().plant("P1", capacity=2, max_steps=2, step_gwh=5, step_cost_musd=150).demand(gwh=5)
            .year_params(capex_budget_musd=100))
    assert explained(case) == [f"capital budget 2026: ${150 - 100:.1f}M short"]
    # 3/5 of a step ($90M) would fit the budget: the LP relaxation is feasible, only whole steps conflict
    assert case.solve().manifest["lp_conflict"] == []


def test_total_budget_short():
    case = (TinyCase(total_budget_musd=120).plant("P1", capacity=2, max_steps=2, step_gwh=5, step_cost_musd=150)
            .demand(gwh=5))
    assert explained(case) == [f"total capital budget: ${150 - 120:.1f}M short"]


def test_co2_cap_over():
    # 5 GWh x 50 kg/kWh = 250 kt against a 200 kt cap
    case = TinyCase().plant("P1", capacity=10, co2_kg_per_kwh=50).demand(gwh=5).year_params(co2_cap_kt=200)
    assert explained(case) == [f"CO2 cap 2026: {5 * 50 - 200:.1f} kt CO2 over"]


def test_assembly_capacity_short():
    # 5 GWh of 50 kWh packs = 100,000 vehicles against room for 80,000
    case = TinyCase().assembly("A1", capacity_vehicles=80_000).plant("P1", capacity=10).demand(gwh=5)
    assert explained(case) == [f"A1 2026: assembly capacity {100_000 - 80_000:,} vehicles short"]


def test_supplier_share_cap():
    # A1 may take at most 60 % from one plant, but only P1 has a lane to A1: it ships all 5 GWh = 100 %,
    # 40 points (2 GWh, weight 2) over the cap; the alternative, dropping firm demand, costs 10 x 5
    case = (TinyCase().assembly("A1", max_supplier_share=0.6).assembly("A2").plant("P1", capacity=10, to=["A1"])
            .plant("P2", capacity=10, to=["A2"]).demand(gwh=5))
    assert explained(case) == [f"A1 2026: P1 must supply {100 - 60:.1f} points above the 60 % supplier-share cap"]


def test_demand_short_when_nothing_can_serve_it():
    # the only plant is a candidate with a 1-year lead time in a 1-year horizon: it can never deliver
    case = TinyCase().candidate("C", opening_capacity_gwh=10, opening_cost_musd=1, lead_time_years=1).demand(gwh=5)
    assert explained(case) == ["A1 2026: 5.0 GWh short for M demand"]


def test_two_relaxations_in_two_years():
    case = TinyCase(years=2).plant("P1", capacity=[7, 4]).demand(gwh=10)
    relaxations, note = find_relaxations(case.scenario())
    assert note == ""
    assert [(r.family, r.index) for r in relaxations] == [("plant_capacity", ("P1", 2026)),
                                                          ("plant_capacity", ("P1", 2027))]
    assert [r.slack for r in relaxations] == pytest.approx([10 - 7, 10 - 4])


def test_feasible_scenario_needs_no_relaxation():
    case = TinyCase.default()
    assert explain_infeasible(case.scenario()) == []
    result = case.solve()
    assert result.status == Status.OPTIMAL
    assert result.manifest["why_infeasible"] is None and result.why_infeasible == []
    assert result.manifest["lp_conflict"] is None
    assert lp_conflict(case.scenario()) == []


def test_cli_prints_the_explanation_and_exits_3(tmp_path):
    """`optimizer solve` on an infeasible scenario: exit 3, the relaxation printed, and the manifest carries it."""
    folder = write_scenario(TinyCase().plant("P1", capacity=7).demand(gwh=10).scenario(), tmp_path / "case")
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "optimizer", "solve", str(folder), "--out", str(out)],
                          cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert "  - P1 2026: 3.0 GWh of cell capacity short" in proc.stdout
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "infeasible"
    assert manifest["why_infeasible"] == ["P1 2026: 3.0 GWh of cell capacity short"]
    assert manifest["lp_conflict"] == ["demand_balance[A1,M,2026]", "plant_capacity[P1,2026]"]
    assert "(HiGHS IIS): demand_balance[A1,M,2026], plant_capacity[P1,2026]" in proc.stdout


def test_an_infeasible_solve_builds_its_model_once(monkeypatch):
    """The solve, the LP relaxation's IIS and the elastic re-solve share one model; what they find is what
    each finds on a model of its own."""
    import optimizer.api
    import optimizer.explain

    case = TinyCase().plant("P1", capacity=7).demand(gwh=10)
    builds = []
    for module in (optimizer.api, optimizer.explain):
        real = module.build_model
        monkeypatch.setattr(module, "build_model", lambda s, *a, _real=real, **k: builds.append(s) or _real(s, *a, **k))
    result = case.solve()
    assert result.status == Status.INFEASIBLE and len(builds) == 1
    monkeypatch.undo()
    assert result.why_infeasible == explain_infeasible(case.scenario())
    assert result.manifest["lp_conflict"] == lp_conflict(case.scenario())
    assert result.manifest["model_size"]["constraints"] > 0
