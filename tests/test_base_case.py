"""The shipped base case: it solves to optimality, and the audit recomputes every constraint family
from the written tables and finds no violation beyond 1e-6 relative."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import optimizer
from optimizer.audit import TOLERANCE, audit_result

BASE = Path(__file__).resolve().parents[1] / "scenarios" / "base"
FAMILIES = {"flow_domain", "demand_balance", "plant_capacity", "assembly_capacity", "open_once", "expansion_limit",
            "capex_budget", "total_budget", "open_link", "local_content", "supplier_share", "min_offtake", "co2_cap",
            "single_sourcing", "close_once", "closure_flow", "closed_steps", "objective"}


@pytest.fixture(scope="module")
def base() -> optimizer.Scenario:
    return optimizer.load_scenario(BASE)


@pytest.fixture(scope="module")
def written(base, tmp_path_factory) -> optimizer.SolveResult:
    """The base case solved, written to parquet and read back: the audit reads the files."""
    result = optimizer.solve(base, optimizer.SolveOptions(threads=2))
    out = result.write(tmp_path_factory.mktemp("base"))
    return optimizer.load_results(out)


def test_base_case_solves_optimal(written):
    assert written.status == optimizer.Status.OPTIMAL
    assert written.gap <= 1e-4
    assert len(written.builds) > 0, "the base case should fund some expansion"


def test_audit_of_base_case_finds_no_violation(base, written):
    report = audit_result(base, written)
    assert set(report["family"]) == FAMILIES
    assert report["violations"].sum() == 0, report.to_string()
    assert (report["worst"] <= TOLERANCE).all()
    active = set(report.loc[report["checked"] > 0, "family"])
    assert {"demand_balance", "plant_capacity", "assembly_capacity", "capex_budget", "local_content",
            "close_once", "closure_flow", "objective"} <= active


def every_family_active(s: optimizer.Scenario, written: optimizer.SolveResult) -> optimizer.Scenario:
    """The base case with the optional families switched on, each tight enough to bind somewhere:
    a CO2 cap 3 % under each year's base-case emissions, a 90 % supplier cap at three assembly plants,
    a take-or-pay at Wuxi, a total budget, and single sourcing."""
    f = written.flows.merge(s.table("plant_years")[["plant", "year", "co2_kg_per_kwh"]], on=["plant", "year"])
    emissions = (f["gwh"] * f["co2_kg_per_kwh"]).groupby(f["year"]).sum()
    years = s.table("years")
    years["co2_cap_kt"] = years["year"].map(0.97 * emissions)
    asm = s.table("assembly")
    asm.loc[asm["assembly"].isin(["Sunderland", "Tochigi", "Douai"]), "max_supplier_share"] = 0.9
    py = s.table("plant_years")
    py.loc[py["plant"] == "Wuxi", "min_offtake_gwh"] = 4.0
    return s.derive({"years": years, "assembly": asm, "plant_years": py}, total_budget_musd=1000.0)


@pytest.mark.parametrize("single_sourcing", [False, True])
def test_audit_with_every_family_active(base, written, single_sourcing):
    variant = every_family_active(base, written).derive(single_sourcing=single_sourcing)
    result = optimizer.solve(variant, optimizer.SolveOptions(threads=2))
    assert result.status == optimizer.Status.OPTIMAL
    assert result.objective > written.objective  # the extra rules cost something
    report = audit_result(variant, result).set_index("family")
    assert report["violations"].sum() == 0, report.to_string()
    families = ["co2_cap", "supplier_share", "min_offtake", "total_budget"]
    families += ["single_sourcing"] if single_sourcing else []
    for family in families:
        assert report.loc[family, "checked"] > 0, family


def test_audit_catches_a_tampered_table(base, written):
    """The audit is not vacuous: a flow pushed past its plant's capacity, or an unmet GWh dropped, is found."""
    flows = written.flows.copy()
    busiest = written.capacity.sort_values("utilisation", ascending=False).iloc[0]
    row = flows.index[(flows["plant"] == busiest["plant"]) & (flows["year"] == busiest["year"])][0]
    flows.loc[row, "gwh"] += 1.0
    tampered = optimizer.SolveResult(written.scenario, written.status, written.objective, written.bound,
                                     written.gap, {**written.tables, "flows": flows}, written.manifest)
    report = audit_result(base, tampered).set_index("family")
    assert report.loc["plant_capacity", "violations"] >= 1
    assert report.loc["demand_balance", "violations"] >= 1
    assert report.loc["objective", "violations"] >= 1


def test_workbook_loads_the_same_scenario(base, tmp_path):
    book = optimizer.write_scenario(base, tmp_path / "base.xlsx")
    again = optimizer.load_scenario(book)
    assert again.inputs_sha256 == base.inputs_sha256
    for name, frame in base.tables.items():
        pd.testing.assert_frame_equal(again.tables[name], frame, check_dtype=False)


def test_every_number_has_a_source():
    """Each numeric input column of the base case carries a `<column>_source` column beside it."""
    from optimizer.schema import TABLES

    for table in TABLES:
        path = BASE / table.file
        if not path.exists():
            continue
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        for col in table.columns:
            if col.kind in ("float", "int", "ramp") and col.name in frame and col.name != "year":
                filled = frame[col.name].str.strip() != ""
                if not filled.any():
                    continue
                assert f"{col.name}_source" in frame, f"{table.file}: {col.name} has no source column"
                sources = frame.loc[filled, f"{col.name}_source"].str.strip()
                assert (sources != "").all(), f"{table.file}: {col.name} has a number without a source"
