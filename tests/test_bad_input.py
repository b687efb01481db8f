"""The bad-input corpus: every broken input gets one clear answer naming file, row, column and rule.

Each case breaks one thing in a small valid scenario (or in a sweep file on it). For every case:

* in process, :func:`optimizer.load_scenario` / :func:`optimizer.sweep.spec.load_sweep` (what the CLI calls)
  raises :class:`InputError` holding the exact problem (file, row, column, rule);
* the CLI command (``solve --out`` / ``validate`` / ``sweep --out``, through typer's runner in this
  process) exits 2 with that problem printed, no traceback, and creates nothing under ``--out``;
* a representative subset also runs as a real ``python -m optimizer`` process, with the same checks.

The scenario (2026-2027): cell plants P1 (existing, NMC) and C (candidate, NMC;LFP), assembly plants A1
(capped) and A2, models M (NMC) and L (LFP), a local-content rule R and a ``years`` table. CSV rows count
the header as row 1. Demand rows: A1/M 2026, A1/M 2027, A2/L 2026, A2/L 2027; lanes: P1-A1, P1-A2, C-A1, C-A2.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from tiny import TinyCase
from typer.testing import CliRunner

from optimizer.cli import app
from optimizer.errors import InputError
from optimizer.io import load_scenario, write_scenario
from optimizer.solver import Status
from optimizer.sweep.spec import load_sweep

ROOT = Path(__file__).resolve().parents[1]


def good_case() -> TinyCase:
    return (TinyCase(years=2)
            .assembly("A1", capacity_vehicles=200_000).assembly("A2")
            .model("M", cell_type="NMC", pack_kwh=50).model("L", cell_type="LFP", pack_kwh=60)
            .plant("P1", capacity=10, max_steps=2, step_gwh=5, step_cost_musd=100)
            .candidate("C", opening_capacity_gwh=10, opening_cost_musd=50, cell_types="NMC;LFP")
            .demand(gwh=5, assembly="A1", model="M").demand(gwh=2, assembly="A2", model="L")
            .rule("R", plants="P1", min_share=0.5).year_params(capex_budget_musd=1000))


@pytest.fixture(scope="module")
def good_folder(tmp_path_factory) -> Path:
    folder = write_scenario(good_case().scenario(), tmp_path_factory.mktemp("good") / "case")
    assert load_scenario(folder).name == "tiny"  # the unbroken scenario is valid ...
    return folder


def test_the_unbroken_scenario_solves(good_folder):
    import optimizer

    assert optimizer.solve(good_folder).status == Status.OPTIMAL  # ... and feasible


# ------------------------------------------------------------------------------------------ mutations
def read(folder: Path, table: str) -> pd.DataFrame:
    return pd.read_csv(folder / f"{table}.csv", dtype=str, keep_default_na=False)


def write(folder: Path, table: str, frame: pd.DataFrame) -> None:
    frame.to_csv(folder / f"{table}.csv", index=False)


def cell(table: str, row: int, column: str, value: str) -> Callable[[Path], None]:
    """Set one cell; ``row`` is the CSV file row (the header is row 1)."""
    def mutate(folder: Path) -> None:
        frame = read(folder, table)
        frame.loc[row - 2, column] = value
        write(folder, table, frame)
    return mutate


def rename(table: str, old: str, new: str) -> Callable[[Path], None]:
    return lambda folder: write(folder, table, read(folder, table).rename(columns={old: new}))


def drop_column(table: str, column: str) -> Callable[[Path], None]:
    return lambda folder: write(folder, table, read(folder, table).drop(columns=[column]))


def add_column(table: str, column: str, value: str) -> Callable[[Path], None]:
    return lambda folder: write(folder, table, read(folder, table).assign(**{column: value}))


def repeat_row(table: str, row: int) -> Callable[[Path], None]:
    """Append a copy of file row ``row`` at the end."""
    def mutate(folder: Path) -> None:
        frame = read(folder, table)
        write(folder, table, pd.concat([frame, frame.iloc[[row - 2]]], ignore_index=True))
    return mutate


def drop_row(table: str, row: int) -> Callable[[Path], None]:
    return lambda folder: write(folder, table, read(folder, table).drop(index=row - 2))


def text(file: str, content: str) -> Callable[[Path], None]:
    return lambda folder: (folder / file).write_text(content, encoding="utf-8")


def setting(line: str, replaces: str | None = None) -> Callable[[Path], None]:
    """Replace the scenario.yaml line starting with ``replaces`` by ``line`` (or append it)."""
    def mutate(folder: Path) -> None:
        path = folder / "scenario.yaml"
        lines = path.read_text(encoding="utf-8").splitlines()
        if replaces is None:
            lines.append(line)
        else:
            (i,) = [k for k, x in enumerate(lines) if x.startswith(replaces)]
            lines[i] = line
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return mutate


def duplicate_header(table: str, column: str) -> Callable[[Path], None]:
    def mutate(folder: Path) -> None:
        path = folder / f"{table}.csv"
        head, *rest = path.read_text(encoding="utf-8").splitlines()
        path.write_text("\n".join([f"{head},{column}", *(f"{r},1" for r in rest)]) + "\n", encoding="utf-8")
    return mutate


def remove(file: str) -> Callable[[Path], None]:
    return lambda folder: (folder / file).unlink()


def both(*mutations: Callable[[Path], None]) -> Callable[[Path], None]:
    def mutate(folder: Path) -> None:
        for m in mutations:
            m(folder)
    return mutate


@dataclass(frozen=True)
class Bad:
    """One corpus case: the mutation and the problem it must produce (``file`` relative to the case folder;
    ``message`` a fragment of the problem's message)."""

    id: str
    mutate: Callable[[Path], object]
    file: str
    row: int | None
    column: str | None
    rule: str
    message: str = ""
    command: str = "solve"  # or "validate"


SCENARIO_CASES = [
    # columns
    Bad("missing-column", drop_column("plants", "region"), "plants.csv", None, "region", "missing-column"),
    Bad("misspelled-column", rename("lanes", "tariff_rate", "tarif_rate"), "lanes.csv", None, "tarif_rate",
        "unknown-column", "did you mean 'tariff_rate'?"),
    Bad("misspelled-column-is-also-missing", rename("lanes", "tariff_rate", "tarif_rate"), "lanes.csv", None,
        "tariff_rate", "missing-column", command="validate"),
    Bad("extra-column", add_column("demand", "colour", "red"), "demand.csv", None, "colour", "unknown-column"),
    Bad("duplicate-column", duplicate_header("lanes", "freight_usd_per_kwh"), "lanes.csv", None,
        "freight_usd_per_kwh", "duplicate-column"),
    Bad("misspelled-table", both(remove("lanes.csv"), lambda f: write(f, "lane", good_lanes())), "lane.csv",
        None, None, "unknown-table", "did you mean 'lanes'?"),
    Bad("missing-table", remove("models.csv"), "models.csv", None, None, "missing-table"),
    # types
    Bad("text-for-number", cell("lanes", 3, "freight_usd_per_kwh", "cheap"), "lanes.csv", 3,
        "freight_usd_per_kwh", "type", "'cheap' is not a number"),
    Bad("text-for-integer", cell("plants", 2, "max_steps", "two"), "plants.csv", 2, "max_steps", "type"),
    Bad("fraction-for-integer", cell("plants", 2, "lead_time_years", "1.5"), "plants.csv", 2, "lead_time_years",
        "type", "not a whole number"),
    Bad("nan", cell("plant_years", 2, "cell_cost_usd_per_kwh", "nan"), "plant_years.csv", 2,
        "cell_cost_usd_per_kwh", "finite", command="validate"),
    Bad("plus-inf", cell("plant_years", 3, "capacity_gwh", "inf"), "plant_years.csv", 3, "capacity_gwh", "finite"),
    Bad("minus-inf", cell("lanes", 2, "freight_usd_per_kwh", "-inf"), "lanes.csv", 2, "freight_usd_per_kwh",
        "finite"),
    Bad("blank-required", cell("plants", 2, "region", ""), "plants.csv", 2, "region", "blank"),
    Bad("blank-list", cell("plants", 3, "cell_types", ""), "plants.csv", 3, "cell_types", "blank"),
    Bad("bad-choice", cell("plants", 3, "status", "planned"), "plants.csv", 3, "status", "choice"),
    Bad("bad-ramp", cell("plants", 2, "ramp", "0.5;1.2"), "plants.csv", 2, "ramp", "ramp"),
    # ranges
    Bad("negative-capacity", cell("plant_years", 2, "capacity_gwh", "-1"), "plant_years.csv", 2, "capacity_gwh",
        "range", "-1 is below the minimum 0"),
    Bad("negative-step", cell("plants", 2, "step_gwh", "-5"), "plants.csv", 2, "step_gwh", "range"),
    Bad("negative-opening-cost", cell("plants", 3, "opening_cost_musd", "-50"), "plants.csv", 3,
        "opening_cost_musd", "range"),
    Bad("negative-cell-cost", cell("plant_years", 4, "cell_cost_usd_per_kwh", "-5"), "plant_years.csv", 4,
        "cell_cost_usd_per_kwh", "range"),
    Bad("negative-freight", cell("lanes", 5, "freight_usd_per_kwh", "-0.5"), "lanes.csv", 5,
        "freight_usd_per_kwh", "range"),
    Bad("negative-budget", cell("years", 3, "capex_budget_musd", "-1"), "years.csv", 3, "capex_budget_musd",
        "range"),
    Bad("negative-demand", cell("demand", 2, "vehicles", "-100"), "demand.csv", 2, "vehicles", "range"),
    Bad("share-above-1", cell("rules", 2, "min_share", "1.5"), "rules.csv", 2, "min_share", "range",
        "above the maximum 1"),
    Bad("share-below-0", cell("assembly", 2, "max_supplier_share", "-0.1"), "assembly.csv", 2,
        "max_supplier_share", "range"),
    Bad("availability-above-1", cell("plant_years", 2, "availability", "2"), "plant_years.csv", 2,
        "availability", "range"),
    Bad("zero-pack", cell("models", 2, "pack_kwh", "0"), "models.csv", 2, "pack_kwh", "range"),
    Bad("huge-tariff", cell("lanes", 2, "tariff_rate", "11"), "lanes.csv", 2, "tariff_rate", "range"),
    # keys and references
    Bad("duplicate-plant", repeat_row("plants", 2), "plants.csv", 4, "plant", "duplicate-key",
        "already appears at row 2"),
    Bad("duplicate-plant-year", repeat_row("plant_years", 2), "plant_years.csv", 6, "plant,year",
        "duplicate-key"),
    Bad("duplicate-lane", repeat_row("lanes", 3), "lanes.csv", 6, "plant,assembly", "duplicate-key"),
    Bad("dangling-model", cell("demand", 2, "model", "X"), "demand.csv", 2, "model", "reference",
        "unknown model 'X'"),
    Bad("lane-to-unknown-plant", cell("lanes", 2, "plant", "Nowhere"), "lanes.csv", 2, "plant", "reference",
        "unknown plant 'Nowhere'"),
    Bad("lane-to-unknown-assembly", cell("lanes", 3, "assembly", "A9"), "lanes.csv", 3, "assembly", "reference"),
    Bad("plant-year-of-unknown-plant", cell("plant_years", 5, "plant", "P9"), "plant_years.csv", 5, "plant",
        "reference"),
    Bad("rule-names-unknown-plant", cell("rules", 2, "plants", "P1;P7"), "rules.csv", 2, "plants", "reference",
        "unknown plant 'P7'"),
    # years
    Bad("year-outside-horizon", cell("demand", 2, "year", "2031"), "demand.csv", 2, "year", "horizon",
        "outside the horizon 2026-2027"),
    Bad("plant-year-missing", drop_row("plant_years", 5), "plant_years.csv", None, "year", "coverage",
        "plant 'C' has no row for year(s) 2027"),
    Bad("years-table-missing-a-year", drop_row("years", 2), "years.csv", None, "year", "coverage"),
    Bad("rule-ends-before-it-starts", both(cell("rules", 2, "from_year", "2027"), cell("rules", 2, "to_year", "2026")),
        "rules.csv", 2, "to_year", "order"),
    # empty tables
    Bad("header-only", lambda f: write(f, "demand", read(f, "demand").iloc[:0]), "demand.csv", None, None,
        "empty-table", "has no rows"),
    Bad("empty-file", text("lanes.csv", ""), "lanes.csv", None, None, "empty-table", "no header row"),
    Bad("malformed-csv", text("lanes.csv", "plant,assembly,freight_usd_per_kwh,tariff_rate\nP1,A1,1,0\nP1,A2,1,0,9\n"),
        "lanes.csv", 3, None, "csv", "5 fields where the header has 4"),
    # rules across tables
    Bad("unservable-demand", cell("models", 3, "cell_type", "SSB"), "demand.csv", 4, "model", "unservable",
        "no lane brings SSB cells to 'A2' for model 'L'"),
    Bad("candidate-with-capacity", cell("plant_years", 4, "capacity_gwh", "5"), "plant_years.csv", 4,
        "capacity_gwh", "candidate-capacity"),
    Bad("closure-of-a-candidate", cell("plants", 3, "may_close", "yes"), "plants.csv", 3, "may_close",
        "closure-candidate", "candidate plant 'C' cannot be closed"),
    Bad("may-close-not-yes-or-no", cell("plants", 2, "may_close", "maybe"), "plants.csv", 2, "may_close", "choice"),
    Bad("plant-life-zero", cell("plants", 2, "economic_life_years", "0"), "plants.csv", 2, "economic_life_years",
        "range"),
    Bad("lane-year-without-its-lane", text("lane_years.csv", "plant,assembly,year,tariff_rate\nC,A9,2026,0.1\n"),
        "lane_years.csv", 2, "plant,assembly", "reference", "no lane C -> A9"),
    Bad("lane-year-tariff-negative", text("lane_years.csv", "plant,assembly,year,tariff_rate\nP1,A1,2026,-1\n"),
        "lane_years.csv", 2, "tariff_rate", "range"),
    # settings (scenario.yaml)
    Bad("malformed-yaml", setting("discount_rate: 0.0: 1", replaces="discount_rate:"), "scenario.yaml", 5, None,
        "yaml", "malformed YAML"),
    Bad("yaml-not-a-mapping", text("scenario.yaml", "- name\n- tiny\n"), "scenario.yaml", None, None,
        "yaml-structure"),
    Bad("unknown-setting", setting("discount_rat: 0.1"), "scenario.yaml", None, "discount_rat", "unknown-key",
        "did you mean 'discount_rate'?"),
    Bad("setting-out-of-range", setting("discount_rate: 1.5", replaces="discount_rate:"), "scenario.yaml", None,
        "discount_rate", "value"),
    Bad("bad-demand-mode", setting("demand: firm", replaces="demand:"), "scenario.yaml", None, "demand", "value"),
    Bad("horizon-backwards", setting("end_year: 2020", replaces="end_year:"), "scenario.yaml", None, None, "value",
        "end_year 2020 is before start_year 2026"),
    Bad("name-escapes-results", setting("name: ../../etc", replaces="name:"), "scenario.yaml", None, "name", "name",
        "'../../etc' is not a usable name"),
    Bad("name-is-dot-dot", setting("name: '..'", replaces="name:"), "scenario.yaml", None, "name", "name",
        command="validate"),
    Bad("settings-file-missing", remove("scenario.yaml"), "scenario.yaml", None, None, "missing-file"),
]


def good_lanes() -> pd.DataFrame:
    tables, _ = good_case().build()
    return tables["lanes"]


def problem_text(p: Bad, file: str) -> str:
    """How the CLI prints the expected problem (see ``Problem.__str__``)."""
    where = file + (f", row {p.row}" if p.row is not None else "") + (f", column {p.column}" if p.column else "")
    return f"{where}: [{p.rule}]"


def assert_problem(exc: InputError, file: str, p: Bad) -> None:
    found = [q for q in exc.problems if (q.file, q.row, q.column, q.rule) == (file, p.row, p.column, p.rule)]
    assert found, f"expected {(file, p.row, p.column, p.rule)} in:\n{exc.render()}"
    assert p.message in found[0].message


def cli_args(p: Bad, target: Path, out: Path) -> list[str]:
    if p.command == "validate":
        return ["validate", str(target)]
    return [p.command, str(target), "--out", str(out)]


def assert_clean_exit_2(code: int, stderr: str, expected: str, out: Path) -> None:
    assert code == 2, stderr
    assert "Traceback" not in stderr
    assert expected in stderr
    assert not out.exists(), "bad input must write nothing"


def broken_copy(good_folder: Path, tmp_path: Path, p: Bad) -> Path:
    folder = tmp_path / "case"
    shutil.copytree(good_folder, folder)
    p.mutate(folder)
    return folder


@pytest.mark.parametrize("p", SCENARIO_CASES, ids=lambda p: p.id)
def test_bad_scenario(p: Bad, good_folder, tmp_path):
    folder = broken_copy(good_folder, tmp_path, p)
    file = str(folder / p.file)
    with pytest.raises(InputError) as info:
        load_scenario(folder)
    assert_problem(info.value, file, p)

    out = tmp_path / "out"
    result = CliRunner().invoke(app, cli_args(p, folder, out))
    assert isinstance(result.exception, SystemExit)
    assert_clean_exit_2(result.exit_code, result.stderr, problem_text(p, file), out)


# ------------------------------------------------------------------------------------------ workbooks
def without_sheet(sheet: str) -> Callable[[Path], None]:
    def mutate(book: Path) -> None:
        wb = openpyxl.load_workbook(book)
        del wb[sheet]
        wb.save(book)
    return mutate


def sheet_cell(sheet: str, row: int, column: str, value: object) -> Callable[[Path], None]:
    def mutate(book: Path) -> None:
        wb = openpyxl.load_workbook(book)
        ws = wb[sheet]
        (col,) = [c.column for c in ws[1] if c.value == column]
        ws.cell(row=row, column=col, value=value)
        wb.save(book)
    return mutate


WORKBOOK_CASES = [
    Bad("xlsx-missing-sheet", without_sheet("lanes"), "case.xlsx[lanes]", None, None, "missing-table"),
    Bad("xlsx-missing-settings-sheet", without_sheet("scenario"), "case.xlsx[scenario]", None, None, "missing-table"),
    Bad("xlsx-negative-capacity", sheet_cell("plant_years", 3, "capacity_gwh", -4), "case.xlsx[plant_years]", 3,
        "capacity_gwh", "range"),
    Bad("xlsx-not-a-workbook", lambda book: book.write_bytes(b"not a zip file"), "case.xlsx", None, None, "xlsx",
        "cannot read workbook"),
]


@pytest.fixture(scope="module")
def good_book(tmp_path_factory) -> Path:
    book = write_scenario(good_case().scenario(), tmp_path_factory.mktemp("book") / "case.xlsx")
    assert load_scenario(book).name == "tiny"  # an exported workbook reads back valid
    return book


@pytest.mark.parametrize("p", WORKBOOK_CASES, ids=lambda p: p.id)
def test_bad_workbook(p: Bad, good_book, tmp_path):
    book = tmp_path / "case.xlsx"
    shutil.copy(good_book, book)
    p.mutate(book)
    file = str(tmp_path / p.file)
    with pytest.raises(InputError) as info:
        load_scenario(book)
    assert_problem(info.value, file, p)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, cli_args(p, book, out))
    assert_clean_exit_2(result.exit_code, result.stderr, problem_text(p, file), out)


# ------------------------------------------------------------------------------------------ sweep files
def sweep_text(body: str) -> Callable[[Path], str]:
    """A sweep file on the case folder: ``base: <folder>`` followed by ``body``."""
    return lambda folder: f"base: {folder}\n{body}"


AXIS = "axes:\n  t:\n    values: [0.1, 0.2]\n    change: {table: lanes, column: tariff_rate, op: set}\n"

SWEEP_CASES = [
    Bad("sweep-unknown-key", sweep_text(AXIS.replace("axes:", "axis:")), "sweep.yaml", None, "axis", "unknown-key",
        "did you mean 'axes'?", command="sweep"),
    Bad("sweep-missing-column", sweep_text(AXIS.replace("tariff_rate", "tarif_rate")), "sweep.yaml", None,
        "axes.t.change.column", "unknown-column", "tarif_rate", command="sweep"),
    Bad("sweep-unknown-table", sweep_text(AXIS.replace("table: lanes", "table: lane")), "sweep.yaml", None,
        "axes.t.change.table", "unknown-table", command="sweep"),
    Bad("sweep-name-escapes-results", sweep_text("name: ../../etc\n" + AXIS), "sweep.yaml", None, "name", "name",
        "'../../etc' is not a usable name", command="sweep"),
    Bad("sweep-case-name-escapes-results",
        sweep_text("cases:\n  - name: ../evil\n    changes: [{setting: discount_rate, value: 0.1}]\n"),
        "sweep.yaml", None, "cases[0].name", "name", command="sweep"),
    Bad("sweep-malformed-yaml", sweep_text("axes: [1, 2\n"), "sweep.yaml", 3, None, "yaml", command="sweep"),
    Bad("sweep-value-out-of-range", sweep_text(AXIS.replace("[0.1, 0.2]", "[0.1, -3]")), "sweep.yaml", None,
        "axes.t.values[1]", "range", "below the minimum 0", command="sweep"),
]


@pytest.mark.parametrize("p", SWEEP_CASES, ids=lambda p: p.id)
def test_bad_sweep(p: Bad, good_folder, tmp_path):
    path = tmp_path / "sweep.yaml"
    path.write_text(p.mutate(good_folder), encoding="utf-8")
    file = str(path)
    with pytest.raises(InputError) as info:
        load_sweep(path)
    assert_problem(info.value, file, p)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, cli_args(p, path, out))
    assert_clean_exit_2(result.exit_code, result.stderr, problem_text(p, file), out)


def test_corpus_is_large_enough():
    cases = SCENARIO_CASES + WORKBOOK_CASES + SWEEP_CASES
    assert len(cases) >= 40
    assert len({p.id for p in cases}) == len(cases)


# ------------------------------------------------------------------------------------------ real processes
REAL = ["misspelled-column", "nan", "duplicate-plant", "lane-to-unknown-plant", "malformed-yaml",
        "name-escapes-results", "xlsx-missing-sheet", "sweep-missing-column", "sweep-unknown-key"]
BY_ID = {p.id: p for p in SCENARIO_CASES + WORKBOOK_CASES + SWEEP_CASES}


@pytest.mark.slow
@pytest.mark.parametrize("case_id", REAL)
def test_real_cli_process(case_id, good_folder, good_book, tmp_path):
    """The same checks through ``python -m optimizer`` as a user runs it."""
    p = BY_ID[case_id]
    if p in SWEEP_CASES:
        target = tmp_path / "sweep.yaml"
        target.write_text(p.mutate(good_folder), encoding="utf-8")
        file = str(target)
    elif p in WORKBOOK_CASES:
        target = tmp_path / "case.xlsx"
        shutil.copy(good_book, target)
        p.mutate(target)
        file = str(tmp_path / p.file)
    else:
        target = broken_copy(good_folder, tmp_path, p)
        file = str(target / p.file)
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "optimizer", *cli_args(p, target, out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert_clean_exit_2(proc.returncode, proc.stderr, problem_text(p, file), out)
