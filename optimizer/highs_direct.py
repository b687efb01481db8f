"""A single solve handed to HiGHS in one call: the Pyomo model compiled to matrices, passed to highspy with
``passModel``, solved there, and the solution mapped back by column.

Pyomo stays the one definition of the model; this module only changes how it reaches HiGHS. The matrices are
those of Pyomo's standard-form compiler (:class:`pyomo.repn.plugins.standard_form.LinearStandardFormCompiler`,
mixed form, the objective's own sense), read directly off the model's expressions by
:mod:`optimizer.standard_form` (the same numbers, bit for bit, without the compiler's generic walker) or, for a
model holding anything that reader does not handle, by the compiler itself. That form gives, for the model's
variables in declaration order (``component_data_objects(Var)``) and its active rows in declaration order:

* ``A`` (rows x columns, sparse by column) and ``rhs``, one entry per row and bound: an equality
  ``l = a x + k`` is one row (type 0, rhs l - k); a one-sided row one row (type +1: a x <= u - k; type -1:
  a x >= l - k, not negated); a ranged row ``l <= a x + k <= u`` two rows with the same coefficients, first
  the upper (+1) then the lower (-1). Here the two rows of a ranged row are merged back into one HiGHS row
  l - k <= a x <= u - k, so every Pyomo row is one HiGHS row with its coefficients as written, as the
  persistent interface loads it, and HiGHS's row dual is the Pyomo row's dual with the same sign;
* ``c`` and the objective constant (HiGHS's offset);
* ``columns``: the variables that appear with a nonzero coefficient and are not fixed. A fixed variable is
  moved into the bounds by its value, and a variable in no row and not in the objective is left out (its
  value stays as it was, as the persistent interface leaves the variables no row references). A row whose
  terms are all constant is checked and dropped (a violated one makes the scenario infeasible).

Column bounds are the variables' bounds (``VarData.bounds``: the domain's and the declared ones together),
integrality their domain's. The options, the statuses and the fixed-integer LP for the marginal values are
:mod:`optimizer.solver`'s, shared with the persistent route the sweep uses.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import highspy
import numpy as np
import pyomo.environ as pyo
from pyomo.common.errors import InfeasibleConstraintException
from pyomo.common.tee import capture_output
from pyomo.core.staleflag import StaleFlagManager
from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

from .solver import (
    SolveOptions,
    SolveOutcome,
    Status,
    fixed_lp_in_place,
    outcome_from_highs,
    solve_constant,
    use_threads,
)
from .standard_form import StandardForm, column_bounds, read_standard_form

INF = highspy.kHighsInf


def compile_model(m: pyo.ConcreteModel, column_order: Sequence[Any] | None = None) -> StandardForm:
    """Compile ``m`` (one active linear objective, linear rows) to :class:`StandardForm`, its columns in
    ``column_order`` (variables; by default the model's, in declaration order).

    Read directly by :func:`optimizer.standard_form.read_standard_form` when the model holds only what that
    reader handles (the models :mod:`optimizer.model` builds with plain-number data), else compiled whole by
    Pyomo's compiler (:func:`compile_with_pyomo`); both give the same form, bit for bit.

    Raises :class:`pyomo.common.errors.InfeasibleConstraintException` when a row of constants is violated.
    """
    order = list(column_order) if column_order is not None else \
        list(m.component_data_objects(pyo.Var, descend_into=True))
    form = read_standard_form(m, order)
    return form if form is not None else compile_with_pyomo(m, order)


def compile_with_pyomo(m: pyo.ConcreteModel, column_order: Sequence[Any] | None = None) -> StandardForm:
    """:func:`compile_model` by Pyomo's ``LinearStandardFormCompiler`` (its generic expression walker), for
    any linear model: the reference the direct reader is checked against, and its fallback."""
    order = list(column_order) if column_order is not None else \
        list(m.component_data_objects(pyo.Var, descend_into=True))
    info = LinearStandardFormCompiler().write(m, mixed_form=True, set_sense=None, column_order=order)
    kinds = np.fromiter((r.bound_type for r in info.rows), dtype=np.int8, count=len(info.rows))
    rhs = np.asarray(info.rhs, dtype=np.float64)
    row_lower = np.where(kinds == 1, -INF, rhs)
    row_upper = np.where(kinds == -1, INF, rhs)
    cons = [r.constraint for r in info.rows]
    matrix = info.A
    # a ranged row comes as two rows in a row, its upper (+1) then its lower (-1): merge them into one
    second = np.zeros(len(cons), dtype=bool)
    if len(cons) > 1:
        second[1:] = (kinds[1:] == -1) & (kinds[:-1] == 1) & \
            np.fromiter((a is b for a, b in zip(cons[1:], cons[:-1])), dtype=bool, count=len(cons) - 1)
    if second.any():
        first = np.flatnonzero(second) - 1
        row_lower[first] = row_lower[first + 1]
        keep = ~second
        matrix = matrix.tocsr()[keep].tocsc()
        row_lower, row_upper = row_lower[keep], row_upper[keep]
        cons = [c for c, k in zip(cons, keep) if k]
    matrix.sort_indices()
    columns = info.columns
    n = len(columns)
    cost = np.zeros(n)
    offset, sense = 0.0, 1
    if info.objectives:
        cost = info.c.toarray()[0] if info.c.shape[0] else cost
        offset = float(info.c_offset[0])
        sense = 1 if info.objectives[0].sense == pyo.minimize else -1
    col_lower, col_upper, integrality = column_bounds(columns)
    return StandardForm(columns, cons, matrix.indptr.astype(np.int32), matrix.indices.astype(np.int32),
                        matrix.data.astype(np.float64), np.asarray(cost, dtype=np.float64), col_lower, col_upper,
                        row_lower, row_upper, integrality, offset, sense)


def pass_model(form: StandardForm, options: SolveOptions) -> highspy.Highs:
    """A new HiGHS instance with ``options`` set and ``form`` passed in one ``passModel`` call."""
    highs_options = options.highs_options()
    # HiGHS prints its banner to the process's stdout when an instance is made: keep it out of what the
    # command prints (the --json manifest), as the persistent interface does (to stderr with the log, else nowhere)
    with capture_output(sys.stderr if highs_options.get("log_to_console") else None, capture_fd=True):
        highs = highspy.Highs()
        highs.setOptionValue("output_flag", False)  # silent until the options say otherwise
    for name, value in highs_options.items():
        highs.setOptionValue(name, cast(Any, value))
    status = highs.passModel(len(form.columns), len(form.rows), len(form.a_value),
                             highspy.MatrixFormat.kColwise.value, form.sense, form.offset, form.col_cost,
                             form.col_lower, form.col_upper, form.row_lower, form.row_upper, form.a_start,
                             form.a_index, form.a_value, form.integrality)
    if status == highspy.HighsStatus.kError:
        raise RuntimeError("HiGHS refused the compiled model (passModel returned an error)")
    return highs


@dataclass
class DirectSolve:
    """A model held by HiGHS after :func:`solve_direct`: the instance and the column/row maps back to Pyomo."""

    model: pyo.ConcreteModel
    form: StandardForm
    highs: highspy.Highs
    timings: dict[str, float]

    def load_values(self) -> None:
        """Set every column's variable to HiGHS's value for it (the incumbent), by column."""
        for var, x in zip(self.form.columns, self.highs.getSolution().col_value, strict=True):
            var.set_value(x, skip_validation=True)
        StaleFlagManager.mark_all_as_stale(delayed=True)

    def lp_duals(self) -> tuple[float | None, dict]:
        """The fixed-integer LP on this HiGHS instance (:func:`optimizer.solver.fixed_lp_in_place`: integer
        columns fixed at their rounded incumbent, integrality cleared, then both restored) and its duals by
        Pyomo row: HiGHS's row dual of the row that holds it. Active rows the compiler dropped (constant
        bodies, no bound) get 0: a row with no column has no price. Returns (LP objective, duals)."""
        cols = np.flatnonzero(self.form.integrality)
        values = np.round(np.asarray(self.highs.getSolution().col_value)[cols])
        solved = fixed_lp_in_place(self.highs, cols.astype(np.int32), values.astype(np.float64))
        if solved is None:
            return None, {}
        objective, row_dual = solved
        duals: dict = dict.fromkeys(self.model.component_data_objects(pyo.Constraint, active=True,
                                                                      descend_into=True), 0.0)
        duals.update(zip(self.form.rows, row_dual.tolist()))
        return objective, duals

    def write_mps(self, path: str | Path) -> Path:
        """Export the model HiGHS holds (exactly what was solved) as an MPS file."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.highs.writeModel(str(path))
        return path


def solve_direct(m: pyo.ConcreteModel, options: SolveOptions, column_order: Sequence[Any] | None = None
                 ) -> tuple[SolveOutcome, DirectSolve | None]:
    """Solve ``m`` on highspy directly (compile, ``passModel``, ``run``) and load the incumbent into the
    Pyomo variables when there is one. The outcome carries the same statuses, objective, bound and gap as
    :func:`optimizer.solver.solve_model`; it never raises for a non-optimal stop. ``timings``: seconds to
    compile and to pass the model, and to load the values back. ``None`` instead of the solve when HiGHS
    was not needed (no variables, or a violated row of constants: infeasible before any solve).
    ``column_order``: see :func:`compile_model` (the order of the columns steers HiGHS's path among equally
    good solutions, not the optimum)."""
    if next(m.component_data_objects(pyo.Var, descend_into=True), None) is None:
        return solve_constant(m), None
    timings: dict[str, float] = {}
    t = time.perf_counter()
    try:
        form = compile_model(m, column_order)
    except InfeasibleConstraintException:
        return SolveOutcome(Status.INFEASIBLE, None, None, None, 0.0, "provenInfeasible"), None
    timings["compile_seconds"] = time.perf_counter() - t
    highs_options = options.highs_options()
    use_threads(int(cast(int, highs_options["threads"])))
    t = time.perf_counter()
    highs = pass_model(form, options)
    timings["pass_seconds"] = time.perf_counter() - t
    # with --verbose HiGHS logs to the process's stdout: send it to stderr, where the persistent route sends it
    if highs_options.get("log_to_console"):
        with capture_output(sys.stderr, capture_fd=True):
            highs.run()
    else:
        highs.run()
    outcome = outcome_from_highs(highs, float(highs.getRunTime()))
    solve = DirectSolve(m, form, highs, timings)
    t = time.perf_counter()
    if outcome.status.has_solution:
        solve.load_values()
    timings["load_seconds"] = time.perf_counter() - t
    return outcome, solve
