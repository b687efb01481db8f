"""Tiny scenarios for tests, built in code with defaults that make hand derivations easy.

The default case (``TinyCase.default()`` / :func:`tiny_tables`) is one year (2026), one existing cell
plant ``P1`` (NMC, 10 GWh, $100/kWh, freight $1/kWh, no tariff), one assembly plant ``A1`` (no
capacity limit), one model ``M`` (NMC, 50 kWh) and a demand of 100,000 vehicles = 5 GWh; settings:
discount rate 0, ``upfront`` investment, ``hard`` demand. Its optimum is 5 GWh x $101/kWh = $505M.

Units follow the model: GWh, $M, $/kWh ($/kWh x GWh = $M). With ``pack_kwh = 50`` one GWh is 20,000
vehicles, so ``demand(gwh=5)`` is the same as ``demand(100_000)``.

Per-year arguments (plant capacity and costs, assembly capacity, demand, budgets, carbon ...) take a
scalar (every year), a list/tuple (one value per horizon year, in order) or a dict ``{year: value}``
(missing years take the default). ``;``-list columns (``cell_types``, ``ramp``) take a string or a
sequence.

Typical use::

    case = TinyCase(years=2)                      # 2026-2027
    case.plant("P1", capacity=5, cost=100)        # existing, lanes to every assembly plant
    case.candidate("P2", opening_capacity_gwh=10, opening_cost_musd=50, lead_time_years=1, cost=80)
    case.demand(gwh=5)                            # A1 / M, every year
    result = case.solve()

Anything the builder does not cover can be overridden on the built tables: ``case.edit("lanes",
"tariff_rate", 0.25, plant="P1")`` or ``tables, config = case.build()`` and edit the frames directly,
then ``solve_tiny(tables, config)``. ``case.solve_without("open_once")`` solves with a constraint family
switched off (its Pyomo components deactivated), to show that an instance makes the family bind.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

import optimizer
from optimizer.model import build_model
from optimizer.schema import ASSEMBLY, ASSEMBLY_YEARS, PLANT_YEARS, PLANTS
from optimizer.solver import SolveOutcome, solve_model

START_YEAR = 2026
PACK_KWH = 50.0
GWH_PER_KWH_VEHICLE = 1e-6

_PLANT_COLS = {c.name for c in PLANTS.columns} - {"plant"}
_PLANT_YEAR_COLS = {c.name for c in PLANT_YEARS.columns} - {"plant", "year"}
_ASSEMBLY_COLS = {c.name for c in ASSEMBLY.columns} - {"assembly"}
_ASSEMBLY_YEAR_COLS = {c.name for c in ASSEMBLY_YEARS.columns} - {"assembly", "year"}


def vehicles_for(gwh: float, pack_kwh: float = PACK_KWH) -> float:
    """Vehicles whose packs hold ``gwh`` GWh (5 GWh of 50 kWh packs = 100,000 vehicles)."""
    return gwh / (pack_kwh * GWH_PER_KWH_VEHICLE)


def _per_year(value: Any, years: Sequence[int], default: Any = None) -> list[Any]:
    if isinstance(value, Mapping):
        unknown = set(value) - set(years)
        if unknown:
            raise ValueError(f"years {sorted(unknown)} are outside the horizon {years[0]}-{years[-1]}")
        return [value.get(t, default) for t in years]
    if isinstance(value, (list, tuple)):
        if len(value) != len(years):
            raise ValueError(f"expected {len(years)} per-year values, got {len(value)}")
        return list(value)
    return [value] * len(years)


def _as_list_cell(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return ";".join(str(v) for v in value)
    return value


class TinyCase:
    """A small scenario under construction. Every method returns ``self`` so calls can be chained.

    ``years`` is the number of horizon years from ``start_year``; ``config`` overrides settings
    (defaults: discount_rate 0, investment_cost ``upfront``, demand ``hard``).
    """

    def __init__(self, years: int = 1, start_year: int = START_YEAR, **config: Any) -> None:
        self.years = list(range(start_year, start_year + years))
        self.config: dict[str, Any] = {
            "name": "tiny", "start_year": start_year, "end_year": self.years[-1], "discount_rate": 0.0,
            "investment_cost": "upfront", "demand": "hard",
        }
        self.config.update(config)
        self._plants: dict[str, dict[str, Any]] = {}
        self._plant_years: dict[str, dict[str, list[Any]]] = {}
        self._lanes: dict[tuple[str, str] | tuple[str, None], dict[str, Any]] = {}
        self._lane_targets: dict[str, Sequence[str] | None] = {}
        self._assemblies: dict[str, dict[str, Any]] = {}
        self._assembly_years: dict[str, dict[str, list[Any]]] = {}
        self._models: dict[str, dict[str, Any]] = {}
        self._demand: dict[tuple[str, str], list[float]] = {}
        self._year_rows: dict[str, list[Any]] | None = None
        self._rules: list[dict[str, Any]] = []
        self._edits: list[tuple[str, str, Any, dict[str, Any]]] = []

    # ------------------------------------------------------------------ the default case
    @classmethod
    def default(cls, years: int = 1, **config: Any) -> TinyCase:
        """P1 existing (10 GWh, $100/kWh, freight 1) -> A1, model M (50 kWh), 5 GWh demanded a year."""
        return cls(years=years, **config).plant("P1", capacity=10, cost=100).demand(gwh=5)

    # ------------------------------------------------------------------ entities
    def plant(
        self,
        name: str,
        *,
        capacity: Any = 0.0,
        cost: Any = 100.0,
        freight: float | Mapping[str, float] = 1.0,
        tariff: float | Mapping[str, float] = 0.0,
        to: Sequence[str] | None = None,
        status: str = "existing",
        cell_types: str | Sequence[str] = "NMC",
        region: str = "EU",
        country: str = "FR",
        **columns: Any,
    ) -> TinyCase:
        """A cell plant. ``capacity`` (GWh, existing) and ``cost`` ($/kWh) are per year; any other
        column of ``plants`` or ``plant_years`` may be given by its schema name (per-year ones
        per year). Lanes go to the assembly plants ``to`` (default: all) with ``freight`` and ``tariff``
        (a scalar, or a dict by assembly plant)."""
        static = {"region": region, "country": country, "cell_types": _as_list_cell(cell_types), "status": status}
        yearly = {"capacity_gwh": _per_year(capacity, self.years, 0.0),
                  "cell_cost_usd_per_kwh": _per_year(cost, self.years, 100.0)}
        for col, value in columns.items():
            if col in _PLANT_COLS:
                static[col] = _as_list_cell(value)
            elif col in _PLANT_YEAR_COLS:
                default = PLANT_YEARS.column(col).default
                yearly[col] = _per_year(value, self.years, default)
            else:
                raise TypeError(f"unknown plant column {col!r}")
        self._plants[name] = static
        self._plant_years[name] = yearly
        self._lane_targets[name] = to
        self._lanes[name, None] = {"freight": freight, "tariff": tariff}
        return self

    def candidate(
        self,
        name: str,
        *,
        opening_capacity_gwh: float,
        opening_cost_musd: float,
        lead_time_years: int = 0,
        **kwargs: Any,
    ) -> TinyCase:
        """A candidate site (no capacity until opened); other arguments as :meth:`plant`."""
        return self.plant(name, status="candidate", opening_capacity_gwh=opening_capacity_gwh,
                          opening_cost_musd=opening_cost_musd, lead_time_years=lead_time_years, **kwargs)

    def assembly(
        self,
        name: str = "A1",
        *,
        capacity_vehicles: Any = None,
        region: str = "EU",
        country: str = "FR",
        **columns: Any,
    ) -> TinyCase:
        """An assembly plant; ``capacity_vehicles`` per year (None: no limit)."""
        static = {"region": region, "country": country}
        for col, value in columns.items():
            if col not in _ASSEMBLY_COLS:
                raise TypeError(f"unknown assembly column {col!r}")
            static[col] = value
        self._assemblies[name] = static
        self._assembly_years[name] = {"capacity_vehicles": _per_year(capacity_vehicles, self.years, None)}
        return self

    def model(self, name: str = "M", *, cell_type: str = "NMC", pack_kwh: float = PACK_KWH) -> TinyCase:
        self._models[name] = {"cell_type": cell_type, "pack_kwh": pack_kwh}
        return self

    def demand(
        self, vehicles: Any = None, *, gwh: Any = None, assembly: str = "A1", model: str = "M"
    ) -> TinyCase:
        """Demand per year, in vehicles or (``gwh=``) in GWh converted with the model's pack size
        (the model must be declared first unless it is the default ``M``)."""
        if (vehicles is None) == (gwh is None):
            raise TypeError("give exactly one of vehicles and gwh")
        if gwh is not None:
            pack = self._models.get(model, {"pack_kwh": PACK_KWH})["pack_kwh"]
            vehicles = [vehicles_for(g, pack) for g in _per_year(gwh, self.years, 0.0)]
        self._demand[assembly, model] = [float(v) for v in _per_year(vehicles, self.years, 0.0)]
        return self

    def year_params(
        self, *, capex_budget_musd: Any = None, carbon_price_usd_per_t: Any = 0.0, co2_cap_kt: Any = None
    ) -> TinyCase:
        """The ``years`` table: capital budget, carbon price, CO2 cap (each per year)."""
        self._year_rows = {
            "capex_budget_musd": _per_year(capex_budget_musd, self.years, None),
            "carbon_price_usd_per_t": _per_year(carbon_price_usd_per_t, self.years, 0.0),
            "co2_cap_kt": _per_year(co2_cap_kt, self.years, None),
        }
        return self

    def rule(
        self,
        name: str,
        *,
        plants: str | Sequence[str],
        min_share: float,
        from_year: int | None = None,
        to_year: int | None = None,
        assemblies: str | Sequence[str] = "A1",
    ) -> TinyCase:
        """A local-content rule (from the first horizon year unless ``from_year``)."""
        self._rules.append({
            "rule": name, "assemblies": _as_list_cell(assemblies), "plants": _as_list_cell(plants),
            "min_share": min_share, "from_year": self.years[0] if from_year is None else from_year,
            "to_year": to_year,
        })
        return self

    def set(self, **config: Any) -> TinyCase:
        """Override settings (scenario.yaml keys)."""
        self.config.update(config)
        return self

    def edit(self, table: str, column: str, value: Any, **where: Any) -> TinyCase:
        """After building, set ``table[column] = value`` on the rows matching ``where`` (all rows if empty)."""
        self._edits.append((table, column, value, where))
        return self

    # ------------------------------------------------------------------ output
    def build(self) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
        """The tables (by name) and the settings, ready for ``optimizer.scenario_from_tables``."""
        years = self.years
        assemblies = dict(self._assemblies) or {"A1": {"region": "EU", "country": "FR"}}
        assembly_years = dict(self._assembly_years) or {"A1": {"capacity_vehicles": [None] * len(years)}}
        models = dict(self._models) or {"M": {"cell_type": "NMC", "pack_kwh": PACK_KWH}}

        plants = pd.DataFrame([{"plant": p, **row} for p, row in self._plants.items()])
        plant_years = pd.DataFrame([
            {"plant": p, "year": t, **{c: vals[i] for c, vals in cols.items()}}
            for p, cols in self._plant_years.items() for i, t in enumerate(years)
        ])
        lanes = []
        for p in self._plants:
            spec = self._lanes[p, None]
            for a in self._lane_targets[p] or list(assemblies):
                f, tr = spec["freight"], spec["tariff"]
                lanes.append({
                    "plant": p, "assembly": a,
                    "freight_usd_per_kwh": f[a] if isinstance(f, Mapping) else f,
                    "tariff_rate": tr[a] if isinstance(tr, Mapping) else tr,
                })
        tables: dict[str, pd.DataFrame] = {
            "plants": plants,
            "plant_years": plant_years,
            "assembly": pd.DataFrame([{"assembly": a, **row} for a, row in assemblies.items()]),
            "assembly_years": pd.DataFrame([
                {"assembly": a, "year": t, **{c: vals[i] for c, vals in cols.items()}}
                for a, cols in assembly_years.items() for i, t in enumerate(years)
            ]),
            "models": pd.DataFrame([{"model": v, **row} for v, row in models.items()]),
            "demand": pd.DataFrame([
                {"assembly": a, "model": v, "year": t, "vehicles": q[i]}
                for (a, v), q in self._demand.items() for i, t in enumerate(years)
            ]),
            "lanes": pd.DataFrame(lanes),
        }
        if self._year_rows is not None:
            tables["years"] = pd.DataFrame({"year": years, **self._year_rows})
        if self._rules:
            tables["rules"] = pd.DataFrame(self._rules)
        for table, column, value, where in self._edits:
            frame = tables[table]
            mask = pd.Series(True, index=frame.index)
            for col, val in where.items():
                mask &= frame[col] == val
            if not mask.any():
                raise ValueError(f"edit of {table}.{column}: no row matches {where}")
            if column not in frame.columns:
                frame[column] = None
            frame[column] = frame[column].astype(object)
            frame.loc[mask, column] = value
        return tables, dict(self.config)

    def scenario(self) -> optimizer.Scenario:
        tables, config = self.build()
        return optimizer.scenario_from_tables(tables, config)

    def solve(self, **options: Any) -> optimizer.SolveResult:
        tables, config = self.build()
        return solve_tiny(tables, config, **options)

    def solve_without(self, *components: str, **options: Any) -> SolveOutcome:
        tables, config = self.build()
        return solve_without(tables, config, *components, **options)


def tiny_tables(years: int = 1, **config: Any) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """Tables and settings of the default case (see the module docstring); optimum 505 x years."""
    return TinyCase.default(years=years, **config).build()


def solve_tiny(
    tables: Mapping[str, pd.DataFrame], config: Mapping[str, Any], *, duals: bool = True, **options: Any
) -> optimizer.SolveResult:
    """Validate and solve to proven optimality (rel_gap 0, one thread); ``options`` override SolveOptions."""
    scenario = optimizer.scenario_from_tables(tables, config)
    opts = optimizer.SolveOptions(**{"rel_gap": 0.0, "threads": 1, **options})
    return optimizer.solve(scenario, opts, duals=duals)


def solve_without(
    tables: Mapping[str, pd.DataFrame], config: Mapping[str, Any], *components: str, **options: Any
) -> SolveOutcome:
    """Build the model, deactivate the named Pyomo components (``"open_once"``, ``"plant_capacity"`` ...),
    solve and return the outcome (status, objective): the counterfactual "what if this family were
    missing", to show that a test instance makes the family bind."""
    scenario = optimizer.scenario_from_tables(tables, config)
    m = build_model(scenario)
    for name in components:
        getattr(m, name).deactivate()
    opts = optimizer.SolveOptions(**{"rel_gap": 0.0, "threads": 1, **options})
    outcome, _ = solve_model(m, opts)
    return outcome


__all__ = ["PACK_KWH", "START_YEAR", "TinyCase", "solve_tiny", "solve_without", "tiny_tables", "vehicles_for"]
