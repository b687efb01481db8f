"""The scenario: validated input tables plus settings, frozen and free of any solver.

:class:`Scenario` keeps the typed tables (what the user wrote, with defaults filled in) and derives,
once, the indexed parameters the model and the audit both read (:class:`ModelData`). The model build
never touches a DataFrame row by row; the audit recomputes constraints from these same parameters
and the output tables.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from types import MappingProxyType, SimpleNamespace

import pandas as pd

from .config import ScenarioConfig
from .errors import Problem
from .lint import scenario_warnings
from .schema import TABLES, TABLES_BY_NAME
from .validate import revalidate_columns, validate_tables

GWH_PER_KWH_VEHICLE = 1e-6  # vehicles x kWh/vehicle x 1e-6 = GWh


def crf(rate: float, life: int) -> float:
    """Capital recovery factor r(1+r)^n / ((1+r)^n - 1); 1/n when r = 0."""
    if rate == 0:
        return 1.0 / life
    g = (1.0 + rate) ** life
    return rate * g / (g - 1.0)


@dataclass(frozen=True)
class PlantData:
    """Static data of one cell plant, costs already converted with the scenario's fx index."""

    plant: str
    region: str
    country: str
    cell_types: tuple[str, ...]
    candidate: bool
    opening_gwh: float
    opening_cost: float
    lead: int
    step_gwh: float
    step_cost: float
    max_steps: int
    ramp: tuple[float, ...]
    fixed_om: float
    earliest_start: int | None
    fx: float
    life: int  # economic life of its builds (the plant's own, or the scenario's)
    closure_cost: float = 0.0  # cash $M, converted with fx

    def ramp_at(self, k: int) -> float:
        """Share of nameplate available in production year k (0-based); 0 before production starts."""
        if k < 0:
            return 0.0
        return self.ramp[k] if k < len(self.ramp) else 1.0

    def delivered(self, start: int, year: int) -> float:
        """Ramped share of a build started in ``start`` available in ``year``: ramp[year - start - lead]."""
        return self.ramp_at(year - start - self.lead)

    def online(self, start: int, year: int) -> bool:
        """True once a build started in ``start`` produces (its nameplate counts for fixed O&M)."""
        return year - start - self.lead >= 0

    @property
    def closure_gwh(self) -> float:
        """Nameplate a closure adds (none: the ``gwh`` of a closure in the builds table)."""
        return 0.0

    @property
    def can_expand(self) -> bool:
        return self.max_steps > 0 and self.step_gwh > 0


@dataclass(frozen=True)
class Rule:
    """A local-content rule: share of cells at ``assemblies`` from ``plants`` >= ``min_share`` in ``years``."""

    rule: str
    assemblies: tuple[str, ...]
    plants: tuple[str, ...]
    min_share: float
    years: tuple[int, ...]


@dataclass(frozen=True)
class ModelData:
    """Indexed parameters of the model (all money in $M, energy in GWh, unit costs in $/kWh)."""

    years: tuple[int, ...]
    discount: Mapping[int, float]
    plants: Mapping[str, PlantData]
    assemblies: tuple[str, ...]
    models: tuple[str, ...]
    existing_gwh: Mapping[tuple[str, int], float]
    cell_cost: Mapping[tuple[str, int], float]
    credit: Mapping[tuple[str, int], float]
    co2: Mapping[tuple[str, int], float]
    min_offtake: Mapping[tuple[str, int], float]
    availability: Mapping[tuple[str, int], float]
    assembly_cap: Mapping[tuple[str, int], float]  # only where limited
    max_supplier_share: Mapping[str, float]
    pack_kwh: Mapping[str, float]
    demand_gwh: Mapping[tuple[str, str, int], float]  # only positive entries
    demand_vehicles: Mapping[tuple[str, str, int], float]
    arcs: tuple[tuple[str, str, str], ...]  # (plant, assembly, model) allowed for supply
    freight: Mapping[tuple[str, str, int], float]  # f[p,a,t]: lane_years, else the lane's value
    tariff: Mapping[tuple[str, str, int], float]  # tau[p,a,t]: lane_years, else the lane's value
    rules: tuple[Rule, ...]
    capex_budget: Mapping[int, float]  # only where limited
    carbon_price: Mapping[int, float]
    co2_cap: Mapping[int, float]  # only where capped
    crf: float
    starts: Mapping[str, tuple[int, ...]]  # years in which an opening/step may start, per plant
    closure_starts: Mapping[str, tuple[int, ...]]  # years from which a closable plant may be closed

    def unit_cost_parts(self, p: str, a: str, t: int) -> dict[str, float]:
        """Cost per kWh on lane (p, a) in year t, by category (credit as a negative number)."""
        c = self.cell_cost[p, t]
        return {
            "cell": c,
            "freight": self.freight[p, a, t],
            "tariff": self.tariff[p, a, t] * c,
            "carbon": self.carbon_price[t] * self.co2[p, t] / 1000.0,
            "credit": 0.0 - self.credit[p, t],
        }

    def unit_cost(self, p: str, a: str, t: int) -> float:
        """c[p,t] + f[p,a,t] + tau[p,a,t] c[p,t] + carbon_price[t] co2[p,t]/1000 - credit[p,t]."""
        return sum(self.unit_cost_parts(p, a, t).values())


@dataclass(frozen=True)
class Scenario:
    """A validated scenario: settings plus typed tables. Build one with :func:`optimizer.load_scenario`
    or :func:`optimizer.scenario_from_tables`; it is immutable and holds no solver objects."""

    config: ScenarioConfig
    tables: Mapping[str, pd.DataFrame]
    origin: str = "<memory>"
    notes: tuple[Problem, ...] = ()  # what loading set aside (a workbook's sheets that are not tables)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tables", MappingProxyType(dict(self.tables)))

    def __getstate__(self) -> dict:
        # shipped to sweep workers: the inputs only, never the derived caches
        return {"config": self.config, "tables": dict(self.tables), "origin": self.origin, "notes": self.notes}

    def __setstate__(self, state: dict) -> None:
        object.__setattr__(self, "config", state["config"])
        object.__setattr__(self, "tables", MappingProxyType(state["tables"]))
        object.__setattr__(self, "origin", state["origin"])
        object.__setattr__(self, "notes", state.get("notes", ()))

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def years(self) -> list[int]:
        return self.config.years

    def table(self, name: str) -> pd.DataFrame:
        """A copy of one typed table (empty with the schema's columns if the optional table is absent)."""
        if name in self.tables:
            return self.tables[name].copy()
        return pd.DataFrame(columns=[c.name for c in TABLES_BY_NAME[name].columns])

    def derive(self, tables: Mapping[str, pd.DataFrame] | None = None, *,
               edited_columns: Mapping[str, set[str]] | None = None, **settings: object) -> Scenario:
        """A new, re-validated scenario with some tables replaced and some settings changed.

        ``edited_columns`` says that each replaced table differs from this scenario's only in those
        non-key columns: then only they are checked again (with the checks across tables), which is
        what a sweep case costs."""
        changed = dict(tables or {})
        unchanged = {name: frame for name, frame in self.tables.items() if name not in changed}
        config = self.config.model_dump()
        config.update(settings)
        same_horizon = config["start_year"] == self.config.start_year and config["end_year"] == self.config.end_year
        if edited_columns is not None and same_horizon and set(edited_columns) == set(changed) <= set(self.tables):
            config_typed, typed = revalidate_columns(config, self.tables, changed, edited_columns,
                                                     lambda name: f"{self.origin}:{name}")
            return self._child(config_typed, typed)
        if not same_horizon:
            unchanged = {}  # a new horizon: every year column is checked again
        raw = {**unchanged, **changed}
        config_typed, typed = validate_tables(raw, config, lambda name: f"{self.origin}:{name}", trusted=unchanged)
        return self._child(config_typed, typed)

    def _child(self, config: ScenarioConfig, tables: dict[str, pd.DataFrame]) -> Scenario:
        """A derived scenario that inherits the table digests of the tables it shares with this one."""
        child = Scenario(config=config, tables=tables, origin=self.origin)
        digests = self.table_digests
        child.__dict__["_inherited_digests"] = {
            name: digests[name] for name, frame in tables.items() if self.tables.get(name) is frame}
        return child

    @cached_property
    def inputs_sha256(self) -> str:
        """Content hash of the settings and every table (independent of file format and row order):
        sha256 of the settings as JSON and each table's name and :func:`table_digest`."""
        h = hashlib.sha256()
        h.update(json.dumps(self.config.model_dump(mode="json"), sort_keys=True).encode())
        for name, digest in self.table_digests.items():
            h.update(name.encode())
            h.update(digest.encode())
        return h.hexdigest()

    @cached_property
    def table_digests(self) -> dict[str, str]:
        """:func:`table_digest` of each table, in schema order; a derived scenario inherits those of
        the tables it shares with its parent (a sweep case hashes only what it changed)."""
        inherited = self.__dict__.get("_inherited_digests", {})
        return {t.name: inherited.get(t.name) or table_digest(t.name, self.tables[t.name])
                for t in TABLES if t.name in self.tables}

    @cached_property
    def data(self) -> ModelData:
        return _derive(self)

    @cached_property
    def warnings(self) -> list[Problem]:
        """What loading set aside, then values that are legal but likely mistakes (see :mod:`optimizer.lint`);
        they never stop a solve."""
        return list(self.notes) + scenario_warnings(self)

    def charges(self, p: str, start: int) -> dict[int, float]:
        """Year -> multiple of a build's cash amount that falls in the objective in that year.

        ``upfront``: 1 in ``start``. ``annualised``: CRF(r, life[p]) in each year from start + lead[p] to
        min(tN, start + lead[p] + life[p] - 1), life[p] the plant's economic life (its own
        ``economic_life_years``, else the scenario's).
        """
        cfg = self.config
        if cfg.investment_cost == "upfront":
            return {start: 1.0}
        pl = self.data.plants[p]
        first = start + pl.lead
        last = min(cfg.end_year, first + pl.life - 1)
        factor = crf(cfg.discount_rate, pl.life)
        return {t: factor for t in range(first, last + 1)}


def table_digest(name: str, frame: pd.DataFrame) -> str:
    """sha256 of a table's content: its columns in name order and its rows sorted by the table's key,
    each value by ``repr``, missing values as None (so independent of file format, column order and
    row order)."""
    columns = sorted(frame.columns)
    key = [columns.index(k) for k in TABLES_BY_NAME[name].key if k in columns]
    def cells(column: str) -> list:  # every kind of missing value (None, NaN, pd.NA) as None
        values = frame[column].tolist()
        return [None if x is pd.NA or (isinstance(x, float) and x != x) else x for x in values]

    rows = sorted(zip(*(cells(c) for c in columns)), key=lambda r: tuple(r[i] for i in key))
    return hashlib.sha256(repr((columns, rows)).encode()).hexdigest()


def _rows(frame: pd.DataFrame) -> list[SimpleNamespace]:
    """The rows of a table with attribute access, as plain Python values (faster than ``itertuples``
    on small tables, which the derivation of every sweep case reads)."""
    columns = [str(c) for c in frame.columns]
    return [SimpleNamespace(**dict(zip(columns, values))) for values in zip(*(frame[c].tolist() for c in columns))]


def _derive(s: Scenario) -> ModelData:
    cfg = s.config
    years = tuple(cfg.years)
    t0 = cfg.start_year
    discount = {t: (1.0 + cfg.discount_rate) ** -(t - t0) for t in years}

    plants: dict[str, PlantData] = {}
    starts: dict[str, tuple[int, ...]] = {}
    closure_starts: dict[str, tuple[int, ...]] = {}
    for r in _rows(s.tables["plants"]):
        fx = float(cfg.fx.get(r.currency, 1.0))
        earliest = None if pd.isna(r.earliest_start) else int(r.earliest_start)
        life = cfg.economic_life_years if pd.isna(r.economic_life_years) else int(r.economic_life_years)
        plants[r.plant] = PlantData(
            plant=r.plant, region=r.region, country=r.country, cell_types=tuple(r.cell_types),
            candidate=r.status == "candidate", opening_gwh=float(r.opening_capacity_gwh),
            opening_cost=float(r.opening_cost_musd) * fx, lead=int(r.lead_time_years),
            step_gwh=float(r.step_gwh), step_cost=float(r.step_cost_musd) * fx, max_steps=int(r.max_steps),
            ramp=tuple(r.ramp), fixed_om=float(r.fixed_om_musd_per_gwh) * fx, earliest_start=earliest, fx=fx,
            life=life, closure_cost=float(r.closure_cost_musd) * fx,
        )
        if r.may_close == "yes" and r.status == "existing":
            first_close = t0 if pd.isna(r.earliest_closure) else int(r.earliest_closure)
            closure_starts[r.plant] = tuple(t for t in years if t >= first_close)
        # a build that cannot deliver inside the horizon has no value there (and, annualised, no
        # cost either), so it is not offered: no phantom builds in the results
        last_start = cfg.end_year - int(r.lead_time_years)
        starts[r.plant] = tuple(t for t in years if (earliest is None or t >= earliest) and t <= last_start)

    py = s.tables["plant_years"]
    key = list(zip(py["plant"], py["year"].astype(int)))
    fx_of = {p: plants[p].fx for p in plants}
    existing = dict(zip(key, py["capacity_gwh"].astype(float)))
    cell_cost = {k: c * fx_of[k[0]] for k, c in zip(key, py["cell_cost_usd_per_kwh"].astype(float))}
    credit = dict(zip(key, py["credit_usd_per_kwh"].astype(float)))
    co2 = dict(zip(key, py["co2_kg_per_kwh"].astype(float)))
    offtake = dict(zip(key, py["min_offtake_gwh"].astype(float)))
    availability = dict(zip(key, py["availability"].astype(float)))

    ay = s.tables["assembly_years"]
    assembly_cap = {
        (a, int(t)): float(c) for a, t, c in zip(ay["assembly"], ay["year"], ay["capacity_vehicles"]) if not pd.isna(c)
    }
    asm = s.tables["assembly"]
    max_share = dict(zip(asm["assembly"], asm["max_supplier_share"].astype(float)))

    mdl = s.tables["models"]
    pack = dict(zip(mdl["model"], mdl["pack_kwh"].astype(float)))
    cell_type = dict(zip(mdl["model"], mdl["cell_type"]))

    d = s.tables["demand"]
    demand_veh: dict[tuple[str, str, int], float] = {}
    demand_gwh: dict[tuple[str, str, int], float] = {}
    for a, v, t, q in zip(d["assembly"], d["model"], d["year"].astype(int), d["vehicles"].astype(float)):
        if q > 0:
            demand_veh[a, v, t] = q
            demand_gwh[a, v, t] = q * pack[v] * GWH_PER_KWH_VEHICLE

    ln = s.tables["lanes"]
    lane_keys = list(zip(ln["plant"], ln["assembly"]))
    freight = {(p, a, t): f for (p, a), f in zip(lane_keys, ln["freight_usd_per_kwh"].astype(float)) for t in years}
    tariff = {(p, a, t): r for (p, a), r in zip(lane_keys, ln["tariff_rate"].astype(float)) for t in years}
    if "lane_years" in s.tables:
        ly = s.tables["lane_years"]
        for p, a, t, f, r in zip(ly["plant"], ly["assembly"], ly["year"].astype(int),
                                 ly["freight_usd_per_kwh"].astype(float), ly["tariff_rate"].astype(float)):
            if f == f:  # blank (NaN) falls back to the lane
                freight[p, a, t] = f
            if r == r:
                tariff[p, a, t] = r
    demanded = sorted({(a, v) for a, v, _ in demand_gwh})
    by_assembly: dict[str, list[str]] = {}
    for p, a in lane_keys:
        by_assembly.setdefault(a, []).append(p)
    arcs = tuple(
        (p, a, v) for a, v in demanded for p in sorted(by_assembly.get(a, [])) if cell_type[v] in plants[p].cell_types
    )

    rules = []
    if "rules" in s.tables:
        for r in _rows(s.tables["rules"]):
            last = cfg.end_year if pd.isna(r.to_year) else int(r.to_year)
            ys = tuple(t for t in years if int(r.from_year) <= t <= last)
            rules.append(Rule(r.rule, tuple(r.assemblies), tuple(r.plants), float(r.min_share), ys))

    budget: dict[int, float] = {}
    carbon_price = {t: 0.0 for t in years}
    co2_cap: dict[int, float] = {}
    if "years" in s.tables:
        for r in _rows(s.tables["years"]):
            t = int(r.year)
            if not pd.isna(r.capex_budget_musd):
                budget[t] = float(r.capex_budget_musd)
            carbon_price[t] = float(r.carbon_price_usd_per_t)
            if not pd.isna(r.co2_cap_kt):
                co2_cap[t] = float(r.co2_cap_kt)

    return ModelData(
        years=years, discount=discount, plants=plants, assemblies=tuple(asm["assembly"]), models=tuple(mdl["model"]),
        existing_gwh=existing, cell_cost=cell_cost, credit=credit, co2=co2, min_offtake=offtake,
        availability=availability,
        assembly_cap=assembly_cap, max_supplier_share=max_share, pack_kwh=pack, demand_gwh=demand_gwh,
        demand_vehicles=demand_veh, arcs=arcs, freight=freight, tariff=tariff, rules=tuple(rules),
        capex_budget=budget, carbon_price=carbon_price, co2_cap=co2_cap,
        crf=crf(cfg.discount_rate, cfg.economic_life_years), starts=starts, closure_starts=closure_starts,
    )
