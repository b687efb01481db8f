"""How far the extensive form of the two-stage programme goes: size, build and HiGHS time by scenario count.

    python -m benchmarks.extensive_form [SWEEP.yaml] [--counts 10 25 50] [--threads 2] [--time-limit 1800]

Takes the first K cases of the sweep (default: the 1,000 Monte Carlo futures of the base case), builds
the extensive form (one copy of the base-case model per future, every build shared) and solves it with
HiGHS. Prints one row per K: variables, constraints, integer variables, Pyomo build seconds, HiGHS
seconds, status, gap, peak RSS of this process. Figures only: nothing is asserted.
"""

from __future__ import annotations

import argparse
import itertools
import resource
import time
from pathlib import Path

import pyomo.environ as pyo

from optimizer.io import load_scenario
from optimizer.robust.stochastic import extensive_form
from optimizer.solver import SolveOptions, solve_model
from optimizer.sweep.apply import apply_changes
from optimizer.sweep.spec import load_sweep

DEFAULT_SWEEP = Path("scenarios/sweeps/monte_carlo.yaml")


def measure(sweep_file: Path, count: int, options: SolveOptions) -> dict:
    sweep = load_sweep(sweep_file)
    base = load_scenario(sweep.base_path)
    cases = list(itertools.islice(sweep.cases(), count))
    scenarios = {c.name: apply_changes(base, c.changes) for c in cases}
    t = time.perf_counter()
    ef = extensive_form(scenarios, {k: 1.0 for k in scenarios})
    build = time.perf_counter() - t
    t = time.perf_counter()
    outcome, _ = solve_model(ef, options)
    wall = time.perf_counter() - t
    integers = sum(1 for v in ef.component_data_objects(pyo.Var) if v.is_integer())
    return {"scenarios": len(cases), "variables": ef.nvariables(), "constraints": ef.nconstraints(),
            "integers": integers, "build_s": build, "solve_call_s": wall, "highs_s": outcome.solve_seconds,
            "status": outcome.status.value, "objective": outcome.objective, "gap": outcome.gap,
            "nodes": outcome.nodes, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sweep", nargs="?", type=Path, default=DEFAULT_SWEEP)
    parser.add_argument("--counts", type=int, nargs="+", default=[10, 25, 50])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--time-limit", type=float, default=1800.0)
    parser.add_argument("--gap", type=float, default=1e-4)
    args = parser.parse_args()
    options = SolveOptions(time_limit=args.time_limit, rel_gap=args.gap, threads=args.threads, seed=0)
    header = ("scenarios", "variables", "constraints", "integers", "build_s", "highs_s", "status", "gap", "nodes",
              "peak_rss_mb")
    print(" | ".join(header))
    for count in args.counts:
        row = measure(args.sweep, count, options)
        cells = [f"{row[h]:.3g}" if isinstance(row[h], float) else str(row[h]) for h in header]
        print(" | ".join(cells), flush=True)


if __name__ == "__main__":
    main()
