"""Reading and writing scenarios: a folder of CSV tables plus ``scenario.yaml``, or one .xlsx workbook
(a sheet per table plus a ``scenario`` sheet of ``key``/``value`` rows, nested keys dotted: ``fx.JPY``).

Files are read with safe loaders only (YAML by :mod:`optimizer.yamlfile`, CSV as text); every problem found is
reported through :class:`~optimizer.errors.InputError`.
"""

from __future__ import annotations

import csv
import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from .errors import InputError, Problem
from .limits import TABLE_ROWS
from .scenario import Scenario
from .schema import SOURCE_SUFFIX, TABLES, TABLES_BY_NAME
from .validate import cap_problems, validate_tables
from .xlsx import write_workbook
from .xlsx_check import workbook_problems
from .yamlfile import parse_yaml, read_yaml

CONFIG_FILE = "scenario.yaml"
CONFIG_SHEET = "scenario"
TEXT_SETTINGS = {"name", "description", "sources"}  # kept as written, never parsed as YAML


def load_scenario(path: str | Path) -> Scenario:
    """Load and validate a scenario folder or .xlsx workbook; raise InputError listing every problem."""
    path = Path(path)
    if path.is_dir():
        return _load_folder(path)
    if path.suffix.lower() == ".xlsx" and path.is_file():
        return _load_workbook(path)
    if not path.exists():
        raise InputError([Problem(str(path), None, None, "not-found", "no such scenario folder or workbook")])
    raise InputError([Problem(str(path), None, None, "format", "a scenario is a folder of CSV files or an .xlsx file")])


def scenario_from_tables(
    tables: Mapping[str, pd.DataFrame], config: Mapping[str, Any], origin: str = "<memory>"
) -> Scenario:
    """Validate tables given as DataFrames (by table name) and settings given as a dict."""
    config_typed, typed = validate_tables(dict(tables), dict(config), lambda name: f"{origin}:{name}")
    return Scenario(config=config_typed, tables=typed, origin=origin)


def _read_yaml(path: Path) -> tuple[object, list[Problem]]:
    try:
        return read_yaml(path)
    except FileNotFoundError:
        return None, [Problem(str(path), None, None, "missing-file", f"{path.name} is missing")]


def _read_csv(path: Path) -> tuple[pd.DataFrame | None, list[Problem]]:
    """Read one table as text cells. A row whose field count differs from the header's is reported with
    its row number (pandas would silently take the extra leading fields for an index)."""
    limit = TABLE_ROWS.value
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            reader = csv.reader(f, skipinitialspace=True)
            header = [h.strip() for h in next(reader, [])]
            ragged, rows = [], 0
            for row in reader:
                rows += bool(row)
                if rows > limit:  # stop reading: the rest costs time and, in pandas, memory
                    return None, [Problem(str(path), None, None, "limit",
                                          TABLE_ROWS.exceeded(f"the table has more than {limit:,} rows"))]
                if row and len(row) != len(header):
                    ragged.append((reader.line_num, len(row)))
    except (csv.Error, UnicodeDecodeError) as exc:
        return None, [Problem(str(path), None, None, "csv", f"malformed CSV: {exc}".strip())]
    if not header:
        return None, [Problem(str(path), None, None, "empty-table", "the file is empty (no header row)")]
    if ragged:
        return None, cap_problems([Problem(str(path), row, None, "csv", f"malformed CSV: {n} fields where the "
                                           f"header has {len(header)}") for row, n in ragged])
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True, encoding="utf-8")
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        return None, [Problem(str(path), None, None, "csv", f"malformed CSV: {exc}".strip())]
    if len(set(header)) < len(header) and len(header) == len(frame.columns):
        frame.columns = header  # pandas renames a repeated name to 'name.1': keep it, the validator reports it
    return frame, []


def _load_folder(folder: Path) -> Scenario:
    problems: list[Problem] = []
    raw_config, config_problems = _read_yaml(folder / CONFIG_FILE)
    problems += config_problems
    raw: dict[str, pd.DataFrame | None] = {}
    for table_file in sorted(folder.glob("*.csv")):
        frame, csv_problems = _read_csv(table_file)
        problems += csv_problems
        raw[table_file.stem] = frame
        if frame is None and table_file.stem in TABLES_BY_NAME:
            raw[table_file.stem] = pd.DataFrame()  # reported already; keep out of "missing-table"
    if problems:
        raise InputError(problems)

    def file_of(name: str) -> str:
        return str(folder / (CONFIG_FILE if name == "scenario" else f"{name}.csv"))

    config, typed = validate_tables(raw, raw_config if raw_config is not None else {}, file_of)
    return Scenario(config=config, tables=typed, origin=str(folder))


def _load_workbook(path: Path) -> Scenario:
    found = workbook_problems(path)  # size, rows and uncached formulas, before anything is loaded
    if found:
        raise InputError(found)
    try:
        sheets = pd.read_excel(path, sheet_name=None, dtype=object, engine="openpyxl")
    except Exception as exc:  # openpyxl raises several types for a corrupt file
        raise InputError([Problem(str(path), None, None, "xlsx", f"cannot read workbook: {exc}")]) from None
    problems: list[Problem] = []
    raw_config: dict[str, Any] = {}
    if CONFIG_SHEET not in sheets:
        problems.append(Problem(f"{path}[{CONFIG_SHEET}]", None, None, "missing-table", "sheet 'scenario' is missing"))
    else:
        raw_config, cfg_problems = _config_from_sheet(sheets.pop(CONFIG_SHEET), f"{path}[{CONFIG_SHEET}]")
        problems += cfg_problems
    if problems:
        raise InputError(problems)
    ignored = [name for name in sheets if not _is_table_sheet(name)]
    raw = {name: frame.astype(object).where(frame.notna(), "").map(_cell_text) for name, frame in sheets.items()
           if name not in ignored}

    def file_of(name: str) -> str:
        return f"{path}[{name}]"

    config, typed = validate_tables(raw, raw_config, file_of)
    notes = tuple(Problem(f"{path}[{name}]", None, None, "ignored-sheet",
                          f"sheet '{name}' is not a table of the scenario and was ignored") for name in ignored)
    return Scenario(config=config, tables=typed, origin=str(path), notes=notes)


def _is_table_sheet(name: str) -> bool:
    """A sheet is read as a table when it is named like one, or close enough to be a misspelt one (which
    validation then reports with the name it resembles); any other sheet (a planner's "Notes") is not."""
    return name in TABLES_BY_NAME or bool(difflib.get_close_matches(name, list(TABLES_BY_NAME), n=1, cutoff=0.75))


def _cell_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _config_from_sheet(frame: pd.DataFrame, file: str) -> tuple[dict[str, Any], list[Problem]]:
    if list(frame.columns[:2]) != ["key", "value"]:
        return {}, [Problem(file, 1, None, "missing-column", "the scenario sheet needs columns 'key' and 'value'")]
    config: dict[str, Any] = {}
    for i, (key, value) in enumerate(zip(frame["key"], frame["value"])):
        if pd.isna(key) or (isinstance(value, float) and pd.isna(value)):
            continue  # a blank value is the setting's default (an exported '' or null reads back blank)
        if isinstance(value, str) and str(key).split(".")[0] not in TEXT_SETTINGS:
            text = value
            value, problems = parse_yaml(text, file, row=i + 2)
            if problems:
                shown = repr(text) if len(text) <= 60 else repr(text[:57]) + "..."
                message = f"cannot read value {shown}" if problems[0].rule == "yaml" else problems[0].message
                return {}, [Problem(file, i + 2, "value", problems[0].rule, message)]
        node = config
        parts = str(key).strip().split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return config, []


def _flatten(prefix: str, value: object) -> list[tuple[str, object]]:
    if isinstance(value, Mapping):
        out: list[tuple[str, object]] = []
        for k, v in value.items():
            out += _flatten(f"{prefix}.{k}" if prefix else str(k), v)
        return out
    return [(prefix, value)]


def _export_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A typed table as written: ``;``-lists joined, each ``<column>_source`` right after its column."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object and out[col].map(lambda x: isinstance(x, tuple)).any():
            out[col] = out[col].map(lambda x: ";".join(str(i) for i in x))
    order: list[str] = []
    for col in out.columns:
        if col.endswith(SOURCE_SUFFIX) and col[: -len(SOURCE_SUFFIX)] in out.columns:
            continue
        order.append(col)
        if col + SOURCE_SUFFIX in out.columns:
            order.append(col + SOURCE_SUFFIX)
    order += [c for c in out.columns if c not in order]
    return out[order]


def _header_notes(table_name: str, columns: list[str]) -> dict[str, str]:
    """Header notes of a scenario sheet: each column's unit and description from the schema."""
    table = TABLES_BY_NAME[table_name]
    notes = {}
    for c in table.columns:
        if c.name in columns:
            notes[c.name] = f"{c.unit}: {c.description}" if c.unit != "-" else c.description
    return notes


def write_scenario(scenario: Scenario, target: str | Path) -> Path:
    """Write a scenario as a folder of CSV files plus scenario.yaml, or as an .xlsx workbook (one sheet per
    table after the ``scenario`` sheet of settings; see :func:`optimizer.xlsx.write_workbook`)."""
    target = Path(target)
    config = scenario.config.model_dump(mode="json", exclude_defaults=False)
    if target.suffix.lower() == ".xlsx":
        sheets = {CONFIG_SHEET: pd.DataFrame(_flatten("", config), columns=["key", "value"])}
        notes = {}
        for table in TABLES:
            if table.name in scenario.tables:
                sheets[table.name] = _export_frame(scenario.tables[table.name])
                notes[table.name] = _header_notes(table.name, list(sheets[table.name].columns))
        return write_workbook(target, sheets, notes)
    target.mkdir(parents=True, exist_ok=True)
    (target / CONFIG_FILE).write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    for table in TABLES:
        if table.name in scenario.tables:
            _export_frame(scenario.tables[table.name]).to_csv(target / table.file, index=False)
    return target
