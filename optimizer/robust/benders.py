"""Multi-cut Benders (L-shaped) decomposition of the two-stage programme, its subproblems on Ray.

For futures too many for the extensive form. Every build (``open``, ``steps``) and closure (``close``) is
first stage; the recourse of future k given a plan x is the LP

    Q_k(x) = min { cost_k(x, y) : y feasible for future k with the builds held at x }

(flows and unserved demand; it must be an LP, so single sourcing is refused, and every build is first
stage, so a decision year is refused too). Q_k is convex and piecewise linear in x: with the builds held
through their bounds, the LP's reduced costs d_k of the build variables are a subgradient, and

    theta_k >= Q_k(x^) + sum_j d_kj (x_j - x^_j)                       (an optimality cut)

holds for every x. The master MILP, in the driver, holds the builds, each future's theta_k and the
first-stage-only constraints of every future (open once, expansion limits, annual and total budgets:
one block per distinct set of them), and minimises R(theta) = sum_k pi_k theta_k + lambda CVaR(theta)
(CVaR as in :mod:`.stochastic`). Each iteration evaluates the master's plan in every future on Ray
(actors keep their futures' models built, and change only the bounds of the build variables), adds one
cut per future, and re-solves the master. Upper bound: the best R(Q(x^)) seen; lower bound: the master's
optimum (its bound). It stops when (UB - LB) / |UB| <= tolerance.

A future whose recourse is infeasible for some plan (hard demand) has no cut to give: the run stops with
status ``error`` and says so; the extensive form handles such futures.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import pyomo.environ as pyo
from pyomo.contrib.solver.common.results import TerminationCondition

from ..model import build_model
from ..model.context import FIRST_STAGE, FIRST_STAGE_BY_KIND
from ..ray_pool import ActorPool, cluster_cpus, ray_session
from ..scenario import Scenario
from ..solver import SolveOptions, Status, has_loaded_model, new_solver, solve_model
from .plans import Plan, fix_plan
from .risk import risk_value

INVESTMENT_CONSTRAINTS = ("open_once", "expansion_limit", "capex_budget", "total_budget", "close_once")


class RecourseSolver:
    """The recourse LPs of some futures: one model and one persistent HiGHS each, built once."""

    def __init__(self, scenarios: Mapping[str, Scenario], options: dict):
        self.options = SolveOptions(**options)
        self.models: dict[str, tuple[pyo.ConcreteModel, Any]] = {}
        for name, scenario in scenarios.items():
            if scenario.config.single_sourcing:
                raise ValueError(f"future {name}: single sourcing makes the recourse a MILP; Benders needs an LP")
            m = build_model(scenario)
            for f in FIRST_STAGE:  # held by bounds: as reals, the LP prices them
                for v in f.of(m).values():
                    v.domain = pyo.Reals
            self.models[name] = (m, new_solver(manual_updates=True))

    def pid(self) -> int:
        return os.getpid()

    def evaluate(self, plan: Plan) -> list[tuple[str, str, float | None, dict]]:
        """(future, status, Q_k, {(kind, plant, start): reduced cost}) for every future held here."""
        out: list[tuple[str, str, float | None, dict]] = []
        for name, (m, solver) in self.models.items():
            held = fix_plan(m, plan)
            if has_loaded_model(solver):
                solver.update_variables(held)
            res = solver.solve(m, load_solutions=False, raise_exception_on_nonoptimal_result=False,
                               solver_options=self.options.highs_options())
            if res.termination_condition != TerminationCondition.convergenceCriteriaSatisfied:
                out.append((name, res.termination_condition.name, None, {}))
                continue
            rc = res.solution_loader.get_reduced_costs(held)
            slopes = {}
            for f in FIRST_STAGE:
                for (p, s), v in f.of(m).items():
                    slopes[f.kind, p, s] = float(rc[v])
            out.append((name, Status.OPTIMAL.value, float(res.incumbent_objective), slopes))
        return out


@dataclass
class BendersResult:
    status: Status
    plan: Plan
    upper_bound: float | None
    lower_bound: float | None
    gap: float | None
    iterations: int
    history: list[dict] = field(default_factory=list)
    costs: dict[str, float] = field(default_factory=dict)  # Q_k of the returned plan
    message: str = ""
    seconds: float = 0.0


def _signature(s: Scenario) -> tuple:
    """What the first-stage-only constraints of a future depend on (futures that share it share a block)."""
    d = s.data
    plants = tuple((p, pl.candidate, pl.max_steps, pl.step_gwh > 0, pl.opening_cost, pl.step_cost, tuple(d.starts[p]),
                    d.closure_starts.get(p))
                   for p, pl in sorted(d.plants.items()))
    return plants, tuple(sorted(d.capex_budget.items())), s.config.total_budget_musd


def _master(scenarios: Mapping[str, Scenario], pi: Mapping[str, float], cvar_weight: float, cvar_alpha: float):
    mp = pyo.ConcreteModel(name="benders-master")
    blocks: dict[tuple, pyo.ConcreteModel] = {}
    for s in scenarios.values():
        sig = _signature(s)
        if sig in blocks:
            continue
        block = build_model(s)
        for con in block.component_objects(pyo.Constraint, descend_into=False):
            if con.local_name not in INVESTMENT_CONSTRAINTS:
                con.deactivate()
        block.total_cost.deactivate()
        mp.add_component(f"first_stage_{len(blocks)}", block)
        blocks[sig] = block
    first = list(blocks.values())
    for f in FIRST_STAGE:  # first_open[p,s], first_steps[p,s]
        upper = {k: max(f.of(b)[k].ub for b in first if k in f.of(b)) for b in first for k in f.of(b)}
        mp.add_component(f"first_{f.var}", pyo.Var(sorted(upper), domain=f.domain,
                                                   bounds=lambda _m, p, s, ub=upper: (0, ub[p, s])))
    links = [(i, f, k) for f in FIRST_STAGE for i, b in enumerate(first) for k in f.of(b)]
    mp.link = pyo.Constraint(range(len(links)), rule=lambda _m, n: (
        links[n][1].of(first[links[n][0]])[links[n][2]] == links[n][1].of(mp, "first_")[links[n][2]]))
    names = list(scenarios)
    mp.theta = pyo.Var(names, domain=pyo.Reals)
    mp.cuts = pyo.ConstraintList()
    objective = sum(pi[k] * mp.theta[k] for k in names)
    if cvar_weight > 0:
        mp.eta = pyo.Var(domain=pyo.Reals)
        mp.excess = pyo.Var(names, domain=pyo.NonNegativeReals)
        mp.cvar_excess = pyo.Constraint(names, rule=lambda _m, k: mp.excess[k] >= mp.theta[k] - mp.eta)
        objective = objective + cvar_weight * (mp.eta + sum(pi[k] * mp.excess[k] for k in names) / (1 - cvar_alpha))
    mp.objective = pyo.Objective(expr=objective, sense=pyo.minimize)
    return mp


def _cut(mp: pyo.ConcreteModel, k: str, q: float, slopes: dict, plan: Plan) -> None:
    counts = dict(plan.builds)
    expr = q
    for (kind, p, s), d in slopes.items():
        if abs(d) < 1e-12:
            continue
        var = FIRST_STAGE_BY_KIND[kind].of(mp, "first_")[p, s]
        expr = expr + d * (var - counts.get((p, kind, s), 0))
    mp.cuts.add(mp.theta[k] >= expr)


def solve_benders(
    scenarios: Mapping[str, Scenario],
    weights: Mapping[str, float] | None = None,
    *,
    cvar_weight: float = 0.0,
    cvar_alpha: float = 0.95,
    options: SolveOptions | None = None,
    tolerance: float = 1e-4,
    max_iterations: int = 100,
    workers: int | None = None,
    address: str | None = None,
) -> BendersResult:
    """Solve the two-stage programme (every build first stage) by multi-cut Benders; see the module docstring."""

    t0 = time.perf_counter()
    options = options or SolveOptions(threads=1)
    names = list(scenarios)
    weights = weights or {k: 1.0 for k in names}
    total = float(sum(weights[k] for k in names))
    pi = {k: float(weights[k]) / total for k in names}
    w = [pi[k] for k in names]
    mp = _master(scenarios, pi, cvar_weight, cvar_alpha)
    master_solver = new_solver()

    with ray_session(address, workers) as ray:
        n = max(1, min(len(names), workers or cluster_cpus(ray)))
        sub_opts = {**options.as_dict(), "threads": 1}
        shares = [share for share in (names[i::n] for i in range(n)) if share]
        # one actor per share of the futures: each keeps its futures' models built across iterations
        pool = ActorPool(ray, RecourseSolver, per_actor=[({k: scenarios[k] for k in share}, sub_opts)
                                                         for share in shares])
        plan, best_plan, best_costs = Plan(()), None, {}
        upper, lower, history, message = math.inf, -math.inf, [], ""
        status = Status.NO_SOLUTION
        try:
            for iteration in range(1, max_iterations + 1):
                rows = [r for batch in pool.call_all("evaluate", plan) for r in batch]
                failed = [(k, st) for k, st, q, _ in rows if q is None]
                if failed:
                    status, message = Status.ERROR, (f"the recourse of future {failed[0][0]} is {failed[0][1]} "
                                                     f"under plan '{plan.label()}': Benders needs a recourse for "
                                                     "every plan (soft demand); use the extensive form")
                    break
                q = {k: v for k, _, v, _ in rows}
                value = risk_value([q[k] for k in names], w, cvar_weight, cvar_alpha)
                if value < upper:
                    upper, best_plan, best_costs = value, plan, q
                for k, _, v, slopes in rows:
                    _cut(mp, k, v, slopes, plan)
                outcome, master_solver = solve_model(mp, options, master_solver)
                if not outcome.status.has_solution:
                    status, message = outcome.status, f"the master problem is {outcome.status.value}"
                    break
                lower = max(lower, cast(float, outcome.bound if outcome.bound is not None else outcome.objective))
                plan = Plan.from_vars([f.of(mp, "first_") for f in FIRST_STAGE])
                gap = max(0.0, (upper - lower) / max(abs(upper), 1e-9))
                history.append({"iteration": iteration, "upper_bound": upper, "lower_bound": lower, "gap": gap,
                                "cuts": len(mp.cuts), "seconds": time.perf_counter() - t0})
                if gap <= tolerance:
                    status = Status.OPTIMAL
                    break
            else:
                status = Status.FEASIBLE
                message = f"stopped after {max_iterations} iterations"
        finally:
            pool.shutdown()
    final_gap = history[-1]["gap"] if history else None
    return BendersResult(status, best_plan or Plan(()), upper if math.isfinite(upper) else None,
                         lower if math.isfinite(lower) else None, final_gap, len(history), history, best_costs,
                         message, time.perf_counter() - t0)


__all__ = ["BendersResult", "RecourseSolver", "solve_benders"]
