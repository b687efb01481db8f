"""Per-scenario wall of a sweep worker against HiGHS, and the tables built off its path
(``python -m benchmarks.sweep_tables [count] [batch]``, issue 14 item 4, one process, no Ray).

One :class:`~optimizer.sweep.worker.CaseSolver` solves ``count`` base-case Monte Carlo cases (after its one
build); per case: the worker's wall from the case's start to its solution vector (``wall_seconds``) and
HiGHS's own time (``solve_seconds``). Then the cases' tables and KPIs are built as a worker writes them, in
batches of ``batch`` (:func:`~optimizer.sweep.worker.to_arrow`), and, for comparison, by the per-case pandas
path (``extract_tables`` on the model after each solve, timed in the same loop but outside the wall).
"""

from __future__ import annotations

import itertools
import sys
import time
from pathlib import Path

import numpy as np

from optimizer.io import load_scenario
from optimizer.results import extract_tables
from optimizer.solver import SolveOptions, SolveOutcome, Status
from optimizer.sweep.spec import load_sweep
from optimizer.sweep.worker import CaseSolver, to_arrow

MONTE_CARLO = Path(__file__).resolve().parents[1] / "scenarios" / "sweeps" / "monte_carlo.yaml"


def measure(count: int = 100, batch: int = 8) -> dict[str, float]:
    sweep = load_sweep(MONTE_CARLO)
    base = load_scenario(sweep.base_path)
    options = SolveOptions(time_limit=120, rel_gap=float(dict(sweep.options).get("rel_gap", 1e-4)), threads=1)
    worker = CaseSolver(base, options, str(sweep.path))
    cases = list(itertools.islice(sweep.cases(), count + 1))
    worker.solve("first", cases[0])  # the one build
    results, pandas_ms = [], []
    for i, case in enumerate(cases[1:]):
        r = worker.solve(str(i), case)
        r.case_index = i
        results.append(r)
        t = time.perf_counter()
        extract_tables(worker.model, SolveOutcome(Status(r.status), r.objective, r.bound, r.gap, 0.0, ""), {}, None)
        pandas_ms.append(1000 * (time.perf_counter() - t))
    names, types = sweep.parameter_names, {p: "float" for p in sweep.parameter_names}
    t = time.perf_counter()
    for k in range(0, len(results), batch):
        to_arrow(results[k:k + batch], names, types)
    tables_ms = 1000 * (time.perf_counter() - t) / len(results)
    wall = np.array([r.wall_seconds for r in results]) * 1000
    highs = np.array([r.solve_seconds for r in results]) * 1000
    return {"cases": len(results), "median_wall_ms": float(np.median(wall)), "median_highs_ms": float(np.median(highs)),
            "median_wall_over_highs": float(np.median(wall / highs)),
            "wall_of_medians_over_highs": float(np.median(wall) / np.median(highs)),
            "batch_tables_ms_per_case": tables_ms, "pandas_tables_ms_per_case": float(np.median(pandas_ms)),
            "statuses": dict(zip(*np.unique([r.status for r in results], return_counts=True)))}


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    for k, v in measure(*args).items():
        print(f"{k}: {v:.2f}" if isinstance(v, float) else f"{k}: {v}")
