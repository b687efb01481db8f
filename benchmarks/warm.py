"""MIP starts, on and off, in one run (``python -m benchmarks.warm [cases] [futures]``; issue 14 item 5).

1. **Sweep workers** (base-case Monte Carlo, ``scenarios/sweeps/monte_carlo.yaml``, its gap 1e-3, one
   HiGHS thread): three :class:`optimizer.sweep.worker.CaseSolver` s solve the same cases, interleaved
   case by case so that the machine's load falls on all three alike: no start; the base scenario's optimum
   offered before every case (what the sweep does); the previous case's optimum offered (for comparison).
2. **Robust cross-evaluation** (:func:`optimizer.robust.plans.evaluate_plans`: each plan fixed in turn,
   the rest re-solved): the plans of the first ``futures`` Monte Carlo cases, evaluated in the next
   ``futures`` cases without a start and with the previous plan's optimum offered.

Printed per variant: HiGHS's median time per solve, the total, the median of the paired ratio to no start
(case by case, the robust figure against load drift), the largest objective difference to no start, and how
many started runs handed back a point that was not their incumbent and were re-solved without the start
(:meth:`optimizer.sweep.push.ParameterPush.solve`; their time is included).
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Callable
from pathlib import Path

import highspy
import pandas as pd

import optimizer
from optimizer.robust import plans as plan_module
from optimizer.solver import new_solver
from optimizer.sweep.apply import apply_changes
from optimizer.sweep.spec import load_sweep
from optimizer.sweep.worker import CaseSolver

ROOT = Path(__file__).resolve().parents[1]
OPTIONS = optimizer.SolveOptions(threads=1, rel_gap=1e-3, seed=0)


def _row(what: str, variant: str, seconds: list[float], objectives: list[float | None],
         cold_seconds: list[float], cold_objectives: list[float | None]) -> dict:
    """Figures of one variant against the no-start variant, over the same solves; the first solve of
    each worker (a build, no start yet) is left out of the timing."""
    pairs = [(s, c) for s, c in zip(seconds[1:], cold_seconds[1:], strict=True) if c > 0]
    diff = max((abs(o - c) / abs(c) for o, c in zip(objectives, cold_objectives, strict=True)
                if o is not None and c is not None and c), default=0.0)
    return {"what": what, "variant": variant, "solves": len(seconds) - 1,
            "median HiGHS ms": 1000 * statistics.median(seconds[1:]), "total HiGHS s": sum(seconds[1:]),
            "paired median vs no start": statistics.median(s / c for s, c in pairs),
            "max rel objective diff": diff}


def sweep_rows(count: int) -> list[dict]:
    sweep = load_sweep(ROOT / "scenarios" / "sweeps" / "monte_carlo.yaml")
    base = sweep.load_base()
    cases = [c for _, c in zip(range(count), sweep.cases(), strict=False)]
    solvers = {"no start": CaseSolver(base, OPTIONS, warm_start=False),
               "base optimum (the sweep's choice)": CaseSolver(base, OPTIONS),
               "previous case's optimum": CaseSolver(base, OPTIONS, warm_start=False)}
    seconds: dict[str, list[float]] = {k: [] for k in solvers}
    objectives: dict[str, list[float | None]] = {k: [] for k in solvers}
    previous = solvers["previous case's optimum"]
    for case in cases:
        for name, solver in solvers.items():
            got = solver.solve(case.name, case)
            seconds[name].append(got.solve_seconds)
            objectives[name].append(got.objective)
        if previous.push is not None and previous.push.highs.getInfo().primal_solution_status == 2:
            previous.push.start = previous.push.incumbent()
    refused = {name: s.push.start_refused if s.push is not None else 0 for name, s in solvers.items()}
    return [_row("sweep worker", name, seconds[name], objectives[name], seconds["no start"],
                 objectives["no start"]) | {"started runs re-solved cold": refused[name]} for name in solvers]


def _offering(solve_model: Callable, offer: dict) -> Callable:
    """``solve_model`` that offers the last incumbent of the same HiGHS instance as a MIP start when
    ``offer["on"]``."""
    incumbents: dict[int, list[float]] = {}

    def solve(m, options, solver=None):
        solver = solver or new_solver()
        highs = solver._solver_model
        if offer["on"] and highs is not None and id(highs) in incumbents:
            start = highspy.HighsSolution()
            start.col_value = incumbents[id(highs)]
            start.value_valid = True
            highs.setSolution(start)
        outcome, solver = solve_model(m, options, solver)
        if outcome.status.has_solution:
            incumbents[id(solver._solver_model)] = list(solver._solver_model.getSolution().col_value)
        return outcome, solver

    return solve


def robust_rows(futures: int) -> list[dict]:
    sweep = load_sweep(ROOT / "scenarios" / "sweeps" / "monte_carlo.yaml")
    base = sweep.load_base()
    scenarios = [apply_changes(base, c.changes) for _, c in zip(range(2 * futures), sweep.cases(), strict=False)]
    plans = [plan_module.Plan.from_builds(optimizer.solve(s, OPTIONS).tables["builds"]) for s in scenarios[:futures]]
    offer = {"on": False}
    original = plan_module.solve_model
    plan_module.solve_model = _offering(original, offer)
    seconds: dict[str, list[float]] = {"no start": [], "previous plan's optimum": []}
    objectives: dict[str, list[float | None]] = {k: [] for k in seconds}
    try:
        for scenario in scenarios[futures:]:
            for name in seconds:
                offer["on"] = name != "no start"
                for e in plan_module.evaluate_plans(scenario, plans, OPTIONS):
                    seconds[name].append(e.solve_seconds)
                    objectives[name].append(e.cost)
    finally:
        plan_module.solve_model = original
    return [_row("robust cross-evaluation", name, seconds[name], objectives[name], seconds["no start"],
                 objectives["no start"]) for name in seconds]


def main(argv: list[str]) -> None:
    count = int(argv[0]) if argv else 80
    futures = int(argv[1]) if len(argv) > 1 else 6
    table = pd.DataFrame(sweep_rows(count) + robust_rows(futures))
    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.float_format", "{:.4g}".format):
        print(table.to_string(index=False))


if __name__ == "__main__":
    main(sys.argv[1:])
