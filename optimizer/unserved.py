"""Unserved demand, said plainly: how much, where, at what penalty.

A solve can be ``optimal`` and still leave demand unserved (soft demand priced at a penalty is cheaper
than building). :func:`unserved_summary` condenses the ``unmet`` and ``costs`` tables into what the
CLI summary, the manifest (``unserved``) and the report state.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

EPS_GWH = 1e-6


def _years(years: list[int]) -> str:
    runs: list[list[int]] = []
    for y in sorted(years):
        if runs and y == runs[-1][-1] + 1:
            runs[-1].append(y)
        else:
            runs.append([y])
    return ", ".join(str(r[0]) if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in runs)


def unserved_summary(unmet: pd.DataFrame, costs: pd.DataFrame, penalty_usd_per_kwh: float) -> dict[str, Any] | None:
    """``None`` when every demand is served; else the totals (GWh, vehicles, share of demand), the penalty
    ($/kWh and the $M it adds, nominal and discounted) and ``where``: one entry per (assembly, model) with
    unserved GWh, vehicles and years, largest first."""
    if unmet is None or not len(unmet):
        return None
    short = unmet[unmet["unmet_gwh"] > EPS_GWH]
    if not len(short):
        return None
    demand = float(unmet["demand_gwh"].sum())
    penalty = costs[costs["category"] == "unserved"] if len(costs) else costs
    where: list[dict[str, Any]] = []
    for (a, v), rows in short.groupby(["assembly", "model"]):
        years = _years(rows["year"].astype(int).tolist())
        where.append({"assembly": str(a), "model": str(v), "gwh": float(rows["unmet_gwh"].sum()),
                      "vehicles": float(rows["unmet_vehicles"].sum()), "years": years})
    where.sort(key=lambda w: -float(w["gwh"]))
    gwh = float(short["unmet_gwh"].sum())
    return {
        "gwh": gwh,
        "vehicles": float(short["unmet_vehicles"].sum()),
        "share_of_demand": gwh / demand if demand > 0 else 0.0,
        "penalty_usd_per_kwh": float(penalty_usd_per_kwh),
        "penalty_musd_nominal": float(penalty["nominal_musd"].sum()) if len(penalty) else 0.0,
        "penalty_musd_discounted": float(penalty["discounted_musd"].sum()) if len(penalty) else 0.0,
        "where": where,
    }


def unserved_sentence(u: dict[str, Any], shown: int = 5) -> str:
    """One plain sentence: '8.40 GWh of demand unserved (120,064 vehicles, 1.9 % of demand) at the $500/kWh
    penalty, $3,120M discounted: Sunderland QashqaiEV 5.10 GWh (2029-2031); ...'."""
    parts = [f"{w['assembly']} {w['model']} {w['gwh']:,.2f} GWh ({w['years']})" for w in u["where"][:shown]]
    more = f"; and {len(u['where']) - shown} more" if len(u["where"]) > shown else ""
    share = 100 * u["share_of_demand"]
    rate = u["penalty_usd_per_kwh"]
    at = f"at the ${rate:,.0f}/kWh penalty, " if rate == rate else "at a penalty of "
    return (f"{u['gwh']:,.2f} GWh of demand unserved ({u['vehicles']:,.0f} vehicles, {share:.1f} % of demand) "
            f"{at}${u['penalty_musd_discounted']:,.0f}M discounted: " + "; ".join(parts) + more)
