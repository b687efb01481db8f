"""Changes to a scenario: the building blocks of a sweep case.

A change is a small frozen (picklable, hashable) dataclass; :func:`apply_changes` applies a sequence of
them, in order, to copies of a base scenario's typed tables and settings and returns a new, re-validated
:class:`~optimizer.scenario.Scenario`. The base is never modified.

* :class:`TableChange` sets, scales or adds to a numeric column of a table, on the rows a filter selects;
* :class:`SettingChange` does the same to a scalar of ``scenario.yaml`` (``discount_rate``,
  ``total_budget_musd``, ``fx.JPY`` ...), or sets one of the choice settings (``demand``, ...);
* events: :class:`Outage` (a plant produces nothing in some years), :class:`Delay` (a plant's projects
  slip by whole years), :class:`BudgetCut` (capital budgets shrink by a share).

Filters (``TableChange.where``) map a key to the values it may take; a row matches when every key takes
one of its values. A key is a column of the table (``year``, ``plant``, ``assembly``, ``model`` ...) or a
dotted attribute of the entity a row refers to: ``plant.region``, ``plant.country``, ``assembly.region``,
``assembly.country``, ``model.cell_type`` (any column of ``plants``, ``assembly`` or ``models``, for
tables that have the ``plant``, ``assembly`` or ``model`` column). Text is compared as text, numbers
(``year``) as numbers; a ``;``-list column (``plant.cell_types``) matches when any of its items does.

Blank cells mean "no limit" (``capex_budget_musd``, ``co2_cap_kt``, ``capacity_vehicles``) and so do
blank settings (``total_budget_musd``): ``scale`` and ``add`` leave them blank, ``set`` fills them.
Results in whole-number columns and settings (``lead_time_years``, ``max_steps``,
``economic_life_years``) are rounded to the nearest whole number, halves up.

Every problem is reported through :class:`~optimizer.errors.InputError` with ``file`` = the sweep
file (``source``), ``column`` = the key path of the change in that file (``axes.x.change.column``) and
a rule: ``unknown-table``, ``unknown-column``, ``key-column``, ``not-numeric``, ``unknown-setting``,
``unknown-plant``, ``no-match``, ``value``; and, when the changed scenario breaks a rule of the input
schema, that rule (``range``, ...).
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import ValidationError

from ..config import ScenarioConfig
from ..errors import InputError, Problem
from ..scenario import Scenario
from ..schema import TABLES_BY_NAME, Column, Table

Op = Literal["set", "scale", "add"]
OPS: tuple[str, ...] = ("set", "scale", "add")

ENTITY_TABLES = {"plant": "plants", "assembly": "assembly", "model": "models"}
"""Filter prefixes: ``plant.region`` looks the row's ``plant`` up in ``plants`` and takes its ``region``."""

NUMERIC_SETTINGS: dict[str, str] = {
    "discount_rate": "float",
    "unserved_penalty_usd_per_kwh": "float",
    "total_budget_musd": "float",
    "economic_life_years": "int",
}
"""Settings of ``scenario.yaml`` a change may set, scale or add to (plus ``fx.<currency>``)."""

CHOICE_SETTINGS: dict[str, tuple[object, ...]] = {
    "demand": ("soft", "hard"),
    "investment_cost": ("annualised", "upfront"),
    "single_sourcing": (True, False),
}
"""Settings a change may only ``set``, to one of these values."""

FX_PREFIX = "fx."


def _no_path() -> Any:
    # where the change was written (``axes.x.change``): for messages only, never part of its identity
    return field(default="", compare=False, repr=False)


@dataclass(frozen=True)
class TableChange:
    """``op`` (``set``/``scale``/``add``) ``value`` on ``table.column`` in the rows ``where`` selects
    (every row when ``where`` is empty). ``where`` holds ``(key, allowed values)`` pairs."""

    table: str
    column: str
    op: Op
    value: float
    where: tuple[tuple[str, tuple], ...] = ()
    path: str = _no_path()


@dataclass(frozen=True)
class SettingChange:
    """``op`` ``value`` on a scalar of ``scenario.yaml``: a name of :data:`NUMERIC_SETTINGS`,
    ``fx.<currency>`` (an absent fx entry counts as 1.0) or, with ``set`` only, one of
    :data:`CHOICE_SETTINGS`."""

    setting: str
    op: Op
    value: float | str | bool
    path: str = _no_path()


@dataclass(frozen=True)
class Outage:
    """``plant`` produces nothing in ``years``: ``plant_years.availability`` = 0 in those years (which
    idles its existing capacity and any capacity built there). An empty ``years`` changes nothing."""

    plant: str
    years: tuple[int, ...]
    path: str = _no_path()


@dataclass(frozen=True)
class Delay:
    """Everything at ``plant`` still to come slips by ``years`` (a whole number >= 0).

    * ``plants.lead_time_years`` grows by ``years``: an opening or expansion step started in year s
      produces from s + lead + years (a candidate site opens later; an expansion delivers later).
    * The plant's committed capacity path (``plant_years.capacity_gwh``) is shifted by ``years`` where
      it still grows: with t0 the first horizon year and k = ``years``,

          capacity'[t] = min(capacity[t], capacity[max(t - k, t0)])

      so a plant still ramping up reaches each level k years later (a plant already producing in t0
      keeps its t0 level until then; one producing nothing in t0 produces nothing until its start of
      production, k years later), while planned reductions and closures are not postponed (a delay
      never adds capacity). ``plant_years.min_offtake_gwh`` (take-or-pay, tied to the plant's output)
      shifts by the same rule.
    """

    plant: str
    years: int
    path: str = _no_path()


@dataclass(frozen=True)
class BudgetCut:
    """Capital budgets shrink by ``share`` (in [0, 1]): ``years.capex_budget_musd`` x (1 - share) in
    ``years`` (every horizon year when ``None``); blank (unlimited) budgets stay blank. When the cut
    covers the whole horizon (``years`` is ``None``), a set ``total_budget_musd`` shrinks by the same
    share; a cut in named years only leaves the horizon total as it is."""

    share: float
    years: tuple[int, ...] | None = None
    path: str = _no_path()


Change = TableChange | SettingChange | Outage | Delay | BudgetCut

VALUE_FIELD: dict[type, str] = {
    TableChange: "value", SettingChange: "value", Outage: "years", Delay: "years", BudgetCut: "share",
}
"""The field of each change that carries its magnitude (what an axis or sample supplies)."""


# ---------------------------------------------------------------------------------------------------
# values


def as_number(value: object) -> float:
    """A finite number from an int, float or numeric string (YAML reads ``1e-4`` as a string)."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"expected a number, got {value!r}")
    if isinstance(value, (int, float, np.integer, np.floating)):
        out = float(value)
    elif isinstance(value, str):
        try:
            out = float(value.strip())
        except ValueError:
            raise ValueError(f"expected a number, got {value!r}") from None
    else:
        raise ValueError(f"expected a number, got {value!r}")
    if not math.isfinite(out):
        raise ValueError(f"expected a finite number, got {value!r}")
    return out


def as_whole(value: object, what: str = "a whole number") -> int:
    number = as_number(value)
    if number != round(number):
        raise ValueError(f"expected {what}, got {value!r}")
    return int(round(number))


def as_years(value: object) -> tuple[int, ...]:
    """A tuple of years from one year or a list of years (duplicates dropped, order kept)."""
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    out: list[int] = []
    for item in items:
        year = as_whole(item, "a year")
        if year not in out:
            out.append(year)
    return tuple(out)


def with_value(change: Change, value: object) -> Change:
    """``change`` with its magnitude (:data:`VALUE_FIELD`) replaced by ``value``, checked and typed:
    a number for table and numeric setting changes, a choice for choice settings, a list of years for
    an outage, a whole number >= 0 for a delay, a share in [0, 1] for a budget cut. Raises ValueError."""
    if isinstance(change, TableChange):
        return dataclasses.replace(change, value=as_number(value))
    if isinstance(change, SettingChange):
        name = change.setting
        if name in CHOICE_SETTINGS:
            choices = CHOICE_SETTINGS[name]
            if isinstance(value, str):
                value = value.strip()
            if value not in choices or (isinstance(value, bool) != isinstance(choices[0], bool)):
                raise ValueError(f"{name} takes one of {', '.join(map(_text, choices))}, got {value!r}")
            return dataclasses.replace(change, value=value)
        return dataclasses.replace(change, value=as_number(value))
    if isinstance(change, Outage):
        return dataclasses.replace(change, years=as_years(value))
    if isinstance(change, Delay):
        years = as_whole(value, "a whole number of years")
        if years < 0:
            raise ValueError(f"a delay is a whole number of years >= 0, got {value!r}")
        return dataclasses.replace(change, years=years)
    if isinstance(change, BudgetCut):
        share = as_number(value)
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"a budget cut is a share in [0, 1], got {value!r}")
        return dataclasses.replace(change, share=share)
    raise TypeError(f"not a change: {change!r}")


def normalize_where(where: Mapping[str, object] | Iterable[tuple[str, object]] | None) -> tuple[tuple[str, tuple], ...]:
    """``{key: value or [values]}`` as the canonical ``((key, (values...)), ...)``, sorted by key."""
    if not where:
        return ()
    items = where.items() if isinstance(where, Mapping) else where
    out = []
    for key, values in items:
        vals = tuple(values) if isinstance(values, (list, tuple)) else (values,)
        out.append((str(key), vals))
    return tuple(sorted(out))


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _hint(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, sorted(set(known)), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _apply_op(old: float, op: str, value: float) -> float:
    if op == "set":
        return value
    if op == "scale":
        return old * value
    return old + value


def _round_half_up(x: np.ndarray | float) -> np.ndarray | float:
    return np.floor(np.asarray(x, dtype=float) + 0.5)


# ---------------------------------------------------------------------------------------------------
# applying


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
        self.problem(path, "unknown-plant", f"'{plant}' is not a plant of the base scenario{_hint(plant, plants)}")
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
                             f"plant or model it refers to{_hint(key, keys)}")
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
                wanted = [_text(v).strip() for v in allowed]
                hit = series.map(lambda items, w=frozenset(wanted): any(str(i) in w for i in items))
                present = {str(i) for items in series for i in items}
            else:
                wanted = [_text(v).strip() for v in allowed]
                text = series.astype(str)
                hit = text.isin(wanted)
                present = set(text)
            missing = [v for v in wanted if v not in present]
            if missing:
                shown = ", ".join(_text(int(v) if isinstance(v, float) and v.is_integer() else v) for v in missing)
                choices = sorted(_text(v) for v in present)
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
                         f"'{ch.table}' is not a table{_hint(ch.table, TABLES_BY_NAME)}")
            return
        names = [c.name for c in schema.columns]
        if ch.column not in names:
            self.problem(f"{path}.column", "unknown-column",
                         f"'{ch.column}' is not a column of {ch.table}{_hint(ch.column, names)}")
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
            label = "; ".join(f"{k} = {', '.join(map(_text, v))}" for k, v in ch.where)
            self.problem(f"{path}.where" if ch.where else f"{path}.table", "no-match",
                         f"no row of {ch.table} matches {label}" if ch.where else f"{ch.table} has no rows")
            return
        values = pd.to_numeric(frame[ch.column], errors="coerce").astype(float)
        chosen = values[mask].to_numpy()
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
                             f"fx entry for it{_hint(name, [FX_PREFIX + c for c in known])}")
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
                value = with_value(ch, ch.value).value
            except ValueError as exc:
                self.problem(f"{path}.value", "value", str(exc))
                return
            self.settings[name] = value
            self.touched_settings.append((name, path))
            return
        sweepable = [*NUMERIC_SETTINGS, *CHOICE_SETTINGS, *(FX_PREFIX + c for c in self.base.config.fx)]
        fixed = name in ScenarioConfig.model_fields
        self.problem(f"{path}.setting", "unknown-setting",
                     (f"'{name}' cannot be changed by a sweep" if fixed else f"'{name}' is not a setting")
                     + f"{_hint(name, sweepable)}; sweepable settings: {', '.join(sweepable)}")

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
            for bound, bad in ((col.minimum, values < (col.minimum if col.minimum is not None else -np.inf)),
                               (col.maximum, values > (col.maximum if col.maximum is not None else np.inf))):
                if bound is None or not bad.any():
                    continue
                i = int(np.flatnonzero(bad.to_numpy())[0])
                label = ", ".join(f"{k}={frame[k].iloc[i]}" for k in schema.key)
                side = "below the minimum" if values.iloc[i] < bound else "above the maximum"
                out.append(Problem(self.source, None, path, "range",
                                   f"{table}.{column} would be {values.iloc[i]:g} at {label}, {side} {bound:g}"))
        if self.touched_settings:
            config = self.base.config.model_dump()
            config.update(self.settings)
            try:
                ScenarioConfig(**config)
            except ValidationError as exc:
                paths = dict(self.touched_settings)
                for err in exc.errors():
                    name = str(err["loc"][0]) if err["loc"] else ""
                    out.append(Problem(self.source, None, paths.get(name, self.touched_settings[0][1]), "value",
                                       f"{'.'.join(map(str, err['loc']))}: {err['msg']}"))
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
