"""The documentation cannot drift from the code.

* ``docs/data.md`` is exactly what :func:`optimizer.docs.render_data_reference` renders from the schema;
* every Pyomo variable, constraint, expression and objective the model creates (on a small scenario in
  which every family exists) and every one the model code assigns is named in ``docs/formulation.md``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pyomo.environ as pyo
import pytest
import yaml

from optimizer import scenario_from_tables
from optimizer.config import ScenarioConfig
from optimizer.docs import REGENERATE, render_data_reference
from optimizer.model import build_model

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
MODEL_SOURCES = ROOT / "optimizer" / "model"
COMPONENT_TYPES = (pyo.Var, pyo.Constraint, pyo.Expression, pyo.Objective)

YEARS = [2026, 2027, 2028]


def _all_families_scenario():
    """Three years, an expandable existing plant that may close, a candidate site, a second existing plant with a
    take-or-pay commitment, an assembly plant with a capacity and a supplier-share cap, a local-content
    rule, a per-year tariff, budgets per year and in total, a CO2 cap, soft demand and single sourcing: every
    family exists."""
    plants = pd.DataFrame([
        dict(plant="P1", region="EU", country="FR", cell_types="NMC", status="existing", step_gwh=2,
             step_cost_musd=20, max_steps=3, lead_time_years=1, ramp="0.5", fixed_om_musd_per_gwh=0.1,
             may_close="yes", closure_cost_musd=5.0, earliest_closure=2027),
        dict(plant="P2", region="EU", country="FR", cell_types="NMC", status="candidate", opening_capacity_gwh=10,
             opening_cost_musd=50, lead_time_years=1, step_gwh=5, step_cost_musd=10, max_steps=2),
        dict(plant="P3", region="US", country="US", cell_types="NMC", status="existing"),
    ])
    capacity = {"P1": 5.0, "P2": 0.0, "P3": 4.0}
    cost = {"P1": 100.0, "P2": 80.0, "P3": 110.0}
    plant_years = pd.DataFrame([
        dict(plant=p, year=t, capacity_gwh=capacity[p], cell_cost_usd_per_kwh=cost[p], co2_kg_per_kwh=50.0,
             credit_usd_per_kwh=35.0 if p == "P3" else 0.0, min_offtake_gwh=1.0 if p == "P3" else 0.0)
        for p in plants["plant"] for t in YEARS
    ])
    assembly = pd.DataFrame([
        dict(assembly="A1", region="EU", country="FR", max_supplier_share=0.8),
        dict(assembly="A2", region="US", country="US"),
    ])
    assembly_years = pd.DataFrame([
        dict(assembly=a, year=t, capacity_vehicles=200_000.0 if a == "A1" else float("nan"))
        for a in ("A1", "A2") for t in YEARS
    ])
    models = pd.DataFrame([dict(model="M1", cell_type="NMC", pack_kwh=50.0),
                           dict(model="M2", cell_type="NMC", pack_kwh=60.0)])
    demand = pd.DataFrame([dict(assembly=a, model=v, year=t, vehicles=50_000.0)
                           for a, v in (("A1", "M1"), ("A1", "M2"), ("A2", "M1")) for t in YEARS])
    lanes = pd.DataFrame([
        dict(plant=p, assembly=a, freight_usd_per_kwh=5.0 if p == "P3" else 1.0,
             tariff_rate=0.1 if (p == "P3") != (a == "A2") else 0.0)
        for p in ("P1", "P2", "P3") for a in ("A1", "A2")
    ])
    rules = pd.DataFrame([dict(rule="US-local", assemblies="A2", plants="P3", min_share=0.5, from_year=2027)])
    years = pd.DataFrame([dict(year=t, capex_budget_musd=100.0, carbon_price_usd_per_t=50.0, co2_cap_kt=1000.0)
                          for t in YEARS])
    lane_years = pd.DataFrame([dict(plant="P3", assembly="A1", year=2028, tariff_rate=0.25)])
    tables = {"plants": plants, "plant_years": plant_years, "assembly": assembly, "assembly_years": assembly_years,
              "models": models, "demand": demand, "lanes": lanes, "lane_years": lane_years, "rules": rules,
              "years": years}
    config = dict(name="all-families", start_year=YEARS[0], end_year=YEARS[-1], discount_rate=0.05, demand="soft",
                  single_sourcing=True, total_budget_musd=200.0)
    return scenario_from_tables(tables, config)


def _documented(name: str, text: str) -> bool:
    """``name`` appears as a code name: `name` or `name[...`."""
    return re.search(rf"`{re.escape(name)}(`|\[)", text) is not None


@pytest.fixture(scope="module")
def formulation() -> str:
    return (DOCS / "formulation.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def model() -> pyo.ConcreteModel:
    return build_model(_all_families_scenario())


def test_data_reference_is_up_to_date():
    path = DOCS / "data.md"
    assert path.is_file(), f"docs/data.md is missing; generate it with `{REGENERATE}`"
    assert path.read_text(encoding="utf-8") == render_data_reference(), (
        f"docs/data.md is out of date with optimizer/schema.py / optimizer/config.py; regenerate it with "
        f"`{REGENERATE}` (and do not edit it by hand)"
    )


def test_every_setting_is_described():
    assert "(undocumented)" not in render_data_reference(), (
        "a scenario.yaml setting has no description: add it to CONFIG_DESCRIPTIONS in optimizer/docs.py "
        f"(or a Field description in optimizer/config.py), then run `{REGENERATE}`"
    )


def test_yaml_example_in_data_reference_is_valid():
    text = render_data_reference()
    match = re.search(r"```yaml\n(.*?)```", text, re.S)
    assert match, "the settings example is missing from the data reference"
    ScenarioConfig(**yaml.safe_load(match.group(1)))


def test_every_family_exists_in_the_test_scenario(model):
    empty = [c.name for c in model.component_objects(COMPONENT_TYPES) if len(c) == 0]
    assert not empty, f"the all-families scenario leaves these components empty: {empty}"


def test_every_model_component_is_in_the_formulation(model, formulation):
    names = sorted({c.name for c in model.component_objects(COMPONENT_TYPES)})
    assert len(names) >= 20
    missing = [n for n in names if not _documented(n, formulation)]
    assert not missing, f"docs/formulation.md does not document these Pyomo components: {missing}"


def test_every_component_assigned_in_the_model_code_is_in_the_formulation(formulation):
    """Also families that only exist under settings the test scenario does not use."""
    pattern = re.compile(r"\bm\.(\w+)\s*=\s*pyo\.(?:Var|Constraint|Expression|Objective)\b")
    names = sorted({n for f in MODEL_SOURCES.glob("*.py") for n in pattern.findall(f.read_text(encoding="utf-8"))})
    assert "demand_balance" in names and "total_cost" in names  # the pattern still matches the code
    missing = [n for n in names if not _documented(n, formulation)]
    assert not missing, f"docs/formulation.md does not document these Pyomo components: {missing}"
