"""Cross-evaluation of a sweep's plans and the regret matrix.

Each solved scenario j of a sweep has its own optimal plan. Fixing plan i and re-solving scenario j
(flows free, unserved demand priced; :func:`.plans.evaluate_plans`) gives C[i,j], the cost of
committing to i when j comes true. With O[j] the optimum of j,

    regret[i,j] = C[i,j] - O*[j],   O*[j] = min(O[j], min_i C[i,j])

(O* only differs from the sweep's objective by the MIP gap: it keeps every regret >= 0). A plan that is
infeasible in j (it breaks j's budget, say) has C = regret = +inf there. Over scenario weights w_j
(equal unless given):

    max regret(i) = max_j regret[i,j],   expected cost(i) = sum_j w_j C[i,j].

The plan of least maximum regret and the plan of least expected cost are flagged in the plan summary.
Plans are de-duplicated first: scenarios that chose the same builds share one plan.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..ray_pool import ActorPool, cluster_cpus, ray_session
from ..scenario import Scenario
from ..solver import SolveOptions
from ..sweep.apply import apply_changes
from ..sweep.cases import Case
from .plans import Plan, evaluate_plans

EVALUATION_COLUMNS = ["plan", "scenario", "status", "cost_musd", "solve_seconds", "skipped_builds", "message"]
INF = math.inf


def evaluate_case(base: Scenario, case: Case, plans: Sequence[Plan], options: dict, source: str) -> list[tuple]:
    """Rows of :data:`EVALUATION_COLUMNS` (plan given by its position) for one case of a sweep."""
    scenario = apply_changes(base, case.changes, source=source)
    evaluations = evaluate_plans(scenario, plans, SolveOptions(**options))
    return [(i, case.name, e.status.value, e.cost, e.solve_seconds, e.skipped_builds, "")
            for i, e in enumerate(evaluations)]


class PlanEvaluator:
    """Body of a Ray actor of the cross-evaluation: the base, the plans and the options, sent once."""

    def __init__(self, base: Scenario, plans: Sequence[Plan], options: dict, source: str):
        self.base, self.plans, self.options, self.source = base, list(plans), options, source

    def pid(self) -> int:
        return os.getpid()

    def evaluate(self, case: Case) -> list[tuple]:
        return evaluate_case(self.base, case, self.plans, self.options, self.source)


def cross_evaluate(
    base: Scenario,
    cases: Sequence[Case],
    plans: Mapping[str, Plan],
    options: SolveOptions,
    *,
    source: str = "<sweep>",
    address: str | None = None,
    workers: int | None = None,
) -> pd.DataFrame:
    """C[i,j] for every plan i and case j, one case at a time per actor of the shared pool (it builds j's
    model once and re-solves it under each plan). A case whose worker dies is tried again (3 times in all);
    a case that still fails, or whose evaluation raises, gets status ``error`` for every plan."""
    plan_ids, plan_list = list(plans), list(plans.values())
    rows: list[tuple] = []
    if not cases:
        return pd.DataFrame(rows, columns=EVALUATION_COLUMNS)
    tries: dict[str, int] = {}

    def on_lost(case: Case, reason: str, died: bool) -> list[Case]:
        tries[case.name] = tries.get(case.name, 0) + 1
        if died and tries[case.name] < 3:
            return [case]
        rows.extend((i, case.name, "error", None, 0.0, 0, reason[:200]) for i in range(len(plan_list)))
        return []

    with ray_session(address, workers) as ray:
        n = max(1, min(len(cases), workers or cluster_cpus(ray)))
        pool = ActorPool(ray, PlanEvaluator, (ray.put(base), plan_list, options.as_dict(), source), n)
        try:
            pool.run(iter(cases), "evaluate", lambda _case, answer: rows.extend(answer), on_lost)
        finally:
            pool.shutdown()
    frame = pd.DataFrame(rows, columns=EVALUATION_COLUMNS)
    frame["plan"] = [plan_ids[i] for i in frame["plan"]]
    return frame.sort_values(["plan", "scenario"], kind="stable").reset_index(drop=True)


def regret_tables(
    evaluations: pd.DataFrame,
    optima: Mapping[str, float],
    weights: Mapping[str, float] | None = None,
    own_plan: Mapping[str, str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The regret matrix (long: plan, scenario, cost, optimum, regret) and the plan summary.

    ``evaluations`` has plan, scenario, cost_musd (None/NaN when infeasible); ``optima`` the sweep's
    objective per scenario; ``own_plan`` the plan each scenario chose (for ``optimal_in``).
    """
    scenarios = sorted(optima)
    w = _weights(scenarios, weights)
    ev = evaluations[evaluations["scenario"].isin(scenarios)].copy()
    ev["cost_musd"] = pd.to_numeric(ev["cost_musd"], errors="coerce").astype(float)
    best_plan_cost = ev.groupby("scenario")["cost_musd"].min()  # NaN where every plan is infeasible
    ev["optimum_musd"] = np.fmin(ev["scenario"].map(optima).astype(float), ev["scenario"].map(best_plan_cost))
    cost = ev["cost_musd"].fillna(INF)
    ev["regret_musd"] = cost - ev["optimum_musd"]
    ev["weight"] = [w[j] for j in ev["scenario"]]
    regret = ev[["plan", "scenario", "status", "cost_musd", "optimum_musd", "regret_musd", "weight"]]

    rows = []
    chosen = pd.Series(own_plan or {}, dtype=object)
    for plan, g in regret.groupby("plan", sort=True):
        costs = g["cost_musd"].fillna(INF)
        worst = g.loc[g["regret_musd"].idxmax(), "scenario"] if len(g) else None
        rows.append({
            "plan": plan,
            "optimal_in": int((chosen == plan).sum()),
            "feasible_in": int(np.isfinite(costs).sum()),
            "scenarios": len(g),
            "expected_cost_musd": float((costs * g["weight"]).sum()) if np.isfinite(costs).all() else INF,
            "max_regret_musd": float(g["regret_musd"].max()),
            "expected_regret_musd": float((g["regret_musd"] * g["weight"]).sum()),
            "worst_scenario": worst,
        })
    summary = pd.DataFrame(rows)
    if len(summary):
        summary["least_max_regret"] = summary["max_regret_musd"] == summary["max_regret_musd"].min()
        summary["least_expected_cost"] = summary["expected_cost_musd"] == summary["expected_cost_musd"].min()
    return regret.reset_index(drop=True), summary


def matrix(regret: pd.DataFrame, value: str = "regret_musd") -> pd.DataFrame:
    """The regret (or cost) matrix as a plan x scenario DataFrame."""
    return regret.pivot(index="plan", columns="scenario", values=value)


def _weights(scenarios: Sequence[str], weights: Mapping[str, float] | None) -> dict[str, float]:
    if weights is None:
        return {j: 1.0 / len(scenarios) for j in scenarios}
    total = float(sum(weights[j] for j in scenarios))
    return {j: float(weights[j]) / total for j in scenarios}

