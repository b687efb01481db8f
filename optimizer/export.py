"""Result tables out to Excel or CSV: `optimizer export RESULT_DIR out.xlsx | outdir/`.

A solve exports its six tables (``flows``, ``builds``, ``capacity``, ``costs``, ``unmet``, ``kpis``), a
sweep its ``summary`` and long tables; a workbook starts with an ``about`` sheet (what the result is, one
row per column with its unit and meaning) and carries each column's unit as a note on its header cell.
A CSV folder holds one ``<table>.csv`` per table and ``about.csv``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

from .api import load_results
from .sweep.dataset import SweepResult
from .xlsx import write_workbook

UNITS_BY_SUFFIX: tuple[tuple[str, str], ...] = (
    ("_usd_per_kwh", "$/kWh"),
    ("_musd", "$M"),
    ("_gwh", "GWh"),
    ("_vehicles", "vehicles"),
    ("_kt", "ktCO2"),
    ("_seconds", "s"),
    ("_year", "year"),
)
UNITS: dict[str, str] = {
    "gwh": "GWh", "vehicles": "vehicles", "year": "year", "count": "sites or steps", "utilisation": "fraction",
    "objective": "$M (discounted)", "bound": "$M (discounted)", "gap": "fraction", "service_level": "fraction",
    "avg_utilisation": "fraction", "openings": "sites", "expansion_steps": "steps",
}
MEANINGS: dict[str, str] = {
    "flows": "cells shipped per plant, assembly plant, model and year, with the landed cost by part",
    "builds": "openings and expansion steps started, with the cash they cost",
    "capacity": "capacity, production, utilisation and marginal value of capacity per plant and year",
    "costs": "cost per year and category, nominal and discounted (the discounted costs add up to the objective)",
    "unmet": "demand, served and unserved per assembly plant, model and year",
    "kpis": "key indicators of the plan",
    "summary": "one row per scenario of the sweep: parameters, status, objective, KPIs",
}


def unit_of(column: str) -> str:
    """A result column's unit, from its name (docs/results.md lists them all)."""
    if column in UNITS:
        return UNITS[column]
    for suffix, unit in UNITS_BY_SUFFIX:
        if column.endswith(suffix):
            return unit
    return "-"


def _tables(result_dir: Path) -> tuple[dict[str, pd.DataFrame], list[tuple[str, str]]]:
    """The tables of a result folder, and (field, value) lines saying what it is."""
    result = load_results(result_dir)
    if isinstance(result, SweepResult):
        meta = json.loads((result_dir / "sweep.json").read_text(encoding="utf-8"))
        tables = {name: result.tables[name] for name in ("summary", "flows", "builds", "capacity", "costs", "unmet")}
        head = [("sweep", str(meta.get("sweep"))), ("scenarios", str(len(result.summary))),
                ("parameters", ", ".join(meta.get("parameters", [])) or "-")]
    else:
        m = result.manifest
        tables = dict(result.tables)
        head = [("scenario", str(m.get("scenario"))), ("status", str(m.get("status"))),
                ("objective ($M, discounted)", f"{m['objective']:.6g}" if m.get("objective") is not None else "-"),
                ("gap", f"{m['gap']:.3g}" if m.get("gap") is not None else "-"), ("source", str(m.get("source")))]
    return tables, head


def _about(tables: dict[str, pd.DataFrame], head: list[tuple[str, str]]) -> pd.DataFrame:
    rows = [{"table": "", "column": name, "unit": "", "meaning": value} for name, value in head]
    kpis = tables.get("kpis")
    for name, frame in tables.items():
        rows.append({"table": name, "column": "", "unit": "", "meaning": MEANINGS.get(name, "")})
        rows += [{"table": name, "column": str(c), "unit": unit_of(str(c)), "meaning": ""} for c in frame.columns]
    if kpis is not None and len(kpis):
        rows += [{"table": "kpis", "column": f"kpi {k}", "unit": u, "meaning": ""} for k, u in
                 zip(kpis["kpi"], kpis["unit"])]
    return pd.DataFrame(rows, columns=["table", "column", "unit", "meaning"])


def export_results(result_dir: str | Path, target: str | Path) -> Path:
    """Write the tables of a solve or sweep folder to an .xlsx workbook or a folder of CSV files."""
    result_dir, target = Path(result_dir), Path(target)
    tables, head = _tables(result_dir)
    about = _about(tables, head)
    if target.suffix.lower() == ".xlsx":
        notes = {name: {str(c): f"unit: {unit_of(str(c))}" for c in frame.columns} for name, frame in tables.items()}
        return write_workbook(target, {"about": about, **tables}, notes)
    if target.suffix and not target.is_dir():
        raise ValueError(f"{target}: give an .xlsx file or a folder for CSV files")
    target.mkdir(parents=True, exist_ok=True)
    for name, frame in {"about": about, **tables}.items():
        frame.to_csv(target / f"{re.sub(r'[^a-z_]', '', name)}.csv", index=False)
    return target
