"""A sweep batch's tables built from solution vectors (:mod:`optimizer.sweep.tables`) equal, part for part,
what the per-case pandas path wrote: ``extract_tables`` read out of the Pyomo model after each solve, the
frames stacked case after case, converted to arrow, written by the store. Compared on the parquet parts
both paths write (values exactly, NaN in the same places, schemas with their metadata), on random base-case
Monte Carlo cases, on cases that close plants, and on a batch mixing infeasible, error, time-limited and
rebuilt cases. Every KPI is also checked against its pandas formula as it stood before the shared
:func:`optimizer.results.kpi_values`.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import optimizer
from optimizer import load_scenario
from optimizer.location import resolve
from optimizer.results import KPI_UNITS, extract_tables
from optimizer.solver import SolveOutcome, Status
from optimizer.sweep.changes import SettingChange, TableChange
from optimizer.sweep.spec import Case, load_sweep
from optimizer.sweep.store import LONG_TABLES, write_batch
from optimizer.sweep.worker import KPI_COLUMNS, CaseResult, CaseSolver, _param_value, to_arrow, write_results

ROOT = Path(__file__).resolve().parents[1]
OPTIONS = optimizer.SolveOptions(threads=1, rel_gap=1e-3)
MONTE_CARLO = ROOT / "scenarios" / "sweeps" / "monte_carlo.yaml"


@pytest.fixture(scope="module")
def base():
    return load_scenario(ROOT / "scenarios" / "base")


@pytest.fixture(scope="module")
def sweep():
    return load_sweep(MONTE_CARLO)


def old_kpis(s, outcome, t: dict[str, pd.DataFrame]) -> dict[str, float]:
    """The KPI formulas on pandas as ``results._kpis`` wrote them before :func:`kpi_values` (the oracle)."""
    d, flows, unmet, capacity, costs = s.data, t["flows"], t["unmet"], t["capacity"], t["costs"]
    closures = t["builds"][t["builds"]["kind"] == "closure"]
    builds = t["builds"][t["builds"]["kind"] != "closure"]
    shipped = float(flows["gwh"].sum())
    demand = float(unmet["demand_gwh"].sum())
    co2 = float(sum(q * d.co2[p, y] for p, y, q in zip(flows["plant"], flows["year"], flows["gwh"])))
    return {
        "total_cost_musd": outcome.objective, "investment_cash_musd": float(builds["cash_musd"].sum()),
        "new_capacity_gwh": float(builds["gwh"].sum()), "openings": float((builds["kind"] == "opening").sum()),
        "expansion_steps": float(builds.loc[builds["kind"] == "step", "count"].sum()),
        "closures": float(len(closures)), "closure_cash_musd": float(closures["cash_musd"].sum()),
        "demand_gwh": demand, "served_gwh": shipped, "unmet_gwh": float(unmet["unmet_gwh"].sum()),
        "service_level": shipped / demand if demand > 0 else 1.0,
        "avg_landed_usd_per_kwh": float(flows["cost_musd"].sum()) / shipped if shipped > 0 else float("nan"),
        "co2_kt": co2,
        "avg_utilisation": float(capacity["production_gwh"].sum() / capacity["available_gwh"].sum())
        if capacity["available_gwh"].sum() > 0 else float("nan"),
        "nominal_cost_musd": float(costs["nominal_musd"].sum()), "lp_fixed_objective": float("nan"),
    }


def solve_both(worker: CaseSolver, cases: list[Case], first: int = 0) -> tuple[list[CaseResult], dict]:
    """Each case through the worker (the new path) and, right after its solve, ``extract_tables`` on the
    model it left (the per-case pandas path): the results and, by case index, the pandas tables."""
    results, old = [], {}
    for i, case in enumerate(cases, start=first):
        r = worker.solve(f"key-{i}", case)
        r.case_index = i
        results.append(r)
        if Status(r.status).has_solution:
            outcome = SolveOutcome(Status(r.status), r.objective, r.bound, r.gap, r.solve_seconds, "")
            tables = extract_tables(worker.model, outcome, {}, None)
            kpis = {k: float(v) for k, v in zip(tables["kpis"]["kpi"], tables["kpis"]["value"], strict=True)}
            old[i] = (tables, kpis, old_kpis(worker.model.scenario, outcome, tables))
    return results, old


def old_arrow(results: list[CaseResult], old: dict, names: tuple[str, ...], types: dict) -> dict:
    """The batch as the per-case pandas path converted it (its ``to_frames``, then the same ``to_arrow``)."""
    rows = []
    for r in results:
        row: dict[str, object] = {"case_index": r.case_index, "scenario_id": r.scenario_id, "case_key": r.case_key,
                                  "case": r.name}
        row.update({p: _param_value(r.params.get(p)) for p in names if p != "case"})
        row.update(status=r.status, objective=r.objective, bound=r.bound, gap=r.gap, solve_seconds=r.solve_seconds,
                   wall_seconds=r.wall_seconds, rebuilt=r.rebuilt, message=r.message, why_infeasible=r.why_infeasible)
        row.update({k: float("nan") for k in KPI_COLUMNS})
        row.update(old[r.case_index][1] if r.case_index in old else {})
        rows.append(row)
    frames = {"summary": pd.DataFrame(rows)}
    for name in LONG_TABLES:
        parts = []
        for r in results:
            if r.case_index in old and len(old[r.case_index][0][name]):
                t = old[r.case_index][0][name].copy()
                t.insert(0, "case_index", r.case_index)
                t.insert(1, "scenario_id", r.scenario_id)
                t.insert(2, "case_key", r.case_key)
                parts.append(t)
        frames[name] = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    return to_arrow_from(frames, names, types)


def to_arrow_from(frames: dict, names: tuple[str, ...], types: dict) -> dict:
    """``to_arrow`` on given frames (it takes results): the same conversion, by patching ``to_frames``."""
    import optimizer.sweep.worker as worker_module

    original = worker_module.to_frames
    worker_module.to_frames = lambda _results, _names: {k: v.copy() for k, v in frames.items()}
    try:
        return to_arrow([], names, types)
    finally:
        worker_module.to_frames = original


def assert_same_parts(tmp_path: Path, results: list[CaseResult], old: dict, names: tuple[str, ...],
                      types: dict) -> None:
    start, stop = min(r.case_index for r in results), max(r.case_index for r in results) + 1
    new_loc, old_loc = resolve(str(tmp_path / "new")), resolve(str(tmp_path / "old"))
    write_results(new_loc, start, stop, results, names, types)
    write_batch(old_loc, start, stop, old_arrow(results, old, names, types), {}, 0.0)
    for table in ("summary", *LONG_TABLES):
        new_parts = sorted((tmp_path / "new" / f"{table}.parquet").glob("part-*.parquet"))
        old_parts = sorted((tmp_path / "old" / f"{table}.parquet").glob("part-*.parquet"))
        assert len(new_parts) == len(old_parts) <= 1 and (table != "summary" or new_parts), table
        if not new_parts:  # no case of the batch has a solution: no long table, on either path
            continue
        a, b = pq.read_table(new_parts[0]), pq.read_table(old_parts[0])
        assert a.schema.equals(b.schema, check_metadata=True), (table, a.schema, b.schema)
        pd.testing.assert_frame_equal(a.to_pandas(), b.to_pandas(), check_exact=True, obj=table)


def assert_kpis_as_before(old: dict) -> None:
    for i, (_tables, shared, before) in old.items():
        assert list(shared) == list(KPI_UNITS)
        for k, v in before.items():
            assert shared[k] == v or (np.isnan(shared[k]) and np.isnan(v)), (i, k, shared[k], v)


def test_monte_carlo_batch_equals_the_pandas_path(base, sweep, tmp_path):
    picks = sorted(np.random.default_rng(3).choice(sweep.count(), 12, replace=False).tolist())
    cases = [c for i, c in enumerate(sweep.cases()) if i in set(picks)]
    worker = CaseSolver(base, OPTIONS, str(MONTE_CARLO))
    results, old = solve_both(worker, cases, first=40)
    assert len(old) == 12 and worker.rebuilds == 1
    assert_kpis_as_before(old)
    assert_same_parts(tmp_path, results, old, sweep.parameter_names, {p: "float" for p in sweep.parameter_names})


CLOSABLE = ("Zama", "Sunderland1", "Smyrna")


def test_batch_with_closures_failures_and_rebuilds_equals_the_pandas_path(base, sweep, tmp_path):
    """Closures (costly capacity kept or shut), a bad value (error), hard demand beyond every plant
    (infeasible, and a rebuild), an upfront-cost case (another rebuild), then back to the first structure."""
    rng = np.random.default_rng(11)
    closing = [Case(f"close-{i}", (), tuple(
        [TableChange("plants", "closure_cost_musd", "set", round(float(rng.uniform(0, 60)), 2), (("plant", (p,)),))
         for p in CLOSABLE] + [TableChange("demand", "vehicles", "scale", round(float(rng.uniform(0.7, 1.3)), 3))]),
        "sample") for i in range(4)]
    bad = Case("bad", (), (TableChange("plant_years", "availability", "scale", 3.0),), "case")
    infeasible = Case("infeasible", (), (SettingChange("demand", "set", "hard"),
                                         TableChange("demand", "vehicles", "scale", 40.0)), "case")
    upfront = Case("upfront", (), (SettingChange("investment_cost", "set", "upfront"),), "case")
    mc = list(itertools.islice(sweep.cases(), 2))
    cases = [closing[0], bad, closing[1], infeasible, upfront, mc[0], closing[2], mc[1], closing[3]]
    worker = CaseSolver(base, OPTIONS, str(MONTE_CARLO))
    results, old = solve_both(worker, cases)
    statuses = [r.status for r in results]
    assert statuses[1] == "error" and statuses[3] == "infeasible", statuses
    assert sum(r.rebuilt for r in results) >= 3  # the first, the infeasible structure, upfront, back
    assert any(len(t[0]["builds"].query("kind == 'closure'")) for t in old.values()), "no case closes a plant"
    assert_kpis_as_before(old)
    assert_same_parts(tmp_path, results, old, (), {})


def test_cases_stopped_early_equal_the_pandas_path(base, sweep, tmp_path):
    """Stopped before optimality with an incumbent (HiGHS told to stop at its first incumbent, status
    ``feasible`` as after a time limit) and by a time limit far below HiGHS's time (no incumbent, or one):
    the same parts as the pandas path."""
    names, types = sweep.parameter_names, {p: "float" for p in sweep.parameter_names}
    first = optimizer.SolveOptions(threads=1, rel_gap=0.0, extra={"mip_max_improving_sols": 1})
    results, old = solve_both(CaseSolver(base, first, str(MONTE_CARLO)), list(itertools.islice(sweep.cases(), 4)))
    assert "feasible" in {r.status for r in results}  # some may prove optimality from the warm start
    assert_kpis_as_before(old)
    assert_same_parts(tmp_path / "first", results, old, names, types)
    limited = optimizer.SolveOptions(threads=1, rel_gap=0.0, time_limit=0.01)
    results, old = solve_both(CaseSolver(base, limited, str(MONTE_CARLO)), list(itertools.islice(sweep.cases(), 4)))
    assert {r.status for r in results} <= {"feasible", "no_solution", "optimal"}
    assert_same_parts(tmp_path / "limited", results, old, names, types)
