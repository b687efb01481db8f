"""Failure isolation and determinism of sweeps, on the shared test Ray (2 CPUs).

* A case that hangs its worker (fault injection: ``tests/faults.py``) is stopped by the stall
  backstop, retried, and recorded as ``error`` with a message, while the other cases finish. (A case that
  crashes its worker is covered by ``test_sweep_ray.py::test_a_case_that_keeps_crashing_its_worker_ends_as_error``.)
* The same sweep gives the same statuses, objectives and build decisions run after run, and with 1 or 2
  workers (threads = 1 and a fixed HiGHS seed per worker); an infeasible case carries the same hand-derivable
  explanation in the summary's ``why_infeasible`` column every time.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from faults import faulty
from tiny import TinyCase

import optimizer
from optimizer.io import write_scenario
from optimizer.sweep.runner import run_sweep


def tiny_base(tmp_path: Path) -> Path:
    """2 years, hard demand of 6 then 9 GWh at A1. P1 exists (4 GWh, steps of 3 GWh for $60M, up to 3),
    candidate C (6 GWh for $100M, cheaper cells): the plan mixes steps and an opening."""
    case = (TinyCase(years=2)
            .plant("P1", capacity=4, cost=100, max_steps=3, step_gwh=3, step_cost_musd=60)
            .candidate("C", opening_capacity_gwh=6, opening_cost_musd=100, cost=90)
            .demand(gwh=[6, 9]))
    return write_scenario(case.scenario(), tmp_path / "base")


def write_sweep(tmp_path: Path, body: str, name: str = "rel") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"name: {name}\nbase: {tiny_base(tmp_path)}\ninclude_base: false\n"
                    f"options: {{time_limit: 20, rel_gap: 0}}\n{body}", encoding="utf-8")
    return path


@pytest.mark.slow
def test_a_case_that_hangs_its_worker_is_recorded_and_the_sweep_goes_on(ray_session, tmp_path):
    path = write_sweep(tmp_path, """cases:
  - {name: before, changes: [{table: demand, column: vehicles, op: scale, value: 0.5}]}
  - {name: hangs, changes: [{table: demand, column: vehicles, op: scale, value: 0.7}]}
  - {name: after, changes: [{table: demand, column: vehicles, op: scale, value: 0.9}]}
""")
    time_limit, grace = 2.0, 2.0
    run = run_sweep(path, tmp_path / "out", workers=2, time_limit=time_limit, batch_size=1, stall_grace=grace,
                    worker_class=faulty(stall_case="hangs"))
    summary = optimizer.load_results(tmp_path / "out").summary.set_index("case")
    assert run.total == 3 and len(summary) == 3
    assert summary.loc["hangs", "status"] == "error"
    assert summary.loc["hangs", "message"] == (
        f"worker stalled past {time_limit + grace:.0f} s and was stopped (3 attempts)")
    assert (summary.loc[["before", "after"], "status"] == "optimal").all()
    assert run.worker_restarts >= 3  # one replacement per stalled attempt


DETERMINISM = """axes:
  demand:
    values: [0.8, 1.0, 1.3, 2.5]
    change: {table: demand, column: vehicles, op: scale}
  capex:
    values: [0.5, 1.0, 2.0]
    change: [{table: plants, column: step_cost_musd, op: scale}, {table: plants, column: opening_cost_musd, op: scale}]
"""


def decisions(out: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    result = optimizer.load_results(out)
    summary = result.summary.sort_values("case_key").reset_index(drop=True)
    key = ["case_key", "plant", "kind", "start_year"]
    builds = result.builds.sort_values(key).reset_index(drop=True)[[*key, "count", "gwh"]]
    return summary, builds


@pytest.fixture(scope="module")
def three_runs(ray_session, tmp_path_factory):
    """The same 12-case sweep run twice with 2 workers and once with 1."""
    tmp = tmp_path_factory.mktemp("determinism")
    path = write_sweep(tmp, DETERMINISM)
    runs = []
    # "again" writes a part per case, so its summary is read from parts with and without explanations
    for label, workers, size in (("first", 2, 2), ("again", 2, 1), ("one-worker", 1, None)):
        run_sweep(path, tmp / label, workers=workers, batch_size=size)
        runs.append(decisions(tmp / label))
    return runs


@pytest.mark.slow
def test_same_results_across_runs_and_worker_counts(three_runs):
    (summary, builds), *others = three_runs
    assert len(summary) == 12
    assert len(builds) > 0 and {"step", "opening"} <= set(builds["kind"])  # the plans do build
    for other_summary, other_builds in others:
        assert list(other_summary["case_key"]) == list(summary["case_key"])
        assert list(other_summary["scenario_id"]) == list(summary["scenario_id"])
        assert list(other_summary["status"]) == list(summary["status"])
        assert list(other_summary["why_infeasible"]) == list(summary["why_infeasible"])
        feasible = summary["status"] == "optimal"
        assert other_summary.loc[feasible, "objective"].to_numpy() == pytest.approx(
            summary.loc[feasible, "objective"].to_numpy(), rel=1e-9)
        pd.testing.assert_frame_equal(other_builds, builds)  # exactly the same decisions


@pytest.mark.slow
def test_infeasible_cases_explain_themselves_in_the_summary(three_runs):
    """Most either plant can make in a year: P1 4 + 3 steps x 3 = 13 GWh, C 6 GWh (lead time 0), so 19 GWh.
    Demand x2.5 is 15 GWh in 2026 (feasible) and 22.5 GWh in 2027: 3.5 GWh of capacity short in 2027,
    whatever the budget. Every other case is feasible, and its why_infeasible cell is empty."""
    summary, _ = three_runs[0]
    infeasible = summary["demand"] == 2.5
    assert infeasible.sum() == 3
    assert (summary.loc[infeasible, "status"] == "infeasible").all()
    assert (summary.loc[~infeasible, "status"] == "optimal").all()
    assert (summary.loc[~infeasible, "why_infeasible"] == "").all()
    assert pd.api.types.is_string_dtype(summary["why_infeasible"])
    for text in summary.loc[infeasible, "why_infeasible"]:
        lines = text.split("; ")
        match = [re.fullmatch(r"(P1|C) 2027: ([0-9.]+) GWh of cell capacity short", line) for line in lines]
        assert all(match), text
        assert sum(float(m.group(2)) for m in match) == pytest.approx(2.5 * 9 - (4 + 3 * 3 + 6))
