"""An audit that recomputes every constraint family, and the objective, from the written result tables
and the scenario's input tables, in pandas, without the Pyomo model.

Each check returns the relative violation of every row it covers: (lhs - rhs) / max(1, |lhs|, |rhs|)
for a "<=" row (and the reverse for ">="); a row is violated when that exceeds the tolerance.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .results import SolveResult
from .scenario import Scenario, crf

TOLERANCE = 1e-6


def _rel(lhs: pd.Series | np.ndarray, rhs: pd.Series | np.ndarray) -> np.ndarray:
    lhs, rhs = np.asarray(lhs, dtype=float), np.asarray(rhs, dtype=float)
    return (lhs - rhs) / np.maximum(1.0, np.maximum(np.abs(lhs), np.abs(rhs)))


def _ramp(ramp: tuple[float, ...], k: np.ndarray) -> np.ndarray:
    out = np.ones_like(k, dtype=float)
    out[k < 0] = 0.0
    for i, f in enumerate(ramp):
        out[k == i] = f
    return out


def _demand(s: Scenario) -> pd.DataFrame:
    d = s.tables["demand"].merge(s.tables["models"][["model", "pack_kwh", "cell_type"]], on="model")
    d["demand_gwh"] = d["vehicles"] * d["pack_kwh"] * 1e-6
    return d[d["demand_gwh"] > 0]


def _plants(s: Scenario) -> pd.DataFrame:
    p = s.tables["plants"].copy()
    p["fx"] = p["currency"].map(lambda c: float(s.config.fx.get(c, 1.0)))
    return p.set_index("plant")


def _investments(builds: pd.DataFrame) -> pd.DataFrame:
    """The openings and steps of a ``builds`` table (without its closure rows)."""
    return builds[builds["kind"] != "closure"]


def closed_from(builds: pd.DataFrame) -> dict[str, int]:
    """Plant -> first year closed, from the closure rows of a ``builds`` table."""
    rows = builds[builds["kind"] == "closure"]
    return {str(p): int(y) for p, y in zip(rows["plant"], rows["start_year"])}


def lane_year_values(s: Scenario) -> pd.DataFrame:
    """Freight and tariff rate per lane and horizon year: ``lane_years`` where given, else ``lanes``."""
    lanes = s.tables["lanes"][["plant", "assembly", "freight_usd_per_kwh", "tariff_rate"]]
    full = lanes.merge(pd.DataFrame({"year": s.years}), how="cross")
    if "lane_years" in s.tables:
        ly = s.tables["lane_years"].rename(columns={"freight_usd_per_kwh": "f_y", "tariff_rate": "r_y"})
        full = full.merge(ly[["plant", "assembly", "year", "f_y", "r_y"]], on=["plant", "assembly", "year"],
                          how="left")
        full["freight_usd_per_kwh"] = full["f_y"].fillna(full["freight_usd_per_kwh"])
        full["tariff_rate"] = full["r_y"].fillna(full["tariff_rate"])
    return full[["plant", "assembly", "year", "freight_usd_per_kwh", "tariff_rate"]]


def delivered_capacity(s: Scenario, builds: pd.DataFrame) -> pd.DataFrame:
    """Per plant and year: ramped GWh and nameplate GWh delivered by the builds (openings and steps)."""
    plants = _plants(s)
    rows = []
    years = np.array(s.years)
    for b in _investments(builds).itertuples(index=False):
        pl = plants.loc[b.plant]
        k = years - int(b.start_year) - int(pl["lead_time_years"])
        rows.append(pd.DataFrame({"plant": b.plant, "year": years, "ramped": b.gwh * _ramp(tuple(pl["ramp"]), k),
                                  "nameplate": b.gwh * (k >= 0)}))
    if not rows:
        return pd.DataFrame(columns=["plant", "year", "ramped", "nameplate"])
    return pd.concat(rows).groupby(["plant", "year"], as_index=False)[["ramped", "nameplate"]].sum()


def audit_result(s: Scenario, r: SolveResult) -> pd.DataFrame:
    """One row per family: rows checked, rows violated, worst relative violation (<= 0 when slack)."""
    checks = {
        "flow_domain": _flow_domain,
        "demand_balance": _demand_balance,
        "plant_capacity": _plant_capacity,
        "assembly_capacity": _assembly_capacity,
        "open_once": _open_once,
        "expansion_limit": _expansion_limit,
        "capex_budget": _capex_budget,
        "total_budget": _total_budget,
        "local_content": _local_content,
        "supplier_share": _supplier_share,
        "min_offtake": _min_offtake,
        "co2_cap": _co2_cap,
        "single_sourcing": _single_sourcing,
        "close_once": _close_once,
        "closure_flow": _closure_flow,
        "objective": _objective,
    }
    rows = []
    for family, check in checks.items():
        rel = np.asarray(check(s, r), dtype=float)
        worst = float(rel.max()) if rel.size else 0.0
        rows.append((family, int(rel.size), int((rel > TOLERANCE).sum()), worst))
    return pd.DataFrame(rows, columns=["family", "checked", "violations", "worst"])


def _flow_domain(s: Scenario, r: SolveResult) -> np.ndarray:
    """Flows are non-negative and run only on a lane, for a plant that makes the model's cell type."""
    f = r.flows.merge(s.tables["lanes"][["plant", "assembly"]], on=["plant", "assembly"], how="left", indicator=True)
    types = dict(zip(s.tables["plants"]["plant"], s.tables["plants"]["cell_types"]))
    cell = dict(zip(s.tables["models"]["model"], s.tables["models"]["cell_type"]))
    ok = (f["_merge"] == "both") & np.array([cell[v] in types[p] for p, v in zip(f["plant"], f["model"])], dtype=bool)
    return np.where(ok, _rel(-f["gwh"], 0.0), 1.0)


def _demand_balance(s: Scenario, r: SolveResult) -> np.ndarray:
    """sum_p x + u = D for every demand row (both directions), u = 0 with hard demand."""
    d = _demand(s)
    served = r.flows.groupby(["assembly", "model", "year"], as_index=False)["gwh"].sum()
    m = d.merge(served, on=["assembly", "model", "year"], how="left").merge(
        r.unmet[["assembly", "model", "year", "unmet_gwh"]], on=["assembly", "model", "year"], how="left")
    m = m.fillna({"gwh": 0.0, "unmet_gwh": 0.0})
    if s.config.demand == "hard":
        m["unmet_gwh"] = m["unmet_gwh"] * 1e9  # any unmet GWh is a violation
    lhs = m["gwh"] + m["unmet_gwh"]
    extra = r.flows.merge(d[["assembly", "model", "year"]], how="left", indicator=True)
    stray = np.where(extra["_merge"] == "left_only", 1.0, -1.0)  # flows with no demand row
    return np.concatenate([np.abs(_rel(lhs, m["demand_gwh"])), stray])


def _plant_capacity(s: Scenario, r: SolveResult) -> np.ndarray:
    """sum_{a,v} x[p,a,v,t] <= K0[p,t] + ramped deliveries of the builds."""
    py = s.tables["plant_years"][["plant", "year", "capacity_gwh", "availability"]]
    cap = py.merge(delivered_capacity(s, r.builds), on=["plant", "year"], how="left").fillna({"ramped": 0.0})
    prod = r.flows.groupby(["plant", "year"], as_index=False)["gwh"].sum()
    m = cap.merge(prod, on=["plant", "year"], how="left").fillna({"gwh": 0.0})
    return _rel(m["gwh"], m["availability"] * (m["capacity_gwh"] + m["ramped"]))


def _close_once(s: Scenario, r: SolveResult) -> np.ndarray:
    """At most one closure per plant, only of a plant that may close, in a horizon year not before its
    ``earliest_closure`` (a row per plant and per closure row; 1 when a rule is broken)."""
    plants = _plants(s)
    closures = r.builds[r.builds["kind"] == "closure"]
    count = closures.groupby("plant")["count"].sum()
    out = [_rel([float(count.get(p, 0.0))], [1.0 if row["may_close"] == "yes" else 0.0])[0]
           for p, row in plants.iterrows()]
    for p, y in zip(closures["plant"], closures["start_year"]):
        earliest = plants.loc[p, "earliest_closure"]
        first = s.config.start_year if pd.isna(earliest) else int(earliest)
        out.append(1.0 if not (max(first, s.config.start_year) <= y <= s.config.end_year) else -1.0)
    return np.array(out)


def _closure_flow(s: Scenario, r: SolveResult) -> np.ndarray:
    """sum_{a,v} x[p,a,v,t] <= 0 for each closed plant p and each year t from its closure year on."""
    prod = r.flows.groupby(["plant", "year"])["gwh"].sum()
    rows = [float(prod.get((p, t), 0.0)) for p, y in closed_from(r.builds).items() for t in s.years if t >= y]
    return _rel(rows, np.zeros(len(rows)))


def _assembly_capacity(s: Scenario, r: SolveResult) -> np.ndarray:
    """sum_{p,v} x / pack[v] <= vehicle capacity[a,t] where limited."""
    ay = s.tables["assembly_years"].dropna(subset=["capacity_vehicles"])
    f = r.flows.merge(s.tables["models"][["model", "pack_kwh"]], on="model")
    f["veh"] = f["gwh"] / (f["pack_kwh"] * 1e-6)
    built = f.groupby(["assembly", "year"], as_index=False)["veh"].sum()
    m = ay.merge(built, on=["assembly", "year"], how="left").fillna({"veh": 0.0})
    return _rel(m["veh"], m["capacity_vehicles"])


def _open_once(s: Scenario, r: SolveResult) -> np.ndarray:
    """Each candidate opens at most once; existing plants never 'open'."""
    plants = _plants(s)
    opened = r.builds[r.builds["kind"] == "opening"].groupby("plant")["count"].sum()
    out = []
    for p, row in plants.iterrows():
        n = float(opened.get(p, 0))
        out.append(_rel([n], [1.0 if row["status"] == "candidate" else 0.0])[0])
    return np.array(out)


def _expansion_limit(s: Scenario, r: SolveResult) -> np.ndarray:
    """Cumulative steps <= max_steps, none before an opening at a candidate, none before earliest_start."""
    plants = _plants(s)
    out = []
    b = _investments(r.builds)
    for p, row in plants.iterrows():
        steps = b[(b["plant"] == p) & (b["kind"] == "step")]
        opens = b[(b["plant"] == p) & (b["kind"] == "opening")]
        for t in s.years:
            n = float(steps.loc[steps["start_year"] <= t, "count"].sum())
            allowed = row["max_steps"] if row["status"] == "existing" else row["max_steps"] * float(
                opens.loc[opens["start_year"] <= t, "count"].sum())
            out.append(_rel([n], [allowed])[0])
        earliest = row["earliest_start"]
        mine = b[b["plant"] == p]
        if len(mine):
            if not pd.isna(earliest):
                out.append(_rel([float(earliest - mine["start_year"].min())], [0.0])[0])
            last_start = s.config.end_year - int(row["lead_time_years"])
            out.append(_rel([float(mine["start_year"].max())], [float(last_start)])[0])
    return np.array(out)


def _cash_by_year(s: Scenario, r: SolveResult) -> pd.Series:
    """Cash of openings and steps by start year (closure costs are outside capital budgets)."""
    return _investments(r.builds).groupby("start_year")["cash_musd"].sum()


def _capex_budget(s: Scenario, r: SolveResult) -> np.ndarray:
    """Cash for builds started in t <= budget[t]."""
    if "years" not in s.tables:
        return np.array([])
    y = s.tables["years"].dropna(subset=["capex_budget_musd"])
    cash = _cash_by_year(s, r)
    return _rel([float(cash.get(t, 0.0)) for t in y["year"]], y["capex_budget_musd"])


def _total_budget(s: Scenario, r: SolveResult) -> np.ndarray:
    limit = s.config.total_budget_musd
    if limit is None:
        return np.array([])
    return _rel([float(_investments(r.builds)["cash_musd"].sum())], [limit])


def _local_content(s: Scenario, r: SolveResult) -> np.ndarray:
    """Local GWh >= share x all GWh at the rule's assembly plants, in its years."""
    if "rules" not in s.tables:
        return np.array([])
    out = []
    for rule in s.tables["rules"].itertuples(index=False):
        last = s.config.end_year if pd.isna(rule.to_year) else int(rule.to_year)
        f = r.flows[r.flows["assembly"].isin(rule.assemblies)]
        for t in range(int(rule.from_year), last + 1):
            ft = f[f["year"] == t]
            local = float(ft.loc[ft["plant"].isin(rule.plants), "gwh"].sum())
            out.append(_rel([rule.min_share * float(ft["gwh"].sum())], [local])[0])
    return np.array(out)


def _supplier_share(s: Scenario, r: SolveResult) -> np.ndarray:
    """GWh from p to a <= max share x all GWh to a, per year."""
    share = dict(zip(s.tables["assembly"]["assembly"], s.tables["assembly"]["max_supplier_share"]))
    lane = r.flows.groupby(["plant", "assembly", "year"], as_index=False)["gwh"].sum()
    total = r.flows.groupby(["assembly", "year"])["gwh"].sum()
    lhs = lane["gwh"].to_numpy()
    rhs = np.array([share[a] * total[a, t] for a, t in zip(lane["assembly"], lane["year"])])
    return _rel(lhs, rhs)


def _min_offtake(s: Scenario, r: SolveResult) -> np.ndarray:
    py = s.tables["plant_years"]
    py = py[py["min_offtake_gwh"] > 0]
    prod = r.flows.groupby(["plant", "year"])["gwh"].sum()
    shipped = [float(prod.get((p, t), 0.0)) for p, t in zip(py["plant"], py["year"])]
    return _rel(py["min_offtake_gwh"], shipped)


def _co2_cap(s: Scenario, r: SolveResult) -> np.ndarray:
    if "years" not in s.tables:
        return np.array([])
    y = s.tables["years"].dropna(subset=["co2_cap_kt"])
    f = r.flows.merge(s.tables["plant_years"][["plant", "year", "co2_kg_per_kwh"]], on=["plant", "year"])
    kt = (f["gwh"] * f["co2_kg_per_kwh"]).groupby(f["year"]).sum()
    return _rel([float(kt.get(t, 0.0)) for t in y["year"]], y["co2_cap_kt"])


def _single_sourcing(s: Scenario, r: SolveResult) -> np.ndarray:
    """With single sourcing: each (assembly, model) receives cells from at most one plant."""
    if not s.config.single_sourcing:
        return np.array([])
    n = r.flows[r.flows["gwh"] > 1e-7].groupby(["assembly", "model"])["plant"].nunique()
    return _rel(n.to_numpy(dtype=float), np.ones(len(n)))


def recompute_objective(s: Scenario, r: SolveResult) -> float:
    """The discounted total cost recomputed from the tables: flows priced from the input tables,
    investment charged by the timing convention (each plant's own economic life where it has one), fixed
    O&M on nameplate until a plant's closure year, closure costs in their year, unserved penalty; freight
    and tariff per lane and year (``lane_years``, else ``lanes``)."""
    cfg = s.config
    t0, rate = cfg.start_year, cfg.discount_rate
    disc = {t: (1 + rate) ** -(t - t0) for t in s.years}
    plants = _plants(s)
    py = s.tables["plant_years"].set_index(["plant", "year"])
    lanes = lane_year_values(s).set_index(["plant", "assembly", "year"])
    price = {t: 0.0 for t in s.years}
    if "years" in s.tables:
        price.update(dict(zip(s.tables["years"]["year"], s.tables["years"]["carbon_price_usd_per_t"])))

    total = 0.0
    for f in r.flows.itertuples(index=False):
        c = py.loc[(f.plant, f.year), "cell_cost_usd_per_kwh"] * plants.loc[f.plant, "fx"]
        unit = (c + lanes.loc[(f.plant, f.assembly, f.year), "freight_usd_per_kwh"]
                + lanes.loc[(f.plant, f.assembly, f.year), "tariff_rate"] * c
                + price[f.year] * py.loc[(f.plant, f.year), "co2_kg_per_kwh"] / 1000.0
                - py.loc[(f.plant, f.year), "credit_usd_per_kwh"])
        total += disc[f.year] * unit * f.gwh

    for b in r.builds.itertuples(index=False):
        pl = plants.loc[b.plant]
        if b.kind == "closure":
            total += disc[b.start_year] * pl["closure_cost_musd"] * pl["fx"]
            continue
        cash = b.count * (pl["opening_cost_musd"] if b.kind == "opening" else pl["step_cost_musd"]) * pl["fx"]
        if cfg.investment_cost == "upfront":
            total += disc[b.start_year] * cash
        else:
            life = cfg.economic_life_years if pd.isna(pl["economic_life_years"]) else int(pl["economic_life_years"])
            factor = crf(rate, life)
            first = b.start_year + int(pl["lead_time_years"])
            for t in range(first, min(cfg.end_year, first + life - 1) + 1):
                total += disc[t] * cash * factor

    delivered = delivered_capacity(s, r.builds).set_index(["plant", "year"])["nameplate"]
    closed = closed_from(r.builds)
    for (p, t), row in py.iterrows():
        if t >= closed.get(p, t + 1):
            continue  # closed: no fixed O&M
        nameplate = row["capacity_gwh"] + float(delivered.get((p, t), 0.0))
        total += disc[t] * plants.loc[p, "fixed_om_musd_per_gwh"] * plants.loc[p, "fx"] * nameplate

    if cfg.demand == "soft":
        for u in r.unmet.itertuples(index=False):
            total += disc[u.year] * cfg.unserved_penalty_usd_per_kwh * u.unmet_gwh
    return float(total)


def _objective(s: Scenario, r: SolveResult) -> np.ndarray:
    """The objective recomputed from the tables, and the costs table's sum, both equal the reported one."""
    recomputed = recompute_objective(s, r)
    reported = float(r.objective)
    by_table = float(r.costs["discounted_musd"].sum())
    return np.abs(np.array([_rel([recomputed], [reported])[0], _rel([by_table], [reported])[0]]))
