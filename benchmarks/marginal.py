"""The marginal-value LP (fixed-integer LP re-solve) against the MILP it prices, in one run:
``python -m benchmarks.marginal [P A V T ...]`` (default: one 20x20x4x10 synthetic instance, ~12,000 variables).

For each seeded synthetic instance it prints HiGHS's MILP time (1 thread, gap 1e-4), the in-place LP
(:func:`optimizer.solver.fixed_lp_duals`: integrality cleared and the integer columns fixed on the same HiGHS
instance) started from the MILP's incumbent (what ``optimizer.solve`` does) and from scratch, and the older
route (fix and relax the integers in Pyomo and re-solve through the persistent interface, which re-reads the
model), each as a share of the MILP's time."""

from __future__ import annotations

import sys
import time

import pyomo.environ as pyo

from optimizer.model import build_model
from optimizer.model.variables import integer_vars
from optimizer.solver import SolveOptions, fixed_lp_duals, solve_model

from .synthetic import synthetic_scenario

OPTIONS = SolveOptions(threads=1)


def pyomo_route_seconds(m: pyo.ConcreteModel, solver) -> float:
    """Seconds of the older route: fix and relax in Pyomo, re-solve through the persistent interface."""
    t = time.perf_counter()
    saved = []
    for var in integer_vars(m):
        for v in var.values():
            saved.append((v, v.domain, v.fixed))
            v.fix(round(v.value or 0.0))
            v.domain = pyo.Reals
    try:
        res = solver.solve(m, load_solutions=False, raise_exception_on_nonoptimal_result=False,
                           solver_options=OPTIONS.highs_options())
        res.solution_loader.get_duals()
    finally:
        for v, domain, fixed in saved:
            v.domain = domain
            if not fixed:
                v.unfix()
    return time.perf_counter() - t


def main(argv: list[str]) -> None:
    sizes = [tuple(int(x) for x in argv[i:i + 4]) for i in range(0, len(argv), 4)] or [(20, 20, 4, 10)]
    print("| instance | variables | MILP HiGHS s | LP in place, started s | share | LP in place, from scratch s "
          "| share | LP through Pyomo s | share |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for p, a, v, t in sizes:
        m = build_model(synthetic_scenario(p, a, v, t, seed=0))
        outcome, solver = solve_model(m, OPTIONS)
        seconds = []
        for start in (True, False):
            clock = time.perf_counter()
            fixed_lp_duals(m, solver, OPTIONS, start=start)
            seconds.append(time.perf_counter() - clock)
        seconds.append(pyomo_route_seconds(m, solver))
        mip = outcome.solve_seconds
        print(f"| synthetic {p}x{a}x{v}x{t} | {m.nvariables():,} | {mip:.2f} | "
              + " | ".join(f"{s:.3f} | {s / mip:.2%}" for s in seconds) + " |", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
