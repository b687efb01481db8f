"""The sweep worker's MIP start: HiGHS is offered the base scenario's own optimum before each case.

The start may only change how fast HiGHS proves a case, never what the case is: each case's result must
stay within the sweep's gap of the cold solve's, and the same whatever cases the worker solved before
(the start is the base's optimum, not the previous case's), so a re-run or a resumed sweep gives the
same numbers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import optimizer
from optimizer import load_scenario
from optimizer.model.params import param_groups
from optimizer.sweep.apply import apply_changes
from optimizer.sweep.push import param_vector
from optimizer.sweep.spec import load_sweep
from optimizer.sweep.worker import CaseSolver

ROOT = Path(__file__).resolve().parents[1]
GAP = 1e-3  # the shipped Monte Carlo sweep's gap
OPTIONS = optimizer.SolveOptions(threads=1, rel_gap=GAP, seed=0)


@pytest.fixture(scope="module")
def base():
    return load_scenario(ROOT / "scenarios" / "base")


@pytest.fixture(scope="module")
def cases():
    sweep = load_sweep(ROOT / "scenarios" / "sweeps" / "monte_carlo.yaml")
    return [c for _, c in zip(range(6), sweep.cases(), strict=False)]


def _objectives(solver: CaseSolver, cases) -> dict[str, float]:
    out = {}
    for case in cases:
        got = solver.solve(case.name, case)
        assert got.status == "optimal", got.message
        out[case.name] = got.objective
    return out


def test_the_start_is_the_base_optimum_and_is_offered(base, cases):
    worker = CaseSolver(base, OPTIONS)
    _objectives(worker, cases[:2])
    push = worker.push
    assert push is not None and push.start is not None and len(push.start) == len(push.columns)
    # priced at the base scenario's costs, the start is worth the base's optimum (within the gap)
    push.push(param_vector(worker.push_keys, param_groups(base)))
    lp = push.highs.getLp()
    worth = float(np.dot(lp.col_cost_, push.start)) + float(lp.offset_)
    alone = optimizer.solve(base, OPTIONS)
    assert alone.objective is not None
    assert worth == pytest.approx(alone.objective, rel=GAP)
    cold = CaseSolver(base, OPTIONS, warm_start=False)
    _objectives(cold, cases[:2])
    assert cold.push is not None and cold.push.start is None


def test_warm_and_cold_agree_within_the_gap(base, cases):
    warm = _objectives(CaseSolver(base, OPTIONS), cases)
    cold = _objectives(CaseSolver(base, OPTIONS, warm_start=False), cases)
    for case in cases:
        fresh = optimizer.solve(apply_changes(base, case.changes), OPTIONS)
        assert warm[case.name] == pytest.approx(cold[case.name], rel=GAP)
        assert warm[case.name] == pytest.approx(fresh.objective, rel=GAP)


def test_a_case_does_not_depend_on_the_cases_before_it(base, cases):
    forward = _objectives(CaseSolver(base, OPTIONS), cases)
    backward = _objectives(CaseSolver(base, OPTIONS), list(reversed(cases)))
    assert forward == backward  # bit for bit: the start does not carry one case into the next
