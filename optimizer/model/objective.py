"""The objective: discounted cost over the horizon, one coefficient per flow (its discounted lane cost)."""

from __future__ import annotations

import pyomo.environ as pyo
from pyomo.common.numeric_types import native_numeric_types
from pyomo.core.expr import NPV_ProductExpression, NPV_SumExpression

from .closure import closure_cash, open_nameplate
from .context import INVESTMENTS, SourcingModel
from .linear import linear_sum
from .params import SCALAR

COST_CATEGORIES = ("investment", "fixed_om", "closure", "cell", "freight", "tariff", "carbon", "credit", "unserved")
"""The cost categories of the ``costs`` result table, in its order."""
FIRST_CATEGORIES = COST_CATEGORIES[:3]
"""The categories charged per year outside the flows (the lane-cost parts are cell .. credit, in this order)."""


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


def lane_cost_parts(par, p: str, a: str, t: int) -> tuple:
    """The per-kWh lane cost of lane (p, a) in year t by lane-cost category (cell .. credit of
    :data:`COST_CATEGORIES`), from the parameters ``par`` (numbers, or expressions of mutable Params): c[p,t],
    f[p,a,t], tau[p,a,t] c[p,t], P_co2[t] e[p,t] / 1000, -cr[p,t] (as ``ModelData.unit_cost_parts``)."""
    return (par.cell_cost[p, t], par.freight[p, a, t], par.tariff[p, a, t] * par.cell_cost[p, t],
            par.carbon_price[t] * par.co2[p, t] / 1000.0, -par.credit[p, t])


def discounted_lane_cost(discount: float, parts: tuple) -> object:
    """d_t sum_k part_k over the lane-cost categories, summed in their order as d_t part_k terms, a plain 0 part
    skipped: for numbers, bit for bit the coefficient Pyomo's compilers accumulate for a flow from one d_t cost[k,t]
    term per category (coef = d c_cell, then += d c_freight, ...); for Params, a sum of products of Params and
    numbers (``NPV_SumExpression`` of ``NPV_ProductExpression``), which the sweep's parameter push compiles."""
    terms = [part for part in parts if part.__class__ not in native_numeric_types or part != 0]
    if not terms:
        return 0
    if all(part.__class__ in native_numeric_types for part in terms):
        coef = discount * terms[0]
        for part in terms[1:]:
            coef = coef + discount * part
        return coef
    return NPV_SumExpression([NPV_ProductExpression((discount, part)) for part in terms])


def _flow_costs(m: SourcingModel):
    """sum_t sum_{p,a,v} d_t lc[p,a,t] x[p,a,v,t] (lc: the lane cost per kWh, :func:`lane_cost_parts`), in one
    expression, flows by year; one coefficient per lane and year, shared by the lane's models."""
    d, x, par = m.d, m.flow_var, m.par
    coefs, flows = [], []
    lane_cost: dict[tuple[str, str, int], object] = {}
    for t in d.years:
        discount = d.discount[t]
        for f in m.ix.by_year.get(t, ()):
            p, a, _v, _t = f
            coef = lane_cost.get((p, a, t))
            if coef is None:
                coef = lane_cost[p, a, t] = discounted_lane_cost(discount, lane_cost_parts(par, p, a, t))
            coefs.append(coef)
            flows.append(x[f])
    return linear_sum(coefs, flows)


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
    raise ValueError(category)


def define_objective(m: SourcingModel) -> None:
    """``total_cost``, the discounted cost over the horizon:

    min sum_t d_t (investment_t + fixed_om_t + closure_t + penalty sum_{a,v} u[a,v,t])
        + sum_{p,a,v,t} d_t (c[p,t] + f[p,a,t] + tau[p,a,t] c[p,t] + P_co2[t] e[p,t]/1000 - cr[p,t]) x[p,a,v,t],
    d_t = (1 + r)^-(t - t0)

    investment_t = sum_{p,s} (F[p] w[p,s] + G[p] z[p,s]) chi[p,s,t], chi = 1 in s (upfront) or
    CRF(r, life[p]) in each delivering year s + l[p] .. min(tN, s + l[p] + life[p] - 1) (annualised);
    fixed_om_t = sum_p om[p] nameplate[p,t], less what closed plants no longer pay
    (:func:`.closure.open_nameplate`); closure_t = sum_p C[p] c[p,t].

    Each flow has one objective coefficient, its discounted lane cost (:func:`discounted_lane_cost`); the
    nominal cost by category k in :data:`COST_CATEGORIES` and year t is not part of the model: the ``costs``
    result table computes it from the solution (its discounted column adds up to the objective).
    """
    d = m.d
    investment = _investment_terms(m)
    by_year = [d.discount[t] * _cost_terms(m, k, t, investment) for k in FIRST_CATEGORIES for t in d.years]
    unserved = [d.discount[t] * _cost_terms(m, "unserved", t, investment) for t in d.years]
    m.total_cost = pyo.Objective(expr=sum(by_year) + _flow_costs(m) + sum(unserved), sense=pyo.minimize)
