"""The objective: discounted cost over the horizon, kept by category and year for reporting."""

from __future__ import annotations

import pyomo.environ as pyo

from .closure import closure_cash, open_nameplate
from .context import INVESTMENTS, SourcingModel
from .linear import linear_sum
from .params import SCALAR

COST_CATEGORIES = ("investment", "fixed_om", "closure", "cell", "freight", "tariff", "carbon", "credit", "unserved")


def nameplate(m: SourcingModel, p: str, t: int):
    """Nameplate capacity of p in year t (GWh, not ramped): K0[p,t] plus every opening and step whose
    production has started (s + l[p] <= t)."""
    d, pl = m.d, m.d.plants[p]
    expr = m.par.existing[p, t]
    if p in m.ix.candidates and pl.opening_gwh > 0:
        expr = expr + sum(pl.opening_gwh * m.open[p, s] for s in d.starts[p] if pl.online(s, t))
    if p in m.ix.expandable:
        expr = expr + sum(pl.step_gwh * m.steps[p, s] for s in d.starts[p] if pl.online(s, t))
    return expr


def _investment_terms(m: SourcingModel) -> dict[int, list[tuple[object, object]]]:
    """Year t -> the terms (F[p] chi[p,s,t], w[p,s]) and (G[p] chi[p,s,t], z[p,s]) charged in t."""
    s = m.scenario
    by_year: dict[int, list[tuple[object, object]]] = {t: [] for t in m.d.years}
    for f in INVESTMENTS:
        var, cash = f.of(m), getattr(m.par, f.cash)
        for p, y in getattr(m.ix, f.index):
            for t, share in s.charges(p, y).items():
                if share > 0 and t in by_year:
                    by_year[t].append((cash[p] * share, var[p, y]))
    return by_year


def _flow_costs(m: SourcingModel, category: str, t: int):
    """sum_{p,a,v} (the category's part of the per-kWh lane cost) x[p,a,v,t], in one expression."""
    flows = m.ix.by_year.get(t, ())
    x = m.flow_var
    return linear_sum(_lane_cost_parts(m, category, t, flows), [x[f] for f in flows])


def _lane_cost_parts(m: SourcingModel, category: str, t: int, flows) -> list:
    """One part of the per-kWh lane cost (see ``ModelData.unit_cost_parts``) of each flow of year t, from the
    parameters."""
    par = m.par
    if category == "cell":
        return [par.cell_cost[p, t] for p, _, _, _ in flows]
    if category == "freight":
        return [par.freight[p, a, t] for p, a, _, _ in flows]
    if category == "tariff":
        return [par.tariff[p, a, t] * par.cell_cost[p, t] for p, a, _, _ in flows]
    if category == "carbon":
        return [par.carbon_price[t] * par.co2[p, t] / 1000.0 for p, _, _, _ in flows]
    if category == "credit":
        return [-par.credit[p, t] for p, _, _, _ in flows]
    raise ValueError(category)


def _cost_terms(m: SourcingModel, category: str, t: int, investment: dict[int, list[tuple[object, object]]]):
    d = m.d
    if category == "investment":
        return linear_sum(*zip(*investment[t])) if investment[t] else 0
    if category == "fixed_om":
        return sum(m.par.fixed_om[p] * open_nameplate(m, p, t, nameplate(m, p, t)) for p in d.plants)
    if category == "closure":
        return closure_cash(m, t)
    if category == "unserved":
        if not hasattr(m, "unserved"):
            return 0.0
        pen = m.par.penalty[SCALAR]
        unserved = [m.unserved[k] for k in d.demand_gwh if k[2] == t]
        return linear_sum([pen] * len(unserved), unserved)
    return _flow_costs(m, category, t)


def define_objective(m: SourcingModel) -> None:
    """``cost[k,t]`` (nominal $M by category k and year t) and ``total_cost``:

    min sum_t d_t (investment_t + fixed_om_t + closure_t
                   + sum_{p,a,v} x[p,a,v,t] (c[p,t] + f[p,a,t] + tau[p,a,t] c[p,t] + P_co2 e/1000 - cr)
                   + penalty sum u_t),   d_t = (1 + r)^-(t - t0)

    investment_t = sum_{p,s} (F[p] w[p,s] + G[p] z[p,s]) chi[p,s,t], chi = 1 in s (upfront) or
    CRF(r, life[p]) in each delivering year s + l[p] .. min(tN, s + l[p] + life[p] - 1) (annualised);
    fixed_om_t = sum_p om[p] nameplate[p,t], less what closed plants no longer pay
    (:func:`.closure.open_nameplate`); closure_t = sum_p C[p] c[p,t].
    """
    d = m.d
    investment = _investment_terms(m)
    m.cost = pyo.Expression(
        [(k, t) for k in COST_CATEGORIES for t in d.years], rule=lambda _m, k, t: _cost_terms(m, k, t, investment)
    )
    m.total_cost = pyo.Objective(
        expr=sum(d.discount[t] * m.cost[k, t] for k in COST_CATEGORIES for t in d.years), sense=pyo.minimize
    )
