"""Result tables from a solved model, the result object, and its writers and readers.

Tables (all tidy, one row per key):

* ``flows``: plant, assembly, model, year -> GWh, vehicles, landed cost per kWh by part, cost $M;
* ``builds``: plant, kind (opening | step | closure), start_year -> count, GWh, online_year, cash $M
  (a closure: start_year = online_year = the first year closed, GWh 0, cash = the closure cost);
* ``capacity``: plant, year -> existing, nameplate, available (ramped), production, utilisation,
  marginal value of capacity ($/kWh, nominal, from the LP with the integer decisions fixed);
* ``costs``: year, category -> nominal and discounted $M (they add up to the objective);
* ``unmet``: assembly, model, year -> demand, served, unmet GWh, unmet vehicles, marginal cell cost;
* ``kpis``: kpi -> value, unit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .files import atomic_write
from .model.context import FIRST_STAGE, SourcingModel
from .model.objective import COST_CATEGORIES
from .review import Review, ReviewData, solve_review_data
from .scenario import Scenario
from .solver import SolveOutcome, Status

TABLE_NAMES = ("flows", "builds", "capacity", "costs", "unmet", "kpis")
EPS = 1e-9

COLUMNS: dict[str, list[str]] = {
    "flows": ["plant", "assembly", "model", "year", "gwh", "vehicles", "cell_usd_per_kwh", "freight_usd_per_kwh",
              "tariff_usd_per_kwh", "carbon_usd_per_kwh", "credit_usd_per_kwh", "landed_usd_per_kwh", "cost_musd"],
    "builds": ["plant", "kind", "start_year", "count", "gwh", "online_year", "cash_musd"],
    "capacity": ["plant", "year", "existing_gwh", "nameplate_gwh", "available_gwh", "production_gwh",
                 "utilisation", "marginal_value_usd_per_kwh"],
    "costs": ["year", "category", "nominal_musd", "discounted_musd"],
    "unmet": ["assembly", "model", "year", "demand_gwh", "served_gwh", "unmet_gwh", "unmet_vehicles",
              "marginal_cost_usd_per_kwh"],
    "kpis": ["kpi", "value", "unit"],
}


def empty_tables() -> dict[str, pd.DataFrame]:
    return {name: pd.DataFrame(columns=cols) for name, cols in COLUMNS.items()}


@dataclass
class SolveResult(Review):
    """The outcome of one solve: status, objective and the result tables as pandas DataFrames; the review
    analyses of :class:`~optimizer.review.Review` (``compare``, ``build_frequency``, ``landed_cost``, ...)."""

    scenario: str
    status: Status
    objective: float | None
    bound: float | None
    gap: float | None
    tables: dict[str, pd.DataFrame]
    manifest: dict[str, Any] = field(default_factory=dict)

    flows = property(lambda self: self.tables["flows"])
    builds = property(lambda self: self.tables["builds"])
    capacity = property(lambda self: self.tables["capacity"])
    costs = property(lambda self: self.tables["costs"])
    unmet = property(lambda self: self.tables["unmet"])
    kpis = property(lambda self: self.tables["kpis"])

    def review_data(self) -> ReviewData:
        return solve_review_data(self.scenario, self.status.value, self.objective, self.manifest, self.tables)

    @property
    def why_infeasible(self) -> list[str]:
        """For an infeasible scenario, the relaxations that would make it feasible (``[]`` otherwise)."""
        return list(self.manifest.get("why_infeasible") or [])

    def kpi(self, name: str) -> float:
        row = self.kpis.loc[self.kpis["kpi"] == name, "value"]
        return float(row.iloc[0]) if len(row) else float("nan")

    def write(self, out_dir: str | Path) -> Path:
        """Write every table as parquet and manifest.json into ``out_dir``.

        Each file is written under a temporary name and moved into place, the manifest last, so a
        reader never sees a half-written file and a folder with a manifest is complete.
        """
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        for name in TABLE_NAMES:
            atomic_write(out / f"{name}.parquet", lambda tmp, n=name: self.tables[n].to_parquet(tmp, index=False))
        text = json.dumps(self.manifest, indent=2, default=str)
        atomic_write(out / "manifest.json", lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
        return out

    @classmethod
    def read(cls, path: str | Path) -> SolveResult:
        """Read back a folder written by :meth:`write` (:func:`optimizer.load_results` reads either kind of
        result folder)."""
        path = Path(path)
        manifest_file = path / "manifest.json"
        if not manifest_file.is_file():
            raise FileNotFoundError(f"{path} holds no manifest.json: not a solve result folder")
        manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
        tables = {name: pd.read_parquet(path / f"{name}.parquet") for name in TABLE_NAMES}
        return cls(manifest["scenario"], Status(manifest["status"]), manifest.get("objective"),
                   manifest.get("bound"), manifest.get("gap"), tables, manifest)


def _dual(duals: dict, con: Any, key: Any) -> float:
    if con is None or key not in con:
        return float("nan")
    return float(duals.get(con[key], float("nan")))


def extract_tables(m: SourcingModel, outcome: SolveOutcome, duals: dict,
                   lp_objective: float | None) -> dict[str, pd.DataFrame]:
    """Read the incumbent out of the model into the result tables."""
    if not outcome.status.has_solution:
        return empty_tables()
    d, s = m.d, m.scenario
    x = m.flow.extract_values()

    rows = []
    for (p, a, v, t), q in x.items():
        if q is None or q <= EPS:
            continue
        parts = d.unit_cost_parts(p, a, t)
        unit = sum(parts.values())
        rows.append((p, a, v, t, q, q / (d.pack_kwh[v] * 1e-6), parts["cell"], parts["freight"], parts["tariff"],
                     parts["carbon"], parts["credit"], unit, unit * q))
    flows = pd.DataFrame(rows, columns=COLUMNS["flows"])
    # sums over flows in plain Python: these tables are small and a pandas groupby costs more than HiGHS
    # takes to re-solve a sweep case
    served: dict[tuple[str, str, int], float] = {}
    production: dict[tuple[str, int], float] = {}
    for p, a, v, t, q, *_ in rows:
        served[a, v, t] = served.get((a, v, t), 0.0) + q
        production[p, t] = production.get((p, t), 0.0) + q

    build_rows: list[tuple] = []
    for decision in FIRST_STAGE:
        for (p, y), val in decision.of(m).extract_values().items():
            n = int(round(val or 0.0))
            if n > 0:
                pl = d.plants[p]
                online = y + pl.lead if decision.investment else y  # a closure takes effect in its year
                build_rows.append((p, decision.kind, y, n, n * getattr(pl, decision.gwh), online,
                                   n * getattr(pl, decision.cash)))
    builds = pd.DataFrame(build_rows, columns=COLUMNS["builds"])

    capacity = _capacity_table(m, builds, production, duals)
    costs = _costs_table(m, x, builds, capacity)

    u = m.unserved.extract_values() if hasattr(m, "unserved") else {}
    unmet_rows: list[tuple] = []
    for (a, v, t), dem in d.demand_gwh.items():
        un = max(float(u.get((a, v, t)) or 0.0), 0.0)
        unmet_rows.append((a, v, t, dem, float(served.get((a, v, t), 0.0)), un, un / (d.pack_kwh[v] * 1e-6),
                           _dual(duals, m.demand_balance, (a, v, t)) / d.discount[t]))
    unmet = pd.DataFrame(unmet_rows, columns=COLUMNS["unmet"])

    kpis = _kpis(s, outcome, flows, builds, capacity, costs, unmet, lp_objective)
    return {"flows": flows, "builds": builds, "capacity": capacity, "costs": costs, "unmet": unmet, "kpis": kpis}


def _capacity_table(m: SourcingModel, builds: pd.DataFrame, production: dict, duals: dict) -> pd.DataFrame:
    """Per plant and year, from the builds (the same delivery rules as the model's capacity rows):
    nameplate = K0 + online builds; available = alpha (K0 + ramped builds); production by (p, t);
    nameplate and available 0 from a plant's closure year on (existing stays the input)."""
    d = m.d
    nameplate = {(p, t): d.existing_gwh[p, t] for p in d.plants for t in d.years}
    ramped = dict(nameplate)
    closed_from = closure_years(builds)
    for plant, kind, start, gwh in zip(builds["plant"], builds["kind"], builds["start_year"], builds["gwh"]):
        if kind == "closure":
            continue
        pl = d.plants[plant]
        for t in d.years:
            nameplate[plant, t] += gwh * pl.online(start, t)
            ramped[plant, t] += gwh * pl.delivered(start, t)
    for (p, t) in nameplate:
        if t >= closed_from.get(p, t + 1):
            nameplate[p, t] = ramped[p, t] = 0.0
    cap_con = getattr(m, "plant_capacity", None)
    rows = []
    for (p, t), plate in nameplate.items():
        avail = d.availability[p, t] * ramped[p, t]
        prod = float(production.get((p, t), 0.0))
        rows.append((p, t, d.existing_gwh[p, t], plate, avail, prod, prod / avail if avail > EPS else float("nan"),
                     -_dual(duals, cap_con, (p, t)) / d.discount[t]))
    return pd.DataFrame(rows, columns=COLUMNS["capacity"])


def _costs_table(m: SourcingModel, x: dict, builds: pd.DataFrame, capacity: pd.DataFrame) -> pd.DataFrame:
    """Nominal and discounted cost by category and year, from the solution values (they add up to the
    objective: the terms of ``objective.define_objective``, evaluated)."""
    d, s = m.d, m.scenario
    nominal = {(k, t): 0.0 for k in COST_CATEGORIES for t in d.years}
    for (p, a, _v, t), q in x.items():
        if q:
            for k, unit in d.unit_cost_parts(p, a, t).items():
                nominal[k, t] += unit * q
    for plant, kind, start, cash in zip(builds["plant"], builds["kind"], builds["start_year"], builds["cash_musd"]):
        if kind == "closure":
            nominal["closure", start] += cash
            continue
        for t, share in s.charges(plant, start).items():
            nominal["investment", t] += cash * share
    for plant, year, plate in zip(capacity["plant"], capacity["year"], capacity["nameplate_gwh"]):
        nominal["fixed_om", year] += d.plants[plant].fixed_om * plate
    if hasattr(m, "unserved"):
        pen = s.config.unserved_penalty_usd_per_kwh
        for (_a, _v, t), u in m.unserved.extract_values().items():
            nominal["unserved", t] += pen * (u or 0.0)
    rows = [(t, k, nominal[k, t], nominal[k, t] * d.discount[t]) for k in COST_CATEGORIES for t in d.years]
    return pd.DataFrame(rows, columns=COLUMNS["costs"])


def closure_years(builds: pd.DataFrame) -> dict[str, int]:
    """Plant -> first year closed, from the ``builds`` table's closure rows."""
    rows = builds[builds["kind"] == "closure"]
    return {str(p): int(y) for p, y in zip(rows["plant"], rows["start_year"])}


KPI_UNITS: dict[str, str] = {
    "total_cost_musd": "$M (discounted)", "investment_cash_musd": "$M", "new_capacity_gwh": "GWh/yr",
    "openings": "sites", "expansion_steps": "steps", "closures": "plants", "closure_cash_musd": "$M",
    "demand_gwh": "GWh", "served_gwh": "GWh", "unmet_gwh": "GWh", "service_level": "fraction",
    "avg_landed_usd_per_kwh": "$/kWh", "co2_kt": "ktCO2", "avg_utilisation": "fraction",
    "nominal_cost_musd": "$M (nominal)", "lp_fixed_objective": "$M (discounted)",
}
"""The KPIs of a solve, in the order of the ``kpis`` table, and their units."""


def segment_sums(values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Sum of ``values[offsets[i]:offsets[i + 1]]`` for each segment i, each summed as numpy (and pandas)
    sums one array, so a case's sums do not depend on the other cases of its batch."""
    return np.array([np.sum(values[a:b]) for a, b in zip(offsets[:-1], offsets[1:])], dtype=float)


def kpi_values(objective: np.ndarray, lp_objective: np.ndarray, flows: dict[str, np.ndarray],
               builds: dict[str, np.ndarray], capacity: dict[str, np.ndarray], costs: np.ndarray,
               unmet: dict[str, np.ndarray], offsets: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The KPIs (:data:`KPI_UNITS`) of n cases at once, from their result tables' columns stacked case after
    case (``offsets[table]``: the n + 1 row offsets of each case). The one definition of every KPI:

    * investment cash / new capacity: sums over the builds that are not closures; openings: their count;
      expansion steps: the sum of ``count`` over steps; closures and their cash: count and sum;
    * demand, unmet: sums of the ``unmet`` table; served = sum of flow GWh (shipped);
    * service level = shipped / demand (1 without demand); average landed cost = sum cost_musd / shipped;
    * CO2 kt = sum over flows of GWh x co2[p,t] (``flows["co2"]``, in flow order);
    * average utilisation = sum production / sum available (NaN without capacity);
    * nominal cost = sum of the ``costs`` table's nominal $M.
    """
    n = len(objective)
    kind = builds["kind"]
    closure, opening, step = kind == "closure", kind == "opening", kind == "step"
    build_case = np.repeat(np.arange(n), np.diff(offsets["builds"]))

    def by_case(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Sum over the builds of each case selected by ``mask`` (as pandas sums the filtered frame)."""
        return segment_sums(values[mask], np.searchsorted(build_case[mask], np.arange(n + 1)))

    shipped = segment_sums(flows["gwh"], offsets["flows"])
    demand = segment_sums(unmet["demand_gwh"], offsets["unmet"])
    production = segment_sums(capacity["production_gwh"], offsets["capacity"])
    available = segment_sums(capacity["available_gwh"], offsets["capacity"])
    flow_cost = segment_sums(flows["cost_musd"], offsets["flows"])
    co2 = np.array([sum(flows["co2"][a:b].tolist()) for a, b in zip(offsets["flows"][:-1], offsets["flows"][1:])],
                   dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "total_cost_musd": np.asarray(objective, dtype=float),
            "investment_cash_musd": by_case(builds["cash_musd"], ~closure),
            "new_capacity_gwh": by_case(builds["gwh"], ~closure),
            "openings": np.bincount(build_case[opening], minlength=n).astype(float),
            "expansion_steps": by_case(builds["count"], step),
            "closures": np.bincount(build_case[closure], minlength=n).astype(float),
            "closure_cash_musd": by_case(builds["cash_musd"], closure),
            "demand_gwh": demand,
            "served_gwh": shipped,
            "unmet_gwh": segment_sums(unmet["unmet_gwh"], offsets["unmet"]),
            "service_level": np.where(demand > 0, shipped / demand, 1.0),
            "avg_landed_usd_per_kwh": np.where(shipped > 0, flow_cost / shipped, np.nan),
            "co2_kt": co2,
            "avg_utilisation": np.where(available > 0, production / available, np.nan),
            "nominal_cost_musd": segment_sums(costs, offsets["costs"]),
            "lp_fixed_objective": np.asarray(lp_objective, dtype=float),
        }


def _kpis(s: Scenario, outcome: SolveOutcome, flows: pd.DataFrame, builds: pd.DataFrame, capacity: pd.DataFrame,
          costs: pd.DataFrame, unmet: pd.DataFrame, lp_objective: float | None) -> pd.DataFrame:
    """The ``kpis`` table of one solve (:func:`kpi_values` on one case)."""
    d = s.data
    co2 = np.array([q * d.co2[p, t] for p, t, q in zip(flows["plant"], flows["year"], flows["gwh"])], dtype=float)
    offsets = {name: np.array([0, len(frame)]) for name, frame in
               (("flows", flows), ("builds", builds), ("capacity", capacity), ("costs", costs), ("unmet", unmet))}
    values = kpi_values(np.array([outcome.objective], dtype=float),
                        np.array([lp_objective if lp_objective is not None else np.nan], dtype=float),
                        {"gwh": flows["gwh"].to_numpy(float), "cost_musd": flows["cost_musd"].to_numpy(float),
                         "co2": co2},
                        {c: builds[c].to_numpy() for c in ("kind", "count", "gwh", "cash_musd")},
                        {c: capacity[c].to_numpy(float) for c in ("production_gwh", "available_gwh")},
                        costs["nominal_musd"].to_numpy(float),
                        {c: unmet[c].to_numpy(float) for c in ("demand_gwh", "unmet_gwh")}, offsets)
    rows = [(name, float(values[name][0]), unit) for name, unit in KPI_UNITS.items()]
    return pd.DataFrame(rows, columns=COLUMNS["kpis"]).astype({"value": float})
