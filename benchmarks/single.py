"""Single solves: where the time of ``optimizer.solve`` goes, against HiGHS alone on the same model.

For one scenario, :func:`measure` runs ``optimizer.solve`` (marginal values included: the fixed-integer LP,
re-solved in place on the same HiGHS instance) and splits its wall time:

* ``build_s``: the Pyomo model build;
* ``handoff_s``: the persistent interface loading the model into HiGHS and the solution back
  (the solve call minus HiGHS's own time);
* ``highs_s``: HiGHS's run time as HiGHS reports it;
* ``duals_s``: the fixed-integer LP for the marginal values;
* ``extract_s``: result tables from the solution;
* ``total_s``: the whole call; ``overhead`` = (total - HiGHS) / HiGHS.

Then the model HiGHS held is exported as MPS and solved by highspy directly with the same options
(``direct_s``: HiGHS's run time; ``direct_wall_s`` includes reading the file): the physical limit of the
stack. ``vs_direct`` = total / direct_s.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import highspy

import optimizer
from optimizer.scenario import Scenario
from optimizer.solver import SolveOptions

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
