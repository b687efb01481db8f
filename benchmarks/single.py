"""Single solves: where the time of ``optimizer.solve`` goes, against HiGHS alone on the same model.

For one scenario, :func:`measure` runs ``optimizer.solve`` (marginal values included: the fixed-integer LP,
re-solved in place on the same HiGHS instance) and splits its wall time:

* ``build_s``: the Pyomo model build;
* ``handoff_s``: the model handed to HiGHS and the solution back (the solve call minus HiGHS's own time):
  ``compile_s`` (the standard form, :func:`optimizer.highs_direct.compile_model`), ``pass_s`` (bounds,
  integrality and the one ``passModel`` call) and ``load_s`` (the incumbent into the Pyomo variables);
* ``highs_s``: HiGHS's run time as HiGHS reports it;
* ``duals_s``: the fixed-integer LP for the marginal values;
* ``extract_s``: result tables from the solution;
* ``total_s``: the whole call; ``overhead`` = (total - HiGHS) / HiGHS.

Then the model HiGHS held is exported as MPS and solved by highspy directly with the same options
(``direct_s``: HiGHS's run time; ``direct_wall_s`` includes reading the file): the physical limit of the
stack. ``vs_direct`` = total / direct_s.

:func:`compare_handoff` (``python -m benchmarks.single P A V T [P A V T ...] [--no-solve]``) sets the new
hand-off against the persistent interface's (``pyomo.contrib.solver``'s HiGHS, which the sweep keeps) on the
same synthetic instance in one run: old hand-off = that solve call minus HiGHS's time (model in, solution
back), new = the same for :func:`optimizer.highs_direct.solve_direct`; with ``--no-solve``, only the model
into HiGHS (persistent ``set_instance`` against compile + ``passModel``), nothing solved.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import highspy

import optimizer
from optimizer.highs_direct import compile_model, pass_model, solve_direct
from optimizer.model import build_model
from optimizer.scenario import Scenario
from optimizer.solver import SolveOptions, fixed_lp_duals, new_solver, solve_model

from .synthetic import synthetic_scenario

HIGHS_OPTIMAL = "Optimal"


def direct_highspy(mps: Path, options: SolveOptions) -> dict[str, object]:
    """Solve an MPS file with highspy alone, with the options ``optimizer`` would pass."""
    h = highspy.Highs()
    t = time.perf_counter()
    for name, value in options.highs_options().items():
        h.setOptionValue(name, value)
    h.readModel(str(mps))
    h.run()
    wall = time.perf_counter() - t
    info = h.getInfo()
    return {"direct_s": float(h.getRunTime()), "direct_wall_s": wall,
            "direct_status": h.modelStatusToString(h.getModelStatus()),
            "direct_objective": float(info.objective_function_value)}


def measure(name: str, scenario: Scenario, options: SolveOptions, optimum: float | None = None,
            direct: bool = True) -> dict[str, object]:
    """One row of the single-solve table (see the module docstring)."""
    with tempfile.TemporaryDirectory() as tmp:
        mps = Path(tmp) / "model.mps"
        t = time.perf_counter()
        result = optimizer.solve(scenario, options, duals=True, mps_path=mps if direct else None)
        total = time.perf_counter() - t
        man = result.manifest
        timings = man["timings"]
        highs = float(man["solve_seconds"])
        # writing the MPS file happens inside the call but is not part of a solve: take it out
        export = timings.get("mps_seconds", 0.0)
        total -= export
        row: dict[str, object] = {
            "instance": name,
            "variables": man["model_size"]["variables"],
            "constraints": man["model_size"]["constraints"],
            "status": result.status.value,
            "objective": result.objective,
            "gap": result.gap,
            "optimum": optimum,
            "build_s": timings["build_seconds"],
            "handoff_s": timings["solve_call_seconds"] - highs,
            "compile_s": timings.get("compile_seconds"),
            "pass_s": timings.get("pass_seconds"),
            "load_s": timings.get("load_seconds"),
            "highs_s": highs,
            "duals_s": timings["lp_duals_seconds"],
            "extract_s": timings["extract_seconds"],
            "total_s": total,
            "overhead": (total - highs) / highs if highs > 0 else None,
        }
        if direct:
            row.update(direct_highspy(mps, options))
            row["vs_direct"] = total / row["direct_s"] if row["direct_s"] else None
    return row


def compare_handoff(dims: tuple[int, int, int, int], options: SolveOptions, solve: bool = True) -> dict[str, object]:
    """Old (persistent interface) and new (one-call) hand-off on ``synthetic_scenario(*dims)``, each on its own
    freshly built model, in this order: old, new. With ``solve``: both solve and compute the marginal values
    (``*_highs_s`` HiGHS's MILP time, ``*_duals_s`` the fixed-integer LP in place); else only the model in."""
    scenario = synthetic_scenario(*dims)
    row: dict[str, object] = {"instance": "synthetic " + "x".join(map(str, dims))}
    t = time.perf_counter()
    m = build_model(scenario)
    row["build_s"] = time.perf_counter() - t
    row["variables"], row["constraints"] = m.nvariables(), m.nconstraints()
    if solve:
        t = time.perf_counter()
        outcome, solver = solve_model(m, options)
        call = time.perf_counter() - t
        row.update(old_status=outcome.status.value, old_objective=outcome.objective, old_highs_s=outcome.solve_seconds,
                   old_handoff_s=call - outcome.solve_seconds)
        t = time.perf_counter()
        fixed_lp_duals(m, solver, options)
        row["old_duals_s"] = time.perf_counter() - t
    else:
        t = time.perf_counter()
        new_solver().set_instance(m)
        row["old_handoff_s"] = time.perf_counter() - t
    del m
    m = build_model(scenario)
    if solve:
        t = time.perf_counter()
        outcome, direct = solve_direct(m, options)
        call = time.perf_counter() - t
        assert direct is not None
        row.update(new_status=outcome.status.value, new_objective=outcome.objective, new_highs_s=outcome.solve_seconds,
                   new_handoff_s=call - outcome.solve_seconds, **{k.replace("_seconds", "_s"): v
                                                                 for k, v in direct.timings.items()})
        t = time.perf_counter()
        direct.lp_duals()
        row["new_duals_s"] = time.perf_counter() - t
    else:
        t = time.perf_counter()
        form = compile_model(m)
        row["compile_s"] = time.perf_counter() - t
        t = time.perf_counter()
        pass_model(form, options)
        row["pass_s"] = time.perf_counter() - t
        row["new_handoff_s"] = float(row["compile_s"]) + float(row["pass_s"])  # type: ignore[arg-type]
    row["handoff_new_over_old"] = float(row["new_handoff_s"]) / float(row["old_handoff_s"])  # type: ignore[arg-type]
    return row


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.single", description=compare_handoff.__doc__)
    parser.add_argument("dims", nargs="*", type=int, help="P A V T for each synthetic instance (default 20 20 4 10)")
    parser.add_argument("--no-solve", action="store_true", help="hand-off only: the model into HiGHS, no solve")
    parser.add_argument("--whole", action="store_true", help="also time the whole optimizer.solve (new route)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--gap", type=float, default=1e-4)
    args = parser.parse_args(argv)
    dims = args.dims or [20, 20, 4, 10]
    if len(dims) % 4:
        parser.error("give P A V T for each instance")
    options = SolveOptions(threads=args.threads, rel_gap=args.gap)
    t = time.perf_counter()
    compile_model(build_model(synthetic_scenario(2, 2, 1, 2)))  # first use imports scipy: once per process
    print(f"first compile in this process (scipy import included): {time.perf_counter() - t:.2f} s", flush=True)
    for k in range(0, len(dims), 4):
        d = (dims[k], dims[k + 1], dims[k + 2], dims[k + 3])
        row = compare_handoff(d, options, solve=not args.no_solve)
        print(" ".join(f"{key}={value:.3f}" if isinstance(value, float) else f"{key}={value}"
                       for key, value in row.items()), flush=True)
        if args.whole:
            whole = measure(str(row["instance"]), synthetic_scenario(*d), options, direct=False)
            print("  optimizer.solve: " + " ".join(f"{key}={value:.3f}" if isinstance(value, float) else
                                                   f"{key}={value}" for key, value in whole.items()), flush=True)


if __name__ == "__main__":
    main()
