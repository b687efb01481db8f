"""A sweep batch's result tables, built at once from its cases' solution vectors, off the solver's path.

After its solve a case keeps only what HiGHS holds (the vector ``x`` of column values, read by
:func:`.push.solution_columns`), its objective and its scenario (:class:`CaseSolution`). When the batch is
written, :func:`batch_tables` builds the long tables and the KPIs of every case of the batch with numpy,
over a :class:`TableLayout` computed once per model structure: which column feeds each row of each table
and the rows' keys. The tables are those of :func:`optimizer.results.extract_tables` without marginal
values (a sweep computes none: those columns are NaN), row for row and value for value, with the same
arithmetic in the same order (the equality is tested on the parquet parts):

* ``flows`` (rows with q = x[flow] > 1e-9): the landed cost's parts at (p, a, t), cell c, freight f,
  tariff tau c, carbon P_t e_pt / 1000, credit -cr; unit = their sum in that order; cost = unit q;
  vehicles = q / (kWh per pack 1e-6);
* ``builds``: n = round(x) > 0 of each first-stage decision; ``capacity``: nameplate = K0 + online builds,
  available = alpha (K0 + ramped builds), 0 from a closure on, production = sum of flows by (p, t);
* ``costs``: by category and year, the objective's terms evaluated at x (flows q != 0 by part, builds'
  cash by their charges, fixed O&M on nameplate, the unserved penalty);
* ``unmet``: per positive demand, served = sum of flows by (a, v, t), unmet = max(u, 0);
* KPIs: :func:`optimizer.results.kpi_values`, the one definition shared with single solves.

Sums by key are ``np.bincount`` over the flows in model order, which adds them one by one from 0 exactly as
the dictionaries of ``extract_tables`` do; whole-column sums are numpy sums per case (:func:`segment_sums`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..model.context import FIRST_STAGE, SourcingModel
from ..model.objective import COST_CATEGORIES
from ..results import COLUMNS, EPS, kpi_values
from ..scenario import ModelData, Scenario

PARTS = ("cell", "freight", "tariff", "carbon", "credit")  # the landed cost's parts (Scenario.unit_cost_parts)
LONG = ("flows", "builds", "capacity", "costs", "unmet")


def _positions(keys: list, index: dict) -> np.ndarray:
    return np.array([index.get(k, -1) for k in keys], dtype=np.int64)


class TableLayout:
    """Where each row of each long table comes from, for one built model: the HiGHS column of every flow,
    unserved and first-stage variable (-1 for a variable HiGHS never received: its value is 0), and the
    keys of the rows, in the model's order."""

    def __init__(self, m: SourcingModel, columns: Mapping[int, int]) -> None:
        d = m.d
        self.years = tuple(d.years)
        year_pos = {t: i for i, t in enumerate(self.years)}
        self.plants = tuple(d.plants)
        self.cap_keys = [(p, t) for p in self.plants for t in self.years]  # the capacity table's rows
        cap_pos = {k: i for i, k in enumerate(self.cap_keys)}
        self.cap_year_pos = np.array([year_pos[t] for _p, t in self.cap_keys], dtype=np.int64)

        def cols(var: Any) -> np.ndarray:
            return np.array([columns.get(id(v), -1) for v in var.values()], dtype=np.int64)

        flows = list(m.flow.keys())
        self.flow_cols = cols(m.flow)
        self.flow_plant = np.array([k[0] for k in flows], dtype=object)
        self.flow_assembly = np.array([k[1] for k in flows], dtype=object)
        self.flow_model = np.array([k[2] for k in flows], dtype=object)
        self.flow_year = np.array([k[3] for k in flows], dtype=np.int64)
        self.flow_year_pos = np.array([year_pos[k[3]] for k in flows], dtype=np.int64)
        self.flow_cap = _positions([(k[0], k[3]) for k in flows], cap_pos)  # its (p, t) row of capacity
        self.models = tuple(dict.fromkeys(k[2] for k in flows))
        self.flow_model_pos = _positions([k[2] for k in flows], {v: i for i, v in enumerate(self.models)})
        self.lanes = list(dict.fromkeys((k[0], k[1], k[3]) for k in flows))  # (p, a, t): freight, tariff
        self.flow_lane = _positions([(k[0], k[1], k[3]) for k in flows], {k: i for i, k in enumerate(self.lanes)})
        self.demands = list(dict.fromkeys((k[1], k[2], k[3]) for k in flows))  # (a, v, t) that flows serve
        self.demand_pos = {k: i for i, k in enumerate(self.demands)}
        self.flow_demand = _positions([(k[1], k[2], k[3]) for k in flows], self.demand_pos)

        unserved = getattr(m, "unserved", None)
        self.unserved_cols = cols(unserved) if unserved is not None else np.zeros(0, dtype=np.int64)
        self.unserved_year_pos = np.array([year_pos[k[2]] for k in unserved.keys()] if unserved is not None else [],
                                          dtype=np.int64)
        self.unserved_col = dict(zip(unserved.keys(), self.unserved_cols.tolist())) if unserved is not None else {}
        self.has_unserved = unserved is not None
        self.first_stage = [(f, list(f.of(m).keys()), cols(f.of(m))) for f in FIRST_STAGE]

    def values(self, x: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """The columns' values in ``x`` (0 where a variable has no column)."""
        return np.where(cols >= 0, x[np.maximum(cols, 0)], 0.0) if len(x) else np.zeros(len(cols))


@dataclass
class CaseSolution:
    """What a solved case keeps for its tables: the HiGHS column values, the layout of its model, its
    objective and its scenario (whose data give the tables' coefficients)."""

    x: np.ndarray
    layout: TableLayout
    objective: float | None
    scenario: Scenario


def _gather(d: ModelData, layout: TableLayout) -> dict[str, np.ndarray]:
    """A case's coefficients at the layout's keys."""
    def at(mapping: Mapping, keys: list | tuple) -> np.ndarray:
        return np.array([mapping.get(k, np.nan) for k in keys], dtype=float)

    return {"cell": at(d.cell_cost, layout.cap_keys), "co2": at(d.co2, layout.cap_keys),
            "credit": at(d.credit, layout.cap_keys), "freight": at(d.freight, layout.lanes),
            "tariff": at(d.tariff, layout.lanes), "carbon_price": at(d.carbon_price, layout.years),
            "pack": at(d.pack_kwh, layout.models)}


def _flows(sol: CaseSolution, g: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every flow of the case (zeros included) with its cost parts, as ``extract_tables`` computes them."""
    lay = sol.layout
    q = lay.values(sol.x, lay.flow_cols)
    cell = g["cell"][lay.flow_cap]
    parts = {"cell": cell, "freight": g["freight"][lay.flow_lane], "tariff": g["tariff"][lay.flow_lane] * cell,
             "carbon": g["carbon_price"][lay.flow_year_pos] * g["co2"][lay.flow_cap] / 1000.0,
             "credit": 0.0 - g["credit"][lay.flow_cap]}
    unit = parts["cell"] + parts["freight"] + parts["tariff"] + parts["carbon"] + parts["credit"]
    return {"q": q, "vehicles": q / (g["pack"][lay.flow_model_pos] * 1e-6), "unit": unit, "cost": unit * q,
            "co2": q * g["co2"][lay.flow_cap], **parts}


def _builds(sol: CaseSolution) -> list[tuple]:
    """The builds table's rows: n = round(x) > 0 of each first-stage decision, in the model's order."""
    d, rows = sol.scenario.data, []
    for decision, keys, cols in sol.layout.first_stage:
        counts = np.round(sol.layout.values(sol.x, cols))
        for i in np.flatnonzero(counts > 0):
            p, y = keys[i]
            n, pl = int(counts[i]), d.plants[p]
            online = y + pl.lead if decision.investment else y  # a closure takes effect in its year
            rows.append((p, decision.kind, y, n, n * getattr(pl, decision.gwh), online, n * getattr(pl, decision.cash)))
    return rows


def _capacity(sol: CaseSolution, builds: list[tuple], production: np.ndarray) -> dict[str, np.ndarray]:
    """Nameplate, available and production per (p, t) row (the rules of ``results._capacity_table``)."""
    d, lay = sol.scenario.data, sol.layout
    existing = np.array([d.existing_gwh[k] for k in lay.cap_keys], dtype=float)
    nameplate, ramped = existing.copy(), existing.copy()
    years, width = np.array(lay.years), len(lay.years)
    for plant, kind, start, _n, gwh, _online, _cash in builds:
        if kind == "closure":
            continue
        pl, at = d.plants[plant], lay.plants.index(plant) * width
        nameplate[at:at + width] += gwh * (years - start - pl.lead >= 0)
        ramped[at:at + width] += gwh * np.array([pl.delivered(start, t) for t in lay.years])
    closed_from = {plant: start for plant, kind, start, *_ in builds if kind == "closure"}
    for plant, start in closed_from.items():
        closed = lay.plants.index(plant) * width + np.flatnonzero(years >= start)
        nameplate[closed] = ramped[closed] = 0.0
    avail = np.array([d.availability[k] for k in lay.cap_keys], dtype=float) * ramped
    with np.errstate(divide="ignore", invalid="ignore"):
        utilisation = np.where(avail > EPS, production / avail, np.nan)
    return {"existing_gwh": existing, "nameplate_gwh": nameplate, "available_gwh": avail,
            "production_gwh": production, "utilisation": utilisation,
            "marginal_value_usd_per_kwh": np.full(len(existing), np.nan)}


def _costs(sol: CaseSolution, flows: dict[str, np.ndarray], builds: list[tuple],
           nameplate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nominal and discounted $M by (category, year), categories major (``results._costs_table``)."""
    s, lay = sol.scenario, sol.layout
    d, width = s.data, len(lay.years)
    nominal: dict[str, np.ndarray] = {k: np.zeros(width) for k in COST_CATEGORIES}
    moving = flows["q"] != 0
    for k in PARTS:
        nominal[k] = np.bincount(lay.flow_year_pos, weights=np.where(moving, flows[k] * flows["q"], 0.0),
                                 minlength=width)
    pos = {t: i for i, t in enumerate(lay.years)}
    for plant, kind, start, _n, _gwh, _online, cash in builds:
        if kind == "closure":
            nominal["closure"][pos[start]] += cash
            continue
        for t, share in s.charges(plant, start).items():
            nominal["investment"][pos[t]] += cash * share
    fixed_om = np.array([d.plants[p].fixed_om for p, _t in lay.cap_keys], dtype=float)
    nominal["fixed_om"] = np.bincount(lay.cap_year_pos, weights=fixed_om * nameplate, minlength=width)
    if lay.has_unserved:
        u = lay.values(sol.x, lay.unserved_cols)
        pen = s.config.unserved_penalty_usd_per_kwh
        nominal["unserved"] = np.bincount(lay.unserved_year_pos, weights=pen * u, minlength=width)
    values = np.concatenate([nominal[k] for k in COST_CATEGORIES])
    discount = np.tile(np.array([d.discount[t] for t in lay.years], dtype=float), len(COST_CATEGORIES))
    return values, values * discount


def _unmet(sol: CaseSolution, served: np.ndarray, g: dict[str, np.ndarray]) -> dict[str, Any]:
    """Per positive demand (a, v, t), in the data's order: demand, served, unmet = max(u, 0), vehicles."""
    d, lay = sol.scenario.data, sol.layout
    keys = list(d.demand_gwh)
    at = _positions(keys, lay.demand_pos)
    cols = np.array([lay.unserved_col.get(k, -1) for k in keys], dtype=np.int64)
    u = lay.values(sol.x, cols)
    un = np.where(0.0 > u, 0.0, u)  # max(u, 0.0) as Python takes it
    pack = np.array([d.pack_kwh[k[1]] for k in keys], dtype=float)
    return {"assembly": [k[0] for k in keys], "model": [k[1] for k in keys], "year": [k[2] for k in keys],
            "demand_gwh": np.array(list(d.demand_gwh.values()), dtype=float),
            "served_gwh": np.where(at >= 0, served[np.maximum(at, 0)], 0.0) if len(served) else np.zeros(len(keys)),
            "unmet_gwh": un, "unmet_vehicles": un / (pack * 1e-6),
            "marginal_cost_usd_per_kwh": np.full(len(keys), np.nan)}


def batch_tables(solutions: list[CaseSolution]) -> tuple[dict[str, dict[str, Any]], list[dict[str, float]]]:
    """The long tables of ``solutions`` stacked case after case (columns as numpy arrays, with ``case``: the
    position of each row's case in ``solutions``) and each case's KPIs."""
    cols: dict[str, dict[str, list]] = {t: {c: [] for c in ("case", *COLUMNS[t])} for t in LONG}
    kpi_in: dict[str, list] = {k: [] for k in ("flow_gwh", "flow_cost", "flow_co2", "nominal")}
    sizes: dict[str, list[int]] = {t: [] for t in LONG}
    build_rows: list[tuple] = []
    for i, sol in enumerate(solutions):
        lay, g = sol.layout, _gather(sol.scenario.data, sol.layout)
        f = _flows(sol, g)
        keep = f["q"] > EPS
        kept = np.where(keep, f["q"], 0.0)
        production = np.bincount(np.maximum(lay.flow_cap, 0), weights=np.where(lay.flow_cap >= 0, kept, 0.0),
                                 minlength=len(lay.cap_keys))
        served = np.bincount(lay.flow_demand, weights=kept, minlength=len(lay.demands))
        flow_out = {"plant": lay.flow_plant[keep], "assembly": lay.flow_assembly[keep],
                    "model": lay.flow_model[keep], "year": lay.flow_year[keep], "gwh": f["q"][keep],
                    "vehicles": f["vehicles"][keep], "cell_usd_per_kwh": f["cell"][keep],
                    "freight_usd_per_kwh": f["freight"][keep], "tariff_usd_per_kwh": f["tariff"][keep],
                    "carbon_usd_per_kwh": f["carbon"][keep], "credit_usd_per_kwh": f["credit"][keep],
                    "landed_usd_per_kwh": f["unit"][keep], "cost_musd": f["cost"][keep]}
        builds = _builds(sol)
        cap = _capacity(sol, builds, production)
        nominal, discounted = _costs(sol, f, builds, cap["nameplate_gwh"])
        cap_out = {"plant": [p for p, _t in lay.cap_keys], "year": [t for _p, t in lay.cap_keys], **cap}
        cost_out = {"year": list(lay.years) * len(COST_CATEGORIES),
                    "category": [k for k in COST_CATEGORIES for _t in lay.years],
                    "nominal_musd": nominal, "discounted_musd": discounted}
        tables: dict[str, dict[str, Any]] = {"flows": flow_out, "capacity": cap_out, "costs": cost_out,
                                             "unmet": _unmet(sol, served, g)}
        for name, table in tables.items():
            n = len(table["year"])
            sizes[name].append(n)
            cols[name]["case"].append(np.full(n, i))
            for c in COLUMNS[name]:
                column = np.asarray(table[c])
                cols[name][c].append(column.astype(object) if column.dtype.kind == "U" else column)
        sizes["builds"].append(len(builds))
        build_rows += builds
        cols["builds"]["case"].append(np.full(len(builds), i))
        kpi_in["flow_co2"].append(f["co2"][keep])
    out = {name: {c: np.concatenate(v) if v else np.zeros(0) for c, v in table.items()}
           for name, table in cols.items() if name != "builds"}
    frame = pd.DataFrame(build_rows, columns=COLUMNS["builds"])
    out["builds"] = {"case": np.concatenate(cols["builds"]["case"]) if solutions else np.zeros(0, dtype=np.int64),
                     **{c: frame[c].to_numpy() for c in COLUMNS["builds"]}}
    offsets = {name: np.concatenate([[0], np.cumsum(n, dtype=np.int64)]) for name, n in sizes.items()}
    fl = out["flows"]
    values = kpi_values(np.array([s.objective for s in solutions], dtype=float), np.full(len(solutions), np.nan),
                        {"gwh": fl["gwh"].astype(float), "cost_musd": fl["cost_musd"].astype(float),
                         "co2": np.concatenate(kpi_in["flow_co2"]) if solutions else np.zeros(0)},
                        {c: out["builds"][c] for c in ("kind", "count", "gwh", "cash_musd")},
                        {c: out["capacity"][c].astype(float) for c in ("production_gwh", "available_gwh")},
                        out["costs"]["nominal_musd"].astype(float),
                        {c: out["unmet"][c].astype(float) for c in ("demand_gwh", "unmet_gwh")}, offsets)
    kpis = [{k: float(v[i]) for k, v in values.items()} for i in range(len(solutions))]
    return out, kpis
