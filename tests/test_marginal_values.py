"""The marginal values (duals of the fixed-integer LP) computed in place on the HiGHS instance that solved the
MILP.

* Solved from scratch in place, they equal those of the older route (fix and relax every integer variable in
  Pyomo and re-solve the model through a fresh persistent interface): the same LP on the same path.
* Started from the MILP's incumbent (what ``optimizer.solve`` does), the LP has the same optimum, and its duals
  are an optimal dual solution of the fixed LP, checked with a certificate computed from the Pyomo model itself
  (dual feasibility, and a dual objective equal to the LP's optimum). Where the LP is degenerate the optimal
  duals are not unique, and the two routes may return different ones (docs/formulation.md, "Degeneracy").

Both routes are run here; nothing is hard-coded."""

from __future__ import annotations

import math

import highspy
import numpy as np
import pyomo.environ as pyo
import pytest
from pyomo.repn import generate_standard_repn

import optimizer
from benchmarks.synthetic import synthetic_scenario
from optimizer.model import build_model
from optimizer.model.variables import integer_vars
from optimizer.solver import SolveOptions, Status, fixed_lp_duals, solve_model

OPTIONS = SolveOptions(rel_gap=0.0, threads=1)
INSTANCES = {"base": lambda: optimizer.load_scenario(optimizer.DEFAULT_SCENARIO),
             "synthetic": lambda: synthetic_scenario(5, 10, 3, 5, seed=0),
             "synthetic-10x20x4x6": lambda: synthetic_scenario(10, 20, 4, 6, seed=1)}


def kinds(lp: highspy.HighsLp) -> np.ndarray:
    """The columns' integrality as plain integers."""
    return np.array([int(x) for x in lp.integrality_])


def pyomo_route(m: pyo.ConcreteModel) -> tuple[float, dict]:
    """Today's route: solve the MILP through the persistent interface, then fix the integers at their
    incumbent in Pyomo, relax them and re-solve through the same interface (which re-reads the model)."""
    outcome, solver = solve_model(m, OPTIONS)
    assert outcome.status == Status.OPTIMAL
    saved = []
    for var in integer_vars(m):
        for v in var.values():
            saved.append((v, v.domain, v.fixed))
            v.fix(round(v.value or 0.0))
            v.domain = pyo.Reals
    try:
        res = solver.solve(m, load_solutions=False, raise_exception_on_nonoptimal_result=False,
                                 solver_options=OPTIONS.highs_options())
        return float(res.incumbent_objective), res.solution_loader.get_duals()
    finally:
        for v, domain, fixed in saved:
            v.domain = domain
            if not fixed:
                v.unfix()


@pytest.mark.parametrize("name", ["base", "synthetic"])
def test_in_place_duals_from_scratch_equal_the_pyomo_re_solve(name):
    m = build_model(INSTANCES[name]())
    outcome, solver = solve_model(m, OPTIONS)
    assert outcome.status == Status.OPTIMAL
    highs = solver._solver_model
    milp = milp_columns(highs)

    lp_objective, duals = fixed_lp_duals(m, solver, OPTIONS, start=False)
    # the LP with the plan fixed costs what the MILP's incumbent costs
    assert lp_objective == pytest.approx(outcome.objective, rel=1e-7)
    assert_milp_restored(highs, milp)

    old_objective, old_duals = pyomo_route(m)
    assert lp_objective == pytest.approx(old_objective, rel=1e-9)
    assert duals.keys() == old_duals.keys()
    scale = max(1.0, max(abs(x) for x in old_duals.values()))
    worst = max(abs(duals[c] - old_duals[c]) for c in old_duals)
    assert worst <= 1e-6 * scale, f"largest dual difference {worst}"
    assert any(abs(x) > 1e-9 and math.isfinite(x) for x in duals.values())  # prices that say something


def milp_columns(highs: highspy.Highs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The columns' integrality and bounds HiGHS holds."""
    lp = highs.getLp()
    return kinds(lp), np.array(lp.col_lower_), np.array(lp.col_upper_)


def assert_milp_restored(highs: highspy.Highs, before: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    """HiGHS holds the MILP again after the LP: integrality and bounds as before."""
    after = milp_columns(highs)
    for was, now in zip(before, after):
        assert np.array_equal(was, now)
    assert (before[0] == int(highspy.HighsVarType.kInteger.value)).any()


def dual_objective(m: pyo.ConcreteModel, duals: dict, fixed: dict[int, float]) -> float:
    """The dual objective of the fixed LP at row duals ``duals``, from the Pyomo model (the integer variables
    fixed at ``fixed``, by id), or -inf when the duals are not dual feasible.

    For min c x + c0 over l <= A x <= u, lb <= x <= ub, with row duals y and reduced costs d = c - A^T y, the
    Lagrangian bound is  c0 + sum_i (y_i l_i if y_i > 0 else y_i u_i) + sum_j (d_j lb_j if d_j > 0 else d_j ub_j);
    it is finite (y dual feasible) when every positive multiplier meets a finite lower bound and every negative
    one a finite upper bound. By weak duality it is at most the LP's optimum, and y is an optimal dual solution
    exactly when the two are equal."""
    objective = next(m.component_data_objects(pyo.Objective, active=True))
    repn = generate_standard_repn(objective.expr, compute_values=True)
    reduced: dict[int, float] = {}
    variables: dict[int, pyo.Var] = {}
    for coef, var in zip(repn.linear_coefs, repn.linear_vars):
        reduced[id(var)] = reduced.get(id(var), 0.0) + coef
        variables[id(var)] = var
    bound = float(repn.constant)
    for row, y in duals.items():
        body = generate_standard_repn(row.body, compute_values=True)
        lower = None if row.lower is None else pyo.value(row.lower) - body.constant
        upper = None if row.upper is None else pyo.value(row.upper) - body.constant
        for coef, var in zip(body.linear_coefs, body.linear_vars):
            reduced[id(var)] = reduced.get(id(var), 0.0) - y * coef
            variables[id(var)] = var
        bound += multiplier_term(y, lower, upper, 1e-9)
    for key, d in reduced.items():
        lb, ub = (fixed[key], fixed[key]) if key in fixed else variables[key].bounds
        bound += multiplier_term(d, lb, ub, 1e-7)
    return bound


def multiplier_term(y: float, lower: float | None, upper: float | None, tol: float) -> float:
    """y l for y > 0, y u for y < 0 (0 within ``tol``); -inf when that bound is absent (not dual feasible)."""
    if abs(y) <= tol:
        return 0.0
    side = lower if y > 0 else upper
    return -math.inf if side is None else y * side


def plan_of(m: pyo.ConcreteModel) -> dict[int, float]:
    """The incumbent's integer decisions, rounded, by variable id."""
    return {id(v): float(round(v.value or 0.0)) for var in integer_vars(m) for v in var.values()}


@pytest.mark.parametrize("name", list(INSTANCES))
def test_started_lp_duals_are_an_optimal_dual_solution(name):
    m = build_model(INSTANCES[name]())
    outcome, solver = solve_model(m, OPTIONS)
    assert outcome.status == Status.OPTIMAL
    highs = solver._solver_model
    milp = milp_columns(highs)
    fixed = plan_of(m)

    started, started_duals = fixed_lp_duals(m, solver, OPTIONS)
    assert_milp_restored(highs, milp)
    scratch, scratch_duals = fixed_lp_duals(m, solver, OPTIONS, start=False)
    assert started is not None and scratch is not None
    assert started == pytest.approx(scratch, rel=1e-9)
    assert started_duals.keys() == scratch_duals.keys()
    for duals in (started_duals, scratch_duals):
        assert dual_objective(m, duals, fixed) == pytest.approx(scratch, rel=1e-7)
    assert any(abs(x) > 1e-9 for x in started_duals.values())


def test_the_certificate_refuses_duals_that_are_not_optimal():
    """The check above can fail: with one demand price moved the duals are no longer optimal, and a price of
    the wrong sign on a one-sided row is not dual feasible."""
    m = build_model(INSTANCES["base"]())
    _, solver = solve_model(m, OPTIONS)
    fixed = plan_of(m)
    lp, duals = fixed_lp_duals(m, solver, OPTIONS)
    assert lp is not None
    assert dual_objective(m, duals, fixed) == pytest.approx(lp, rel=1e-7)
    row = next(iter(m.demand_balance.values()))
    assert dual_objective(m, duals | {row: duals[row] + 1.0}, fixed) < lp - 1e-3
    capacity = next(c for c in m.plant_capacity.values() if c.lower is None)
    assert dual_objective(m, duals | {capacity: 1.0}, fixed) == -math.inf
