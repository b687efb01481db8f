"""The audit's recomputation of each constraint family from the result tables and the scenario's input
tables, in pandas, without the Pyomo model (:mod:`optimizer.audit` runs them through the registry of
families, :mod:`.families`).

Each check returns the relative violation of every row it covers: (lhs - rhs) / max(1, |lhs|, |rhs|) for a
"<=" row (and the reverse for ">="); a row is violated when that exceeds the audit's tolerance.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import pandas as pd

from ..scenario import Scenario


class ResultTables(Protocol):
    """What a check reads of a result: its flows, builds and unmet tables (a ``SolveResult`` has them)."""

    @property
    def flows(self) -> pd.DataFrame: ...

    @property
    def builds(self) -> pd.DataFrame: ...

    @property
    def unmet(self) -> pd.DataFrame: ...


def relative(lhs: pd.Series | np.ndarray | list, rhs: pd.Series | np.ndarray | list) -> np.ndarray:
    """(lhs - rhs) / max(1, |lhs|, |rhs|): > 0 where a "lhs <= rhs" row is violated."""
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


def plants_frame(s: Scenario) -> pd.DataFrame:
    p = s.tables["plants"].copy()
    p["fx"] = p["currency"].map(lambda c: float(s.config.fx.get(c, 1.0)))
    return p.set_index("plant")


def investments(builds: pd.DataFrame) -> pd.DataFrame:
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
    plants = plants_frame(s)
    rows = []
    years = np.array(s.years)
    for b in investments(builds).itertuples(index=False):
        pl = plants.loc[b.plant]
        k = years - int(b.start_year) - int(pl["lead_time_years"])
        rows.append(pd.DataFrame({"plant": b.plant, "year": years, "ramped": b.gwh * _ramp(tuple(pl["ramp"]), k),
                                  "nameplate": b.gwh * (k >= 0)}))
    if not rows:
        return pd.DataFrame(columns=["plant", "year", "ramped", "nameplate"])
    return pd.concat(rows).groupby(["plant", "year"], as_index=False)[["ramped", "nameplate"]].sum()


def demand_balance(s: Scenario, r: ResultTables) -> np.ndarray:
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
    return np.concatenate([np.abs(relative(lhs, m["demand_gwh"])), stray])


def plant_capacity(s: Scenario, r: ResultTables) -> np.ndarray:
    """sum_{a,v} x[p,a,v,t] <= K0[p,t] + ramped deliveries of the builds."""
    py = s.tables["plant_years"][["plant", "year", "capacity_gwh", "availability"]]
    cap = py.merge(delivered_capacity(s, r.builds), on=["plant", "year"], how="left").fillna({"ramped": 0.0})
    prod = r.flows.groupby(["plant", "year"], as_index=False)["gwh"].sum()
    m = cap.merge(prod, on=["plant", "year"], how="left").fillna({"gwh": 0.0})
    return relative(m["gwh"], m["availability"] * (m["capacity_gwh"] + m["ramped"]))


def close_once(s: Scenario, r: ResultTables) -> np.ndarray:
    """At most one closure per plant, only of a plant that may close, in a horizon year not before its
    ``earliest_closure`` (a row per plant and per closure row; 1 when a rule is broken)."""
    plants = plants_frame(s)
    closures = r.builds[r.builds["kind"] == "closure"]
    count = closures.groupby("plant")["count"].sum()
    out = [relative([float(count.get(p, 0.0))], [1.0 if row["may_close"] == "yes" else 0.0])[0]
           for p, row in plants.iterrows()]
    for p, y in zip(closures["plant"], closures["start_year"]):
        earliest = plants.loc[p, "earliest_closure"]
        first = s.config.start_year if pd.isna(earliest) else max(int(earliest), s.config.start_year)
        out.append(1.0 if not first <= y <= s.config.end_year else -1.0)
    return np.array(out)


def closed_steps(s: Scenario, r: ResultTables) -> np.ndarray:
    """q[p,t] = N[p,t] closed[p,t] <= n_max[p]: the steps producing at a closed plant p in a year from its
    closure on (the steps whose fixed O&M the closure ends) number at most n_max[p]. What those steps no
    longer pay is checked with the objective (the audit's recomputation stops p's fixed O&M at closure)."""
    plants = plants_frame(s)
    steps = investments(r.builds)
    steps = steps[steps["kind"] == "step"]
    rows = []
    for p, y in closed_from(r.builds).items():
        lead = int(plants.loc[p, "lead_time_years"])
        mine = steps[steps["plant"] == p]
        for t in s.years:
            if t >= y:
                online = float(mine.loc[mine["start_year"] + lead <= t, "count"].sum())
                rows.append(relative([online], [float(plants.loc[p, "max_steps"])])[0])
    return np.array(rows)


def closure_flow(s: Scenario, r: ResultTables) -> np.ndarray:
    """sum_{a,v} x[p,a,v,t] <= 0 for each closed plant p and each year t from its closure year on."""
    prod = r.flows.groupby(["plant", "year"])["gwh"].sum()
    rows = [float(prod.get((p, t), 0.0)) for p, y in closed_from(r.builds).items() for t in s.years if t >= y]
    return relative(rows, np.zeros(len(rows)))


def assembly_capacity(s: Scenario, r: ResultTables) -> np.ndarray:
    """sum_{p,v} x / pack[v] <= vehicle capacity[a,t] where limited."""
    ay = s.tables["assembly_years"].dropna(subset=["capacity_vehicles"])
    f = r.flows.merge(s.tables["models"][["model", "pack_kwh"]], on="model")
    f["veh"] = f["gwh"] / (f["pack_kwh"] * 1e-6)
    built = f.groupby(["assembly", "year"], as_index=False)["veh"].sum()
    m = ay.merge(built, on=["assembly", "year"], how="left").fillna({"veh": 0.0})
    return relative(m["veh"], m["capacity_vehicles"])


def open_once(s: Scenario, r: ResultTables) -> np.ndarray:
    """Each candidate opens at most once; existing plants never 'open'."""
    plants = plants_frame(s)
    opened = r.builds[r.builds["kind"] == "opening"].groupby("plant")["count"].sum()
    out = []
    for p, row in plants.iterrows():
        n = float(opened.get(p, 0))
        out.append(relative([n], [1.0 if row["status"] == "candidate" else 0.0])[0])
    return np.array(out)


def expansion_limit(s: Scenario, r: ResultTables) -> np.ndarray:
    """Cumulative steps <= max_steps, none before an opening at a candidate, none before earliest_start."""
    plants = plants_frame(s)
    out = []
    b = investments(r.builds)
    for p, row in plants.iterrows():
        steps = b[(b["plant"] == p) & (b["kind"] == "step")]
        opens = b[(b["plant"] == p) & (b["kind"] == "opening")]
        for t in s.years:
            n = float(steps.loc[steps["start_year"] <= t, "count"].sum())
            allowed = row["max_steps"] if row["status"] == "existing" else row["max_steps"] * float(
                opens.loc[opens["start_year"] <= t, "count"].sum())
            out.append(relative([n], [allowed])[0])
        earliest = row["earliest_start"]
        mine = b[b["plant"] == p]
        if len(mine):
            if not pd.isna(earliest):
                out.append(relative([float(earliest - mine["start_year"].min())], [0.0])[0])
            last_start = s.config.end_year - int(row["lead_time_years"])
            out.append(relative([float(mine["start_year"].max())], [float(last_start)])[0])
    return np.array(out)


def _cash_by_year(s: Scenario, r: ResultTables) -> pd.Series:
    """Cash of openings and steps by start year (closure costs are outside capital budgets)."""
    return investments(r.builds).groupby("start_year")["cash_musd"].sum()


def capex_budget(s: Scenario, r: ResultTables) -> np.ndarray:
    """Cash for builds started in t <= budget[t]."""
    if "years" not in s.tables:
        return np.array([])
    y = s.tables["years"].dropna(subset=["capex_budget_musd"])
    cash = _cash_by_year(s, r)
    return relative([float(cash.get(t, 0.0)) for t in y["year"]], y["capex_budget_musd"])


def total_budget(s: Scenario, r: ResultTables) -> np.ndarray:
    limit = s.config.total_budget_musd
    if limit is None:
        return np.array([])
    return relative([float(investments(r.builds)["cash_musd"].sum())], [limit])


def open_link(s: Scenario, r: ResultTables) -> np.ndarray:
    """x[p,a,v,t] <= D[a,v,t] x (openings of candidate p online by t): a candidate ships only once open."""
    plants = plants_frame(s)
    candidates = set(plants.index[plants["status"] == "candidate"])
    f = r.flows[r.flows["plant"].isin(candidates)]
    if not len(f):
        return np.array([])
    demand = _demand(s).set_index(["assembly", "model", "year"])["demand_gwh"]
    opens = r.builds[r.builds["kind"] == "opening"]
    out = []
    for plant, assembly, model, year, gwh in zip(f["plant"], f["assembly"], f["model"], f["year"], f["gwh"]):
        lead = int(plants.loc[plant, "lead_time_years"])
        online = opens[(opens["plant"] == plant) & (opens["start_year"] + lead <= year)]
        cap = float(demand.get((assembly, model, year), 0.0)) * float(online["count"].sum())
        out.append(relative([gwh], [cap])[0])
    return np.array(out)


def local_content(s: Scenario, r: ResultTables) -> np.ndarray:
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
            out.append(relative([rule.min_share * float(ft["gwh"].sum())], [local])[0])
    return np.array(out)


def supplier_share(s: Scenario, r: ResultTables) -> np.ndarray:
    """GWh from p to a <= max share x all GWh to a, per year."""
    share = dict(zip(s.tables["assembly"]["assembly"], s.tables["assembly"]["max_supplier_share"]))
    lane = r.flows.groupby(["plant", "assembly", "year"], as_index=False)["gwh"].sum()
    total = r.flows.groupby(["assembly", "year"])["gwh"].sum()
    lhs = lane["gwh"].to_numpy()
    rhs = np.array([share[a] * total[a, t] for a, t in zip(lane["assembly"], lane["year"])])
    return relative(lhs, rhs)


def min_offtake(s: Scenario, r: ResultTables) -> np.ndarray:
    py = s.tables["plant_years"]
    py = py[py["min_offtake_gwh"] > 0]
    prod = r.flows.groupby(["plant", "year"])["gwh"].sum()
    shipped = [float(prod.get((p, t), 0.0)) for p, t in zip(py["plant"], py["year"])]
    return relative(py["min_offtake_gwh"], shipped)


def co2_cap(s: Scenario, r: ResultTables) -> np.ndarray:
    if "years" not in s.tables:
        return np.array([])
    y = s.tables["years"].dropna(subset=["co2_cap_kt"])
    f = r.flows.merge(s.tables["plant_years"][["plant", "year", "co2_kg_per_kwh"]], on=["plant", "year"])
    kt = (f["gwh"] * f["co2_kg_per_kwh"]).groupby(f["year"]).sum()
    return relative([float(kt.get(t, 0.0)) for t in y["year"]], y["co2_cap_kt"])


def single_sourcing(s: Scenario, r: ResultTables) -> np.ndarray:
    """With single sourcing: each (assembly, model) receives cells from at most one plant."""
    if not s.config.single_sourcing:
        return np.array([])
    n = r.flows[r.flows["gwh"] > 1e-7].groupby(["assembly", "model"])["plant"].nunique()
    return relative(n.to_numpy(dtype=float), np.ones(len(n)))
