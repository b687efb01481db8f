"""Two-stage stochastic programme, solved as its extensive form with HiGHS.

Scenarios k = 1..K with probabilities pi_k (they sum to 1). Each scenario keeps its own copy of the
model (flows, unserved demand, single-source picks, and builds after the decision year); the builds
started up to the decision year D are shared, by non-anticipativity:

    open_k[p,s] = W[p,s],  steps_k[p,s] = Z[p,s]   for every k and every start year s <= D

(every year when D is not given). The objective is the expected discounted cost plus an optional CVaR
term on the scenario costs C_k (Rockafellar-Uryasev):

    min  sum_k pi_k C_k + lambda * (eta + 1/(1 - alpha) sum_k pi_k e_k),  e_k >= C_k - eta,  e_k >= 0.

Figures reported, with f(x, k) the cost of first-stage plan x in scenario k and R(.) = E[.] + lambda CVaR(.):

* RP  = the optimum of the extensive form (the recourse problem);
* WS  = R(optimum of each scenario alone): wait-and-see, with perfect information;
* EV  = the plan x_ev of the expected-value scenario (every input averaged, :func:`.mean.mean_scenario`);
  EEV = R(f(x_ev, k)), the plan of the average future evaluated in every future;
* VSS = EEV - RP >= 0 (value of the stochastic solution), EVPI = RP - WS >= 0 (value of perfect information).

A first-stage build that a scenario has no decision for (its start year is too late for that
scenario's lead time) is simply not linked there: it delivers nothing within that scenario's horizon.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from ..errors import InputError
from ..files import atomic_write
from ..model import build_model
from ..model.context import FIRST_STAGE
from ..results import TABLE_NAMES, extract_tables
from ..scenario import Scenario
from ..solver import SolveOptions, SolveOutcome, Status, relative_gap, solve_model
from .benders import solve_benders
from .mean import mean_scenario
from .plans import Plan, evaluate_plans
from .risk import risk_value


def first_stage_years(scenarios: Sequence[Scenario], decision_year: int | None) -> list[int]:
    years = sorted({t for s in scenarios for t in s.years})
    return [t for t in years if decision_year is None or t <= decision_year]


def extensive_form(scenarios: Mapping[str, Scenario], weights: Mapping[str, float], *,
                   decision_year: int | None = None, cvar_weight: float = 0.0,
                   cvar_alpha: float = 0.95) -> pyo.ConcreteModel:
    """The extensive form as one Pyomo model: one sub-block per scenario (``ef.scenario[k]`` is the
    scenario's own model, its objective switched off), first-stage variables ``first_open[p,s]`` and
    ``first_steps[p,s]``, the links ``nonant_open`` / ``nonant_steps``, and ``expected_cost``."""
    if not 0.0 <= cvar_alpha < 1.0:
        raise ValueError(f"cvar_alpha must be in [0, 1), got {cvar_alpha}")
    if cvar_weight < 0.0:
        raise ValueError(f"cvar_weight must be >= 0, got {cvar_weight}")
    names = list(scenarios)
    total = float(sum(weights[k] for k in names))
    pi = {k: float(weights[k]) / total for k in names}
    years = set(first_stage_years(list(scenarios.values()), decision_year))

    ef = pyo.ConcreteModel(name="extensive-form")
    ef.names = names
    ef.pi = pi
    blocks: dict[str, pyo.Block] = {}
    for i, k in enumerate(names):
        block = build_model(scenarios[k])
        block.total_cost.deactivate()
        ef.add_component(f"s{i}", block)
        blocks[k] = block
    ef.blocks = blocks

    keys = {f.kind: sorted({key for b in blocks.values() for key in f.of(b) if key[1] in years}) for f in FIRST_STAGE}
    for f in FIRST_STAGE:  # first_open[p,s], first_steps[p,s]: one decision shared by every future
        upper = {key: max(f.of(b)[key].ub for b in blocks.values() if key in f.of(b)) for key in keys[f.kind]}
        ef.add_component(f"first_{f.var}", pyo.Var(keys[f.kind], domain=f.domain,
                                                   bounds=lambda _m, p, s, ub=upper: (0, ub[p, s])))
    for f in FIRST_STAGE:  # nonant_open, nonant_steps: each future's copy equals the shared decision
        ef.add_component(f"nonant_{f.var}", pyo.Constraint(
            [(i, p, s) for i, k in enumerate(names) for (p, s) in keys[f.kind] if (p, s) in f.of(blocks[k])],
            rule=lambda _m, i, p, s, f=f: f.of(blocks[names[i]])[p, s] == f.of(ef, "first_")[p, s]))

    ef.scenario_cost = pyo.Expression(range(len(names)), rule=lambda _m, i: blocks[names[i]].total_cost.expr)
    ef.expected_cost = pyo.Expression(expr=sum(pi[k] * ef.scenario_cost[i] for i, k in enumerate(names)))
    objective = ef.expected_cost
    if cvar_weight > 0.0:
        ef.eta = pyo.Var(domain=pyo.Reals)
        ef.excess = pyo.Var(range(len(names)), domain=pyo.NonNegativeReals)
        ef.cvar_excess = pyo.Constraint(range(len(names)),
                                        rule=lambda _m, i: ef.excess[i] >= ef.scenario_cost[i] - ef.eta)
        ef.cvar = pyo.Expression(expr=ef.eta + sum(pi[k] * ef.excess[i] for i, k in enumerate(names))
                                 / (1.0 - cvar_alpha))
        objective = objective + cvar_weight * ef.cvar
    ef.objective = pyo.Objective(expr=objective, sense=pyo.minimize)
    return ef


@dataclass
class StochasticResult:
    """The stochastic plan, its figures (RP, EEV, WS, VSS, EVPI ...) and the tables by scenario."""

    status: Status
    plan: Plan
    figures: dict[str, float | None]
    scenarios: pd.DataFrame  # scenario, probability, cost_musd, optimum_musd, ev_plan_cost_musd
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    manifest: dict = field(default_factory=dict)

    def write(self, out: str | Path) -> None:
        """Write every table as parquet plus ``manifest.json`` into ``out`` (each file atomically)."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        frames = {"plan": self.plan.frame("stochastic"), "scenarios": self.scenarios,
                  "figures": pd.DataFrame(list(self.figures.items()), columns=["figure", "value"]), **self.tables}
        for name, frame in frames.items():
            atomic_write(out / f"{name}.parquet", lambda tmp, f=frame: f.to_parquet(tmp, index=False))
        write_json(out / "manifest.json", self.manifest)


def jsonable(value: object) -> object:
    """Numbers as plain floats (numpy scalars included), +-inf and NaN as strings: strict JSON."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (bool, str, int)) or value is None:
        return value
    try:
        number = float(value)  # type: ignore[arg-type]  # whatever float() accepts: numpy scalars, Decimal
    except (TypeError, ValueError):
        return str(value)
    return number if math.isfinite(number) else str(number)


def write_json(path: Path, content: dict) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(json.dumps(jsonable(content), indent=2), encoding="utf-8"))


@dataclass
class _Solved:
    """The stochastic plan as found by the extensive form or by Benders."""

    status: Status
    plan: Plan
    objective: float | None
    bound: float | None
    gap: float | None
    costs: list[float]
    cvar: float | None
    tables: dict[str, pd.DataFrame]
    details: dict


def _by_extensive_form(scenarios, pi, years, decision_year, risk, options) -> _Solved:
    names = list(scenarios)
    t = time.perf_counter()
    ef = extensive_form(scenarios, pi, decision_year=decision_year, **risk)
    build = time.perf_counter() - t
    outcome, _ = solve_model(ef, options)
    size = {"variables": ef.nvariables(), "constraints": ef.nconstraints(),
            "integer_variables": sum(1 for v in ef.component_data_objects(pyo.Var) if v.is_integer())}
    details = {"size": size, "build_seconds": build, "highs_seconds": outcome.solve_seconds}
    if not outcome.status.has_solution:
        return _Solved(outcome.status, Plan(()), None, outcome.bound, None, [math.nan] * len(names), None, {},
                       details)
    costs = [pyo.value(ef.scenario_cost[i]) for i in range(len(names))]
    return _Solved(outcome.status, Plan.from_vars([f.of(ef, "first_") for f in FIRST_STAGE], years), outcome.objective,
                   outcome.bound, outcome.gap, costs, pyo.value(ef.cvar) if risk["cvar_weight"] > 0 else None,
                   _scenario_tables(ef, outcome), details)


def _by_benders(scenarios, pi, decision_year, risk, options, workers, address) -> _Solved:
    if decision_year is not None:
        raise ValueError("Benders shares every build: a decision year needs the extensive form")
    r = solve_benders(scenarios, pi, **risk, options=options, workers=workers, address=address,
                      tolerance=max(options.rel_gap, 1e-9))
    names = list(scenarios)
    costs = [r.costs.get(k, math.nan) for k in names]
    cvar = None
    if risk["cvar_weight"] > 0 and r.costs:
        cvar = (risk_value(costs, [pi[k] for k in names], 1.0, risk["cvar_alpha"])
                - risk_value(costs, [pi[k] for k in names]))
    details = {"iterations": r.iterations, "history": r.history, "message": r.message, "benders_seconds": r.seconds}
    return _Solved(r.status, r.plan, r.upper_bound, r.lower_bound, r.gap, costs, cvar, {}, details)


def solve_stochastic(
    scenarios: Mapping[str, Scenario],
    weights: Mapping[str, float] | None = None,
    *,
    decision_year: int | None = None,
    cvar_weight: float = 0.0,
    cvar_alpha: float = 0.95,
    options: SolveOptions | None = None,
    optima: Mapping[str, float] | None = None,
    method: str = "extensive",
    workers: int | None = None,
    address: str | None = None,
) -> StochasticResult:
    """Solve the two-stage programme, then the expected-value and wait-and-see problems for VSS and EVPI.

    ``method`` is ``extensive`` (one HiGHS solve of the extensive form; each future's tables come with
    it) or ``benders`` (:mod:`.benders`, subproblems on Ray; every build shared, LP recourse; no tables).
    ``optima`` (each scenario's own optimum, from a sweep) saves solving the scenarios one by one.
    """
    options = options or SolveOptions()
    names = list(scenarios)
    weights = weights or {k: 1.0 for k in names}
    total = float(sum(weights[k] for k in names))
    pi = {k: float(weights[k]) / total for k in names}
    w = [pi[k] for k in names]
    years = first_stage_years(list(scenarios.values()), decision_year)
    risk = {"cvar_weight": cvar_weight, "cvar_alpha": cvar_alpha}
    timings: dict[str, float] = {}

    t = time.perf_counter()
    if method == "extensive":
        solved = _by_extensive_form(scenarios, pi, years, decision_year, risk, options)
    elif method == "benders":
        solved = _by_benders(scenarios, pi, decision_year, risk, options, workers, address)
    else:
        raise ValueError(f"method is 'extensive' or 'benders', got {method!r}")
    timings["solve_seconds"] = time.perf_counter() - t
    plan, costs, tables = solved.plan, solved.costs, solved.tables
    figures: dict[str, float | None] = {"RP": solved.objective, "RP_bound": solved.bound, "RP_gap": solved.gap}
    if solved.status.has_solution:
        figures["expected_cost"] = float(np.dot(w, costs))
        figures["cvar"] = solved.cvar

    t = time.perf_counter()
    if optima is None:
        alone = {k: _solve_alone(s, options)[0] for k, s in scenarios.items()}
        optima = {k: math.inf if v is None else v for k, v in alone.items()}
    timings["wait_and_see_seconds"] = time.perf_counter() - t
    ws_costs = [optima[k] for k in names]
    figures["WS"] = risk_value(ws_costs, w, **risk)

    t = time.perf_counter()
    ev_costs = [math.nan] * len(names)
    ev_plan, ev_note = None, ""
    try:
        ev_objective, ev_plan = _solve_alone(mean_scenario([scenarios[k] for k in names], w), options)
        if ev_plan is None:
            ev_note = "the expected-value future has no solution"
    except (ValueError, InputError) as exc:  # the futures cannot be averaged into one
        ev_objective, ev_note = None, str(exc)
    if ev_plan is not None:
        for i, k in enumerate(names):
            [e] = evaluate_plans(scenarios[k], [ev_plan], options, years=years)
            ev_costs[i] = e.cost if e.cost is not None else math.inf
    timings["expected_value_seconds"] = time.perf_counter() - t
    figures["EV"] = ev_objective
    figures["EEV"] = risk_value(ev_costs, w, **risk) if ev_plan is not None else None
    rp = figures["RP"]
    eev, ws = figures["EEV"], figures["WS"]
    figures["VSS"] = eev - rp if rp is not None and eev is not None else None
    figures["EVPI"] = rp - ws if rp is not None and ws is not None else None
    figures = {k: None if v is None else float(v) for k, v in figures.items()}

    scenario_rows = [(k, pi[k], costs[i], optima[k], ev_costs[i]) for i, k in enumerate(names)]
    frame = pd.DataFrame(scenario_rows, columns=["scenario", "probability", "cost_musd", "optimum_musd",
                                                 "ev_plan_cost_musd"])
    manifest = {"status": solved.status.value, "method": method, "objective": solved.objective,
                "bound": solved.bound, "gap": solved.gap, "scenarios": len(names), "decision_year": decision_year,
                **risk, "plan": plan.label(), "ev_plan": ev_plan.label() if ev_plan is not None else None,
                "ev_note": ev_note, "figures": figures, **solved.details, "timings": timings,
                "options": options.as_dict()}
    return StochasticResult(solved.status, plan, figures, frame, tables, manifest)


def _solve_alone(scenario: Scenario, options: SolveOptions) -> tuple[float | None, Plan | None]:
    """One future solved on its own: its optimum and plan (None, None when it has no solution)."""
    m = build_model(scenario)
    outcome, _ = solve_model(m, options)
    if not outcome.status.has_solution:
        return None, None
    return outcome.objective, Plan.from_model(m)


def _scenario_tables(ef: pyo.ConcreteModel, outcome: SolveOutcome) -> dict[str, pd.DataFrame]:
    """Each scenario's result tables (as a single solve writes them) with a leading ``scenario`` column."""
    parts: dict[str, list[pd.DataFrame]] = {}
    for k, block in ef.blocks.items():
        cost = pyo.value(block.total_cost.expr)
        own = SolveOutcome(outcome.status, cost, None, relative_gap(cost, None), 0.0, outcome.termination)
        for name, frame in extract_tables(block, own, {}, None).items():
            if name not in TABLE_NAMES:
                continue
            frame = frame.copy()
            frame.insert(0, "scenario", k)
            parts.setdefault(name, []).append(frame)
    return {name: pd.concat(frames, ignore_index=True) for name, frames in parts.items()}
