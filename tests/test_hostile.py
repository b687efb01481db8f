"""Hostile and careless input: every case ends in a message and exit 2, early and with bounded work.

Each case goes through the real CLI (``python -m optimizer`` as a process, or typer's runner in this process
where the test must show that no solve started) or the API the CLI calls. Bounds on time and memory are
generous (a bound on the work done, not a speed benchmark); the measured figures are printed (``-s``).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest
from cli_process import assert_refused, run_cli
from tiny import TinyCase
from typer.testing import CliRunner

from benchmarks.hostile import big_demand_workbook, duplicate_rows
from optimizer import load_results
from optimizer.cli import app
from optimizer.errors import InputError
from optimizer.io import load_scenario, write_scenario
from optimizer.limits import SHOWN_PER_RULE
from optimizer.solver import MAX_SEED, MAX_THREADS, SolveOptions
from optimizer.xlsx_check import workbook_problems

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """One plant P1 (10 GWh, step 5 GWh for $100M) -> A1, model M, 5 GWh demanded in 2026."""
    case = TinyCase.default().plant("P1", capacity=10, cost=100, step_gwh=5, step_cost_musd=100, max_steps=1)
    return write_scenario(case.scenario(), tmp_path_factory.mktemp("hostile") / "case")


def copy_of(folder: Path, tmp_path: Path) -> Path:
    target = tmp_path / "case"
    shutil.copytree(folder, target)
    return target


# ------------------------------------------------------------------------------ duplicate keys, linear
def test_50000_duplicate_demand_rows_are_reported_in_linear_time_and_a_short_message(folder, tmp_path):
    case = duplicate_rows(copy_of(folder, tmp_path), 50_000)  # demand row 2 and 50,000 copies of it

    t = time.perf_counter()
    with pytest.raises(InputError) as info:
        load_scenario(case)
    seconds = time.perf_counter() - t
    dupes = [p for p in info.value.problems if p.rule == "duplicate-key"]
    assert [p.row for p in dupes[:SHOWN_PER_RULE]] == list(range(3, 3 + SHOWN_PER_RULE))
    assert "already appears at row 2" in dupes[0].message
    assert "49,980 more rows" in dupes[-1].message and "50,000 in all" in dupes[-1].message
    assert len(dupes) == SHOWN_PER_RULE + 1

    code, stderr, wall, rss = run_cli("validate", str(case))
    assert_refused(code, stderr, "demand.csv, row 3, column assembly,model,year: [duplicate-key]", "49,980 more")
    assert len(stderr) < 10_000
    print(f"\n50,000 duplicate demand rows: load_scenario {seconds:.2f} s; CLI process {wall:.2f} s, "
          f"peak {rss} MB, message {len(stderr):,} characters")
    assert seconds < 10 and wall < 20  # quadratic, this took over 200 s


def test_many_bad_values_give_a_bounded_message(folder, tmp_path):
    case = copy_of(folder, tmp_path)
    lanes = case / "lanes.csv"
    header, row = lanes.read_text().splitlines()[:2]
    rows = [row.replace("P1,A1", f"P{i},A1") for i in range(5_000)]
    lanes.write_text("\n".join([header, *rows]) + "\n")  # 4,999 lanes from unknown plants
    with pytest.raises(InputError) as info:
        load_scenario(case)
    refs = [p for p in info.value.problems if p.rule == "reference"]
    assert len(refs) == SHOWN_PER_RULE + 1 and "4,979 more rows" in refs[-1].message
    assert len(info.value.render()) < 5_000


# ------------------------------------------------------------------------------ numbers that overflow
@pytest.mark.parametrize("file, column, value", [
    ("demand.csv", "vehicles", "1e308"),
    ("plants.csv", "step_cost_musd", "1e300"),
    ("plant_years.csv", "capacity_gwh", "2e9"),
])
def test_numbers_beyond_the_magnitude_bound_are_refused_at_validation(folder, tmp_path, file, column, value):
    case = copy_of(folder, tmp_path)
    path = case / file
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[1].split(",")
    cells[header.index(column)] = value
    path.write_text("\n".join([lines[0], ",".join(cells), *lines[2:]]) + "\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["solve", str(case), "--out", str(out)])
    assert_refused(result.exit_code, result.stderr, f"{path}, row 2, column {column}: [magnitude]",
                   "largest magnitude the model accepts, 1e+09")
    assert not out.exists()


def test_settings_beyond_the_magnitude_bound_are_refused(folder, tmp_path):
    case = copy_of(folder, tmp_path)
    path = case / "scenario.yaml"
    path.write_text(path.read_text().replace("unserved_penalty_usd_per_kwh: 1000.0",
                                             "unserved_penalty_usd_per_kwh: 1.0e+300"))
    with pytest.raises(InputError) as info:
        load_scenario(case)
    assert [(p.column, p.rule) for p in info.value.problems] == [("unserved_penalty_usd_per_kwh", "value")]


# ------------------------------------------------------------------------------ names
def test_a_300_character_scenario_name_is_refused(folder, tmp_path):
    case = copy_of(folder, tmp_path)
    path = case / "scenario.yaml"
    path.write_text(path.read_text().replace("name: tiny", "name: " + "n" * 300))
    result = CliRunner().invoke(app, ["solve", str(case)])
    assert_refused(result.exit_code, result.stderr, f"{path}, column name: [name]", "(300 characters) is too long")


# ------------------------------------------------------------------------------ --out, before any solve
@pytest.fixture
def no_solve(monkeypatch):
    """Make any solve fail the test: the output checks must come first."""
    def refuse(*args, **kwargs):
        raise AssertionError("a solve started before --out was checked")
    monkeypatch.setattr("optimizer.cli.solve_scenario", refuse)
    monkeypatch.setattr("optimizer.sweep.runner.connect", refuse)


def out_targets(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    a_file = tmp_path / "results.txt"
    a_file.write_text("not a folder")
    return {
        "dev-null": (Path("/dev/null"), "is a device or special file, not a folder"),
        "a-file": (a_file, "is a file, not a folder"),
        "below-a-file": (a_file / "run", f"cannot be created: {a_file} is a file"),
        "name-too-long": (tmp_path / ("x" * 300), "File name too long"),
    }


@pytest.mark.parametrize("kind", ["dev-null", "a-file", "below-a-file", "name-too-long"])
def test_solve_refuses_an_unwritable_out_before_solving(folder, tmp_path, kind, no_solve):
    target, message = out_targets(tmp_path)[kind]
    result = CliRunner().invoke(app, ["solve", str(folder), "--out", str(target)])
    assert_refused(result.exit_code, result.stderr, "[output] --out:", message)


@pytest.mark.parametrize("kind", ["dev-null", "a-file"])
def test_sweep_refuses_an_unwritable_out_before_solving(folder, tmp_path, kind, no_solve):
    target, message = out_targets(tmp_path)[kind]
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(f"base: {folder}\naxes:\n  t:\n    values: [0.1, 0.2]\n"
                     "    change: {table: lanes, column: tariff_rate, op: set}\n")
    result = CliRunner().invoke(app, ["sweep", str(sweep), "--out", str(target)])
    assert_refused(result.exit_code, result.stderr, "[output] --out:", message)


def test_write_mps_into_a_folder_is_refused_before_solving(folder, tmp_path, no_solve):
    result = CliRunner().invoke(app, ["solve", str(folder), "--out", str(tmp_path / "out"),
                                      "--write-mps", str(tmp_path)])
    assert_refused(result.exit_code, result.stderr, "--write-mps: is a folder, not a file")
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root to run as another user")
def test_read_only_out_folder_is_refused_for_a_real_user(folder):
    """As root every folder is writable, so the CLI runs as ``nobody`` on a folder it may read, not write."""
    shared = Path(tempfile.mkdtemp(prefix="hostile-"))  # pytest's own folders are private to root
    try:
        os.chmod(shared, 0o755)
        case = shutil.copytree(folder, shared / "case")
        read_only = shared / "read-only"
        read_only.mkdir()
        os.chmod(read_only, 0o555)
        code, stderr, _, _ = run_cli("solve", str(case), "--out", str(read_only / "run"), user=65534)
        assert_refused(code, stderr, f"cannot be written: {read_only} is read-only for this user")
        assert not (read_only / "run").exists()
    finally:
        shutil.rmtree(shared)


# ------------------------------------------------------------------------------ solver options
def test_threads_100000_is_a_message_not_an_abort(folder, tmp_path):
    code, stderr, _, _ = run_cli("solve", str(folder), "--out", str(tmp_path / "out"), "--threads", "100000")
    assert_refused(code, stderr, "solver options, column threads: [range]", f"1 .. {MAX_THREADS}")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("options, column", [
    ({"threads": MAX_THREADS + 1}, "threads"), ({"threads": 0}, "threads"), ({"threads": 2.5}, "threads"),
    ({"seed": -1}, "seed"), ({"seed": MAX_SEED + 1}, "seed"), ({"rel_gap": float("nan")}, "rel_gap"),
    ({"rel_gap": 1.5}, "rel_gap"), ({"rel_gap": -1e-9}, "rel_gap"), ({"time_limit": float("inf")}, "time_limit"),
    ({"time_limit": -1}, "time_limit"),
])
def test_solve_options_are_range_checked(options, column):
    with pytest.raises(InputError) as info:
        SolveOptions(**options)
    assert [(p.column, p.rule) for p in info.value.problems] == [(column, "range")]


def test_solve_options_at_their_bounds_are_accepted():
    SolveOptions(threads=1, seed=0, rel_gap=0.0, time_limit=0.0)
    SolveOptions(threads=MAX_THREADS, seed=MAX_SEED, rel_gap=1.0, time_limit=1e9)


# ------------------------------------------------------------------------------ workbooks
@pytest.fixture(scope="module")
def book(folder, tmp_path_factory) -> Path:
    return write_scenario(load_scenario(folder), tmp_path_factory.mktemp("book") / "case.xlsx")


def test_a_2_million_row_workbook_is_refused_without_loading_it(book, tmp_path):
    """Declared dimension: refused from the sheet's first bytes. No dimension: the streamed row count stops
    one row past the limit, in bounded memory (loading it took over 2 GB)."""
    honest = big_demand_workbook(book, tmp_path / "declared.xlsx", 2_000_000, dimension=True)
    t = time.perf_counter()
    (problem,) = workbook_problems(honest)
    declared_seconds = time.perf_counter() - t
    assert (problem.file, problem.rule) == (f"{honest}[demand]", "limit")
    assert "declares 2,000,000 data rows" in problem.message and "OPTIMIZER_MAX_TABLE_ROWS" in problem.message

    hidden = big_demand_workbook(book, tmp_path / "undeclared.xlsx", 2_000_000, dimension=False)
    code, stderr, wall, rss = run_cli("validate", str(hidden))
    assert_refused(code, stderr, f"{hidden}[demand]: [limit] the sheet has more than 1,000,000 data rows",
                   "raise it with the environment variable OPTIMIZER_MAX_TABLE_ROWS")
    print(f"\n2,000,000-row workbook ({honest.stat().st_size / 1e6:.1f} MB on disk): declared dimension refused in "
          f"{declared_seconds:.3f} s; undeclared refused by the CLI process in {wall:.2f} s, peak {rss} MB")
    assert wall < 60 and rss < 600


def test_the_row_and_size_limits_can_be_raised_or_lowered(book, tmp_path, monkeypatch):
    rows = big_demand_workbook(book, tmp_path / "rows.xlsx", 12_345, dimension=False)
    assert workbook_problems(rows) == []  # exactly at the limit: the row count is exact
    monkeypatch.setenv("OPTIMIZER_MAX_TABLE_ROWS", "12344")
    (problem,) = workbook_problems(rows)
    assert "more than 12,344 data rows" in problem.message
    monkeypatch.delenv("OPTIMIZER_MAX_TABLE_ROWS")
    monkeypatch.setenv("OPTIMIZER_MAX_WORKBOOK_MB", "1")
    result = CliRunner().invoke(app, ["validate", str(rows)])
    assert_refused(result.exit_code, result.stderr, f"{rows}: [limit] the workbook unpacks to",
                   "OPTIMIZER_MAX_WORKBOOK_MB")
    monkeypatch.setenv("OPTIMIZER_MAX_WORKBOOK_MB", "lots")
    result = CliRunner().invoke(app, ["validate", str(rows)])
    assert_refused(result.exit_code, result.stderr, "OPTIMIZER_MAX_WORKBOOK_MB: [limit]", "not a whole number")


def test_rows_are_counted_however_their_tags_are_written(book, tmp_path, monkeypatch):
    """Whitespace in a tag, a namespace prefix or an empty row cannot hide rows from the count; a
    ``<rowBreaks>`` element is not a row."""
    with zipfile.ZipFile(book) as z:
        parts = {i.filename: z.read(i.filename) for i in z.infolist()}
    wb = openpyxl.load_workbook(book, read_only=True)
    part = wb["demand"]._worksheet_path.lstrip("/")
    wb.close()
    spellings = [b"<row>", b'<row r="3">', b'<row\n r="4">', b"<row\t>", b'<x:row r="6">', b"<x:row\r\n>",
                 b"<row/>", b"<x:row/>", b"<row >", *[b"<row>"] * 12]  # a header and 20 data rows
    sheet = (b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:x="http://'
             b'schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>' + b"</row>".join(spellings)
             + b"</row></sheetData><rowBreaks count=\"1\"><brk id=\"2\"/></rowBreaks></worksheet>")
    parts[part] = sheet
    target = tmp_path / "spelled.xlsx"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    monkeypatch.setenv("OPTIMIZER_MAX_TABLE_ROWS", "20")  # the other sheets have at most 11 rows
    assert [str(p) for p in workbook_problems(target)] == []
    monkeypatch.setenv("OPTIMIZER_MAX_TABLE_ROWS", "19")
    assert [p.message for p in workbook_problems(target)] == [
        "the sheet has more than 19 data rows: more than the limit of 19 rows per table; if this is intended, "
        "raise it with the environment variable OPTIMIZER_MAX_TABLE_ROWS (e.g. OPTIMIZER_MAX_TABLE_ROWS=190)"]


def test_a_csv_table_beyond_the_row_limit_is_refused(folder, tmp_path, monkeypatch):
    case = copy_of(folder, tmp_path)
    demand = case / "demand.csv"
    header, row = demand.read_text().splitlines()[:2]
    demand.write_text("\n".join([header, *[row] * 11]) + "\n")
    monkeypatch.setenv("OPTIMIZER_MAX_TABLE_ROWS", "10")
    result = CliRunner().invoke(app, ["validate", str(case)])
    assert_refused(result.exit_code, result.stderr, f"{demand}: [limit] the table has more than 10 rows")


def budget_workbook(book: Path, target: Path, cached: str | None) -> Path:
    """``book`` with a years sheet whose 2026 capital budget is the formula ``=500*2``; ``cached`` is the
    value stored with it (None: none, as a script or a tool that does not calculate writes it)."""
    wb = openpyxl.load_workbook(book)
    ws = wb.create_sheet("years")
    ws.append(["year", "capex_budget_musd"])
    ws.append([2026, "=500*2"])
    wb.save(target)
    if cached is not None:  # store the value as Excel does: <v>1000</v> next to the formula
        with zipfile.ZipFile(target) as z:
            parts = {i.filename: z.read(i.filename) for i in z.infolist()}
        name = [n for n, data in parts.items() if n.startswith("xl/worksheets/") and b"<f>500*2</f>" in data][0]
        parts[name], n = re.subn(rb"<f>500\*2</f>(<v\s*/>|<v></v>)", f"<f>500*2</f><v>{cached}</v>".encode(),
                                 parts[name])
        assert n == 1
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
            for n, data in parts.items():
                z.writestr(n, data)
    return target


def test_a_formula_without_a_stored_value_is_refused_with_its_sheet_and_cell(book, tmp_path):
    """Read through openpyxl/pandas such a cell is blank, and a blank budget means "no limit"."""
    target = budget_workbook(book, tmp_path / "formula.xlsx", cached=None)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["solve", str(target), "--out", str(out)])
    assert_refused(result.exit_code, result.stderr, f"{target}[years]: [formula] cell B2 hold",
                   "without a stored value")
    assert not out.exists()


def test_a_formula_with_its_stored_value_reads_that_value(book, tmp_path):
    target = budget_workbook(book, tmp_path / "cached.xlsx", cached="1000")
    assert load_scenario(target).data.capex_budget == {2026: 1000.0}


@pytest.mark.parametrize("command", [("solve",), ("sweep", "scenarios/sweeps/smoke.yaml")])
def test_a_results_uri_pyarrow_cannot_open_is_refused(command):
    """An --out URI of a scheme no pyarrow file system knows: exit 2 naming the location, no traceback, and
    nothing written (no local folder named after the URI either)."""
    code, stderr, _, _ = run_cli(*command, "--out", "ftp://host/results")
    assert_refused(code, stderr, "ftp://host/results: [results location] cannot be opened")
    assert not (ROOT / "ftp:").exists()
    with pytest.raises(InputError, match="results location"):
        load_results("ftp://host/results")
