"""The per-scenario work of a sweep, free of Ray: resolve a case against the base scenario, reuse the
built model when the structure allows (update the changed parameters, re-solve through the persistent
HiGHS interface), rebuild otherwise, and return a small picklable result.

:class:`SweepWorker` is the body of a sweep's Ray actor: handed a range of case numbers, it builds those
cases (:func:`.slices.case_slice`), solves each one through :meth:`CaseSolver.solve` (the one per-case
boundary), writes the batch's parts and commit record where the sweep's results live (:mod:`.store`) and
answers with a small acknowledgement. No result table goes back to the driver.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
from pyomo.contrib.solver.solvers.highs import Highs

from ..errors import InputError
from ..explain import explain_infeasible
from ..location import resolve
from ..model import build_model
from ..model.context import SourcingModel
from ..model.params import param_groups, point_at, structure_key, update_params
from ..results import COLUMNS
from ..scenario import Scenario
from ..solver import SolveOptions, Status, new_solver, solve_model
from .apply import apply_changes
from .arrays import ArrayCases, Resolved
from .cases import Case, Sweep, scenario_id, scenario_id_of
from .push import NotPolynomial, ParameterPush, param_vector, solution_columns
from .slices import case_slice
from .store import LONG_TABLES, ack, read_commit, write_batch
from .tables import CaseSolution, TableLayout, batch_tables

# the summary's KPI columns (results.KPI_UNITS), present in every part even when no case of a batch has a
# solution, so that every part of the summary has the same schema (the closures' two last, where a batch
# with solutions has always had them)
KPI_COLUMNS = ("total_cost_musd", "investment_cash_musd", "new_capacity_gwh", "openings", "expansion_steps",
               "demand_gwh", "served_gwh", "unmet_gwh", "service_level", "avg_landed_usd_per_kwh", "co2_kt",
               "avg_utilisation", "nominal_cost_musd", "lp_fixed_objective", "closures", "closure_cash_musd")


def case_key(base_sha256: str, case: Case, options: dict) -> str:
    """The resume key of a case: a hash of the base inputs, the case's changes and the solve options.
    The driver computes it without resolving the scenario; the scenario id (a hash of the resolved
    inputs) is computed by the worker."""
    text = json.dumps([base_sha256, repr(case.changes), options], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class CaseResult:
    """What a worker keeps of one case: the summary's fields and, for a case with a solution, the solution
    vector its tables are built from when the batch is written (:mod:`.tables`)."""

    case_key: str
    name: str
    params: dict
    scenario_id: str | None
    status: str
    objective: float | None
    bound: float | None
    gap: float | None
    solve_seconds: float
    wall_seconds: float
    rebuilt: bool
    message: str = ""
    why_infeasible: str = ""  # for an infeasible case: the relaxations that make it feasible, "; "-joined
    solution: CaseSolution | None = None
    worker_pid: int = 0
    case_index: int = -1  # the case's number in the sweep

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """This case's long tables and ``kpis`` (one row, a column per KPI), built on demand; empty without a
        solution."""
        if self.solution is None:
            return {}
        frames = long_frames([self], *batch_tables([self.solution]))
        ids = ["case_index", "scenario_id", "case_key"]
        return {k: v.drop(columns=ids, errors="ignore") if len(v.columns) else pd.DataFrame(columns=COLUMNS[k])
                for k, v in frames.items()}


def failed_result(key: str, case: Case, status: Status, message: str, wall: float = 0.0) -> CaseResult:
    return CaseResult(key, case.name, dict(case.params), None, status.value, None, None, None, 0.0, wall, False,
                      message)


class CaseSolver:
    """Solves cases of one sweep against one base scenario, keeping one model while the structure holds."""

    def __init__(self, base: Scenario, options: SolveOptions, source: str = "<sweep>", rebuild: bool = False,
                 warm_start: bool = True):
        self.base = base
        self.rebuild = rebuild  # build a fresh model for every case (a baseline to measure reuse against)
        # offer HiGHS the base scenario's own optimum as a MIP start for every case of the base's structure
        # (benchmarks/warm.py measured it; the start is the same whatever order cases come in, so a case's
        # result does not depend on which cases its worker solved before)
        self.warm_start = warm_start
        self.options = options
        self.source = source
        self.model: SourcingModel | None = None
        self.solver: Highs | None = None
        self.push: ParameterPush | None = None
        self.push_keys: list[tuple[str, object]] = []  # (group, index) of each pushed Param
        self.masks: dict = {}  # rows each sweep filter selects in the base tables
        self.key: tuple | None = None
        self.layout: TableLayout | None = None  # where the tables' rows are in the model's HiGHS columns
        self.base_key = structure_key(base)  # every case resolved on arrays has the base's structure
        self.arrays = ArrayCases(base, source, self.masks) if not rebuild else None
        self.solved = 0
        self.rebuilds = 0

    def _fresh(self, scenario: Scenario) -> None:
        self.model = build_model(scenario, mutable=True)
        # the model's structure never changes in place: only parameters do, pushed by hand in solve()
        self.solver = new_solver(manual_updates=True)
        self.push = None  # compiled after the interface has loaded the model (first solve)
        self.layout = None
        self.key = structure_key(scenario)
        self.rebuilds += 1

    def _built(self) -> tuple[SourcingModel, Highs]:
        """The model and the HiGHS interface that holds it (built by :meth:`_fresh`)."""
        if self.model is None or self.solver is None:
            raise RuntimeError("no model is built yet")
        return self.model, self.solver

    def _compile(self) -> None:
        try:
            self.push = ParameterPush(self._built()[1])
            self.push_keys = self.push.param_keys()
        except NotPolynomial:  # not expected for this model: keep Pyomo's own (slower) update
            self.push = None

    def _prime(self, structure: tuple) -> bool:
        """Before the first case of the base's structure: build the model from the base scenario, solve it
        and keep its optimum as the MIP start of every case on that model; True when it built."""
        if not self.warm_start or self.rebuild or structure == self.key or structure != self.base_key:
            return False
        try:
            self._fresh(self.base)
            model, solver = self._built()
            outcome, _ = solve_model(model, self.options, solver)
            self._compile()
        except Exception:  # no start then: the case builds its own model, and reports its own failure
            self.key = None
            return False
        if self.push is not None and outcome.status.has_solution:
            self.push.start = self.push.incumbent()
        return True

    def _update(self, scenario: Scenario, resolved: Resolved | None = None) -> None:
        """Move the built model (Pyomo Params and the matrix HiGHS holds) to ``scenario`` (whose parameter
        vector ``resolved`` holds when the case was resolved on arrays)."""
        model, solver = self._built()
        if self.push is not None:
            if resolved is not None:
                self.push.push(resolved.vector(self.push_keys))
            else:
                self.push.push(param_vector(self.push_keys, param_groups(scenario)))
            point_at(model, scenario)
        else:
            update_params(model, scenario)
            solver.update_parameters()

    def solve(self, key: str, case: Case) -> CaseResult:
        """Resolve and solve one case; never raises for bad cases or failed solves."""
        t0 = time.perf_counter()
        resolved = self.arrays.resolve(case.changes) if case.changes and self.arrays is not None else None
        if resolved is not None:  # parameter values only: the base's structure, no re-validation
            scenario = resolved.scenario()
            sid = scenario_id_of(resolved.inputs_sha256, self.options.as_dict())
            structure = self.base_key
        else:  # the pandas path: any change, any error
            try:
                scenario = apply_changes(self.base, case.changes, source=self.source, masks=self.masks)
            except InputError as exc:
                return failed_result(key, case, Status.ERROR, exc.render(), time.perf_counter() - t0)
            sid = scenario_id(scenario, self.options.as_dict())
            structure = self.base_key if scenario is self.base else structure_key(scenario)
        primed = self._prime(structure)
        reuse = not self.rebuild and structure == self.key
        if not reuse:
            self._fresh(scenario)
        rebuilt = primed or not reuse
        m, solver = self._built()
        try:
            if reuse:
                self._update(scenario, resolved)
            if not reuse or self.push is None:
                outcome, _ = solve_model(m, self.options, solver)
                if not reuse:
                    self._compile()
            else:
                outcome = self.push.solve()
        except Exception as exc:  # a solver failure is a result, and the model is rebuilt next time
            self.key = None
            return failed_result(key, case, Status.ERROR, f"{type(exc).__name__}: {exc}", time.perf_counter() - t0)
        why = ""
        if outcome.status == Status.INFEASIBLE:
            try:
                why = "; ".join(explain_infeasible(scenario, self.options))
            except Exception as exc:  # the status stands; only the explanation is missing
                why = f"no explanation: {type(exc).__name__}: {exc}"
        solution = None
        if outcome.status.has_solution:
            # the column values only: the tables are built for the whole batch when it is written
            x, columns = solution_columns(solver)
            if self.layout is None:
                self.layout = TableLayout(m, columns)
            solution = CaseSolution(x, self.layout, outcome.objective, scenario)
        self.solved += 1
        return CaseResult(key, case.name, dict(case.params), sid, outcome.status.value, outcome.objective,
                          outcome.bound, outcome.gap, outcome.solve_seconds, time.perf_counter() - t0, rebuilt,
                          why_infeasible=why, solution=solution, worker_pid=os.getpid())


def _param_value(value: object) -> float | str | None:
    """Swept values as summary cells: numbers as floats, anything else (a list of outage years) as JSON."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return json.dumps(value) if isinstance(value, (list, tuple, dict)) else str(value)


SUMMARY_TYPES = {"case_index": pa.int64(), "scenario_id": pa.string(), "case_key": pa.string(), "case": pa.string(),
                 "status": pa.string(), "objective": pa.float64(), "bound": pa.float64(), "gap": pa.float64(),
                 "solve_seconds": pa.float64(), "wall_seconds": pa.float64(), "rebuilt": pa.bool_(),
                 "message": pa.string(), "why_infeasible": pa.string()}


def long_frames(results: list[CaseResult], tables: dict[str, dict], kpis: list[dict[str, float]]
                ) -> dict[str, pd.DataFrame]:
    """The long tables of :func:`.tables.batch_tables` for ``results`` (its solutions, in order) with
    case_index, scenario_id and case_key columns; ``kpis`` one row per case (``case_index``, then a column
    per KPI)."""
    index = np.array([r.case_index for r in results], dtype=np.int64)
    sid = np.array([r.scenario_id for r in results], dtype=object)
    key = np.array([r.case_key for r in results], dtype=object)
    frames = {}
    for name in LONG_TABLES:
        cols = tables[name]
        case = cols["case"].astype(np.int64)
        frames[name] = pd.DataFrame({"case_index": index[case], "scenario_id": sid[case], "case_key": key[case],
                                     **{c: v for c, v in cols.items() if c != "case"}}) if len(case) else pd.DataFrame()
    frames["kpis"] = pd.DataFrame([{"case_index": r.case_index, **k} for r, k in zip(results, kpis)])
    return frames


def to_frames(results: list[CaseResult], parameter_names: tuple[str, ...]) -> dict[str, pd.DataFrame]:
    """Summary rows and long tables (with case_index, scenario_id and case_key columns) of a batch: the
    tables of every solved case built at once (:func:`.tables.batch_tables`)."""
    solved = [r for r in results if r.solution is not None]
    tables, kpis = batch_tables([r.solution for r in solved if r.solution is not None])
    kpis_of = {id(r): k for r, k in zip(solved, kpis)}
    rows = []
    for r in results:
        row: dict[str, object] = {"case_index": r.case_index, "scenario_id": r.scenario_id, "case_key": r.case_key,
                                  "case": r.name}
        # the ``case`` parameter of named cases is their name: the ``case`` column already holds it
        row.update({p: _param_value(r.params.get(p)) for p in parameter_names if p != "case"})
        row.update(status=r.status, objective=r.objective, bound=r.bound, gap=r.gap, solve_seconds=r.solve_seconds,
                   wall_seconds=r.wall_seconds, rebuilt=r.rebuilt, message=r.message,
                   why_infeasible=r.why_infeasible)
        row.update({k: float("nan") for k in KPI_COLUMNS})
        row.update(kpis_of.get(id(r), {}))
        rows.append(row)
    frames = long_frames(solved, tables, kpis)
    frames.pop("kpis")
    return {"summary": pd.DataFrame(rows), **frames}


def to_arrow(results: list[CaseResult], parameter_names: tuple[str, ...], parameter_types: dict[str, str]
             ) -> dict[str, pa.Table]:
    """:func:`to_frames` as arrow tables whose summary schema is the same in every batch: fixed columns,
    parameters typed by the sweep (``float`` or ``string``), every KPI a float."""
    frames = to_frames(results, parameter_names)
    summary = frames.pop("summary")
    types = dict(SUMMARY_TYPES)
    for p in parameter_names:
        if p != "case":
            types[p] = pa.float64() if parameter_types.get(p) == "float" else pa.string()
            if types[p] == pa.string():
                summary[p] = [None if v is None else str(v) for v in summary[p]]
    types.update({k: pa.float64() for k in summary.columns if k not in types})
    schema = pa.schema([(c, types[c]) for c in summary.columns])
    tables = {"summary": pa.Table.from_pandas(summary, schema=schema, preserve_index=False)}
    for name, frame in frames.items():
        tables[name] = pa.Table.from_pandas(frame, preserve_index=False) if len(frame) else pa.table({})
    return tables


@dataclass(frozen=True)
class SweepContext:
    """What every worker of one sweep needs, sent once (through Ray's object store)."""

    sweep: Sweep
    base: Scenario
    options: dict  # SolveOptions.as_dict() of every case
    out: str  # the results location (folder, shared path or URI)
    parameter_types: dict
    rebuild: bool = False


class SweepWorker:
    """Body of a sweep's Ray actor (see the module docstring); a plain loop can drive it too."""

    def __init__(self, context: SweepContext):
        # a private copy: Ray hands numpy arrays over zero-copy from the object store, whose copy is owned by
        # the driver and goes with it, while this worker may still be solving a case when the driver dies
        self.context = pickle.loads(pickle.dumps(context))
        self.location = resolve(context.out)
        self.solver = CaseSolver(self.context.base, SolveOptions(**self.context.options), str(self.context.sweep.path),
                                 rebuild=context.rebuild)

    def pid(self) -> int:
        return os.getpid()

    def solve_case(self, index: int, case: Case) -> CaseResult:
        """One case: the per-case boundary (resolution and solve live in :class:`CaseSolver`)."""
        ctx = self.context
        result = self.solver.solve(case_key(ctx.base.inputs_sha256, case, ctx.options), case)
        result.case_index = index
        return result

    def run_batch(self, batch: tuple[int, int]) -> dict:
        """Solve cases ``start`` .. ``stop - 1``, write them, commit; the acknowledgement. A batch whose
        commit record exists already (its first attempt committed, then its answer was lost) is not
        solved again."""
        start, stop = batch
        done = read_commit(self.location, start, stop)
        if done is not None:
            return ack(done)
        t0 = time.perf_counter()
        results = [self.solve_case(i, case) for i, case in case_slice(self.context.sweep, start, stop)]
        return ack(self.write(start, stop, results, time.perf_counter() - t0))

    def write(self, start: int, stop: int, results: list[CaseResult], seconds: float = 0.0) -> dict:
        ctx = self.context
        return write_results(self.location, start, stop, results, ctx.sweep.parameter_names, ctx.parameter_types,
                             seconds)

    def stats(self) -> dict:
        return {"solved": self.solver.solved, "rebuilds": self.solver.rebuilds}


def write_results(location, start: int, stop: int, results: list[CaseResult], parameter_names: tuple[str, ...],
                  parameter_types: dict, seconds: float = 0.0) -> dict:
    """Write and commit the results of cases ``start`` .. ``stop - 1`` (a worker's batch, or the error row
    the driver records for a case whose workers kept dying); the commit record."""
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    tables = to_arrow(results, parameter_names, parameter_types)
    return write_batch(location, start, stop, tables, counts, seconds)
