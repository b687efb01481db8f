"""The Python entry point: ``optimizer.solve(...)`` returns a :class:`~optimizer.results.SolveResult`."""

from __future__ import annotations

import gc
import platform
import time
from importlib import metadata
from pathlib import Path

from pyomo.common.gc_manager import PauseGC

from .explain import explain_infeasible, lp_conflict
from .folders import read_solve
from .highs_direct import solve_direct
from .io import load_scenario
from .location import resolve
from .model import build_model
from .model.context import SourcingModel
from .results import SolveResult, empty_tables, extract_tables
from .review import use_folder_reader
from .scenario import Scenario
from .solver import SolveOptions, Status
from .sweep.cases import scenario_id
from .sweep.dataset import SweepResult
from .unserved import unserved_summary

DEFAULT_SCENARIO = Path("scenarios/base")
"""The default scenario as the command line shows it: ``scenarios/base`` where it exists under the current
folder, else the base case packaged with the library (:data:`PACKAGED_BASE`)."""
PACKAGED_BASE = Path(__file__).resolve().parent / "scenarios" / "base"


def default_scenario() -> Path:
    """``scenarios/base`` under the current folder if there is one, else the packaged base case."""
    return DEFAULT_SCENARIO if DEFAULT_SCENARIO.is_dir() else PACKAGED_BASE


def versions() -> dict[str, str]:
    """Versions of Python and of the packages that shape a result."""
    out = {"python": platform.python_version()}
    for pkg in ("battery-sourcing-optimizer", "pyomo", "highspy", "pandas", "pyarrow"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def solve(
    scenario: Scenario | str | Path | None = None,
    options: SolveOptions | None = None,
    *,
    mps_path: str | Path | None = None,
    duals: bool = True,
) -> SolveResult:
    """Load (if given a path; by default :func:`default_scenario`), build, solve and extract one scenario.

    A time-limited, infeasible or failed solve returns a result with that status and empty tables;
    bad input raises :class:`~optimizer.errors.InputError`. An infeasible scenario is explained
    (:func:`~optimizer.explain.explain_infeasible`) in ``manifest["why_infeasible"]``, a list of sentences
    (``None`` for any other status), and ``manifest["lp_conflict"]`` names the rows of HiGHS's IIS of the
    LP relaxation (``[]``: the relaxation is feasible, only whole openings and steps conflict). ``duals``
    adds the LP re-solve with the integer decisions fixed, which prices capacity and demand
    (``capacity.marginal_value_usd_per_kwh``).
    """
    wall0 = time.perf_counter()
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(default_scenario() if scenario is None else scenario)
    options = options or SolveOptions()
    timings: dict[str, float] = {}

    # The model (hundreds of thousands of Pyomo objects) stays alive for the whole solve, so a collection that
    # scanned it would find nothing; yet with the collector running, the first collections after the build scan
    # all of it (new objects start in the youngest generation and move up one pass at a time): 0.5 s at 202,400
    # variables in a fresh process, 1.1 s in a process holding more. So the heap is frozen right after the
    # build (no collection in between) and unfrozen at the end: it then joins the oldest generation, where the
    # next full collection frees the model's reference cycles once the caller drops it, a pass the model needs
    # with or without the freeze.
    t = time.perf_counter()
    with PauseGC():
        m = build_model(scenario)
        gc.freeze()
    timings["build_seconds"] = time.perf_counter() - t
    try:
        return _solve_built(scenario, options, m, timings, wall0, mps_path, duals)
    finally:
        gc.unfreeze()


def _solve_built(scenario: Scenario, options: SolveOptions, m: SourcingModel, timings: dict[str, float],
                 wall0: float, mps_path: str | Path | None, duals: bool) -> SolveResult:
    """:func:`solve` after the build: hand-off, HiGHS, marginal values, explanation, tables, manifest."""
    model_size = {"variables": m.nvariables(), "constraints": m.nconstraints()}

    t = time.perf_counter()
    outcome, direct = solve_direct(m, options)  # the model handed to HiGHS in one call, solved on highspy
    timings["solve_call_seconds"] = time.perf_counter() - t
    if direct is not None:
        timings.update(direct.timings)
    if mps_path is not None and direct is not None:
        t = time.perf_counter()
        direct.write_mps(mps_path)
        timings["mps_seconds"] = time.perf_counter() - t

    lp_objective: float | None = None
    dual_values: dict = {}
    t = time.perf_counter()
    if duals and outcome.status.has_solution and direct is not None:
        lp_objective, dual_values = direct.lp_duals()
    timings["lp_duals_seconds"] = time.perf_counter() - t

    why: list[str] | None = None
    conflict: list[str] | None = None
    if outcome.status == Status.INFEASIBLE:
        t = time.perf_counter()
        # the one model built serves both: the LP relaxation gives it back as built, the elastic re-solve
        # then turns it into the elastic model (its tables are empty: nothing else reads it)
        conflict = lp_conflict(scenario, options, model=m)
        why = explain_infeasible(scenario, options, model=m)
        timings["explain_seconds"] = time.perf_counter() - t

    t = time.perf_counter()
    tables = extract_tables(m, outcome, dual_values, lp_objective) if outcome.status.has_solution else empty_tables()
    timings["extract_seconds"] = time.perf_counter() - t

    manifest = {
        "scenario": scenario.name,
        "description": scenario.config.description,
        "settings": scenario.config.model_dump(mode="json", exclude={"sources", "name", "description"}),
        "source": _absolute(scenario.origin),
        "status": outcome.status.value,
        "termination": outcome.termination,
        "objective": outcome.objective,
        "bound": outcome.bound,
        "gap": outcome.gap,
        "solve_seconds": outcome.solve_seconds,
        "wall_seconds": time.perf_counter() - wall0,
        "mip_nodes": outcome.nodes,
        "lp_fixed_objective": lp_objective,
        "why_infeasible": why,
        "lp_conflict": conflict,
        "unserved": unserved_summary(tables["unmet"], tables["costs"], scenario.config.unserved_penalty_usd_per_kwh),
        "inputs_sha256": scenario.inputs_sha256,
        "scenario_id": scenario_id(scenario, options.as_dict()),
        "warnings": [str(w) for w in scenario.warnings],
        "options": options.as_dict(),
        "model_size": model_size,
        "timings": timings,
        "versions": versions(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    return SolveResult(scenario.name, outcome.status, outcome.objective, outcome.bound, outcome.gap, tables, manifest)


def _absolute(origin: str) -> str:
    """A folder or workbook path made absolute, so that `optimizer audit` finds it from any folder."""
    return origin if origin.startswith("<") else str(Path(origin).resolve())




def load_results(path: str | Path) -> SolveResult | SweepResult:
    """Read a result folder back: a solve (:class:`~optimizer.results.SolveResult`) or a sweep
    (:class:`~optimizer.sweep.dataset.SweepResult`, with ``summary`` and the long tables carrying a
    ``scenario_id`` column)."""
    loc = resolve(str(path))  # a folder, or an s3:// / gs:// URI
    if loc.is_file("sweep.json"):
        return SweepResult(str(path))
    if loc.local:
        return SolveResult.read(Path(loc.root))
    return read_solve(loc)  # a solve written to an object store


# the review analyses compare with a result folder through this reader (they sit below both kinds of result)
use_folder_reader(load_results)

__all__ = ["solve", "load_results", "SolveOptions", "Status", "DEFAULT_SCENARIO"]
