"""Named validators that turn raw input tables into typed ones, collecting every problem at once.

Each check has a rule name (``missing-column``, ``range``, ``duplicate-key``, ``reference`` ...) that
appears in the error, so a user (and a test) can tell exactly which rule a row broke. Nothing here
raises on the first problem: :func:`validate_tables` gathers all of them into one :class:`InputError`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import cast

import numpy as np
import pandas as pd
from pydantic import ValidationError

from .config import ScenarioConfig
from .errors import InputError, Problem, did_you_mean, pydantic_problems
from .limits import SHOWN_PER_RULE
from .schema import MAGNITUDE, SOURCE_SUFFIX, TABLES, TABLES_BY_NAME, Column, Table

FIRST_DATA_ROW = 2  # the header is row 1 of a CSV file or a sheet


def row_number(index: int | np.integer) -> int:
    """The 1-based file row of the data row at 0-based position ``index``."""
    return int(index) + FIRST_DATA_ROW


def validate_config(raw: object, file: str) -> tuple[ScenarioConfig | None, list[Problem]]:
    """Validate the mapping read from ``scenario.yaml`` (or the workbook's ``scenario`` sheet)."""
    if not isinstance(raw, Mapping):
        return None, [Problem(file, None, None, "yaml-structure", "expected a mapping of settings at the top level")]
    try:
        return ScenarioConfig(**{str(k): v for k, v in raw.items()}), []
    except ValidationError as exc:
        return None, pydantic_problems(exc, file, known=ScenarioConfig.model_fields, noun="setting")


def _is_blank(series: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(series):
        return series.isna()
    if series.map(type).isin([str]).all():
        return series.str.strip() == ""
    as_text = series.map(lambda x: ";".join(map(str, x)) if isinstance(x, (list, tuple)) else x)
    return as_text.isna() | (as_text.astype(str).str.strip() == "")


def _parse_number(series: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        return series.astype(float)
    text = series.astype(str).str.strip()
    return pd.to_numeric(text, errors="coerce").astype(float)


class _TableChecker:
    """Type, range and key checks of one table against its schema."""

    def __init__(self, table: Table, frame: pd.DataFrame, file: str, horizon: tuple[int, int] | None):
        self.table, self.frame, self.file, self.horizon = table, frame, file, horizon
        self._listed: list[Problem] = []
        self._per_rule: dict[tuple[str | None, str], int] = {}

    def add(self, index: int | np.integer | None, column: str | None, rule: str, message: str) -> None:
        """Record a problem; past :data:`SHOWN_PER_RULE` of one rule in one column they are only counted,
        so that a table of a million bad rows gives a short message."""
        n = self._per_rule.get((column, rule), 0) + 1
        self._per_rule[column, rule] = n
        if n <= SHOWN_PER_RULE:
            row = None if index is None else row_number(index)
            self._listed.append(Problem(self.file, row, column, rule, message))

    @property
    def problems(self) -> list[Problem]:
        """The problems listed, then one line per rule and column with how many more rows break it."""
        more = [Problem(self.file, None, column, rule, _more(n)) for (column, rule), n in self._per_rule.items()
                if n > SHOWN_PER_RULE]
        return self._listed + more

    def run(self) -> pd.DataFrame | None:
        table, frame = self.table, self.frame.reset_index(drop=True)
        known = {c.name for c in table.columns}
        allowed_sources = {c.name + SOURCE_SUFFIX for c in table.columns}
        columns = [str(c).strip() for c in frame.columns]
        frame.columns = columns
        for col in columns:
            if col in known or col in allowed_sources:
                continue
            self.add(None, col, "unknown-column",
                     f"'{col}' is not a column of {table.name}{did_you_mean(col, known)}")
        dupes = {c for c in columns if columns.count(c) > 1}
        for col in sorted(dupes):
            self.add(None, col, "duplicate-column", f"column '{col}' appears more than once")
        missing = [c.name for c in table.columns if c.required and c.name not in columns]
        for col in missing:
            self.add(None, col, "missing-column", f"required column '{col}' is missing")
        if len(frame) == 0 and table.required:
            self.add(None, None, "empty-table", f"table {table.name} has no rows")
        if dupes or len(frame) == 0:
            return None  # an optional table with a header and no rows means "none": read as absent

        out = {}
        for column in table.columns:
            present = column.name in frame and column.name not in missing
            out[column.name] = self._column(column, frame[column.name] if present else None, len(frame))
        typed = pd.DataFrame(out)
        for col in columns:
            if col in allowed_sources:
                typed[col] = frame[col].where(~_is_blank(frame[col]), "").astype(str)
        if not self.problems:
            self._keys(typed)
        return typed

    def _column(self, col: Column, series: pd.Series | None, n: int) -> pd.Series:
        if series is None:
            if col.kind == "float" and col.default is None:
                return pd.Series(np.full(n, np.nan))  # as a blank cell of a present column reads
            return pd.Series([col.default] * n, dtype=object if col.kind in ("list", "ramp", "str") else None)
        blank = _is_blank(series)
        if col.required and col.blank_means is None:
            for i in np.flatnonzero(blank.to_numpy()):
                self.add(i, col.name, "blank", f"'{col.name}' must not be blank")
        if col.kind == "str":
            values = series.where(~blank, "" if col.default is None else col.default).astype(str).str.strip()
            if col.choices:
                bad = ~values.isin(col.choices) & ~blank
                for i in np.flatnonzero(bad.to_numpy()):
                    self.add(i, col.name, "choice", f"'{values.iloc[i]}' is not one of {', '.join(col.choices)}")
            return values
        if col.kind in ("list", "ramp"):
            return self._list_column(col, series, blank)
        return self._number_column(col, series, blank)

    def _list_column(self, col: Column, series: pd.Series, blank: pd.Series) -> pd.Series:
        values: list[tuple] = []
        for i, (cell, is_blank) in enumerate(zip(series.tolist(), blank.tolist())):
            if is_blank:
                values.append(tuple(cast(Iterable, col.default or ())))
                continue
            items = cell if isinstance(cell, (list, tuple)) else str(cell).split(";")
            parts = [str(p).strip() for p in items if str(p).strip()]
            if col.kind == "ramp":
                fractions = []
                for part in parts:
                    try:
                        f = float(part)
                    except ValueError:
                        f = math.nan
                    if not (math.isfinite(f) and 0.0 <= f <= 1.0):
                        self.add(i, col.name, "ramp", f"ramp entry '{part}' is not a fraction in [0, 1]")
                    fractions.append(f)
                values.append(tuple(fractions))
            else:
                if not parts:
                    self.add(i, col.name, "blank", f"'{col.name}' must list at least one name")
                values.append(tuple(parts))
        return pd.Series(values, dtype=object)

    def _number_column(self, col: Column, series: pd.Series, blank: pd.Series) -> pd.Series:
        numbers = _parse_number(series).to_numpy(dtype=float)
        blank_ = blank.to_numpy(dtype=bool)
        not_number = np.isnan(numbers) & ~blank_
        nonfinite = ~blank_ & ~np.isnan(numbers) & ~np.isfinite(numbers)
        if not pd.api.types.is_numeric_dtype(series):  # a literal "nan" parses to NaN: not finite, not blank
            spelled_nan = ~blank_ & series.astype(str).str.strip().str.lower().isin(["nan", "-nan", "+nan"]).to_numpy()
            nonfinite |= spelled_nan
            not_number &= ~spelled_nan
        for i in np.flatnonzero(not_number):
            self.add(i, col.name, "type", f"'{series.iloc[i]}' is not a number")
        for i in np.flatnonzero(nonfinite):
            self.add(i, col.name, "finite", f"'{series.iloc[i]}' is not a finite number")
        ok = ~blank_ & ~not_number & ~nonfinite
        checked = np.where(ok, numbers, 0.0)
        if col.kind == "int":
            for i in np.flatnonzero(ok & (checked != np.round(checked))):
                self.add(i, col.name, "type", f"'{series.iloc[i]}' is not a whole number")
        if col.minimum is not None:
            for i in np.flatnonzero(ok & (checked < col.minimum)):
                self.add(i, col.name, "range", f"{numbers[i]:g} is below the minimum {col.minimum:g}")
        if col.maximum is not None:
            for i in np.flatnonzero(ok & (checked > col.maximum)):
                self.add(i, col.name, "range", f"{numbers[i]:g} is above the maximum {col.maximum:g}")
        huge = ok & (np.abs(checked) > MAGNITUDE)
        if col.maximum is not None and col.maximum <= MAGNITUDE:
            huge &= checked < -MAGNITUDE  # above the column's maximum: reported as a range problem already
        if col.minimum is not None and col.minimum >= -MAGNITUDE:
            huge &= checked > MAGNITUDE
        for i in np.flatnonzero(huge):
            self.add(i, col.name, "magnitude", f"{numbers[i]:g} is beyond the largest magnitude the model accepts, "
                     f"{MAGNITUDE:g} {col.unit}: such numbers overflow the model's coefficients; check the unit")
        if col.name == "year" and self.horizon is not None:
            lo, hi = self.horizon
            for i in np.flatnonzero(ok & ((checked < lo) | (checked > hi))):
                self.add(i, col.name, "horizon", f"year {numbers[i]:g} is outside the horizon {lo}-{hi}")
        filled = np.where(ok, numbers, np.nan)
        if col.default is not None:
            filled = np.where(np.isnan(filled), float(cast(float, col.default)), filled)
        if col.kind == "int":
            if np.isnan(filled).any():
                return pd.Series(filled).astype("Int64")
            return pd.Series(filled.astype("int64"))
        return pd.Series(filled)

    def _keys(self, typed: pd.DataFrame) -> None:
        """Each row whose key repeats an earlier row's, with that row: one pass over the rows."""
        key = list(self.table.key)
        first_at: dict[tuple, int] = {}
        for i, values in enumerate(zip(*(typed[k].tolist() for k in key))):
            first = first_at.setdefault(values, i)
            if first != i:
                label = ", ".join(f"{k}={v}" for k, v in zip(key, values))
                self.add(i, ",".join(key), "duplicate-key", f"{label} already appears at row {row_number(first)}")


def cap_problems(problems: list[Problem]) -> list[Problem]:
    """The first :data:`SHOWN_PER_RULE` problems of each file, column and rule, then one line per such
    group with how many more there are (so a message stays short however many rows are wrong)."""
    seen: dict[tuple[str, str | None, str], int] = {}
    kept = []
    for p in problems:
        n = seen[p.file, p.column, p.rule] = seen.get((p.file, p.column, p.rule), 0) + 1
        if n <= SHOWN_PER_RULE:
            kept.append(p)
    return kept + [Problem(file, None, column, rule, _more(n)) for (file, column, rule), n in seen.items()
                   if n > SHOWN_PER_RULE]


def _more(n: int) -> str:
    return f"... and {n - SHOWN_PER_RULE:,} more rows break this rule ({n:,} in all; the first {SHOWN_PER_RULE} listed)"


def validate_tables(
    raw_tables: Mapping[str, pd.DataFrame | None],
    raw_config: object,
    file_of: Callable[[str], str],
    trusted: Mapping[str, pd.DataFrame] | None = None,
) -> tuple[ScenarioConfig, dict[str, pd.DataFrame]]:
    """Validate raw tables (cells as read) and settings; return typed tables or raise InputError.

    ``raw_tables`` maps a table name to its frame, or ``None`` where the file or sheet is absent.
    ``file_of(name)`` names the file a table came from, for the messages (``scenario`` for settings).
    ``trusted`` holds typed tables that passed these checks before (a derived scenario's unchanged
    tables): they skip the per-table checks but take part in the checks across tables.
    """
    trusted = trusted or {}
    problems: list[Problem] = []
    config, config_problems = validate_config(raw_config, file_of("scenario"))
    problems += config_problems
    horizon = (config.start_year, config.end_year) if config else None

    for name in raw_tables:
        if name not in TABLES_BY_NAME:
            problems.append(Problem(file_of(name), None, None, "unknown-table",
                                    f"'{name}' is not a table{did_you_mean(name, TABLES_BY_NAME)}"))

    typed: dict[str, pd.DataFrame] = {}
    for table in TABLES:
        if table.name in trusted:
            typed[table.name] = trusted[table.name]
            continue
        frame = raw_tables.get(table.name)
        if frame is None:
            if table.required:
                problems.append(Problem(file_of(table.name), None, None, "missing-table",
                                        f"required table {table.name} is missing"))
            continue
        checker = _TableChecker(table, frame, file_of(table.name), horizon)
        result = checker.run()
        problems += checker.problems
        if result is not None and not checker.problems:
            typed[table.name] = result

    if config is not None and not problems:
        problems += cap_problems(_cross_checks(config, typed, file_of))
    if problems:
        raise InputError(problems)
    assert config is not None
    return config, typed


def revalidate_columns(
    config_raw: object,
    typed: Mapping[str, pd.DataFrame],
    edited: Mapping[str, pd.DataFrame],
    columns: Mapping[str, set[str]],
    file_of: Callable[[str], str],
) -> tuple[ScenarioConfig, dict[str, pd.DataFrame]]:
    """What :func:`validate_tables` returns for tables that were valid (``typed``) and then had only some
    non-key columns edited (``edited[name][column]`` for ``column`` in ``columns[name]``), at the cost of
    those columns: each edited column goes through the same per-column checks, every other column and
    the keys are kept, and the checks across tables run again. The horizon must be unchanged (a new
    horizon re-checks every year column: use :func:`validate_tables`)."""
    problems: list[Problem] = []
    config, config_problems = validate_config(config_raw, file_of("scenario"))
    problems += config_problems
    out = dict(typed)
    horizon = (config.start_year, config.end_year) if config else None
    for name, cols in columns.items():
        table = TABLES_BY_NAME[name]
        if set(cols) & set(table.key):
            raise ValueError(f"key columns of {name} were edited: validate the whole table")
        frame = edited[name].reset_index(drop=True)
        checker = _TableChecker(table, frame, file_of(name), horizon)
        fresh = out[name].copy()
        for col in sorted(cols):
            fresh[col] = checker._column(table.column(col), frame[col], len(frame)).to_numpy()
        problems += checker.problems
        out[name] = fresh
    if config is not None and not problems and _cross_checks_affected(typed, out, columns):
        problems += cap_problems(_cross_checks(config, out, file_of))
    if problems:
        raise InputError(problems)
    assert config is not None
    return config, out


CROSS_CHECKED = {"plant_years": {"capacity_gwh"}, "demand": {"vehicles"}, "rules": {"from_year", "to_year"}}
"""The non-key columns :func:`_cross_checks` reads (besides text columns, which changes never edit)."""


def _cross_checks_affected(before: Mapping[str, pd.DataFrame], after: Mapping[str, pd.DataFrame],
                           columns: Mapping[str, set[str]]) -> bool:
    """Whether edits to ``columns`` can change the verdict of the checks across tables, which ``before``
    passed: only edits to the columns they read can; of those, demand edits only when a row that had
    no demand gets some (it then needs a lane)."""
    hit = {(n, c) for n, cols in columns.items() for c in cols if c in CROSS_CHECKED.get(n, ())}
    if hit == {("demand", "vehicles")}:
        return bool(((after["demand"]["vehicles"] > 0) & ~(before["demand"]["vehicles"] > 0)).any())
    return bool(hit)


def _cross_checks(config: ScenarioConfig, t: dict[str, pd.DataFrame], file_of: Callable[[str], str]) -> list[Problem]:
    """References between tables, per-year coverage and the rules that span tables."""
    problems: list[Problem] = []
    plants = set(t["plants"]["plant"])
    assemblies = set(t["assembly"]["assembly"])
    models = set(t["models"]["model"])
    years = set(config.years)

    def refs(table: str, column: str, known: set[str], what: str) -> None:
        frame = t[table]
        bad = ~frame[column].isin(known)
        for i in np.flatnonzero(bad.to_numpy()):
            name = frame[column].iloc[i]
            problems.append(Problem(file_of(table), row_number(i), column, "reference",
                                    f"unknown {what} '{name}'{did_you_mean(name, known)}"))

    refs("plant_years", "plant", plants, "plant")
    refs("assembly_years", "assembly", assemblies, "assembly plant")
    refs("demand", "assembly", assemblies, "assembly plant")
    refs("demand", "model", models, "model")
    refs("lanes", "plant", plants, "plant")
    refs("lanes", "assembly", assemblies, "assembly plant")

    for table, entity, known in (("plant_years", "plant", plants), ("assembly_years", "assembly", assemblies)):
        have = set(zip(t[table][entity], t[table]["year"]))
        for name in sorted(known):
            gaps = [y for y in sorted(years) if (name, y) not in have]
            if gaps:
                problems.append(Problem(file_of(table), None, "year", "coverage",
                                        f"{entity} '{name}' has no row for year(s) {_years(gaps)}"))
    if "years" in t:
        gaps = sorted(years - set(t["years"]["year"]))
        if gaps:
            problems.append(Problem(file_of("years"), None, "year", "coverage", f"no row for year(s) {_years(gaps)}"))

    if "rules" in t:
        rules = t["rules"]
        for i, row in rules.iterrows():
            for col, known, what in (("assemblies", assemblies, "assembly plant"), ("plants", plants, "plant")):
                for name in row[col]:
                    if name not in known:
                        problems.append(Problem(file_of("rules"), row_number(i), col, "reference",
                                                f"unknown {what} '{name}'{did_you_mean(name, known)}"))
            if not pd.isna(row["to_year"]) and row["to_year"] < row["from_year"]:
                problems.append(Problem(file_of("rules"), row_number(i), "to_year", "order",
                                        f"to_year {row['to_year']} is before from_year {row['from_year']}"))

    plant_rows = t["plants"].set_index("plant")
    candidates = set(plant_rows.index[plant_rows["status"] == "candidate"])
    py = t["plant_years"]
    bad = py["plant"].isin(candidates) & (py["capacity_gwh"] > 0)
    for i in np.flatnonzero(bad.to_numpy()):
        problems.append(Problem(file_of("plant_years"), row_number(i), "capacity_gwh", "candidate-capacity",
                                f"candidate plant '{py['plant'].iloc[i]}' has no capacity before it is opened; "
                                "make it 'existing' or set 0"))

    if "lane_years" in t:
        lanes = set(zip(t["lanes"]["plant"], t["lanes"]["assembly"]))
        ly = t["lane_years"]
        for i, (p, a) in enumerate(zip(ly["plant"], ly["assembly"])):
            if (p, a) not in lanes:
                problems.append(Problem(file_of("lane_years"), row_number(i), "plant,assembly", "reference",
                                        f"no lane {p} -> {a} in lanes: a per-year row needs its lane"))

    closable = t["plants"]["may_close"] == "yes"
    for i in np.flatnonzero((closable & (t["plants"]["status"] == "candidate")).to_numpy()):
        problems.append(Problem(file_of("plants"), row_number(i), "may_close", "closure-candidate",
                                f"candidate plant '{t['plants']['plant'].iloc[i]}' cannot be closed: only an "
                                "existing plant may close (a candidate is simply not opened)"))

    if not problems and config.demand == "hard":
        problems += unservable_demand(t, file_of)
    return problems


def unservable_demand(t: Mapping[str, pd.DataFrame], file_of: Callable[[str], str]) -> list[Problem]:
    """Every positive demand with no lane from a plant that makes the model's cell type (rule
    ``unservable``): an error with hard demand, a warning with soft demand (it then goes unserved at
    the penalty)."""
    types = dict(zip(t["plants"]["plant"], t["plants"]["cell_types"]))
    cell = dict(zip(t["models"]["model"], t["models"]["cell_type"]))
    lanes_to: dict[str, list[str]] = {}
    for p, a in zip(t["lanes"]["plant"], t["lanes"]["assembly"]):
        lanes_to.setdefault(a, []).append(p)
    problems = []
    d = t["demand"]
    reported: set[tuple[str, str]] = set()
    for i, (a, v, q) in enumerate(zip(d["assembly"], d["model"], d["vehicles"])):
        if q <= 0 or (a, v) in reported:
            continue
        if not any(cell[v] in types[p] for p in lanes_to.get(a, [])):
            reported.add((a, v))
            problems.append(Problem(file_of("demand"), row_number(i), "model", "unservable",
                                    f"no lane brings {cell[v]} cells to '{a}' for model '{v}'"))
    return problems


def _years(years: list[int]) -> str:
    return ", ".join(str(y) for y in years[:6]) + (" ..." if len(years) > 6 else "")
