"""The input side of a sweep case, pandas path against array path, in one process and one run.

    python -m benchmarks.sweep_input [COUNT]      # COUNT base-case Monte Carlo cases (default 60)

Two workers (:class:`optimizer.sweep.worker.CaseSolver`) solve the same cases, interleaved case by case:
one resolving every case on pandas tables (its array path switched off), one on arrays
(:mod:`optimizer.sweep.arrays`). Printed: the median of each input step per case on both paths (timed
apart from the solves, on the same cases), then each worker's median wall per case, median HiGHS time
and their ratio.
"""

from __future__ import annotations

import itertools
import sys
import time
from pathlib import Path

import pandas as pd

from optimizer.io import load_scenario
from optimizer.model.params import param_groups, structure_key
from optimizer.solver import SolveOptions
from optimizer.sweep.apply import apply_changes
from optimizer.sweep.cases import scenario_id, scenario_id_of
from optimizer.sweep.push import param_vector
from optimizer.sweep.spec import load_sweep
from optimizer.sweep.worker import CaseSolver

MONTE_CARLO = Path(__file__).resolve().parents[1] / "scenarios" / "sweeps" / "monte_carlo.yaml"


def _ms(fn, sink: list[float]):
    t = time.perf_counter()
    out = fn()
    sink.append(1000 * (time.perf_counter() - t))
    return out


def run(count: int = 60) -> tuple[pd.DataFrame, pd.DataFrame]:
    sweep = load_sweep(MONTE_CARLO)
    base = load_scenario(sweep.base_path)
    options = SolveOptions(time_limit=120, rel_gap=float(dict(sweep.options).get("rel_gap", 1e-4)), threads=1)
    pandas_worker = CaseSolver(base, options, str(sweep.path))
    pandas_worker.arrays = None
    array_worker = CaseSolver(base, options, str(sweep.path))
    cases = list(itertools.islice(sweep.cases(), count + 1))
    for w in (pandas_worker, array_worker):
        w.solve("first", cases[0])  # the one build
    assert array_worker.arrays is not None and array_worker.push is not None
    keys = array_worker.push_keys
    opts = options.as_dict()
    steps: dict[str, dict[str, list[float]]] = {"pandas": {}, "arrays": {}}

    def timed(path: str, step: str, fn):
        return _ms(fn, steps[path].setdefault(step, []))

    whole: dict[str, list[tuple[float, float]]] = {"pandas": [], "arrays": []}
    for i, case in enumerate(cases[1:]):
        # the input steps, apart from the solves
        s = timed("pandas", "resolve the changes (apply_changes, re-check)",
                  lambda c=case: apply_changes(base, c.changes, masks=pandas_worker.masks))
        timed("pandas", "scenario id (inputs hash)", lambda s=s: scenario_id(s, opts))
        timed("pandas", "model data (Scenario.data)", lambda s=s: s.data)
        timed("pandas", "structure key", lambda s=s: structure_key(s))
        timed("pandas", "parameter vector", lambda s=s: param_vector(keys, param_groups(s)))
        r = timed("arrays", "resolve the changes (apply_changes, re-check)",
                  lambda c=case: array_worker.arrays.resolve(c.changes))
        assert r is not None
        timed("arrays", "scenario id (inputs hash)", lambda r=r: scenario_id_of(r.inputs_sha256, opts))
        timed("arrays", "model data (Scenario.data)", r.scenario)
        steps["arrays"].setdefault("structure key", []).append(0.0)
        timed("arrays", "parameter vector", lambda r=r: r.vector(keys))
        # the whole case, each worker in turn (the order alternates)
        order = (pandas_worker, array_worker) if i % 2 == 0 else (array_worker, pandas_worker)
        for w in order:
            got = w.solve(str(i), case)
            assert got.status == "optimal" and not got.rebuilt, got.message
            whole["pandas" if w is pandas_worker else "arrays"].append((got.wall_seconds, got.solve_seconds))
    rows = []
    for step in steps["pandas"]:
        rows.append({"step": step, "pandas_ms": pd.Series(steps["pandas"][step]).median(),
                     "arrays_ms": pd.Series(steps["arrays"][step]).median()})
    rows.append({"step": "input side, sum", "pandas_ms": sum(r["pandas_ms"] for r in rows),
                 "arrays_ms": sum(r["arrays_ms"] for r in rows)})
    per_case = []
    for path, pairs in whole.items():
        frame = pd.DataFrame(pairs, columns=["wall", "highs"])
        wall, highs = 1000 * frame["wall"].median(), 1000 * frame["highs"].median()
        per_case.append({"worker": path, "cases": len(frame), "median_wall_ms": wall, "median_highs_ms": highs,
                         "wall_over_highs": wall / highs,
                         "median_wall_minus_highs_ms": 1000 * (frame["wall"] - frame["highs"]).median()})
    return pd.DataFrame(rows), pd.DataFrame(per_case)


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 60
    steps, per_case = run(count)
    with pd.option_context("display.width", 200, "display.precision", 2):
        print(steps.to_string(index=False))
        print()
        print(per_case.to_string(index=False))


if __name__ == "__main__":
    main()
