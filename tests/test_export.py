"""`optimizer export`: result folders (solve or sweep) to a workbook or CSV folder, read back with pandas
and compared with the parquet tables; scenario workbooks keep `_source` beside its value and ignore, with a
note, sheets that are not tables; no text ever becomes a live formula."""

from __future__ import annotations

import openpyxl
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal
from test_cli import BASE, run
from tiny import TinyCase

import optimizer
from optimizer.io import write_scenario

HOSTILE = '=HYPERLINK("http://example.invalid/x","click")'


def hostile_result(tmp_path):
    """A tiny scenario whose cell plant is named like a formula, solved through the CLI."""
    case = TinyCase.default().plant(HOSTILE, capacity=10, cost=100).plant("P1", capacity=0, cost=100)
    folder = tmp_path / "hostile"
    tables, config = case.build()
    write_scenario(optimizer.scenario_from_tables(tables, config), folder)
    out = tmp_path / "out"
    proc = run("solve", str(folder), "--out", str(out), "--threads", "1")
    assert proc.returncode == 0, proc.stderr
    return folder, out


def text(series: pd.Series) -> list[str]:
    return ["" if pd.isna(x) else str(x) for x in series]


def same(frame: pd.DataFrame, parquet: pd.DataFrame) -> None:
    """Equal values, column by column (Excel stores whole floats and ints alike; blanks are NaN)."""
    assert list(frame.columns) == list(parquet.columns)
    assert len(frame) == len(parquet)
    for col in parquet.columns:
        a, b = frame[col], parquet[col]
        if pd.api.types.is_numeric_dtype(b) and not pd.api.types.is_bool_dtype(b):
            assert_frame_equal(a.astype(float).to_frame(), b.astype(float).to_frame(), check_exact=False, rtol=1e-12)
        else:
            assert text(a) == text(b), col


def test_result_workbook_matches_the_parquet_tables_and_keeps_text_as_text(tmp_path):
    _, out = hostile_result(tmp_path)
    book = tmp_path / "result.xlsx"
    proc = run("export", str(out), str(book))
    assert proc.returncode == 0, proc.stderr
    sheets = pd.read_excel(book, sheet_name=None)
    assert list(sheets) == ["about", "flows", "builds", "capacity", "costs", "unmet", "kpis"]
    for name in ("flows", "builds", "capacity", "costs", "unmet", "kpis"):
        same(sheets[name], pd.read_parquet(out / f"{name}.parquet"))
    wb = openpyxl.load_workbook(book)
    flows = wb["flows"]
    assert flows.freeze_panes == "A2"
    assert flows["E1"].value == "gwh" and flows["E1"].comment.text == "unit: GWh"
    hostile_cells = [c for row in flows.iter_rows(min_row=2) for c in row if c.value == HOSTILE]
    assert hostile_cells, "the plant's name is in the sheet"
    assert all(c.data_type == "s" for c in hostile_cells)  # a string, not a formula ('f')
    assert 8 <= flows.column_dimensions["A"].width <= 60


def test_result_csv_folder_matches_the_parquet_tables(tmp_path):
    _, out = hostile_result(tmp_path)
    folder = tmp_path / "csv"
    assert run("export", str(out), str(folder)).returncode == 0
    for name in ("flows", "builds", "capacity", "costs", "unmet", "kpis"):
        same(pd.read_csv(folder / f"{name}.csv"), pd.read_parquet(out / f"{name}.parquet"))
    about = pd.read_csv(folder / "about.csv")
    assert about.loc[(about["table"] == "flows") & (about["column"] == "cost_musd"), "unit"].item() == "$M"


@pytest.mark.slow
def test_sweep_workbook_matches_the_summary(smoke_sweep_dir, tmp_path):
    book = tmp_path / "sweep.xlsx"
    proc = run("export", str(smoke_sweep_dir), str(book))
    assert proc.returncode == 0, proc.stderr
    sheets = pd.read_excel(book, sheet_name=None)
    for name in ("summary", "builds", "costs"):
        same(sheets[name], pd.read_parquet(smoke_sweep_dir / f"{name}.parquet"))


@pytest.mark.slow
def test_scenario_workbook_sources_beside_values_notes_sheet_ignored_and_formula_text(tmp_path):
    book = tmp_path / "base.xlsx"
    assert run("export", str(BASE), str(book)).returncode == 0
    wb = openpyxl.load_workbook(book)
    header = [c.value for c in wb["plant_years"][1]]
    for col in ("capacity_gwh", "cell_cost_usd_per_kwh"):
        assert header[header.index(col) + 1] == f"{col}_source"
    wb.create_sheet("Notes")["A1"] = "call the Sunderland team before changing the ramp"
    wb.save(book)
    proc = run("validate", str(book))
    assert proc.returncode == 0, proc.stderr
    assert "[ignored-sheet] sheet 'Notes' is not a table" in " ".join(proc.stderr.split())

    folder, _ = hostile_result(tmp_path)
    hostile_book = tmp_path / "hostile.xlsx"
    assert run("export", str(folder), str(hostile_book)).returncode == 0
    plants = openpyxl.load_workbook(hostile_book)["plants"]
    cell = next(c for row in plants.iter_rows(min_row=2) for c in row if c.value == HOSTILE)
    assert cell.data_type == "s"
    assert run("validate", str(hostile_book)).returncode == 0  # and it reads back as the same name
