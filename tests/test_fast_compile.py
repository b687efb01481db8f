"""The direct reader (optimizer/standard_form.py) gives the very standard form Pyomo's compiler gives
(optimizer.highs_direct.compile_with_pyomo, the reference): the same columns and rows in the same order, the
same matrix, bounds, costs, offset, integrality and sense, bit for bit, on the models the project builds and
on hand-made models with the corner cases; anything it does not read sends the whole model to the compiler."""

from __future__ import annotations

import dataclasses
import random

import numpy as np
import pyomo.environ as pyo
import pytest
from model_canonical import instances
from pyomo.common.errors import InfeasibleConstraintException
from pyomo.core.expr import LinearExpression, MonomialTermExpression

from benchmarks.synthetic import synthetic_scenario
from optimizer.highs_direct import compile_model, compile_with_pyomo
from optimizer.model import build_model
from optimizer.standard_form import StandardForm, read_standard_form

INF = float("inf")


def assert_same_form(new: StandardForm, old: StandardForm) -> None:
    for field in dataclasses.fields(StandardForm):
        a, b = getattr(new, field.name), getattr(old, field.name)
        if field.name in ("columns", "rows"):
            assert len(a) == len(b), field.name
            assert all(x is y for x, y in zip(a, b)), field.name
        elif isinstance(b, np.ndarray):
            assert a.dtype == b.dtype and a.shape == b.shape, field.name
            assert np.array_equal(a, b), field.name
            assert a.tobytes() == b.tobytes(), field.name  # bit for bit, the sign of a zero included
        else:
            assert type(a) is type(b) and a == b, field.name


def declared(m: pyo.ConcreteModel) -> list:
    return list(m.component_data_objects(pyo.Var, descend_into=True))


def direct(m: pyo.ConcreteModel, order: list | None = None) -> StandardForm:
    form = read_standard_form(m, declared(m) if order is None else order)
    assert form is not None, "the direct reader fell back"
    return form


MODELS = {
    **{name: make for name, make in instances().items() if name != "synthetic_20x40x5x12"},
    "synthetic 6x8x3x4 seed 3": lambda: synthetic_scenario(6, 8, 3, 4, seed=3),
    "synthetic 3x5x2x3 seed 7": lambda: synthetic_scenario(3, 5, 2, 3, seed=7),
}


@pytest.mark.parametrize("name", list(MODELS))
def test_project_models_read_directly_equal_the_compiler(name):
    m = build_model(MODELS[name]())
    old = compile_with_pyomo(m)
    assert_same_form(direct(m), old)
    assert_same_form(compile_model(m), old)


def test_a_shuffled_column_order_is_kept_as_the_compiler_keeps_it():
    m = build_model(synthetic_scenario(5, 10, 3, 5, seed=0))
    order = declared(m)
    random.Random(1).shuffle(order)
    old = compile_with_pyomo(m, order)
    assert_same_form(direct(m, order), old)
    assert_same_form(compile_model(m, order), old)


def small() -> pyo.ConcreteModel:
    """Every node kind the reader handles, with the corner cases written out (values derived in the tests)."""
    m = pyo.ConcreteModel()
    m.x = pyo.Var(range(4), bounds=(0, 10))
    m.y = pyo.Var(domain=pyo.Binary)
    m.unused = pyo.Var()  # in no row and not in the objective: no column
    x, y = m.x, m.y
    m.cost = pyo.Expression(expr=LinearExpression([MonomialTermExpression((2.5, x[0])), x[1], 4.0]))
    # objective: a named expression twice, nested products and a negation (multipliers 3 * 0.1 then -1)
    m.obj = pyo.Objective(expr=m.cost + 0.1 * (3 * (x[2] + y)) - m.cost * 2 + 7, sense=pyo.maximize)
    # the same variable three times: accumulated left to right, (0.1 + 0.2) + 0.3
    m.repeat = pyo.Constraint(expr=LinearExpression([MonomialTermExpression((0.1, x[0])),
                                                     MonomialTermExpression((0.2, x[0])),
                                                     MonomialTermExpression((0.3, x[0])), x[1]]) <= 3)
    m.ranged = pyo.Constraint(expr=pyo.inequality(-1.0, LinearExpression([x[1], x[2], 0.5]), 6.0))
    m.equal_range = pyo.Constraint(expr=pyo.inequality(2.0, x[3] + x[2], 2.0))
    m.both_sides = pyo.Constraint(expr=LinearExpression([x[0], x[3], 1.0]) <= 2.0 * LinearExpression([x[1], y]))
    m.lower_first = pyo.Constraint(expr=1.5 <= x[2] + 2 * y)
    m.fix_zero = pyo.Constraint(expr=x[3] == 0)
    m.cancel = pyo.Constraint(expr=x[0] - x[0] + 1.0 <= 2.0)  # coefficients cancel: a constant row, dropped
    m.zero_term = pyo.Constraint(expr=MonomialTermExpression((0, x[1])) <= 5.0)  # a lone 0 x: dropped
    m.inactive = pyo.Constraint(expr=x[0] >= 9)
    m.inactive.deactivate()
    return m


def test_hand_model_equals_the_compiler_and_the_hand_values():
    m = small()
    form = direct(m)
    assert_same_form(form, compile_with_pyomo(m))
    x, y = m.x, m.y
    assert form.columns == [x[0], x[1], x[2], x[3], y]
    assert [c.local_name for c in form.rows] == ["repeat", "ranged", "equal_range", "both_sides", "lower_first",
                                                 "fix_zero"]
    dense = np.zeros((len(form.rows), len(form.columns)))
    for j in range(len(form.columns)):
        for k in range(form.a_start[j], form.a_start[j + 1]):
            dense[form.a_index[k], j] = form.a_value[k]
    assert dense.tolist() == [
        [(0.1 + 0.2) + 0.3, 1, 0, 0, 0],
        [0, 1, 1, 0, 0],
        [0, 0, 1, 1, 0],
        [1, -2.0, 0, 1, -2.0],
        [0, 0, 1, 0, 2],
        [0, 0, 0, 1, 0],
    ]
    assert form.row_lower.tolist() == [-INF, -1.5, 2.0, -INF, 1.5, 0]
    assert form.row_upper.tolist() == [3, 5.5, 2.0, -1.0, INF, 0]
    # cost: 2.5 x0 + x1 + 4, once plus, once times -2; 0.1 * 3 * (x2 + y); constant 4 - 8 + 7
    assert form.col_cost.tolist() == [2.5 + 2.5 * -2, 1 + -2, (3 * 0.1) * 1, 0, (3 * 0.1) * 1]
    assert form.offset == 4.0 + 7 + -2 * 4.0
    assert form.sense == -1
    assert form.integrality.tolist() == [0, 0, 0, 0, 1]
    assert form.col_lower.tolist() == [0, 0, 0, 0, 0] and form.col_upper.tolist() == [10, 10, 10, 10, 1]


@pytest.mark.parametrize("row", ["violated", "cancelled", "zero_term"])
def test_a_violated_row_of_constants_is_infeasible_on_both_routes(row):
    m = small()
    if row == "violated":
        m.bad = pyo.Constraint(expr=LinearExpression([1.0, 2.0]) >= 4.0)
    elif row == "cancelled":
        m.bad = pyo.Constraint(expr=m.x[1] - m.x[1] >= 0.5)
    else:
        m.bad = pyo.Constraint(expr=MonomialTermExpression((0.0, m.x[2])) == 1.0)
    with pytest.raises(InfeasibleConstraintException, match="'bad'"):
        compile_with_pyomo(m)
    with pytest.raises(InfeasibleConstraintException, match="'bad'"):
        read_standard_form(m, declared(m))
    with pytest.raises(InfeasibleConstraintException, match="'bad'"):
        compile_model(m)


def with_mutable_param(m: pyo.ConcreteModel) -> None:
    m.p = pyo.Param(initialize=3.0, mutable=True)
    m.extra = pyo.Constraint(expr=m.p * m.x[0] + m.x[1] <= 8)


def with_fixed_variable(m: pyo.ConcreteModel) -> None:
    m.x[2].fix(1.5)


def with_param_bound(m: pyo.ConcreteModel) -> None:
    m.p = pyo.Param(initialize=4.0, mutable=True)
    m.extra = pyo.Constraint(expr=m.x[0] + m.x[1] <= m.p)


def with_two_objectives(m: pyo.ConcreteModel) -> None:
    m.second = pyo.Objective(expr=m.x[0])


@pytest.mark.parametrize("change", [with_mutable_param, with_fixed_variable, with_param_bound,
                                    with_two_objectives])
def test_anything_else_sends_the_whole_model_to_the_compiler(change):
    m = small()
    change(m)
    assert read_standard_form(m, declared(m)) is None
    if change is with_two_objectives:
        return  # the compiler takes it, compile_model keeps the first objective's costs either way
    assert_same_form(compile_model(m), compile_with_pyomo(m))


def test_a_variable_outside_the_column_order_falls_back():
    m = small()
    order = [v for v in declared(m) if v is not m.y]
    assert read_standard_form(m, order) is None
    assert_same_form(compile_model(m, order), compile_with_pyomo(m, order))


def test_a_nonlinear_row_falls_back_and_the_compiler_rejects_it():
    m = small()
    m.square = pyo.Constraint(expr=m.x[0] * m.x[1] <= 4)
    assert read_standard_form(m, declared(m)) is None
    with pytest.raises(ValueError, match="nonlinear"):
        compile_model(m)
