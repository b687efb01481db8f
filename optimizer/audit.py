"""An audit that recomputes every constraint family, and the objective, from the written result tables
and the scenario's input tables, in pandas, without the Pyomo model.

Each check returns the relative violation of every row it covers: (lhs - rhs) / max(1, |lhs|, |rhs|)
for a "<=" row (and the reverse for ">="); a row is violated when that exceeds the tolerance. The checks
of the constraint families sit beside them in the registry (:mod:`optimizer.model.checks`); the flows'
domain and the objective are checked here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .model.checks import closed_from, delivered_capacity, lane_year_values, plants_frame, relative
from .model.families import FAMILIES
from .results import SolveResult
from .scenario import Scenario, crf

TOLERANCE = 1e-6


def audit_result(s: Scenario, r: SolveResult) -> pd.DataFrame:
    """One row per family of the registry (:data:`~optimizer.model.families.FAMILIES`), plus the flows'
    domain first and the objective last: rows checked, rows violated, worst relative violation (<= 0 when
    slack)."""
    checks = {"flow_domain": _flow_domain, **{f.name: f.audit for f in FAMILIES}, "objective": _objective}
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
    return np.where(ok, relative(-f["gwh"], 0.0), 1.0)


def recompute_objective(s: Scenario, r: SolveResult) -> float:
    """The discounted total cost recomputed from the tables: flows priced from the input tables,
    investment charged by the timing convention (each plant's own economic life where it has one), fixed
    O&M on nameplate until a plant's closure year, closure costs in their year, unserved penalty; freight
    and tariff per lane and year (``lane_years``, else ``lanes``)."""
    cfg = s.config
    t0, rate = cfg.start_year, cfg.discount_rate
    disc = {t: (1 + rate) ** -(t - t0) for t in s.years}
    plants = plants_frame(s)
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
    reported = float(r.objective) if r.objective is not None else float("nan")
    by_table = float(r.costs["discounted_musd"].sum())
    return np.abs(np.array([relative([recomputed], [reported])[0], relative([by_table], [reported])[0]]))
