"""Changes to a scenario: the building blocks of a sweep case (applied by :mod:`.apply`).

A change is a small frozen (picklable, hashable) dataclass; :func:`~optimizer.sweep.apply.apply_changes`
applies a sequence of them, in order, to copies of a base scenario's typed tables and settings and returns
a new, re-validated :class:`~optimizer.scenario.Scenario`. The base is never modified.

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
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import numpy as np

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
                raise ValueError(f"{name} takes one of {', '.join(map(as_text, choices))}, got {value!r}")
            return dataclasses.replace(change, value=cast(float | str | bool, value))
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


def as_text(value: object) -> str:
    """A value as text, YAML's way for booleans (``true``/``false``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


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
