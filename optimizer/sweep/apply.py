"""Applying changes to a scenario: :func:`apply_changes` (a new, re-validated scenario) and
:func:`check_changes` (the problems it would raise, found cheaply when a sweep file is loaded).

The changes are those of :mod:`.changes`, applied in order to copies of the base's tables and settings;
every problem names the sweep file (``source``) and the key path of the change in it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import pandas as pd
from pydantic import ValidationError

from ..config import ScenarioConfig
from ..errors import InputError, Problem, did_you_mean, pydantic_problems
from ..scenario import Scenario
from ..schema import MAGNITUDE, TABLES_BY_NAME, Column, Table
from .changes import (
    CHOICE_SETTINGS,
    ENTITY_TABLES,
    FX_PREFIX,
    NUMERIC_SETTINGS,
    OPS,
    BudgetCut,
    Change,
    Delay,
    Outage,
    SettingChange,
    TableChange,
    as_number,
    as_text,
    as_whole,
    as_years,
    with_value,
)


def _apply_op(old: float, op: str, value: float) -> float:
    if op == "set":
        return value
    if op == "scale":
        return old * value
    return old + value


def _round_half_up(x: np.ndarray | float) -> np.ndarray | float:
    return np.floor(np.asarray(x, dtype=float) + 0.5)



class _Editor:
    """Copies of the tables and settings a sequence of changes touches, and the problems found."""

    def __init__(self, base: Scenario, source: str, masks: dict | None = None):
        self.base = base
        self.source = source
        self.masks = masks if masks is not None else {}  # (table, where) -> rows, for filters on base data
        self.frames: dict[str, pd.DataFrame] = {}
        self.settings: dict[str, Any] = {}
        self.problems: list[Problem] = []
        self.touched_columns: list[tuple[str, str, str]] = []  # (table, column, change path)
        self.touched_settings: list[tuple[str, str]] = []  # (setting, change path)

    # -- helpers -------------------------------------------------------------------------------------
    def problem(self, column: str, rule: str, message: str) -> None:
        self.problems.append(Problem(self.source, None, column, rule, message))

    def frame(self, name: str) -> pd.DataFrame:
        if name not in self.frames:
            self.frames[name] = self.base.table(name)
        return self.frames[name]

    def setting(self, name: str) -> Any:
        if name in self.settings:
            return self.settings[name]
        return getattr(self.base.config, name)

    def touch(self, table: str, column: str, path: str) -> None:
        self.touched_columns.append((table, column, path))

    def known_plant(self, plant: str, path: str) -> bool:
        plants = list(self.base.tables["plants"]["plant"])
        if plant in plants:
            return True
        self.problem(path, "unknown-plant",
                     f"'{plant}' is not a plant of the base scenario{did_you_mean(plant, plants)}")
        return False

    # -- filters -------------------------------------------------------------------------------------
    def filter_keys(self, schema: Table, frame: pd.DataFrame) -> dict[str, Column]:
        """Every key a filter on this table may use, with the column that defines its kind."""
        keys = {c.name: c for c in schema.columns if c.kind != "ramp"}
        for prefix, entity in ENTITY_TABLES.items():
            if prefix in frame.columns:
                for c in TABLES_BY_NAME[entity].columns:
                    if c.kind != "ramp":
                        keys[f"{prefix}.{c.name}"] = c
        return keys

    def key_series(self, schema: Table, frame: pd.DataFrame, key: str) -> pd.Series:
        if key in frame.columns and "." not in key:
            return frame[key]
        prefix, attr = key.split(".", 1)
        entity = self.base.tables[ENTITY_TABLES[prefix]]
        lookup = dict(zip(entity[prefix], entity[attr]))
        return frame[prefix].map(lookup)

    def match(self, schema: Table, frame: pd.DataFrame, where: tuple[tuple[str, tuple], ...], path: str
              ) -> pd.Series | None:
        """Rows every filter key accepts; None (with problems recorded) when a key or value is bad."""
        keys = self.filter_keys(schema, frame)
        mask = pd.Series(True, index=frame.index)
        ok = True
        for key, allowed in where:
            kpath = f"{path}.where.{key}"
            col = keys.get(key)
            if col is None:
                self.problem(kpath, "unknown-column",
                             f"'{key}' is not a column of {schema.name} nor an attribute of a plant, assembly "
                             f"plant or model it refers to{did_you_mean(key, keys)}")
                ok = False
                continue
            series = self.key_series(schema, frame, key)
            if col.kind in ("int", "float"):
                try:
                    wanted: list[object] = [as_number(v) for v in allowed]
                except ValueError as exc:
                    self.problem(kpath, "value", f"filter on {key}: {exc}")
                    ok = False
                    continue
                numbers = pd.to_numeric(series, errors="coerce").astype(float)
                hit = numbers.isin(wanted)
                present = set(numbers.dropna())
            elif col.kind == "list":
                wanted = [as_text(v).strip() for v in allowed]
                hit = series.map(lambda items, w=frozenset(wanted): any(str(i) in w for i in items))
                present = {str(i) for items in series for i in items}
            else:
                wanted = [as_text(v).strip() for v in allowed]
                text = series.astype(str)
                hit = text.isin(wanted)
                present = set(text)
            missing = [v for v in wanted if v not in present]
            if missing:
                shown = ", ".join(as_text(int(v) if isinstance(v, float) and v.is_integer() else v) for v in missing)
                choices = sorted(as_text(v) for v in present)
                listing = ", ".join(choices[:12]) + (" ..." if len(choices) > 12 else "")
                self.problem(kpath, "no-match",
                             f"{key} = {shown} matches no row of {schema.name} (it has: {listing})")
                ok = False
                continue
            mask &= hit.fillna(False).astype(bool)
        return mask if ok else None

    # -- the changes ---------------------------------------------------------------------------------
    def table_change(self, ch: TableChange, path: str) -> None:
        schema = TABLES_BY_NAME.get(ch.table)
        if schema is None:
            self.problem(f"{path}.table", "unknown-table",
                         f"'{ch.table}' is not a table{did_you_mean(ch.table, TABLES_BY_NAME)}")
            return
        names = [c.name for c in schema.columns]
        if ch.column not in names:
            self.problem(f"{path}.column", "unknown-column",
                         f"'{ch.column}' is not a column of {ch.table}{did_you_mean(ch.column, names)}")
            return
        col = schema.column(ch.column)
        if ch.column in schema.key:
            self.problem(f"{path}.column", "key-column",
                         f"'{ch.column}' is part of the key of {ch.table}; a change may not alter it")
            return
        if col.kind not in ("int", "float"):
            self.problem(f"{path}.column", "not-numeric",
                         f"'{ch.column}' of {ch.table} is not a numeric column (it is {col.kind})")
            return
        if ch.op not in OPS:
            self.problem(f"{path}.op", "value", f"op must be one of {', '.join(OPS)}, got {ch.op!r}")
            return
        if ch.table not in self.base.tables:
            self.problem(f"{path}.table", "no-match", f"the base scenario has no {ch.table} table")
            return
        frame = self.frame(ch.table)
        # a filter on key, text or entity columns selects the same rows in every case of a sweep (changes
        # only alter numeric non-key columns): such masks are kept for the next case
        fixed = all("." in k or k in schema.key or schema.column(k).kind not in ("int", "float")
                    for k, _ in ch.where if k in names or "." in k)
        mask = self.masks.get((ch.table, ch.where)) if fixed else None
        if mask is None:
            mask = self.match(schema, frame, ch.where, path)
            if mask is None:
                return
            if fixed:
                self.masks[ch.table, ch.where] = mask
        if not mask.any():
            label = "; ".join(f"{k} = {', '.join(map(as_text, v))}" for k, v in ch.where)
            self.problem(f"{path}.where" if ch.where else f"{path}.table", "no-match",
                         f"no row of {ch.table} matches {label}" if ch.where else f"{ch.table} has no rows")
            return
        values = pd.to_numeric(frame[ch.column], errors="coerce").astype(float)
        chosen = values[mask].to_numpy()
        new: Any
        if ch.op == "set":
            new = np.full(len(chosen), float(ch.value))
        else:
            new = np.asarray([_apply_op(v, ch.op, float(ch.value)) for v in chosen], dtype=float)  # NaN stays
        if col.kind == "int":
            new = _round_half_up(new)
        values[mask] = new
        frame[ch.column] = values
        self.touch(ch.table, ch.column, path)

    def setting_change(self, ch: SettingChange, path: str) -> None:
        name = ch.setting
        if ch.op not in OPS:
            self.problem(f"{path}.op", "value", f"op must be one of {', '.join(OPS)}, got {ch.op!r}")
            return
        if name.startswith(FX_PREFIX):
            currency = name[len(FX_PREFIX):]
            known = set(self.base.config.fx) | set(self.base.tables["plants"]["currency"])
            if currency not in known:
                self.problem(f"{path}.setting", "unknown-setting",
                             f"no plant of the base scenario has currency '{currency}' and scenario.yaml has no "
                             f"fx entry for it{did_you_mean(name, [FX_PREFIX + c for c in known])}")
                return
            try:
                value = as_number(ch.value)
            except ValueError as exc:
                self.problem(f"{path}.value", "value", str(exc))
                return
            fx = dict(self.setting("fx"))
            fx[currency] = _apply_op(float(fx.get(currency, 1.0)), ch.op, value)
            self.settings["fx"] = fx
            self.touched_settings.append(("fx", path))
            return
        if name in NUMERIC_SETTINGS:
            try:
                value = as_number(ch.value)
            except ValueError as exc:
                self.problem(f"{path}.value", "value", str(exc))
                return
            old = self.setting(name)
            new = value if ch.op == "set" else (None if old is None else _apply_op(float(old), ch.op, value))
            if new is not None and NUMERIC_SETTINGS[name] == "int":
                new = int(_round_half_up(new))
            self.settings[name] = new
            self.touched_settings.append((name, path))
            return
        if name in CHOICE_SETTINGS:
            if ch.op != "set":
                self.problem(f"{path}.op", "not-numeric", f"{name} is not a number: it can only be set")
                return
            try:
                choice = cast(SettingChange, with_value(ch, ch.value)).value
            except ValueError as exc:
                self.problem(f"{path}.value", "value", str(exc))
                return
            self.settings[name] = choice
            self.touched_settings.append((name, path))
            return
        sweepable = [*NUMERIC_SETTINGS, *CHOICE_SETTINGS, *(FX_PREFIX + c for c in self.base.config.fx)]
        fixed = name in ScenarioConfig.model_fields
        self.problem(f"{path}.setting", "unknown-setting",
                     (f"'{name}' cannot be changed by a sweep" if fixed else f"'{name}' is not a setting")
                     + f"{did_you_mean(name, sweepable)}; sweepable settings: {', '.join(sweepable)}")

    def horizon_years(self, years: Sequence[int], path: str) -> bool:
        horizon = self.base.years
        outside = [y for y in years if y not in horizon]
        if outside:
            self.problem(path, "no-match", f"year(s) {', '.join(map(str, outside))} outside the horizon "
                                           f"{horizon[0]}-{horizon[-1]}")
            return False
        return True

    def outage(self, ch: Outage, path: str) -> None:
        if not self.known_plant(ch.plant, f"{path}.plant"):
            return
        try:
            years = as_years(ch.years)
        except ValueError as exc:
            self.problem(f"{path}.years", "value", str(exc))
            return
        if not self.horizon_years(years, f"{path}.years") or not years:
            return
        py = self.frame("plant_years")
        mask = (py["plant"] == ch.plant) & py["year"].isin(years)
        py["availability"] = py["availability"].astype(float).where(~mask, 0.0)
        self.touch("plant_years", "availability", path)

    def delay(self, ch: Delay, path: str) -> None:
        if not self.known_plant(ch.plant, f"{path}.plant"):
            return
        try:
            k = as_whole(ch.years, "a whole number of years")
            if k < 0:
                raise ValueError(f"a delay is a whole number of years >= 0, got {ch.years!r}")
        except ValueError as exc:
            self.problem(f"{path}.years", "value", str(exc))
            return
        if k == 0:
            return
        plants = self.frame("plants")
        at = plants["plant"] == ch.plant
        plants["lead_time_years"] = plants["lead_time_years"].astype("int64").where(~at, plants["lead_time_years"] + k)
        self.touch("plants", "lead_time_years", path)
        py = self.frame("plant_years")
        rows = py.index[py["plant"] == ch.plant]
        t0 = self.base.config.start_year
        for column in ("capacity_gwh", "min_offtake_gwh"):
            by_year = dict(zip(py.loc[rows, "year"].astype(int), py.loc[rows, column].astype(float)))
            shifted = [min(by_year[t], by_year.get(max(t - k, t0), by_year[t])) for t in py.loc[rows, "year"]]
            values = py[column].astype(float)
            values[rows] = shifted
            py[column] = values
            self.touch("plant_years", column, path)

    def budget_cut(self, ch: BudgetCut, path: str) -> None:
        try:
            share = as_number(ch.share)
            if not 0.0 <= share <= 1.0:
                raise ValueError(f"a budget cut is a share in [0, 1], got {ch.share!r}")
            years = None if ch.years is None else as_years(ch.years)
        except ValueError as exc:
            self.problem(f"{path}.share", "value", str(exc))
            return
        if years is not None and not self.horizon_years(years, f"{path}.years"):
            return
        cut_something = False
        if "years" in self.base.tables:
            table = self.frame("years")
            mask = table["year"].isin(years) if years is not None else pd.Series(True, index=table.index)
            budget = table["capex_budget_musd"].astype(float)
            if (mask & budget.notna()).any():
                table["capex_budget_musd"] = budget.where(~mask, budget * (1.0 - share))
                self.touch("years", "capex_budget_musd", path)
                cut_something = True
        if years is None and self.setting("total_budget_musd") is not None:
            self.settings["total_budget_musd"] = float(self.setting("total_budget_musd")) * (1.0 - share)
            self.touched_settings.append(("total_budget_musd", path))
            cut_something = True
        if not cut_something:
            where = "in the years named" if years is not None else "at all"
            self.problem(path, "no-match", f"the base scenario has no capital budget {where} to cut")

    def apply(self, changes: Sequence[Change]) -> None:
        for i, ch in enumerate(changes):
            path = ch.path or f"changes[{i}]"
            if isinstance(ch, TableChange):
                self.table_change(ch, path)
            elif isinstance(ch, SettingChange):
                self.setting_change(ch, path)
            elif isinstance(ch, Outage):
                self.outage(ch, path)
            elif isinstance(ch, Delay):
                self.delay(ch, path)
            elif isinstance(ch, BudgetCut):
                self.budget_cut(ch, path)
            else:
                self.problem(path, "value", f"not a change: {ch!r}")

    # -- checks without building the scenario --------------------------------------------------------
    def range_problems(self) -> list[Problem]:
        """The schema's ranges on every touched column and the settings' own validation."""
        out: list[Problem] = []
        seen: set[tuple[str, str]] = set()
        for table, column, path in self.touched_columns:
            if (table, column) in seen:
                continue
            seen.add((table, column))
            schema = TABLES_BY_NAME[table]
            col = schema.column(column)
            frame = self.frames[table]
            values = pd.to_numeric(frame[column], errors="coerce").astype(float)
            before = len(out)
            for bound, bad in ((col.minimum, values < (col.minimum if col.minimum is not None else -np.inf)),
                               (col.maximum, values > (col.maximum if col.maximum is not None else np.inf))):
                if bound is None or not bad.any():
                    continue
                i = int(np.flatnonzero(bad.to_numpy())[0])
                label = ", ".join(f"{k}={frame[k].iloc[i]}" for k in schema.key)
                side = "below the minimum" if values.iloc[i] < bound else "above the maximum"
                out.append(Problem(self.source, None, path, "range",
                                   f"{table}.{column} would be {values.iloc[i]:g} at {label}, {side} {bound:g}"))
            huge = values.abs() > MAGNITUDE
            if huge.any() and len(out) == before:  # not already out of the column's own range
                i = int(np.flatnonzero(huge.to_numpy())[0])
                label = ", ".join(f"{k}={frame[k].iloc[i]}" for k in schema.key)
                out.append(Problem(self.source, None, path, "magnitude",
                                   f"{table}.{column} would be {values.iloc[i]:g} at {label}, beyond the largest "
                                   f"magnitude the model accepts, {MAGNITUDE:g} {col.unit}"))
        if self.touched_settings:
            config = self.base.config.model_dump()
            config.update(self.settings)
            try:
                ScenarioConfig(**config)
            except ValidationError as exc:
                paths = dict(self.touched_settings)
                for p in pydantic_problems(exc, self.source):
                    name = (p.column or "").split(".")[0].split("[")[0]
                    out.append(Problem(self.source, None, paths.get(name, self.touched_settings[0][1]), "value",
                                       f"{p.column}: {p.message}"))
        return out

    def translate(self, exc: InputError) -> InputError:
        """Problems the re-validation found, pointed at the changes that caused them."""
        problems = []
        for p in exc.problems:
            table = p.file.rsplit(":", 1)[-1]
            if table == "scenario":
                paths = [path for name, path in self.touched_settings if p.column and p.column.split(".")[0] == name]
                column = paths[0] if paths else (self.touched_settings[0][1] if self.touched_settings else None)
                message = f"after the changes, {p.column}: {p.message}"
                problems.append(Problem(self.source, None, column, p.rule, message))
                continue
            paths = [path for t, c, path in self.touched_columns if t == table and (p.column in (None, c))]
            if not paths:
                paths = [path for t, _, path in self.touched_columns if t == table]
            where = f"{table}" + (f" row {p.row}" if p.row is not None else "") + (f", {p.column}" if p.column else "")
            problems.append(Problem(self.source, None, paths[0] if paths else None, p.rule,
                                    f"after the changes, {where}: {p.message}"))
        return InputError(problems)


def apply_changes(base: Scenario, changes: Sequence[Change], source: str = "<sweep>",
                  masks: dict | None = None) -> Scenario:
    """The scenario ``base`` with ``changes`` applied in order (on copies; ``base`` is untouched),
    re-validated. Raises :class:`~optimizer.errors.InputError` with every problem: an unknown table,
    column, setting or plant, a filter that matches no row, a non-numeric or key column, a bad value, or
    a changed scenario that breaks the input schema (``file`` = ``source``, ``column`` = the change's
    key path). ``masks``, a dict kept by the caller across calls with the same ``base``, saves the rows
    each filter selects (a sweep worker's cache)."""
    if not changes:
        return base
    editor = _Editor(base, source, masks)
    editor.apply(changes)
    if editor.problems:
        raise InputError(editor.problems)
    edited: dict[str, set[str]] = {}
    for table, column, _ in editor.touched_columns:
        edited.setdefault(table, set()).add(column)
    # tables fetched but left as they were are not passed on: only the edited columns are re-checked
    frames = {name: editor.frames[name] for name in edited}
    try:
        return base.derive(frames, edited_columns=edited, **editor.settings)
    except InputError as exc:
        raise editor.translate(exc) from None


def check_changes(base: Scenario, changes: Sequence[Change], source: str = "<sweep>") -> list[Problem]:
    """The problems :func:`apply_changes` would raise for these changes, found without re-validating the
    whole scenario: every structural problem, plus values pushed outside a column's range and settings
    pydantic rejects. Fast enough to run on every axis value of a sweep when it is loaded."""
    editor = _Editor(base, source)
    editor.apply(changes)
    if editor.problems:
        return editor.problems
    return editor.range_problems()
