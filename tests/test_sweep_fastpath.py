"""The sweep worker's fast path gives exactly what a fresh build gives.

A worker keeps one model, resolves each case on arrays (:mod:`optimizer.sweep.arrays`; the Monte Carlo's
changes are all parameter changes), pushes the changed parameters straight into HiGHS
(:class:`optimizer.sweep.push.ParameterPush`); the pandas path re-checks only the edited columns of the
case's tables (:func:`optimizer.validate.revalidate_columns`). Every change kind: tests/test_sweep_arrays.py.
Here 20 random Monte Carlo cases of the base case go through one worker and through ``optimizer.solve``
on the fully re-validated scenario: same objective (rel 1e-6), same build plan, same scenario id.
Solved to a zero gap, so each side's optimum is the optimum.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import optimizer
from optimizer import InputError, load_scenario
from optimizer.robust.plans import Plan, evaluate_plans
from optimizer.sweep.apply import apply_changes
from optimizer.sweep.cases import scenario_id
from optimizer.sweep.changes import TableChange
from optimizer.sweep.push import ParameterPush, param_vector
from optimizer.sweep.spec import Case, load_sweep
from optimizer.sweep.worker import CaseSolver

ROOT = Path(__file__).resolve().parents[1]
OPTIONS = optimizer.SolveOptions(threads=1, rel_gap=0.0)
CASES = 20


@pytest.fixture(scope="module")
def base():
    return load_scenario(ROOT / "scenarios" / "base")


@pytest.fixture(scope="module")
def cases():
    sweep = load_sweep(ROOT / "scenarios" / "sweeps" / "monte_carlo.yaml")
    picks = set(np.random.default_rng(5).choice(sweep.count(), CASES, replace=False).tolist())
    return [c for i, c in enumerate(sweep.cases()) if i in picks]


def _plan(builds: pd.DataFrame) -> list[tuple]:
    return sorted(zip(builds["plant"], builds["kind"], builds["start_year"], builds["count"].round(6)))


def _same_plan_or_a_tie(got_builds: pd.DataFrame, fresh, scenario) -> None:
    """The worker's plan is the fresh solve's, or another plan of the same cost: the worker offers HiGHS a
    MIP start (the base's optimum), which can lead it to a different one of several optimal plans. Then
    that plan, fixed in the fresh model of the case, must cost the optimum."""
    if _plan(got_builds) == _plan(fresh.builds):
        return
    [evaluation] = evaluate_plans(scenario, [Plan.from_builds(got_builds)], OPTIONS)
    assert evaluation.cost == pytest.approx(fresh.objective, rel=1e-6), (_plan(got_builds), _plan(fresh.builds))


def _full_validation(base, case):
    """The case's scenario re-validated table by table (the path before the column-only re-check)."""
    fast = apply_changes(base, case.changes)
    return base.derive({n: f for n, f in fast.tables.items() if f is not base.tables.get(n)},
                       **fast.config.model_dump())


def test_fast_path_equals_a_fresh_build(base, cases):
    worker = CaseSolver(base, OPTIONS)
    for i, case in enumerate(cases):
        got = worker.solve(str(i), case)
        assert got.status == "optimal", got.message
        assert got.rebuilt == (i == 0)  # one build, then every case through the push
        assert worker.arrays is not None and worker.arrays.resolve(case.changes) is not None  # on arrays
        scenario = apply_changes(base, case.changes)
        assert got.scenario_id == scenario_id(scenario, OPTIONS.as_dict())
        fresh = optimizer.solve(scenario, OPTIONS, duals=False)
        assert got.objective == pytest.approx(fresh.objective, rel=1e-6)
        _same_plan_or_a_tie(got.tables["builds"], fresh, scenario)
    assert worker.push is not None and worker.rebuilds == 1


def test_column_recheck_equals_full_validation(base, cases):
    for case in cases[:5]:
        fast = apply_changes(base, case.changes)
        full = _full_validation(base, case)
        assert fast.inputs_sha256 == full.inputs_sha256
        for name, frame in full.tables.items():
            # dtypes may differ where a column is all blank (None as loaded, Int64 NA once re-validated)
            pd.testing.assert_frame_equal(fast.tables[name], frame, check_dtype=False)


def test_column_recheck_still_rejects_bad_values(base):
    too_high = TableChange("plant_years", "availability", "scale", 3.0)
    with pytest.raises(InputError) as err:
        apply_changes(base, [too_high])
    assert {p.rule for p in err.value.problems} == {"range"}


def test_push_evaluates_every_entry_as_pyomo_would(base, cases):
    """After a push, each pushed HiGHS entry equals Pyomo's own evaluation of its expression."""
    worker = CaseSolver(base, OPTIONS)
    worker.solve("0", cases[0])
    push: ParameterPush = worker.push
    scenario = apply_changes(base, cases[1].changes)
    from optimizer.model.params import param_groups

    push.push(param_vector(push.param_keys(), param_groups(scenario)))
    lp = push.highs.getLp()
    costs = np.asarray(lp.col_cost_)
    objective = worker.solver._mutable_objective
    pyomo_costs = np.array([pyo_value(c.expr) for c in objective.linear_coefs])
    assert np.allclose(costs[push.cost_idx], pyomo_costs, rtol=1e-12, atol=1e-12)
    assert push.highs.getInfo().objective_function_value is not None
    lo, up = np.asarray(lp.row_lower_), np.asarray(lp.row_upper_)
    for con, helpers in worker.solver._mutable_helpers.items():
        row = worker.solver._pyomo_con_to_solver_con_map[con]
        for h in helpers:
            if hasattr(h, "lower_expr"):
                assert lo[row] == pytest.approx(pyo_value(h.lower_expr), rel=1e-12, abs=1e-12)
                assert up[row] == pytest.approx(pyo_value(h.upper_expr), rel=1e-12, abs=1e-12)


def pyo_value(expr) -> float:
    from pyomo.environ import value

    return float(value(expr))


def test_param_vector_follows_the_keys(base):
    keys = [("penalty", 0), ("demand", next(iter(base.data.demand_gwh)))]
    from optimizer.model.params import param_groups

    groups = param_groups(base)
    got = param_vector(keys, groups)
    assert got.tolist() == [base.config.unserved_penalty_usd_per_kwh, next(iter(base.data.demand_gwh.values()))]


def test_first_cases_share_filters(base, cases):
    """The worker keeps each filter's rows: after two cases the cache holds every filter of the sweep."""
    worker = CaseSolver(base, OPTIONS)
    for i, case in enumerate(itertools.islice(cases, 2)):
        worker.solve(str(i), case)
    filters = {(ch.table, ch.where) for ch in cases[0].changes if isinstance(ch, TableChange)}
    assert filters <= set(worker.masks)


CLOSABLE = ("Zama", "Sunderland1", "Smyrna")


def _schedule_cases(base, n: int) -> list[Case]:
    """``n`` random cases of per-year tariffs and closure costs: for each of the China -> EU, UK and US
    lane groups, a duty in [0, 0.6] from a random step year on (its rows in ``lane_years``); for each
    closable plant a closure cost in [0, 60] $M (around the fixed O&M it saves, so that closures come
    and go); and a scale in [0.7, 1.3] on every demand (so that capacity, and the closures, matter)."""
    rng = np.random.default_rng(13)
    years = base.years
    cases = []
    for i in range(n):
        changes: list = []
        for region in ("EU", "UK", "US"):
            step = int(rng.integers(years[0], years[-1] + 1))
            changes.append(TableChange("lane_years", "tariff_rate", "set", round(float(rng.uniform(0, 0.6)), 4),
                                       (("plant.region", ("CN",)), ("assembly.region", (region,)),
                                        ("year", tuple(range(step, years[-1] + 1))))))
        for plant in CLOSABLE:
            changes.append(TableChange("plants", "closure_cost_musd", "set", round(float(rng.uniform(0, 60)), 2),
                                       (("plant", (plant,)),)))
        changes.append(TableChange("demand", "vehicles", "scale", round(float(rng.uniform(0.7, 1.3)), 3)))
        cases.append(Case(f"schedule-{i:02d}", (), tuple(changes), "sample"))
    return cases


@pytest.mark.slow
def test_fast_path_equals_a_fresh_build_on_tariff_schedules_and_closure_costs(base):
    """20 random cases changing per-year tariffs (``lane_years``) and closure costs: one worker (one
    build, then the push) and a fresh solve of each case give the same objective and the same plan,
    closures included; the cases do close plants in some years and keep them in others."""
    worker = CaseSolver(base, OPTIONS)
    closures_seen = set()
    for i, case in enumerate(_schedule_cases(base, CASES)):
        got = worker.solve(str(i), case)
        assert got.status == "optimal", got.message
        assert got.rebuilt == (i == 0)
        scenario = apply_changes(base, case.changes)
        fresh = optimizer.solve(scenario, OPTIONS, duals=False)
        assert got.objective == pytest.approx(fresh.objective, rel=1e-6)
        _same_plan_or_a_tie(got.tables["builds"], fresh, scenario)
        closures_seen.add(tuple(sorted(_plan(fresh.builds[fresh.builds["kind"] == "closure"]))))
    assert worker.push is not None and worker.rebuilds == 1
    assert len(closures_seen) > 1, "the random closure costs should change which plants close"
