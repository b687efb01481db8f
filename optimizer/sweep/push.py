"""Pushing changed parameters straight into HiGHS, without re-evaluating Pyomo expressions.

A sweep worker's model is built once with mutable Params (:func:`optimizer.model.build_model` with
``mutable=True``). Every coefficient of the matrix, every row bound, every cost and the objective
offset that depends on a Param is a *polynomial* in the Params: for instance the cost of a flow is
d_t (c[p,t] + f[p,a] + tau[p,a] c[p,t] + P_co2[t] e[p,t] / 1000 - cr[p,t]). Pyomo's persistent
interface re-evaluates each of those expressions in Python at every ``update_parameters()`` (about
10,000 tree walks on the base case, slower than HiGHS itself).

:class:`ParameterPush` walks them once, after the interface has loaded the model, and keeps each as a
list of monomials ``coefficient x product of Params``. Then, for a new scenario,

    value[k] = sum_{monomials m of k} c_m prod_{q in m} P[q]

is one vectorised numpy evaluation over the vector P of every Param value; only the entries whose
value changed are sent to HiGHS (``changeCoeff``, ``changeColsCost``, ``changeRowsBounds``,
``changeObjectiveOffset``) and only the Params whose value changed are set in Pyomo, so Pyomo's view of
the model stays the one HiGHS solves.

An expression outside this polynomial form (which the model does not write) raises
:class:`NotPolynomial`; the caller then keeps Pyomo's own ``update_parameters``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import highspy
import numpy as np
from pyomo.core.base.expression import ExpressionData
from pyomo.core.base.param import ParamData
from pyomo.core.expr import (
    DivisionExpression,
    LinearExpression,
    MonomialTermExpression,
    NegationExpression,
    ProductExpression,
    SumExpression,
)
from pyomo.core.expr.numvalue import is_constant, value

from ..solver import SolveOutcome, point_is_worth, relative_gap, status_from_highs

Poly = dict[tuple[int, ...], float]  # sorted Param positions -> coefficient


class NotPolynomial(ValueError):
    """An expression the push cannot compile (the caller falls back to Pyomo's update)."""


class _Compiler:
    """Expressions of mutable Params -> polynomials over Param positions."""

    def __init__(self) -> None:
        self.position: dict[int, int] = {}  # id(ParamData) -> position in P
        self.params: list[ParamData] = []

    def _param(self, p: ParamData) -> int:
        key = id(p)
        if key not in self.position:
            self.position[key] = len(self.params)
            self.params.append(p)
        return self.position[key]

    def poly(self, expr: object) -> Poly:
        if expr is None:
            raise NotPolynomial("no expression")
        if isinstance(expr, (int, float)):
            return {(): float(expr)} if expr else {}
        if isinstance(expr, ParamData):
            return {(self._param(expr),): 1.0} if expr.parent_component().mutable else self.poly(value(expr))
        if isinstance(expr, ExpressionData):
            return self.poly(expr.expr)
        if isinstance(expr, (SumExpression, LinearExpression)):
            out: Poly = defaultdict(float)
            for arg in expr.args:
                for k, c in self.poly(arg).items():
                    out[k] += c
            return dict(out)
        if isinstance(expr, (ProductExpression, MonomialTermExpression)):
            a, b = (self.poly(arg) for arg in expr.args)
            out = defaultdict(float)
            for ka, ca in a.items():
                for kb, cb in b.items():
                    out[tuple(sorted(ka + kb))] += ca * cb
            return dict(out)
        if isinstance(expr, NegationExpression):
            return {k: -c for k, c in self.poly(expr.args[0]).items()}
        if isinstance(expr, DivisionExpression):
            num, den = expr.args
            if not is_constant(den):
                raise NotPolynomial(f"division by a parameter: {expr}")
            return {k: c / float(value(den)) for k, c in self.poly(num).items()}
        if is_constant(expr):
            return self.poly(float(value(expr)))
        raise NotPolynomial(f"cannot compile {type(expr).__name__}: {expr}")


class _Polys:
    """Many polynomials evaluated at once: slot k's value is the sum of its monomials."""

    def __init__(self, polys: list[Poly]):
        self.size = len(polys)
        by_degree: dict[int, tuple[list[int], list[float], list[tuple[int, ...]]]] = defaultdict(
            lambda: ([], [], []))
        for slot, poly in enumerate(polys):
            for key, c in poly.items():
                slots, coefs, keys = by_degree[len(key)]
                slots.append(slot)
                coefs.append(c)
                keys.append(key)
        self.terms = [(np.asarray(s, dtype=np.int64), np.asarray(c, dtype=float),
                       np.asarray(k, dtype=np.int64).reshape(len(s), deg))
                      for deg, (s, c, k) in sorted(by_degree.items())]

    def evaluate(self, params: np.ndarray) -> np.ndarray:
        out = np.zeros(self.size)
        for slots, coefs, keys in self.terms:
            vals = coefs * np.prod(params[keys], axis=1) if keys.shape[1] else coefs
            out += np.bincount(slots, weights=vals, minlength=self.size)
        return out


class ParameterPush:
    """Every Param-dependent entry HiGHS holds for a model loaded in a persistent ``Highs`` interface.

    Build it after the interface has loaded the model (its first solve); then :meth:`push` moves both
    Pyomo and HiGHS to new Param values, sending only what changed. Raises :class:`NotPolynomial` for
    a model whose coefficients are not polynomials in its Params.
    """

    def __init__(self, solver) -> None:
        comp = _Compiler()
        coef_rc: list[tuple[int, int]] = []
        coef_polys: list[Poly] = []
        row_idx: list[int] = []
        row_lo: list[Poly | None] = []
        row_up: list[Poly | None] = []
        con_map, var_map = solver._pyomo_con_to_solver_con_map, solver._pyomo_var_to_solver_var_map
        for con, helpers in solver._mutable_helpers.items():
            for h in helpers:
                if hasattr(h, "pyomo_var_id"):  # a matrix coefficient
                    coef_rc.append((con_map[con], var_map[h.pyomo_var_id]))
                    coef_polys.append(comp.poly(h.expr))
                else:  # the row's bounds
                    row_idx.append(con_map[con])
                    row_lo.append(self._bound(comp, h.lower_expr))
                    row_up.append(self._bound(comp, h.upper_expr))
        if solver._mutable_bounds:
            raise NotPolynomial("mutable variable bounds are not pushed")
        objective = solver._mutable_objective
        if objective.quadratic_coefs:
            raise NotPolynomial("quadratic objective")
        cost_idx = [var_map[c.pyomo_var_id] for c in objective.linear_coefs]
        cost_polys = [comp.poly(c.expr) for c in objective.linear_coefs]
        offset_poly = comp.poly(objective.constant.expr)

        self.highs = solver._solver_model
        self.params = comp.params
        self.coef_rows = np.array([r for r, _ in coef_rc], dtype=np.int32)
        self.coef_cols = np.array([c for _, c in coef_rc], dtype=np.int32)
        self.coefs = _Polys(coef_polys)
        self.row_idx = np.array(row_idx, dtype=np.int32)
        self.row_lo, self.row_up = _Polys([p or {} for p in row_lo]), _Polys([p or {} for p in row_up])
        self.row_lo_inf = np.array([p is None for p in row_lo])
        self.row_up_inf = np.array([p is None for p in row_up])
        self.cost_idx = np.array(cost_idx, dtype=np.int32)
        self.costs = _Polys(cost_polys)
        self.offset = _Polys([offset_poly])
        self.values = np.array([float(p.value) for p in self.params])
        self._last = self._evaluate(self.values)
        lp = self.highs.getLp()
        self.col_cost = np.array(lp.col_cost_, dtype=float)  # every column's cost as HiGHS holds it
        self.offset_value = float(lp.offset_)
        self.start_refused = 0  # solves whose started run returned a point that is not its incumbent
        self.start: np.ndarray | None = None  # a MIP start offered to every solve (see :meth:`solve`)
        self.columns: list[Any] = [None] * len(var_map)  # the Pyomo variable of each HiGHS column
        for var_id, col in var_map.items():
            self.columns[col] = solver._vars[var_id][0]

    @staticmethod
    def _bound(comp: _Compiler, expr: object) -> Poly | None:
        """None for an infinite bound (an absent side of the row)."""
        if isinstance(expr, (int, float)) and abs(expr) == float("inf"):
            return None
        return comp.poly(expr)

    def _evaluate(self, params: np.ndarray) -> dict[str, np.ndarray]:
        lo = np.where(self.row_lo_inf, -np.inf, self.row_lo.evaluate(params))
        up = np.where(self.row_up_inf, np.inf, self.row_up.evaluate(params))
        return {"coef": self.coefs.evaluate(params), "lo": lo, "up": up, "cost": self.costs.evaluate(params),
                "offset": self.offset.evaluate(params)}

    def param_keys(self) -> list[tuple[str, object]]:
        """(group, index) of each Param, in the order of the value vector (components are ``par_<group>``)."""
        return [(p.parent_component().local_name.removeprefix("par_"), p.index()) for p in self.params]

    def push(self, values: np.ndarray) -> int:
        """Set every Param to ``values`` (in :meth:`param_keys` order) in Pyomo and HiGHS; return the
        number of HiGHS entries changed."""
        values = np.asarray(values, dtype=float)
        for i in np.flatnonzero(values != self.values):
            self.params[i].set_value(float(values[i]))
        self.values = values.copy()
        new = self._evaluate(values)
        old, self._last = self._last, new
        h, sent = self.highs, 0
        for k in np.flatnonzero(new["coef"] != old["coef"]):
            h.changeCoeff(int(self.coef_rows[k]), int(self.coef_cols[k]), float(new["coef"][k]))
            sent += 1
        rows = np.flatnonzero((new["lo"] != old["lo"]) | (new["up"] != old["up"]))
        if len(rows):
            h.changeRowsBounds(len(rows), self.row_idx[rows], new["lo"][rows], new["up"][rows])
            sent += len(rows)
        cols = np.flatnonzero(new["cost"] != old["cost"])
        if len(cols):
            h.changeColsCost(len(cols), self.cost_idx[cols], new["cost"][cols])
            self.col_cost[self.cost_idx[cols]] = new["cost"][cols]
            sent += len(cols)
        if new["offset"][0] != old["offset"][0]:
            h.changeObjectiveOffset(float(new["offset"][0]))
            self.offset_value = float(new["offset"][0])
            sent += 1
        return sent

    def _solution_is_incumbent(self) -> bool:
        """Whether the point HiGHS returns is worth the objective it reports: c x + c0 = z (to 1e-9)."""
        info = self.highs.getInfo()
        if info.primal_solution_status != 2:
            return True  # no point: nothing to mislead
        return point_is_worth(self.col_cost, self.incumbent(), self.offset_value, float(info.objective_function_value))

    def incumbent(self) -> np.ndarray:
        """The value of every HiGHS column in the last solve's incumbent, in column order."""
        return np.asarray(self.highs.getSolution().col_value, dtype=float)

    def solve(self) -> SolveOutcome:
        """Re-solve what HiGHS holds (with the options of the last solve through Pyomo) and load the
        incumbent into the Pyomo variables: highspy directly, without Pyomo's result objects.

        With :attr:`start` set, HiGHS is first offered that point as a MIP start (``setSolution``). HiGHS
        checks it against the current model: a feasible start is an incumbent from the first node (its
        objective an upper bound that prunes the tree); an infeasible one is repaired by fixing its integer
        values and solving the LP that is left, or dropped. The optimum and the gap test are unchanged."""
        h = self.highs
        if self.start is not None:
            offered = highspy.HighsSolution()
            offered.col_value = self.start.tolist()
            offered.value_valid = True
            h.setSolution(offered)
        before = h.getRunTime()
        h.run()
        if self.start is not None and not self._solution_is_incumbent():
            # HiGHS 1.16 can end a started run with the right objective but hand back another feasible
            # point (tests/test_sweep_fastpath.py found plans costing more than the objective reported):
            # never trust such a point; solve again without the start
            self.start_refused += 1
            h.clearSolver()
            h.run()
        seconds = float(h.getRunTime()) - before
        info = h.getInfo()
        has_solution = info.primal_solution_status == 2  # 0 none, 1 infeasible, 2 feasible
        status = status_from_highs(h.getModelStatus(), has_solution)
        objective = bound = gap = None
        if status.has_solution:
            for var, x in zip(self.columns, h.getSolution().col_value, strict=True):
                var.set_value(x, skip_validation=True)
            objective = float(info.objective_function_value)
            bound = objective if info.mip_node_count < 0 else float(info.mip_dual_bound)
            gap = relative_gap(objective, bound)
        nodes = int(info.mip_node_count) if info.mip_node_count >= 0 else None
        return SolveOutcome(status, objective, bound, gap, seconds, h.modelStatusToString(h.getModelStatus()), nodes)


def param_vector(keys: list[tuple[str, object]], groups: Mapping[str, Mapping]) -> np.ndarray:
    """Values of the Params named by ``keys`` (see :meth:`ParameterPush.param_keys`) in a scenario's
    :func:`optimizer.model.params.param_groups`."""
    return np.fromiter((groups[g][k] for g, k in keys), dtype=float, count=len(keys))


def solution_columns(solver) -> tuple[np.ndarray, dict[int, int]]:
    """The incumbent HiGHS holds for a persistent ``Highs`` interface, as the vector of its column values,
    and the column of each Pyomo variable (``id(variable) -> column``; a variable HiGHS never received is
    absent). An empty vector when HiGHS holds no model (a model without variables)."""
    highs = solver._solver_model
    if highs is None:
        return np.zeros(0), {}
    return np.array(highs.getSolution().col_value, dtype=float), solver._pyomo_var_to_solver_var_map
