"""The registry of constraint families holds the model, the explanation and the audit together: a family
the model builds but the registry lacks, or one without its audit check or (for a business rule) its elastic
weight and sentence, fails here."""

from __future__ import annotations

import re

import pyomo.environ as pyo
import pytest

import optimizer
from optimizer import explain
from optimizer.audit import audit_result
from optimizer.model import build_model
from optimizer.model.context import FIRST_STAGE, SourcingModel
from optimizer.model.families import FAMILIES, relaxable

try:  # tests/ on sys.path (pytest's default "prepend" import mode, no tests/__init__.py)
    from test_docs import _all_families_scenario
except ImportError:  # tests imported as a package
    from tests.test_docs import _all_families_scenario

# the structural rows an explanation never relaxes (explain.py's docstring says why)
HARD = {"open_once", "expansion_limit", "open_link", "single_sourcing", "close_once", "closure_flow", "closed_steps"}


def unregistered(m: pyo.Block) -> list[str]:
    """Constraint components of ``m`` that no family of the registry builds."""
    known = {name for f in FAMILIES for name in f.component_names}
    return sorted(c.local_name for c in m.component_objects(pyo.Constraint, descend_into=False)
                  if c.local_name not in known)


@pytest.fixture(scope="module")
def scenario() -> optimizer.Scenario:
    return _all_families_scenario()


@pytest.fixture(scope="module")
def model(scenario) -> SourcingModel:
    return build_model(scenario)


def test_every_constraint_of_the_model_is_a_family_of_the_registry(model):
    assert isinstance(model, SourcingModel)
    assert unregistered(model) == []
    built = {c.local_name for c in model.component_objects(pyo.Constraint, descend_into=False)}
    assert [f.name for f in FAMILIES if not set(f.component_names) <= built] == []


def test_a_constraint_outside_the_registry_is_found(scenario):
    m = build_model(scenario)
    m.rogue_rule = pyo.Constraint(expr=m.flow[next(iter(m.flow))] <= 1.0)
    assert unregistered(m) == ["rogue_rule"]


def test_every_family_has_an_audit_check_and_the_audit_runs_them_all(scenario):
    assert all(callable(f.audit) for f in FAMILIES)
    result = optimizer.solve(scenario, optimizer.SolveOptions(threads=1))
    assert result.status.has_solution
    report = audit_result(scenario, result)
    assert list(report["family"]) == ["flow_domain", *(f.name for f in FAMILIES), "objective"]
    assert report["violations"].sum() == 0, report.to_string()


def test_every_business_rule_is_relaxed_and_explained():
    names = [f.name for f in relaxable()]
    assert set(names) | HARD == {f.name for f in FAMILIES} and not set(names) & HARD
    assert all(f.elastic_weight and f.elastic_weight > 0 and callable(f.explain) for f in relaxable())
    assert sorted(f.elastic_rank for f in relaxable()) == list(range(len(names)))
    assert list(explain.WEIGHTS) == names
    # the table of the explanation's docstring states the weights the registry holds
    for f in relaxable():
        row = re.search(rf"^``{f.name}``.*?(\S+)$", explain.__doc__ or "", re.M)
        assert row and float(row.group(1)) == f.elastic_weight, f.name


def test_the_elastic_model_relaxes_the_rows_of_every_business_family(scenario):
    m = build_model(scenario.derive(demand="hard"))
    rows = explain._add_slack(m, hard_demand=True)
    assert {family for family, _, _ in rows} == {f.name for f in relaxable()}


def test_the_first_stage_is_declared_once(model):
    assert [f.var for f in FIRST_STAGE] == ["open", "steps", "close"]
    assert [f.kind for f in FIRST_STAGE] == ["opening", "step", "closure"]
    for f in FIRST_STAGE:
        var = f.of(model)
        assert len(var) > 0 and all(v.is_integer() for v in var.values())
        assert all(v.ub == f.upper(model.d.plants[p]) for (p, _s), v in var.items())
