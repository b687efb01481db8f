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
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..scenario import Scenario
from ..solver import SolveOptions
from ..sweep.apply import apply_changes
from ..sweep.cases import Case
from ..sweep.runner import connect_ray, import_ray
from .plans import Plan, evaluate_plans

EVALUATION_COLUMNS = ["plan", "scenario", "status", "cost_musd", "solve_seconds", "skipped_builds", "message"]
INF = math.inf


def evaluate_case(base: Scenario, case: Case, plans: Sequence[Plan], options: dict, source: str) -> list[tuple]:
    """Rows of :data:`EVALUATION_COLUMNS` (plan given by its position) for one case of a sweep."""
    scenario = apply_changes(base, case.changes, source=source)
    evaluations = evaluate_plans(scenario, plans, SolveOptions(**options))
    return [(i, case.name, e.status.value, e.cost, e.solve_seconds, e.skipped_builds, "")
            for i, e in enumerate(evaluations)]


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
    """C[i,j] for every plan i and case j, one Ray task per case (it builds j's model once and
    re-solves it under each plan), at most two tasks per worker in flight. A task whose worker dies
    is retried by Ray (3 times); a case that still fails gets status ``error`` for every plan."""

    ray = import_ray(address)
    from ray.exceptions import RayError

    started_here = connect_ray(address, workers)
    try:
        n_workers = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        task = ray.remote(num_cpus=1, max_retries=3)(evaluate_case)
        plan_ids, plan_list = list(plans), list(plans.values())
        base_ref, plans_ref = ray.put(base), ray.put(plan_list)
        opts = options.as_dict()
        pending = list(reversed(cases))
        inflight: dict = {}
        rows: list[tuple] = []
        while pending or inflight:
            while pending and len(inflight) < 2 * n_workers:
                case = pending.pop()
                inflight[task.remote(base_ref, case, plans_ref, opts, source)] = case
            ready, _ = ray.wait(list(inflight), num_returns=1)
            for ref in ready:
                case = inflight.pop(ref)
                try:
                    rows.extend(ray.get(ref))
                except RayError as exc:
                    message = str(exc).strip().splitlines()[-1][:200]
                    rows.extend((i, case.name, "error", None, 0.0, 0, message) for i in range(len(plan_list)))
    finally:
        if started_here:
            ray.shutdown()
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

