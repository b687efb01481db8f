"""The one-call hand-off (optimizer/highs_direct.py: Pyomo's standard-form compiler, ``passModel``, highspy)
gives what the persistent interface gives. Both routes are run here on the same scenarios; nothing is
hard-coded except the hand-derived optimum of the small LP.

The order of the columns steers HiGHS among equally good solutions (the flows of this model are degenerate),
so the strict comparison (every variable's value, every dual, the bound) hands the new route the persistent
interface's column order; in its own order (declaration order) the new route must reach the same optimum and
the same marginal values.
"""

from __future__ import annotations

import math

import numpy as np
import pyomo.environ as pyo
import pytest
from tiny import TinyCase

import optimizer
from benchmarks.synthetic import synthetic_scenario
from optimizer.highs_direct import compile_model, solve_direct
from optimizer.model import build_model
from optimizer.results import extract_tables
from optimizer.solver import SolveOptions, Status, fixed_lp_duals, new_solver, solve_model

OPTIONS = SolveOptions(rel_gap=0.0, threads=1)
SCENARIOS = {
    "base": lambda: optimizer.load_scenario(optimizer.DEFAULT_SCENARIO),
    "synthetic 5x10x3x5": lambda: synthetic_scenario(5, 10, 3, 5, seed=0),
    "synthetic 6x8x3x4 seed 3": lambda: synthetic_scenario(6, 8, 3, 4, seed=3),
}


def persistent_order(m: pyo.ConcreteModel, solver) -> list:
    """The Pyomo variables in the persistent interface's column order."""
    by_column = sorted(solver._pyomo_var_to_solver_var_map.items(), key=lambda kv: kv[1])
    return [solver._vars[var_id][0] for var_id, _ in by_column]


def values(m: pyo.ConcreteModel) -> dict[str, float | None]:
    return {v.name: v.value for v in m.component_data_objects(pyo.Var, descend_into=True)}


def same_value(a: float | None, b: float | None) -> bool:
    """Both unset, or both set and equal within 1e-9 (relative or absolute)."""
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def by_name(duals: dict) -> dict[str, float]:
    return {con.name: float(x) for con, x in duals.items()}


def assert_duals_equal(new: dict, old: dict) -> None:
    new, old = by_name(new), by_name(old)
    assert new.keys() == old.keys()
    scale = max(1.0, max(abs(x) for x in old.values()))
    worst = max(abs(new[c] - old[c]) for c in old)
    assert worst <= 1e-6 * scale, f"largest dual difference {worst}"
    assert any(abs(x) > 1e-9 for x in new.values())  # prices that say something


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_direct_route_equals_the_persistent_route(name):
    scenario = SCENARIOS[name]()
    m_old, m_same, m_own = build_model(scenario), build_model(scenario), build_model(scenario)
    old, solver = solve_model(m_old, OPTIONS)
    assert old.status == Status.OPTIMAL
    old_lp, old_duals = fixed_lp_duals(m_old, solver, OPTIONS)

    # the persistent interface's column order: the same MILP, the same path, the same numbers
    order = [getattr(m_same, v.parent_component().local_name)[v.index()] for v in persistent_order(m_old, solver)]
    same, direct = solve_direct(m_same, OPTIONS, column_order=order)
    assert direct is not None
    assert (same.status, same.termination, same.nodes) == (old.status, old.termination, old.nodes)
    assert same.objective == pytest.approx(old.objective, rel=1e-12)
    assert same.bound == pytest.approx(old.bound, rel=1e-12)
    old_values, new_values = values(m_old), values(m_same)
    assert old_values.keys() == new_values.keys()
    off = [(k, a, new_values[k]) for k, a in old_values.items() if not same_value(a, new_values[k])]
    assert off == []
    lp, duals = direct.lp_duals()
    assert lp == pytest.approx(old_lp, rel=1e-12)
    assert_duals_equal(duals, old_duals)

    # its own (declaration) order: the same optimum, plan costs and marginal values
    own, direct_own = solve_direct(m_own, OPTIONS)
    assert direct_own is not None and own.status == Status.OPTIMAL
    assert own.objective == pytest.approx(old.objective, rel=1e-9)
    own_lp, own_duals = direct_own.lp_duals()
    assert own_lp == pytest.approx(old_lp, rel=1e-9)
    assert_duals_equal(own_duals, old_duals)


def test_optimizer_solve_tables_equal_the_persistent_route():
    """``optimizer.solve`` (the new route) against tables extracted from the persistent route, on the base case:
    the plan, the cost by category and the marginal values of capacity and demand."""
    scenario = SCENARIOS["base"]()
    m = build_model(scenario)
    old, solver = solve_model(m, OPTIONS)
    lp, duals = fixed_lp_duals(m, solver, OPTIONS)
    old_tables = extract_tables(m, old, duals, lp)
    result = optimizer.solve(scenario, OPTIONS)
    assert result.status == Status.OPTIMAL
    assert result.objective == pytest.approx(old.objective, rel=1e-9)
    assert result.manifest["lp_fixed_objective"] == pytest.approx(lp, rel=1e-9)
    new_tables = result.tables
    for table in ("builds", "costs"):
        pd_old, pd_new = old_tables[table], new_tables[table]
        assert list(pd_old.columns) == list(pd_new.columns)
        assert len(pd_old) == len(pd_new)
        numeric = pd_old.select_dtypes("number").columns
        assert np.allclose(pd_old[numeric].to_numpy(float), pd_new[numeric].to_numpy(float), rtol=1e-7, atol=1e-6)
    marginal = "marginal_value_usd_per_kwh"
    assert np.allclose(old_tables["capacity"][marginal].to_numpy(float),
                       new_tables["capacity"][marginal].to_numpy(float), rtol=1e-6, atol=1e-6, equal_nan=True)


def small_lp() -> pyo.ConcreteModel:
    """max 3x + 2y + 5  s.t.  1 <= x + y <= 4 (ranged),  x - y >= -2,  x <= 3 (a row),  z == 1 (fixed),
    0 <= x, y;  a row of constants (2 <= 3) and a variable in no row (u).

    By hand: the optimum is x = 3, y = 1 (x + y = 4 and x <= 3 bind), objective 3*3 + 2*1 + 5 = 16. Duals
    (d objective / d bound, maximising): the ranged row's upper side 2 (y's price), the row x <= 3 gives
    3 - 2 = 1; x - y >= -2 is slack (0)."""
    m = pyo.ConcreteModel()
    m.x = pyo.Var(bounds=(0, None))
    m.y = pyo.Var(bounds=(0, None))
    m.z = pyo.Var(bounds=(0, 5))
    m.u = pyo.Var(bounds=(0, 1))
    m.z.fix(1)
    m.ranged = pyo.Constraint(expr=pyo.inequality(1, m.x + m.y + m.z - 1, 4))
    m.lower = pyo.Constraint(expr=m.x - m.y >= -2)
    m.upper = pyo.Constraint(expr=m.x <= 3)
    m.constant = pyo.Constraint(expr=pyo.inequality(2, m.z + 1, 3))
    m.obj = pyo.Objective(expr=3 * m.x + 2 * m.y + 5, sense=pyo.maximize)
    return m


@pytest.mark.parametrize("binding", ["upper", "lower"])
def test_ranged_rows_signs_and_dropped_rows_by_hand(binding):
    m = small_lp()
    if binding == "lower":
        m.obj.sense = pyo.minimize  # min 3x + 2y + 5 with x + y >= 1: y = 1, x = 0, objective 7
    form = compile_model(m)
    # the ranged row is one HiGHS row again, with its own coefficients; the constant row and z are gone
    assert [c.name for c in form.rows] == ["ranged", "lower", "upper"]
    assert [v.name for v in form.columns] == ["x", "y"]
    assert list(form.row_lower) == [1.0, -2.0, -np.inf] and list(form.row_upper) == [4.0, np.inf, 3.0]

    outcome, direct = solve_direct(m, OPTIONS)
    assert direct is not None and outcome.status == Status.OPTIMAL
    expected = {"upper": (16.0, 3.0, 1.0), "lower": (7.0, 0.0, 1.0)}[binding]
    assert (outcome.objective, m.x.value, m.y.value) == pytest.approx(expected)
    assert m.u.value is None  # in no row and not in the objective: left as it was
    lp, duals = direct.lp_duals()
    assert lp == pytest.approx(expected[0])

    # the persistent interface on the same model: the same duals, signs included
    ref = small_lp()
    ref.obj.sense = m.obj.sense
    res = new_solver().solve(ref, solver_options=OPTIONS.highs_options())  # an LP: its duals directly
    assert res.incumbent_objective == pytest.approx(outcome.objective)
    ref_duals = res.solution_loader.get_duals()
    ref_duals.setdefault(ref.constant, 0.0)  # the persistent interface keeps no row of constants either
    assert by_name(duals) == pytest.approx(by_name(ref_duals), abs=1e-9)
    if binding == "upper":  # by hand, see small_lp
        assert by_name(duals) == pytest.approx({"ranged": 2.0, "lower": 0.0, "upper": 1.0, "constant": 0.0})
    else:  # min: the ranged row's lower side prices y, 2
        assert by_name(duals) == pytest.approx({"ranged": 2.0, "lower": 0.0, "upper": 0.0, "constant": 0.0})


def test_infeasible_scenario_status_and_explanation():
    case = TinyCase().plant("P1", capacity=7).demand(gwh=10)  # 10 GWh of hard demand, 7 GWh of capacity
    m = build_model(case.scenario())
    outcome, _ = solve_direct(m, OPTIONS)
    old, _ = solve_model(build_model(case.scenario()), OPTIONS)
    assert (outcome.status, outcome.termination) == (old.status, old.termination)
    assert outcome.status == Status.INFEASIBLE and outcome.objective is None
    result = case.solve()
    assert result.status == Status.INFEASIBLE
    assert result.why_infeasible == ["P1 2026: 3.0 GWh of cell capacity short"]
    assert result.manifest["lp_conflict"] == ["demand_balance[A1,M,2026]", "plant_capacity[P1,2026]"]


def test_violated_constant_row_is_infeasible_without_highs():
    m = small_lp()
    m.impossible = pyo.Constraint(expr=m.z >= 2)  # z is fixed at 1: a row of constants, violated
    outcome, direct = solve_direct(m, OPTIONS)
    assert direct is None and outcome.status == Status.INFEASIBLE
    old, _ = solve_model(small_lp_with_impossible(), OPTIONS)
    assert old.status == Status.INFEASIBLE


def small_lp_with_impossible() -> pyo.ConcreteModel:
    m = small_lp()
    m.impossible = pyo.Constraint(expr=m.z >= 2)
    return m


def test_time_limited_solve_status_bound_and_gap():
    """A MILP stopped by the time limit: the statuses of both routes are the time limit's, and when there is an
    incumbent its bound and gap are HiGHS's (the bound below the objective, the gap their relative distance)."""
    # 11,850 variables: proving its optimum takes HiGHS over 15 s on one thread (benchmarks/README.md), 1 s stops it
    scenario = synthetic_scenario(20, 20, 4, 10, seed=0)
    options = SolveOptions(rel_gap=0.0, threads=1, time_limit=1.0)
    outcome, direct = solve_direct(build_model(scenario), options)
    old, _ = solve_model(build_model(scenario), options)
    for o in (outcome, old):
        assert o.termination == "maxTimeLimit"
        assert o.status in (Status.FEASIBLE, Status.NO_SOLUTION)
    assert direct is not None
    if outcome.status == Status.FEASIBLE:
        assert outcome.bound is not None and outcome.objective is not None
        assert outcome.bound <= outcome.objective + 1e-6
        assert outcome.gap == pytest.approx(abs(outcome.objective - outcome.bound) / abs(outcome.objective))
        assert direct.highs.getInfo().mip_dual_bound == outcome.bound
    else:
        assert outcome.objective is None and outcome.bound is None
    result = optimizer.solve(scenario, options)
    assert result.status in (Status.FEASIBLE, Status.NO_SOLUTION)
    assert result.manifest["termination"] == "maxTimeLimit"


def test_no_variables_is_a_constant_solve():
    m = pyo.ConcreteModel()
    m.obj = pyo.Objective(expr=4.0)
    outcome, direct = solve_direct(m, OPTIONS)
    assert direct is None and (outcome.status, outcome.objective) == (Status.OPTIMAL, 4.0)
