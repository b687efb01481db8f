"""Warnings: values a valid scenario may legally hold but that are likely mistakes.

A warning never stops a solve. Each check is a function of the validated scenario returning
:class:`~optimizer.errors.Problem` records (file, row, column, rule, message), registered under the rule
names it uses with ``@warning_check("rule", ...)`` (docs/data.md lists every check from its docstring);
:func:`scenario_warnings` runs them all in registration order. ``validate`` and ``solve`` print them,
and a solve records them in its manifest under ``warnings``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import Problem
from .validate import row_number, unservable_demand

if TYPE_CHECKING:
    from .scenario import Scenario

WarningCheck = Callable[["Scenario"], list[Problem]]
WARNING_CHECKS: list[tuple[tuple[str, ...], WarningCheck]] = []
"""(rule names, check) in registration order."""

FX_PLAUSIBLE = (0.1, 10.0)
"""An fx entry is an index on the base data's dollar costs (1.1 = 10 % dearer); outside this range it
looks like an exchange rate (150 yen to the dollar) typed where an index belongs."""


def warning_check(*rules: str) -> Callable[[WarningCheck], WarningCheck]:
    """Register a check (a function of a validated scenario returning warnings as Problems whose rule is
    one of ``rules``)."""

    def register(check: WarningCheck) -> WarningCheck:
        WARNING_CHECKS.append((rules, check))
        return check

    return register


def scenario_warnings(scenario: Scenario) -> list[Problem]:
    """Every registered check's warnings for ``scenario``, in registration order."""
    found: list[Problem] = []
    for _, check in WARNING_CHECKS:
        found += check(scenario)
    return found


def file_of(scenario: Scenario, table: str) -> str:
    """The file (or workbook sheet) a table of ``scenario`` came from, as validation errors name it."""
    origin = scenario.origin
    if origin.lower().endswith(".xlsx"):
        return f"{origin}[{table}]"
    if origin.startswith("<"):
        return f"{origin}:{table}"
    return str(Path(origin) / ("scenario.yaml" if table == "scenario" else f"{table}.csv"))


def _years(years: list[int]) -> str:
    """2026, 2027, 2028, 2031 -> '2026-2028, 2031'."""
    runs: list[list[int]] = []
    for y in sorted(years):
        if runs and y == runs[-1][-1] + 1:
            runs[-1].append(y)
        else:
            runs.append([y])
    return ", ".join(str(r[0]) if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in runs)


@warning_check("percent-like")
def percent_tariff(s: Scenario) -> list[Problem]:
    """A tariff rate above 1 (a duty over 100 % of the customs value): legal, but usually a percent
    typed where a fraction belongs (25 for 25 %)."""
    lanes = s.tables["lanes"]
    out = []
    for i, (plant, assembly, rate) in enumerate(zip(lanes["plant"], lanes["assembly"], lanes["tariff_rate"])):
        if rate > 1.0:
            out.append(Problem(file_of(s, "lanes"), row_number(i), "tariff_rate", "percent-like",
                               f"tariff rate {rate:g} on {plant} -> {assembly} is a duty of {100 * rate:g} % of the "
                               f"cells' value; rates are fractions: did you mean {rate / 100:g}?"))
    return out


@warning_check("demand-gap", "no-demand")
def demand_gaps(s: Scenario) -> list[Problem]:
    """A model with demand rows missing in some years: no rows at all, years missing between its first
    and last year, or rows that stop before the horizon ends (missing rows mean zero demand). A model
    whose rows start late is taken as a launch and not warned about."""
    demand = s.tables["demand"]
    years_of: dict[str, set[int]] = {}
    for model, year in zip(demand["model"], demand["year"]):
        years_of.setdefault(model, set()).add(int(year))
    out = []
    for model in s.tables["models"]["model"]:
        have = years_of.get(model)
        if not have:
            out.append(Problem(file_of(s, "demand"), None, "model", "no-demand",
                               f"model {model} has no demand rows: no cells are planned for it"))
            continue
        missing = [y for y in range(min(have), s.config.end_year + 1) if y not in have]
        if missing:
            out.append(Problem(file_of(s, "demand"), None, "year", "demand-gap",
                               f"model {model} has no demand rows in {_years(missing)} (its rows cover "
                               f"{_years(sorted(have))}): missing rows count as zero demand"))
    return out


@warning_check("fx-like-rate")
def fx_like_exchange_rate(s: Scenario) -> list[Problem]:
    """An fx index far from 1 looks like an exchange rate, which would scale that currency's costs by it."""
    lo, hi = FX_PLAUSIBLE
    return [Problem(file_of(s, "scenario"), None, f"fx.{cur}", "fx-like-rate",
                    f"fx index {idx:g} for {cur} multiplies its plants' dollar costs by {idx:g}; an fx entry is an "
                    "index (1.1 = 10 % dearer), not an exchange rate")
            for cur, idx in s.config.fx.items() if not lo <= idx <= hi]


@warning_check("unservable")
def unservable_soft_demand(s: Scenario) -> list[Problem]:
    """Soft demand that no lane can serve (no lane to its assembly plant from a plant making its cell
    type): it goes unserved at the penalty. With hard demand the same finding is a validation error."""
    if s.config.demand != "soft":
        return []
    found = unservable_demand(s.tables, lambda table: file_of(s, table))
    return [Problem(p.file, p.row, p.column, p.rule, p.message + ": it goes unserved at the penalty "
                    f"of {s.config.unserved_penalty_usd_per_kwh:g} $/kWh") for p in found]
