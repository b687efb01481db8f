"""The model's matrix read straight off its expressions: the same standard form as Pyomo's
``LinearStandardFormCompiler`` (mixed form, the objective's own sense) with the ranged rows merged, bit for bit,
without its generic expression walker.

Math. Every active row is ``l <= body <= u`` (``l`` or ``u`` absent for a one-sided row, ``l = u`` for an
equality; ``lhs <= rhs`` with variables on both sides is ``lhs - rhs <= 0``, as
``ConstraintData.to_bounded_expression`` gives it). Its body is linear, ``body = sum_j a_j x_j + k``, and
becomes one HiGHS row ``l - k <= sum_j a_j x_j <= u - k`` over the columns ``x_j``; the objective
``sum_j c_j x_j + k0`` gives the costs and the offset ``k0``. The coefficients are computed as Pyomo's
``LinearRepnVisitor`` computes them, operation for operation, so that the floats are identical:

* a sum accumulates its terms' coefficients left to right per variable (``a_j := a_j + t``; a first term
  with coefficient 0 is not recorded, a later one is added), its constants likewise;
* a product ``c * e`` or a negation ``-e`` (``c = -1``) of a linear ``e`` does not touch ``e``'s terms but
  multiplies its pending multiplier (``m := m * c``, innermost first); the multiplier is applied,
  ``m * a_j``, when ``e`` is added into the enclosing sum, or at the root (then to the constant only when it
  is not 0; a multiplier of 0 at the root leaves the body 0);
* a named expression is read once and reused;
* at the root, coefficients equal to 0 are dropped (a row whose coefficients cancel is a constant row).

A row without coefficients is checked (``l <= k <= u``, else :class:`InfeasibleConstraintException`) and
dropped, a row without bounds dropped. The columns are the variables of ``column_order`` that are not fixed,
in that order, kept when they have a coefficient in some row or in the objective. The matrix is column-wise
with the rows of each column ascending.

Anything else (a mutable Param or Param expression, a fixed variable or one not in ``column_order``, a
nonlinear or unknown node, a bound that is not a plain number, several or no objectives, unknown active
components, a template constraint, export suffixes) makes :func:`read_standard_form` return ``None``: the
caller then compiles the whole model with Pyomo's compiler, which handles (or rejects) those.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import repeat
from operator import attrgetter, mul
from typing import Any

import highspy
import numpy as np
import pyomo.environ as pyo
import scipy.sparse
from pyomo.common.errors import InfeasibleConstraintException
from pyomo.common.gc_manager import PauseGC
from pyomo.common.numeric_types import native_numeric_types
from pyomo.core.base.constraint import ConstraintData, ScalarConstraint
from pyomo.core.base.expression import ExpressionData, ScalarExpression
from pyomo.core.base.var import ScalarVar, VarData
from pyomo.core.expr import (
    EqualityExpression,
    InequalityExpression,
    LinearExpression,
    MonomialTermExpression,
    NegationExpression,
    ProductExpression,
    RangedExpression,
    SumExpression,
)
from pyomo.core.expr.numvalue import NumericConstant
from pyomo.network import Port
from pyomo.repn.util import FileDeterminism, FileDeterminism_to_SortComponents, categorize_valid_components

INF = highspy.kHighsInf
SORTER = FileDeterminism_to_SortComponents(FileDeterminism.ORDERED)  # the compiler's default
VALID = {pyo.Block, pyo.Constraint, pyo.Var, pyo.Param, pyo.Expression, pyo.ExternalFunction, pyo.Set,
         pyo.RangeSet, Port}  # what the compiler accepts as active components
VARIABLES = (VarData, ScalarVar)
NAMED = (ExpressionData, ScalarExpression)
SIDES = {VarData, ScalarVar, LinearExpression, MonomialTermExpression, SumExpression, ProductExpression,
         NegationExpression}  # potentially variable by class: a relational side that is part of the body
ROWS = (ConstraintData, ScalarConstraint)
MONOMIALS = {MonomialTermExpression}
ARGS = attrgetter("args")


@dataclass
class StandardForm:
    """The model as HiGHS takes it: column-wise matrix, bounds, costs, integrality, and which Pyomo variable
    and row each column and row is (see the module docstring of :mod:`optimizer.highs_direct`)."""

    columns: list[Any]  # VarData of each column
    rows: list[Any]  # ConstraintData of each row
    a_start: np.ndarray  # int32, column starts (length columns + 1)
    a_index: np.ndarray  # int32, row of each nonzero
    a_value: np.ndarray  # float64
    col_cost: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    integrality: np.ndarray  # int32: 0 continuous, 1 integer
    offset: float
    sense: int  # HiGHS's ObjSense value: 1 minimise, -1 maximise


def column_bounds(columns: Sequence[Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lower, upper, integrality) of the columns: ``VarData.bounds`` (None as -inf / +inf) and whether the
    domain is integer."""
    n = len(columns)
    bounds = [v.bounds for v in columns]
    lower = np.fromiter((-INF if lb is None else lb for lb, _ in bounds), dtype=np.float64, count=n)
    upper = np.fromiter((INF if ub is None else ub for _, ub in bounds), dtype=np.float64, count=n)
    integrality = np.fromiter((v.is_integer() for v in columns), dtype=np.int32, count=n)
    return lower, upper, integrality


class _Unsupported(Exception):
    """A node, bound or component the reader does not handle: the model goes to Pyomo's compiler."""


class _Linear:
    """A linear part in the making: ``multiplier * (sum_j linear[j] x_j + constant)``, j a column position."""

    __slots__ = ("multiplier", "constant", "linear")

    def __init__(self, multiplier: Any, constant: Any, linear: dict[int, Any]) -> None:
        self.multiplier = multiplier
        self.constant = constant
        self.linear = linear

    def duplicate(self) -> _Linear:
        return _Linear(self.multiplier, self.constant, dict(self.linear))


class _Reader:
    """Reads expressions into (constant, {column position: coefficient}) as the module docstring says."""

    def __init__(self, column_of: dict[int, int]) -> None:
        self.column_of = column_of
        self.named: dict[int, Any] = {}

    def linear_sum(self, args: Sequence[Any]) -> Any:
        """A ``LinearExpression``: monomials, variables and plain numbers."""
        column_of = self.column_of
        try:  # the common case first: variables only, each once (coefficient 1 each)
            columns = list(map(column_of.__getitem__, map(id, args)))
        except KeyError:
            pass
        else:
            ones = dict.fromkeys(columns, 1)
            if len(ones) == len(columns):
                return _Linear(1, 0, ones)
        if set(map(type, args)) == MONOMIALS:  # monomials only, each variable once, no coefficient 0
            coefs, variables = zip(*map(ARGS, args))
            if set(map(type, coefs)) <= native_numeric_types and all(coefs):
                try:
                    terms = dict(zip(map(column_of.__getitem__, map(id, variables)), coefs))
                except KeyError:
                    raise _Unsupported from None
                if len(terms) == len(coefs):
                    return _Linear(1, 0, terms)
        linear: dict[int, Any] = {}
        const = 0
        for arg in args:
            cls = arg.__class__
            if cls is MonomialTermExpression:
                coef, var = arg.args
                if coef.__class__ not in native_numeric_types:
                    raise _Unsupported
                j = column_of.get(id(var))
                if j is None:
                    raise _Unsupported
                if j in linear:
                    linear[j] += coef
                elif coef:
                    linear[j] = coef
            elif cls in native_numeric_types:
                const += arg
            else:
                j = column_of.get(id(arg))
                if j is None:
                    raise _Unsupported
                if j in linear:
                    linear[j] += 1
                else:
                    linear[j] = 1
        const = 0 + const
        return _Linear(1, const, linear) if linear else const

    def read(self, node: Any) -> Any:
        """A number (constant) or a :class:`_Linear` with at least one recorded term."""
        cls = node.__class__
        if cls in native_numeric_types:
            return node
        if cls is LinearExpression:
            return self.linear_sum(node.args)
        if cls in VARIABLES:
            j = self.column_of.get(id(node))
            if j is None:
                raise _Unsupported
            return _Linear(1, 0, {j: 1})
        if cls is SumExpression:
            total = _Linear(1, 0, {})
            for arg in node.args:
                add(total, self.read(arg))
            return total if total.linear else 1 * total.constant
        if cls is MonomialTermExpression:
            coef, var = node.args
            if coef.__class__ not in native_numeric_types:
                raise _Unsupported
            j = self.column_of.get(id(var))
            if j is None:
                raise _Unsupported
            return _Linear(1, 0, {j: coef}) if coef else 0
        if cls is ProductExpression:
            left, right = node.args
            a, b = self.read(left), self.read(right)
            if a.__class__ is not _Linear:
                if b.__class__ is not _Linear:
                    return a * b
                b.multiplier *= a
                return b
            if b.__class__ is not _Linear:
                a.multiplier *= b
                return a
            raise _Unsupported  # quadratic
        if cls is NegationExpression:
            a = self.read(node.args[0])
            if a.__class__ is not _Linear:
                return -1 * a
            a.multiplier *= -1
            return a
        if cls in NAMED:
            key = id(node)
            if key not in self.named:
                self.named[key] = self.read(node.expr)
            a = self.named[key]
            return a.duplicate() if a.__class__ is _Linear else a
        if cls is NumericConstant:
            value = node.value
            if value.__class__ not in native_numeric_types:
                raise _Unsupported
            return value
        raise _Unsupported

    def body(self, node: Any) -> tuple[Any, dict[int, Any]]:
        """(constant, coefficients) of a row body or objective: the result read at the root."""
        return finish(self.read(node))

    def difference(self, lhs: Any, rhs: Any) -> tuple[Any, dict[int, Any]]:
        """(constant, coefficients) of ``lhs - rhs``, read as the sum ``lhs + (-rhs)``."""
        if lhs.__class__ in VARIABLES and rhs.__class__ is ProductExpression:
            linked = self.scaled_link(lhs, rhs)
            if linked is not None:
                return 0, linked
        if lhs.__class__ in VARIABLES:  # as the sum would take it: {x: 1}, constant 0
            j = self.column_of.get(id(lhs))
            if j is None:
                raise _Unsupported
            total = _Linear(1, 0, {j: 1})
        else:
            total = _Linear(1, 0, {})
            add(total, self.read(lhs))
        b = self.read(rhs)
        if b.__class__ is _Linear:
            b.multiplier *= -1
        else:
            b = -1 * b
        add(total, b)
        return finish(total if total.linear else 1 * total.constant)


    def scaled_link(self, var: Any, product: Any) -> dict[int, Any] | None:
        """x - c * (y_1 + ... + y_n) (distinct y, none of them x, c neither 0 nor -1) in one step:
        {x: 1, y_i: m * 1} with m = (1 * c) * -1, what the sum gives term by term; ``None`` for any other
        shape, read in general."""
        c, body = product.args
        if c.__class__ not in native_numeric_types or body.__class__ is not LinearExpression:
            return None
        mult = (1 * c) * -1
        if mult == 1 or not mult:
            return None
        column_of = self.column_of
        try:
            columns = list(map(column_of.__getitem__, map(id, body.args)))
        except KeyError:
            return None
        j = column_of.get(id(var))
        if j is None:
            raise _Unsupported
        linear = dict.fromkeys(columns, mult * 1)
        if len(linear) != len(columns) or j in linear:
            return None
        linear[j] = 1
        return linear


def add(total: _Linear, term: Any) -> None:
    """``total += term`` inside a sum: the term's multiplier applied to its coefficients as they are added.
    ``term`` is owned by the caller (never a cached named expression): its dict may be taken over."""
    if term.__class__ is not _Linear:
        total.constant += term
        return
    linear = total.linear
    mult = term.multiplier
    if mult == 1:
        total.constant += term.constant
        if not linear:
            total.linear = term.linear
        elif linear.keys().isdisjoint(term.linear):
            linear.update(term.linear)
        else:
            for j, coef in term.linear.items():
                if j in linear:
                    linear[j] += coef
                else:
                    linear[j] = coef
    elif mult:
        if term.constant:
            total.constant += mult * term.constant
        if linear.keys().isdisjoint(term.linear):
            linear.update(zip(term.linear, map(mul, repeat(mult), term.linear.values())))
        else:
            for j, coef in term.linear.items():
                if j in linear:
                    linear[j] += mult * coef
                else:
                    linear[j] = mult * coef


def finish(result: Any) -> tuple[Any, dict[int, Any]]:
    """The root: the pending multiplier applied, coefficients equal to 0 dropped."""
    if result.__class__ is not _Linear:
        return result, {}
    mult = result.multiplier
    if mult == 1:
        if all(result.linear.values()):
            return result.constant, result.linear
        return result.constant, {j: c for j, c in result.linear.items() if c}
    if not mult:
        return 0, {}
    linear = {}
    for j, coef in result.linear.items():
        product = mult * coef
        if product:
            linear[j] = product
    constant = result.constant * mult if result.constant else result.constant
    return constant, linear


def _bounded(reader: _Reader, con: Any) -> tuple[Any, Any, Any, dict[int, Any]]:
    """(lower, upper, constant, coefficients) of a row, as ``to_bounded_expression`` splits it."""
    if con.__class__ not in ROWS:
        raise _Unsupported
    expr = con.expr
    cls = expr.__class__
    if cls is InequalityExpression or cls is EqualityExpression:
        lhs, rhs = expr.args
        if rhs.__class__ in native_numeric_types:
            return (rhs if cls is EqualityExpression else None), rhs, *reader.body(lhs)
        if lhs.__class__ in native_numeric_types:
            return lhs, (lhs if cls is EqualityExpression else None), *reader.body(rhs)
        if lhs.__class__ in SIDES and rhs.__class__ in SIDES:
            return (0 if cls is EqualityExpression else None), 0, *reader.difference(lhs, rhs)
        raise _Unsupported
    if cls is RangedExpression:
        lb, body, ub = expr.args
        if lb.__class__ not in native_numeric_types or ub.__class__ not in native_numeric_types:
            raise _Unsupported
        return lb, ub, *reader.body(body)
    raise _Unsupported


def _objective(m: pyo.ConcreteModel) -> Any:
    """The one active objective, found as the compiler finds it; unsupported components raise."""
    component_map, unknown = categorize_valid_components(m, active=True, sort=SORTER, valid=VALID,
                                                         targets={pyo.Suffix, pyo.Objective})
    if unknown:
        raise _Unsupported
    for block in component_map[pyo.Suffix]:
        for suffix in block.component_objects(pyo.Suffix, active=True, descend_into=False, sort=SORTER):
            if suffix.export_enabled() and suffix:
                raise _Unsupported  # the compiler warns about these
    objectives = [obj for block in component_map[pyo.Objective]
                  for obj in block.component_data_objects(pyo.Objective, active=True, descend_into=False,
                                                          sort=SORTER)]
    if len(objectives) != 1 or hasattr(objectives[0], "template_expr"):
        raise _Unsupported
    return objectives[0]


def read_standard_form(m: pyo.ConcreteModel, column_order: Sequence[Any]) -> StandardForm | None:
    """The model's :class:`StandardForm` read directly (see the module docstring), its columns in
    ``column_order`` (variables); ``None`` when the model holds anything the reader does not handle.

    Raises :class:`pyomo.common.errors.InfeasibleConstraintException` when a row of constants is violated.
    """
    try:
        with PauseGC():  # many small dicts: a collection would scan the whole model each time
            return _read(m, column_order)
    except _Unsupported:
        return None


def _read(m: pyo.ConcreteModel, column_order: Sequence[Any]) -> StandardForm:
    objective = _objective(m)
    if not set(map(type, column_order)) <= set(VARIABLES):
        raise _Unsupported  # an indexed Var or something else
    variables = {id(v): v for v in column_order if not v.fixed}  # a repeated variable keeps its first place
    column_of = dict(zip(variables, range(len(variables))))
    reader = _Reader(column_of)
    offset, costs = reader.body(objective.expr)
    if offset.__class__ not in native_numeric_types:
        raise _Unsupported
    rows: list[Any] = []
    lower: list[Any] = []
    upper: list[Any] = []
    counts: list[int] = []
    a_column: list[int] = []
    a_value: list[Any] = []
    scaled_link = reader.scaled_link
    for con in m.component_data_objects(pyo.Constraint, active=True, sort=SORTER):
        if con.__class__ in ROWS:  # the most frequent row first, in place: x <= c * (sum y), x - c sum y <= 0
            expr = con.expr
            if expr.__class__ is InequalityExpression:
                lhs, rhs = expr.args
                if lhs.__class__ in VARIABLES and rhs.__class__ is ProductExpression:
                    link = scaled_link(lhs, rhs)
                    if link is not None:
                        rows.append(con)
                        lower.append(-INF)
                        upper.append(0)
                        counts.append(len(link))
                        a_column.extend(link)
                        a_value.extend(link.values())
                        continue
        lb, ub, const, linear = _bounded(reader, con)
        if lb is None and ub is None:
            continue
        if not linear:
            if (lb is None or lb <= const) and (ub is None or ub >= const):
                continue
            raise InfeasibleConstraintException(f"model contains a trivially infeasible constraint, '{con.name}'")
        rows.append(con)
        if lb == ub:
            lower.append(ub - const)
            upper.append(ub - const)
        else:
            lower.append(-INF if lb is None else lb - const)
            upper.append(INF if ub is None else ub - const)
        counts.append(len(linear))
        a_column.extend(linear)
        a_value.extend(linear.values())
    return _assemble(list(variables.values()), rows, lower, upper, counts, a_column, a_value, costs, offset,
                     1 if objective.sense == pyo.minimize else -1)


def _assemble(variables: list[Any], rows: list[Any], lower: list[Any], upper: list[Any], counts: list[int],
              a_column: list[int], a_value: list[Any], costs: dict[int, Any], offset: Any, sense: int
              ) -> StandardForm:
    """The arrays: columns without a coefficient left out, the matrix column-wise, rows ascending."""
    column = np.array(a_column, dtype=np.int64)
    cost_column = np.fromiter(costs, dtype=np.int64, count=len(costs))
    used = np.zeros(len(variables), dtype=bool)
    used[column] = True
    used[cost_column] = True
    kept = np.flatnonzero(used)
    new_position = np.cumsum(used) - 1
    columns = [variables[j] for j in kept.tolist()]
    n = len(columns)
    row_start = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(counts, out=row_start[1:])
    by_row = scipy.sparse.csr_array((np.array(a_value, dtype=np.float64), new_position[column], row_start),
                                    shape=(len(rows), n))
    matrix = by_row.tocsc()
    matrix.sort_indices()
    cost = np.zeros(n)
    cost[new_position[cost_column]] = np.fromiter(costs.values(), dtype=np.float64, count=len(costs))
    col_lower, col_upper, integrality = column_bounds(columns)
    return StandardForm(columns, rows, matrix.indptr.astype(np.int32), matrix.indices.astype(np.int32),
                        matrix.data.astype(np.float64), cost, col_lower, col_upper,
                        np.array(lower, dtype=np.float64), np.array(upper, dtype=np.float64), integrality,
                        float(offset), sense)
