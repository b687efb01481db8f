"""Metamorphic tests on the real base case: transformations whose effect on the optimum is known."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import optimizer
from optimizer import SolveOptions

BASE = Path(__file__).resolve().parents[1] / "scenarios" / "base"
EXACT = SolveOptions(rel_gap=1e-9, threads=2)

# every money column of the inputs; tariff rates scale with the cell cost they apply to
MONEY = {
    "plants": ["opening_cost_musd", "step_cost_musd", "fixed_om_musd_per_gwh", "closure_cost_musd"],
    "plant_years": ["cell_cost_usd_per_kwh", "credit_usd_per_kwh"],
    "lanes": ["freight_usd_per_kwh"],
    "lane_years": ["freight_usd_per_kwh"],
    "years": ["capex_budget_musd", "carbon_price_usd_per_t"],
}


@pytest.fixture(scope="module")
def base() -> optimizer.Scenario:
    return optimizer.load_scenario(BASE)


@pytest.fixture(scope="module")
def base_result(base) -> optimizer.SolveResult:
    result = optimizer.solve(base, EXACT)
    assert result.status == optimizer.Status.OPTIMAL
    return result


def scale_costs(s: optimizer.Scenario, k: float) -> optimizer.Scenario:
    tables = {}
    for name, cols in MONEY.items():
        if name in s.tables:
            frame = s.table(name)
            for col in cols:
                frame[col] = frame[col] * k  # blank budgets stay blank (NaN * k)
            tables[name] = frame
    cfg = s.config
    return s.derive(tables, unserved_penalty_usd_per_kwh=cfg.unserved_penalty_usd_per_kwh * k,
                    total_budget_musd=None if cfg.total_budget_musd is None else cfg.total_budget_musd * k)


@pytest.mark.parametrize("k", [0.5, 3.0])
def test_scaling_every_cost_scales_the_objective(base, base_result, k):
    scaled = optimizer.solve(scale_costs(base, k), EXACT)
    assert scaled.status == optimizer.Status.OPTIMAL
    assert scaled.objective == pytest.approx(k * base_result.objective, rel=1e-7)


def test_plant_without_lanes_changes_nothing(base, base_result):
    plants = base.table("plants")
    extra = plants.iloc[[0]].copy()
    extra["plant"] = "Unreachable"
    extra["status"], extra["may_close"] = "candidate", "no"
    extra["opening_capacity_gwh"], extra["opening_cost_musd"] = 50.0, 1.0  # cheap and large, but no lane
    py = base.table("plant_years")
    extra_years = py[py["plant"] == plants["plant"].iloc[0]].copy()
    extra_years["plant"], extra_years["capacity_gwh"], extra_years["cell_cost_usd_per_kwh"] = "Unreachable", 0.0, 1.0
    bigger = base.derive({"plants": pd.concat([plants, extra], ignore_index=True),
                          "plant_years": pd.concat([py, extra_years], ignore_index=True)})
    result = optimizer.solve(bigger, EXACT)
    assert result.status == optimizer.Status.OPTIMAL
    assert result.objective == pytest.approx(base_result.objective, rel=1e-9)
    assert "Unreachable" not in set(result.builds["plant"])


def test_fixing_the_integers_and_resolving_the_lp_reproduces_the_objective(base, base_result):
    """A fresh model with openings, steps and closures fixed from the written builds table, solved as an LP."""
    import pyomo.environ as pyo

    from optimizer.model import build_model
    from optimizer.solver import solve_model

    m = build_model(base)
    chosen = {(b.plant, b.start_year, b.kind): b.count for b in base_result.builds.itertuples()}
    for var, kind in ((m.open, "opening"), (m.steps, "step"), (m.close, "closure")):
        for (p, t), v in var.items():
            v.fix(chosen.get((p, t, kind), 0))
            v.domain = pyo.Reals
    assert not any(v.is_integer() for v in m.component_data_objects(pyo.Var) if not v.fixed)
    outcome, _ = solve_model(m, EXACT)
    assert outcome.status == optimizer.Status.OPTIMAL
    assert outcome.objective == pytest.approx(base_result.objective, rel=1e-7)
    # and the in-process LP re-solve used for the duals agrees too
    assert base_result.manifest["lp_fixed_objective"] == pytest.approx(base_result.objective, rel=1e-7)
