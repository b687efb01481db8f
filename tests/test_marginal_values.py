"""The marginal values (duals of the fixed-integer LP) computed in place on the HiGHS instance that solved the
MILP equal those of the older route: fix and relax every integer variable in Pyomo and re-solve the model
through a fresh persistent interface. Both routes are run here; nothing is hard-coded."""

from __future__ import annotations

import math

import highspy
import numpy as np
import pyomo.environ as pyo
import pytest

import optimizer
from benchmarks.synthetic import synthetic_scenario
from optimizer.model import build_model
from optimizer.model.variables import integer_vars
from optimizer.solver import SolveOptions, Status, fixed_lp_duals, solve_model

OPTIONS = SolveOptions(rel_gap=0.0, threads=1)


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


@pytest.mark.parametrize("make", [lambda: optimizer.load_scenario(optimizer.DEFAULT_SCENARIO),
                                  lambda: synthetic_scenario(5, 10, 3, 5, seed=0)], ids=["base", "synthetic"])
def test_in_place_duals_equal_the_pyomo_re_solve(make):
    m = build_model(make())
    outcome, solver = solve_model(m, OPTIONS)
    assert outcome.status == Status.OPTIMAL
    highs = solver._solver_model
    lp_before = highs.getLp()
    integrality, lower, upper = (kinds(lp_before), np.array(lp_before.col_lower_),
                                 np.array(lp_before.col_upper_))

    lp_objective, duals = fixed_lp_duals(m, solver, OPTIONS)
    # the LP with the plan fixed costs what the MILP's incumbent costs
    assert lp_objective == pytest.approx(outcome.objective, rel=1e-7)
    # HiGHS holds the MILP again: integrality and bounds restored
    lp_after = highs.getLp()
    assert np.array_equal(kinds(lp_after), integrality)
    assert np.array_equal(np.array(lp_after.col_lower_), lower)
    assert np.array_equal(np.array(lp_after.col_upper_), upper)
    assert (integrality == int(highspy.HighsVarType.kInteger.value)).any()

    old_objective, old_duals = pyomo_route(m)
    assert lp_objective == pytest.approx(old_objective, rel=1e-9)
    assert duals.keys() == old_duals.keys()
    scale = max(1.0, max(abs(x) for x in old_duals.values()))
    worst = max(abs(duals[c] - old_duals[c]) for c in old_duals)
    assert worst <= 1e-6 * scale, f"largest dual difference {worst}"
    assert any(abs(x) > 1e-9 and math.isfinite(x) for x in duals.values())  # prices that say something
