"""Solving with HiGHS through Pyomo's in-memory interface (``pyomo.contrib.solver``), one options object,
typed statuses. No LP/MPS files are written except on request (:func:`write_mps`)."""

from __future__ import annotations

import math
import numbers
import os
import sys
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, cast

import highspy
import numpy as np
import pyomo.environ as pyo
from pyomo.common.tee import capture_output
from pyomo.contrib.solver.common.results import SolutionStatus, TerminationCondition
from pyomo.contrib.solver.solvers.highs import Highs

from .errors import InputError, Problem
from .model.variables import integer_vars

MAX_THREADS = 1024
"""Most HiGHS threads one solve may ask for: HiGHS starts them all at once, and far more aborts the process."""
MAX_SEED = 2**31 - 1  # HiGHS's random_seed is a 32-bit int
MAX_GAP = 1.0  # a relative gap of 1 already stops at the first incumbent when the bound is >= 0


class Status(StrEnum):
    """Outcome of a solve, as written in manifest.json and summary tables."""

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"  # stopped (time or other limit) with an incumbent
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    NO_SOLUTION = "no_solution"  # stopped before any incumbent was found
    ERROR = "error"

    @property
    def has_solution(self) -> bool:
        return self in (Status.OPTIMAL, Status.FEASIBLE)


@dataclass(frozen=True)
class SolveOptions:
    """Every solver setting the project uses, mapped to HiGHS option names in :meth:`highs_options`.

    ``threads`` defaults to the machine's cores (HiGHS's own default takes half, and Ray's CPU
    accounting does not reach it); ``seed`` fixes HiGHS's random choices so runs are repeatable.
    """

    time_limit: float | None = None
    rel_gap: float = 1e-4
    threads: int | None = None
    seed: int = 0
    extra: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Range-check every option (HiGHS aborts the whole process on some values, such as 100,000 threads):
        bad values raise :class:`InputError` naming the option and its range."""
        problems = [Problem("solver options", None, name, "range", message) for name, message in option_problems(
            self.time_limit, self.rel_gap, self.threads, self.seed)]
        if problems:
            raise InputError(problems)

    def highs_options(self) -> dict[str, object]:
        opts: dict[str, object] = {
            "mip_rel_gap": float(self.rel_gap),
            "threads": int(self.threads or os.cpu_count() or 1),
            "random_seed": int(self.seed),
            "output_flag": False,
        }
        if self.time_limit is not None:
            opts["time_limit"] = float(self.time_limit)
        opts.update(self.extra)
        return opts

    def as_dict(self) -> dict[str, object]:
        return {"time_limit": self.time_limit, "rel_gap": self.rel_gap, "threads": self.threads, "seed": self.seed,
                **({"extra": self.extra} if self.extra else {})}


def option_problems(time_limit: Any, rel_gap: Any, threads: Any, seed: Any) -> list[tuple[str, str]]:
    """(option, message) for each solve option out of its range: ``time_limit`` None or a finite number >= 0
    (seconds), ``rel_gap`` in [0, :data:`MAX_GAP`], ``threads`` None or a whole number in 1 .. :data:`MAX_THREADS`,
    ``seed`` a whole number in 0 .. :data:`MAX_SEED`."""
    def number(x: object) -> bool:
        return isinstance(x, numbers.Real) and not isinstance(x, bool) and math.isfinite(x)

    def whole(x: object) -> bool:
        return isinstance(x, numbers.Integral) and not isinstance(x, bool)

    out = []
    if time_limit is not None and not (number(time_limit) and time_limit >= 0):
        out.append(("time_limit", f"time limit {time_limit!r} is not a finite number of seconds >= 0 "
                                  "(leave it out for no limit)"))
    if not (number(rel_gap) and 0 <= rel_gap <= MAX_GAP):
        out.append(("rel_gap", f"relative gap {rel_gap!r} is not a number in [0, {MAX_GAP:g}]"))
    if threads is not None and not (whole(threads) and 1 <= threads <= MAX_THREADS):
        out.append(("threads", f"threads {threads!r} is not a whole number in 1 .. {MAX_THREADS}"))
    if not (whole(seed) and 0 <= seed <= MAX_SEED):
        out.append(("seed", f"seed {seed!r} is not a whole number in 0 .. {MAX_SEED}"))
    return out


@dataclass(frozen=True)
class SolveOutcome:
    status: Status
    objective: float | None
    bound: float | None
    gap: float | None
    solve_seconds: float
    termination: str
    nodes: int | None = None


_scheduler_threads: int | None = None


def use_threads(threads: int) -> None:
    """HiGHS keeps one global thread pool per process, sized on first use; a later solve asking for
    another size fails outright. Reset the pool when the size changes (a sweep worker keeps one size)."""
    global _scheduler_threads
    if _scheduler_threads is not None and _scheduler_threads != threads:
        highspy.Highs.resetGlobalScheduler(True)
    _scheduler_threads = threads


AUTO_UPDATE_FLAGS = ("check_for_new_or_removed_constraints", "check_for_new_or_removed_vars",
                     "check_for_new_or_removed_params", "check_for_new_objective", "update_constraints",
                     "update_vars", "update_named_expressions", "update_objective", "update_parameters")


def new_solver(manual_updates: bool = False) -> Highs:
    """The persistent HiGHS interface. ``manual_updates`` switches its scan for changes off before each
    solve: the caller pushes what it changed (``update_parameters``, ``update_variables``)."""
    solver = Highs()
    if manual_updates:
        for flag in AUTO_UPDATE_FLAGS:
            setattr(solver.config.auto_updates, flag, False)
    return solver


def _status(term: TerminationCondition, sol: SolutionStatus) -> Status:
    has_sol = sol in (SolutionStatus.optimal, SolutionStatus.feasible)
    if term == TerminationCondition.convergenceCriteriaSatisfied:
        return Status.OPTIMAL if has_sol else Status.NO_SOLUTION
    if term in (TerminationCondition.provenInfeasible, TerminationCondition.locallyInfeasible,
                TerminationCondition.infeasibleOrUnbounded):
        # every variable of the model is bounded (flows by demand, steps by n_max), so an
        # "infeasible or unbounded" verdict can only mean infeasible
        return Status.INFEASIBLE
    if term == TerminationCondition.unbounded:
        return Status.UNBOUNDED
    if term in (TerminationCondition.error, TerminationCondition.unknown) and not has_sol:
        return Status.ERROR
    return Status.FEASIBLE if has_sol else Status.NO_SOLUTION


_HIGHS_ERRORS = ("kNotset", "kLoadError", "kModelError", "kPresolveError", "kSolveError", "kPostsolveError",
                 "kModelEmpty", "kUnknown")


def status_from_highs(model_status: highspy.HighsModelStatus, has_solution: bool) -> Status:
    """Our status from HiGHS's model status, for solves run on highspy directly (the same verdicts as
    :func:`_status` gives through Pyomo's termination conditions)."""
    hs = highspy.HighsModelStatus
    if model_status == hs.kOptimal:
        return Status.OPTIMAL if has_solution else Status.NO_SOLUTION
    if model_status in (hs.kInfeasible, hs.kUnboundedOrInfeasible):
        return Status.INFEASIBLE  # every variable is bounded: see _status
    if model_status == hs.kUnbounded:
        return Status.UNBOUNDED
    if any(model_status == getattr(hs, name) for name in _HIGHS_ERRORS) and not has_solution:
        return Status.ERROR
    return Status.FEASIBLE if has_solution else Status.NO_SOLUTION


_TERMINATIONS: dict[str, TerminationCondition] = {
    "kNotset": TerminationCondition.unknown, "kLoadError": TerminationCondition.error,
    "kModelError": TerminationCondition.error, "kPresolveError": TerminationCondition.error,
    "kSolveError": TerminationCondition.error, "kPostsolveError": TerminationCondition.error,
    "kModelEmpty": TerminationCondition.unknown, "kOptimal": TerminationCondition.convergenceCriteriaSatisfied,
    "kInfeasible": TerminationCondition.provenInfeasible,
    "kUnboundedOrInfeasible": TerminationCondition.infeasibleOrUnbounded,
    "kUnbounded": TerminationCondition.unbounded, "kObjectiveBound": TerminationCondition.objectiveLimit,
    "kObjectiveTarget": TerminationCondition.objectiveLimit, "kTimeLimit": TerminationCondition.maxTimeLimit,
    "kIterationLimit": TerminationCondition.iterationLimit, "kSolutionLimit": TerminationCondition.iterationLimit,
    "kUnknown": TerminationCondition.unknown,
}


def termination_from_highs(model_status: highspy.HighsModelStatus) -> TerminationCondition:
    """Pyomo's termination condition for HiGHS's model status, as ``pyomo.contrib.solver``'s HiGHS interface
    maps it (so a solve on highspy directly reports the same ``termination`` as one through Pyomo)."""
    return _TERMINATIONS.get(model_status.name, TerminationCondition.unknown)


def outcome_from_highs(highs: highspy.Highs, solve_seconds: float) -> SolveOutcome:
    """The outcome of the run HiGHS just finished, with the statuses, objective, bound and gap that
    :func:`solve_model` reports through Pyomo: optimal/feasible/no solution from HiGHS's model status and
    whether it holds a feasible primal solution, the bound HiGHS's MIP dual bound (the objective itself for an
    LP solved to optimality), the gap :func:`relative_gap`."""
    model_status = highs.getModelStatus()
    info = highs.getInfo()
    has_feasible = info.primal_solution_status == 2  # 0 none, 1 infeasible, 2 feasible
    if model_status == highspy.HighsModelStatus.kOptimal:
        solution = SolutionStatus.optimal
    else:
        solution = SolutionStatus.feasible if has_feasible else SolutionStatus.noSolution
    termination = termination_from_highs(model_status)
    status = _status(termination, solution)
    objective = bound = gap = None
    if status.has_solution:
        objective = float(info.objective_function_value)
        bound = objective if info.mip_node_count < 0 else float(info.mip_dual_bound)
        gap = relative_gap(objective, bound)
    nodes = int(info.mip_node_count) if info.mip_node_count >= 0 else None
    return SolveOutcome(status, objective, bound, gap, solve_seconds, termination.name, nodes)


def relative_gap(objective: float | None, bound: float | None) -> float | None:
    """|objective - bound| / max(|objective|, 1e-9): HiGHS's definition of the MIP gap."""
    if objective is None or bound is None or not math.isfinite(bound):
        return None
    return abs(objective - bound) / max(abs(objective), 1e-9)


def solve_model(m: pyo.ConcreteModel, options: SolveOptions, solver: Highs | None = None) -> tuple[SolveOutcome, Highs]:
    """Solve the model in memory; load the incumbent into the Pyomo variables when there is one.

    Never raises for a non-optimal stop: the outcome carries the status.
    """
    solver = solver or new_solver()
    if next(m.component_data_objects(pyo.Var, descend_into=True), None) is None:
        return solve_constant(m), solver
    highs_options = options.highs_options()
    use_threads(int(cast(int, highs_options["threads"])))
    previous = solver._solver_model
    clock_before = previous.getRunTime() if previous is not None else 0.0
    res = solver.solve(
        m,
        load_solutions=False,
        raise_exception_on_nonoptimal_result=False,
        solver_options=highs_options,
        # Pyomo captures HiGHS's console; with log_to_console asked for (optimizer solve --verbose) pass it on
        tee=[sys.stderr] if highs_options.get("log_to_console") else False,
    )
    status = _status(res.termination_condition, res.solution_status)
    highs = solver._solver_model  # the highspy.Highs object behind the interface
    info = highs.getInfo()
    # HiGHS's run-time clock accumulates over the life of the Highs object: take this run's share
    solve_seconds = float(highs.getRunTime()) - (clock_before if highs is previous else 0.0)
    objective = bound = gap = None
    if status.has_solution:
        res.solution_loader.load_vars()
        objective = float(res.incumbent_objective)
        bound = float(res.objective_bound) if res.objective_bound is not None else objective
        if status == Status.OPTIMAL and info.mip_node_count < 0:
            bound = objective  # an LP solved to optimality
        gap = relative_gap(objective, bound)
    nodes = int(info.mip_node_count) if info.mip_node_count >= 0 else None
    return SolveOutcome(status, objective, bound, gap, solve_seconds, res.termination_condition.name, nodes), solver


def solve_constant(m: pyo.ConcreteModel) -> SolveOutcome:
    """A model without variables (nothing demanded, nothing to build): HiGHS answers an empty model
    with no status, so evaluate it here. Optimal with the constant objective unless a row is violated."""
    for row in m.component_data_objects(pyo.Constraint, active=True):
        body = pyo.value(row.body)
        if (row.lower is not None and body < pyo.value(row.lower) - 1e-9) or \
                (row.upper is not None and body > pyo.value(row.upper) + 1e-9):
            return SolveOutcome(Status.INFEASIBLE, None, None, None, 0.0, "provenInfeasible")
    objective = next(m.component_data_objects(pyo.Objective, active=True), None)
    value = float(pyo.value(objective)) if objective is not None else 0.0
    return SolveOutcome(Status.OPTIMAL, value, value, 0.0, 0.0, "convergenceCriteriaSatisfied")


def fixed_lp_duals(m: pyo.ConcreteModel, solver: Highs, options: SolveOptions, start: bool = True
                   ) -> tuple[float | None, dict]:
    """Fix the integer decisions at their incumbent values, relax them to reals, re-solve the LP and
    return (its objective, duals by constraint), on the persistent interface's HiGHS instance
    (:func:`fixed_lp_in_place`, from the incumbent with ``start``). Pyomo's model is not touched (no second pass
    over it).
    The LP's duals (HiGHS's row duals) price capacity, demand and rules given the build plan (the MILP has none).
    """
    highs = solver._solver_model
    if highs is None:
        return None, {}
    col_of = solver._pyomo_var_to_solver_var_map
    cols, values = [], []
    for var in integer_vars(m):
        for v in var.values():
            index = col_of.get(id(v))
            if index is not None:
                cols.append(index)
                values.append(float(round(v.value or 0.0)))
    solved = fixed_lp_in_place(highs, np.asarray(cols, dtype=np.int32), np.asarray(values, dtype=np.float64), start)
    if solved is None:
        return None, {}
    objective, row_dual = solved
    duals = row_dual.tolist()
    return objective, {con: duals[i] for con, i in solver._pyomo_con_to_solver_con_map.items()}


def fixed_lp_in_place(highs: highspy.Highs, cols: np.ndarray, fixed: np.ndarray, start: bool = True
                      ) -> tuple[float, np.ndarray] | None:
    """The fixed-integer LP solved on the HiGHS instance that solved the MILP: columns ``cols`` (the integer
    ones) lose their integrality and get bounds l = u = ``fixed`` (the rounded incumbent); the LP is solved;
    then their bounds and integrality are put back, so HiGHS holds the MILP again.
    Returns (the LP's objective, HiGHS's row duals by row) or ``None`` when the LP is not solved to optimality.

    With ``start`` the LP starts from the MILP's incumbent (``setSolution``; the integer columns at ``fixed``).
    That point is feasible for the LP, and HiGHS crosses over from it to an optimal vertex: about a sixth of a
    solve from scratch on large models (710 simplex iterations against 20,548 at 202,400 columns). Without
    ``start``, or when the started solve does not end optimal, the LP is solved from scratch.
    The LP's optimum is the same either way; its duals are unique only where the LP is not degenerate. Where
    several rows bind on the same flows, each route returns one optimal dual solution, and the two may differ
    (docs/formulation.md, "Degeneracy").
    """
    order = np.argsort(cols, kind="stable")  # HiGHS reads columns by an increasing set of indices
    idx = np.asarray(cols, dtype=np.int32)[order]
    fixed = np.asarray(fixed, dtype=np.float64)[order]
    n = len(idx)
    incumbent = _incumbent(highs, idx, fixed) if start else None
    if n:
        # the integer columns' own bounds and kinds (not getLp(), which copies the whole matrix)
        _, _, _, lower, upper, _ = highs.getCols(n, idx)
        lower, upper = np.array(lower, dtype=np.float64), np.array(upper, dtype=np.float64)
        kind_of = cast(Any, highs).getColIntegrality  # in highspy, not in its type stubs
        integrality = np.array([int(kind_of(int(j))[1]) for j in idx], dtype=np.uint8)
        highs.changeColsIntegrality(n, idx, np.full(n, highspy.HighsVarType.kContinuous.value, dtype=np.uint8))
        highs.changeColsBounds(n, idx, fixed, fixed)
    try:
        solved = _run_lp(highs, incumbent) if incumbent is not None else None
        return solved if solved is not None else _run_lp(highs, None)
    finally:
        if n:
            highs.changeColsBounds(n, idx, lower, upper)
            highs.changeColsIntegrality(n, idx, integrality)


def _incumbent(highs: highspy.Highs, cols: np.ndarray, fixed: np.ndarray) -> highspy.HighsSolution | None:
    """The MILP's incumbent with columns ``cols`` at ``fixed``, as a start for the fixed LP; ``None`` without
    one."""
    solution = highs.getSolution()
    if not solution.value_valid:
        return None
    x = np.asarray(solution.col_value, dtype=np.float64)
    x[cols] = fixed
    start = highspy.HighsSolution()
    start.col_value = x.tolist()
    start.value_valid = True
    return start


def _run_lp(highs: highspy.Highs, start: highspy.HighsSolution | None) -> tuple[float, np.ndarray] | None:
    """Solve the LP HiGHS holds, from ``start`` or (``None``) from scratch; (objective, row duals) when it
    ends optimal."""
    highs.clearSolver()
    if start is not None and highs.setSolution(start) == highspy.HighsStatus.kError:
        return None
    # HiGHS writes its console log (on with --verbose) to the process's stdout: send it where the MILP's
    # log goes (stderr), so that stdout keeps only what the command prints (the --json manifest)
    with capture_output(sys.stderr, capture_fd=True):
        highs.run()
    if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    objective = float(highs.getInfo().objective_function_value)
    solution = highs.getSolution()
    if start is not None and not _objective_matches(highs, np.asarray(solution.col_value), objective):
        return None
    return objective, np.asarray(solution.row_dual)


def _objective_matches(highs: highspy.Highs, x: np.ndarray, objective: float) -> bool:
    """:func:`point_is_worth` for HiGHS's current point, with the costs and offset HiGHS holds."""
    n = len(x)
    _, _, cost, _, _, _ = highs.getCols(n, np.arange(n, dtype=np.int32))
    return point_is_worth(np.asarray(cost, dtype=np.float64), x, float(highs.getObjectiveOffset()[1]), objective)


def point_is_worth(cost: np.ndarray, x: np.ndarray, offset: float, objective: float) -> bool:
    """c x + c0 equals ``objective`` to 1e-9 relative: a check on what a started solve returns (HiGHS 1.16 has
    been seen to end a started MILP "Optimal" with the right objective and another point)."""
    worth = float(cost @ x) + offset
    return abs(worth - objective) <= 1e-9 * max(1.0, abs(worth))


def write_mps(solver: Highs, path: str | Path) -> Path:
    """Export the model held by HiGHS (exactly what was solved) as an MPS file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    solver._solver_model.writeModel(str(path))
    return path


def has_loaded_model(solver: Highs) -> bool:
    """True once the persistent interface holds a model in HiGHS (after its first solve): from then on it
    takes updates (new bounds) instead of loading the whole model again."""
    return solver._solver_model is not None


def iis_row_names(solver: Highs, strategy: int) -> list[str] | None:
    """The Pyomo names of the rows of HiGHS's irreducible infeasible subsystem of the LP the solver last
    solved (infeasible), found with ``iis_strategy`` ``strategy``; ``None`` when HiGHS cannot compute one."""
    highs = solver._solver_model
    if highs is None or highs.setOptionValue("iis_strategy", strategy) != highspy.HighsStatus.kOk:
        return None
    status, iis = highs.getIis()
    if status != highspy.HighsStatus.kOk or not iis.valid_:
        return None
    rows = solver._solver_con_to_pyomo_con_map
    return sorted(rows[i].name for i in iis.row_index_)

