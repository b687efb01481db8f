"""Property-based tests (hypothesis) on small random scenarios.

1. A random small valid scenario solves to a proper status; an optimal plan passes the constraint audit
   (every family recomputed from the output tables) and an infeasible one comes with an explanation.
2. A random cell of a valid scenario replaced by a hostile value (negative, NaN, inf, text, blank, huge)
   either fails validation cleanly (InputError; every problem names a file, a rule, and a row/column
   inside the table) or gives a scenario that passes property 1: never another exception, never a plan
   the audit rejects.

Examples are derandomized and few, so CI runs the same cases every time and stays quick.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from tiny import TinyCase, solve_tiny

import optimizer
from optimizer.audit import audit_result
from optimizer.errors import InputError
from optimizer.solver import Status

PROFILE = settings(max_examples=25, deadline=None, derandomize=True, database=None,
                   suppress_health_check=[HealthCheck.too_slow])

money = st.floats(min_value=0, max_value=300, allow_nan=False).map(lambda x: round(x, 2))
gwh = st.floats(min_value=0, max_value=20, allow_nan=False).map(lambda x: round(x, 2))
share = st.sampled_from([0.0, 0.25, 0.5, 0.8])


@st.composite
def scenarios(draw) -> TinyCase:
    """1-2 years; 1-3 existing plants (some expandable), maybe a candidate site; 1-2 assembly plants;
    soft or hard demand; maybe a budget, a CO2 cap, a local-content rule, a take-or-pay or a share cap."""
    years = draw(st.integers(1, 2))
    case = TinyCase(years=years, demand=draw(st.sampled_from(["soft", "soft", "hard"])),
                    unserved_penalty_usd_per_kwh=1000)
    assemblies = ["A1", "A2"][: draw(st.integers(1, 2))]
    for a in assemblies:
        cap = draw(st.one_of(st.none(), st.floats(0, 400_000).map(round)))
        case.assembly(a, capacity_vehicles=cap, max_supplier_share=draw(st.sampled_from([1.0, 0.7])))
    plants = [f"P{i}" for i in range(1, draw(st.integers(1, 3)) + 1)]
    for p in plants:
        steps = draw(st.integers(0, 2))
        case.plant(p, capacity=[draw(gwh) for _ in range(years)], cost=draw(money), freight=draw(gwh),
                   co2_kg_per_kwh=draw(st.floats(0, 80).map(round)), max_steps=steps, step_gwh=draw(gwh),
                   step_cost_musd=draw(money), min_offtake_gwh=draw(st.sampled_from([0.0, 0.0, 0.0, 1.0, 5.0])))
    if draw(st.booleans()):
        case.candidate("C", opening_capacity_gwh=draw(gwh), opening_cost_musd=draw(money),
                       lead_time_years=draw(st.integers(0, 1)), cost=draw(money))
        plants.append("C")
    for a in assemblies:
        case.demand(gwh=[draw(gwh) for _ in range(years)], assembly=a)
    if draw(st.booleans()):
        case.year_params(capex_budget_musd=draw(st.one_of(st.none(), money)),
                         carbon_price_usd_per_t=draw(money), co2_cap_kt=draw(st.one_of(st.none(), money)))
    if draw(st.booleans()):
        case.rule("R", plants=draw(st.sampled_from(plants)), min_share=draw(share), assemblies=assemblies[0])
    return case


def check_solves_and_audits(tables: dict[str, pd.DataFrame], config: dict) -> Status:
    """Property 1 on one scenario: a proper status; optimal -> audit clean; infeasible -> explained."""
    result = solve_tiny(tables, config, duals=False)
    assert result.status in (Status.OPTIMAL, Status.INFEASIBLE), result.manifest
    if result.status == Status.OPTIMAL:
        scenario = optimizer.scenario_from_tables(tables, config)
        report = audit_result(scenario, result)
        assert int(report["violations"].sum()) == 0, report
        assert result.costs["discounted_musd"].sum() == pytest.approx(result.objective, rel=1e-6)
    else:
        assert result.why_infeasible, "an infeasible scenario must say which relaxation makes it feasible"
        assert all(isinstance(line, str) and line for line in result.why_infeasible)
        assert isinstance(result.manifest["lp_conflict"], list)  # HiGHS's IIS (or [] for an integer-only conflict)
    return result.status


@PROFILE
@given(scenarios())
def test_random_valid_scenarios_solve_and_audit_clean(case: TinyCase):
    tables, config = case.build()
    event(f"status {check_solves_and_audits(tables, config).value}")


HOSTILE = st.sampled_from([-1.0, -1e9, math.nan, math.inf, -math.inf, "abc", "", " ", 1e12, 0, "1;2", None,
                           "2026.5", "1e400"])


@st.composite
def mutations(draw) -> tuple[dict[str, pd.DataFrame], dict, str, int, str, object]:
    """A valid scenario's tables with one cell replaced by a hostile value."""
    tables, config = draw(scenarios()).build()
    name = draw(st.sampled_from(sorted(tables)))
    frame = tables[name]
    row = draw(st.integers(0, len(frame) - 1))
    column = draw(st.sampled_from(list(frame.columns)))
    value = draw(HOSTILE)
    frame = frame.astype(object)
    frame.loc[row, column] = value
    return {**tables, name: frame}, config, name, row, column, value


@settings(PROFILE, max_examples=40)
@given(mutations())
def test_mutated_scenarios_fail_cleanly_or_solve_correctly(mutation):
    tables, config, name, row, column, value = mutation
    try:
        optimizer.scenario_from_tables(tables, config)
    except InputError as exc:
        assert exc.problems
        for p in exc.problems:
            assert p.file.startswith("<memory>:") and p.rule and p.message
            table = p.file.removeprefix("<memory>:")
            if p.row is not None:  # a data row of that table: header is row 1
                assert 2 <= p.row <= len(tables[table]) + 1, p
        # the problem is in the mutated table, or (a renamed or emptied identifier) in a rule across tables
        event(f"rejected: {exc.problems[0].rule}")
        across = ("reference", "coverage", "unservable", "candidate-capacity", "order")
        assert any(p.file == f"<memory>:{name}" or p.rule in across for p in exc.problems), exc.render()
        return
    event(f"accepted, status {check_solves_and_audits(tables, config).value}")


def test_nothing_demanded_is_optimal_not_an_error():
    """Found by the properties above: a scenario without demand has a model without variables, which HiGHS
    answers with no status. Its optimum is the fixed O&M alone: 3 GWh x $2M/GWh = $6M."""
    case = TinyCase(demand="soft").plant("P1", capacity=3, fixed_om_musd_per_gwh=2).demand(gwh=0)
    result = case.solve()
    assert result.status == Status.OPTIMAL
    assert result.objective == pytest.approx(3 * 2)
    # and a take-or-pay with nothing to ship is infeasible, with the whole minimum short
    case = TinyCase(demand="soft").plant("P1", capacity=3, min_offtake_gwh=1).demand(gwh=0)
    result = case.solve()
    assert result.status == Status.INFEASIBLE
    assert result.why_infeasible == ["P1 2026: take-or-pay minimum of 1.0 GWh is 1.0 GWh short"]
