"""The per-scenario work of a sweep, free of Ray: resolve a case against the base scenario, reuse the
built model when the structure allows (update the changed parameters, re-solve through the persistent
HiGHS interface), rebuild otherwise, and return a small picklable result.

A Ray actor (:mod:`.runner`) wraps one :class:`CaseSolver`; a plain loop can use it too.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field

import pandas as pd

from ..errors import InputError
from ..explain import explain_infeasible
from ..model import build_model
from ..model.params import param_groups, point_at, structure_key, update_params
from ..results import extract_tables
from ..scenario import Scenario
from ..solver import SolveOptions, Status, new_solver, solve_model
from .apply import apply_changes
from .cases import Case, scenario_id
from .push import NotPolynomial, ParameterPush, param_vector

LONG_TABLES = ("flows", "builds", "capacity", "costs", "unmet")


def case_key(base_sha256: str, case: Case, options: dict) -> str:
    """The resume key of a case: a hash of the base inputs, the case's changes and the solve options.
    The driver computes it without resolving the scenario; the scenario id (a hash of the resolved
    inputs) is computed by the worker."""
    text = json.dumps([base_sha256, repr(case.changes), options], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class CaseResult:
    """What a worker sends back for one case."""

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
    kpis: dict = field(default_factory=dict)
    tables: dict = field(default_factory=dict)
    worker_pid: int = 0


def failed_result(key: str, case: Case, status: Status, message: str, wall: float = 0.0) -> CaseResult:
    return CaseResult(key, case.name, dict(case.params), None, status.value, None, None, None, 0.0, wall, False,
                      message)


class CaseSolver:
    """Solves cases of one sweep against one base scenario, keeping one model while the structure holds."""

    def __init__(self, base: Scenario, options: SolveOptions, source: str = "<sweep>", rebuild: bool = False):
        self.base = base
        self.rebuild = rebuild  # build a fresh model for every case (a baseline to measure reuse against)
        self.options = options
        self.source = source
        self.model = None
        self.solver = None
        self.push: ParameterPush | None = None
        self.push_keys: list[tuple[str, object]] = []  # (group, index) of each pushed Param
        self.masks: dict = {}  # rows each sweep filter selects in the base tables
        self.key: tuple | None = None
        self.solved = 0
        self.rebuilds = 0

    def _fresh(self, scenario: Scenario) -> None:
        self.model = build_model(scenario, mutable=True)
        # the model's structure never changes in place: only parameters do, pushed by hand in solve()
        self.solver = new_solver(manual_updates=True)
        self.push = None  # compiled after the interface has loaded the model (first solve)
        self.key = structure_key(scenario)
        self.rebuilds += 1

    def _compile(self) -> None:
        try:
            self.push = ParameterPush(self.solver)
            self.push_keys = self.push.param_keys()
        except NotPolynomial:  # not expected for this model: keep Pyomo's own (slower) update
            self.push = None

    def _update(self, scenario: Scenario) -> None:
        """Move the built model (Pyomo Params and the matrix HiGHS holds) to ``scenario``."""
        if self.push is not None:
            self.push.push(param_vector(self.push_keys, param_groups(scenario)))
            point_at(self.model, scenario)
        else:
            update_params(self.model, scenario)
            self.solver.update_parameters()

    def solve(self, key: str, case: Case) -> CaseResult:
        """Resolve and solve one case; never raises for bad cases or failed solves."""
        t0 = time.perf_counter()
        try:
            scenario = apply_changes(self.base, case.changes, source=self.source, masks=self.masks)
        except InputError as exc:
            return failed_result(key, case, Status.ERROR, exc.render(), time.perf_counter() - t0)
        sid = scenario_id(scenario, self.options.as_dict())
        structure = structure_key(scenario)
        rebuilt = self.rebuild or structure != self.key
        if rebuilt:
            self._fresh(scenario)
        m = self.model
        try:
            if not rebuilt:
                self._update(scenario)
            if rebuilt or self.push is None:
                outcome, _ = solve_model(m, self.options, self.solver)
                if rebuilt:
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
        tables = extract_tables(m, outcome, {}, None) if outcome.status.has_solution else {}
        kpis: dict[str, float] = {}
        if tables:
            k = tables.pop("kpis")
            kpis = {name: float(v) for name, v in zip(k["kpi"], k["value"], strict=True)}
        self.solved += 1
        return CaseResult(key, case.name, dict(case.params), sid, outcome.status.value, outcome.objective,
                          outcome.bound, outcome.gap, outcome.solve_seconds, time.perf_counter() - t0, rebuilt,
                          why_infeasible=why, kpis=kpis, tables={k: v for k, v in tables.items() if k in LONG_TABLES},
                          worker_pid=os.getpid())


def _param_value(value: object) -> float | str | None:
    """Swept values as summary cells: numbers as floats, anything else (a list of outage years) as JSON."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return json.dumps(value) if isinstance(value, (list, tuple, dict)) else str(value)


def to_frames(results: list[CaseResult], parameter_names: tuple[str, ...]) -> dict[str, pd.DataFrame]:
    """Summary rows and long tables (with a scenario_id and case_key column) of a batch of results."""
    rows = []
    for r in results:
        row = {"scenario_id": r.scenario_id, "case_key": r.case_key, "case": r.name}
        # the ``case`` parameter of named cases is their name: the ``case`` column already holds it
        row.update({p: _param_value(r.params.get(p)) for p in parameter_names if p != "case"})
        row.update(status=r.status, objective=r.objective, bound=r.bound, gap=r.gap, solve_seconds=r.solve_seconds,
                   wall_seconds=r.wall_seconds, rebuilt=r.rebuilt, message=r.message,
                   why_infeasible=r.why_infeasible)
        row.update(r.kpis)
        rows.append(row)
    frames = {"summary": pd.DataFrame(rows)}
    for name in LONG_TABLES:
        parts = []
        for r in results:
            if name in r.tables and len(r.tables[name]):
                t = r.tables[name].copy()
                t.insert(0, "scenario_id", r.scenario_id)
                t.insert(1, "case_key", r.case_key)
                parts.append(t)
        frames[name] = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    return frames
