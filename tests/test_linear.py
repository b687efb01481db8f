"""Sums built by :mod:`optimizer.model.linear` keep rows rows.

A row whose every coefficient is a plain 0 (a CO2 cap in a year where no plant emits, say) must stay a row
``0 <= E``, as Python's ``sum`` of ``c * x`` builds it, rather than collapse to ``True`` (which Pyomo refuses
as a constraint) or drop out of the model.
"""

from __future__ import annotations

from pathlib import Path

import pyomo.environ as pyo
import pytest

import optimizer
from optimizer import load_scenario
from optimizer.model.linear import linear_sum

ROOT = Path(__file__).resolve().parents[1]


def test_an_all_zero_sum_is_still_an_expression_over_its_variables():
    m = pyo.ConcreteModel()
    m.x = pyo.Var([0, 1])
    row = linear_sum([0, 0.0], [m.x[0], m.x[1]]) <= 5
    assert not isinstance(row, bool)
    m.row = pyo.Constraint(expr=row)
    assert pyo.value(m.row.upper) == 5


@pytest.mark.parametrize("cap", [0.0, 1.0])
def test_a_co2_cap_where_nothing_emits(cap):
    """No plant emits: a cap of 0 or 1 kt binds nothing, and the objective is the uncapped one."""
    base = load_scenario(ROOT / "scenarios" / "base")
    options = optimizer.SolveOptions(threads=1, rel_gap=0.0)
    clean = base.tables["plant_years"].assign(co2_kg_per_kwh=0.0)
    free = optimizer.solve(base.derive({"plant_years": clean}), options, duals=False)
    years = base.tables["years"].assign(co2_cap_kt=cap)
    capped = optimizer.solve(base.derive({"plant_years": clean, "years": years}), options, duals=False)
    assert capped.status.value == "optimal"
    assert capped.objective == pytest.approx(free.objective, rel=1e-9)
