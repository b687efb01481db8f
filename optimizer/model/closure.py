"""Closures: an existing plant may be closed from a year of the model's choice, at most once.

After its closure year s a plant has no capacity (existing or built), ships nothing and pays no fixed
O&M; the closure cost falls in year s (the objective's ``closure`` category, discounted like any cost,
outside capital budgets); annualised charges of earlier builds continue (they are sunk).

With closed[p,t] = sum_{s in S_p, s <= t} c[p,s] (S_p: the plant's closure years, from its
``earliest_closure`` on):
"""

from __future__ import annotations

import pyomo.environ as pyo

from .context import SourcingModel
from .linear import var_sum


def closed(m: SourcingModel, p: str, t: int):
    """closed[p,t] = sum_{s <= t} c[p,s]: 1 from the closure year on (0 for a plant that may not close)."""
    return sum(m.close[p, s] for s in m.d.closure_starts.get(p, ()) if s <= t)


def online_steps(m: SourcingModel, p: str, t: int):
    """N[p,t] = sum_{s : s + l[p] <= t} z[p,s]: steps of p producing in year t."""
    pl = m.d.plants[p]
    return sum(m.steps[p, s] for s in m.d.starts[p] if pl.online(s, t))


def flow_bound(m: SourcingModel, p: str, t: int):
    """U[p,t] = K0[p,t] + g[p] n_max[p]: no plan gives p more nameplate in year t (ramp <= 1)."""
    pl = m.d.plants[p]
    extra = pl.step_gwh * pl.max_steps if p in m.ix.expandable else 0.0
    return m.par.existing[p, t] + extra


def define_close_once(m: SourcingModel) -> None:
    """``close_once[p]``: sum_{s in S_p} c[p,s] <= 1  for plants that may close. Dual: none of interest
    (integer variables only)."""
    d = m.d
    m.close_once = pyo.Constraint(sorted(d.closure_starts),
                                  rule=lambda _m, p: sum(m.close[p, s] for s in d.closure_starts[p]) <= 1)


def define_closure_flow(m: SourcingModel) -> None:
    """``closure_flow[p,t]``: sum_{a,v} x[p,a,v,t] <= U[p,t] (1 - closed[p,t])  for closable p and the
    years t >= min S_p in which p has flows.

    A closed plant ships nothing; U[p,t] (:func:`flow_bound`) never cuts an open plant's capacity row.
    Dual (LP with the integers fixed): value of keeping p open one more GWh in year t; read capacity
    values from ``plant_capacity``.
    """
    d, ix = m.d, m.ix
    index = [(p, t) for p, years in sorted(d.closure_starts.items()) if years
             for t in d.years if t >= years[0] and (p, t) in ix.by_plant_year]

    def rule(_m, p, t):
        shipped = var_sum([m.flow_var[f] for f in ix.by_plant_year[p, t]])
        return shipped <= flow_bound(m, p, t) * (1 - closed(m, p, t))

    m.closure_flow = pyo.Constraint(index, rule=rule)


def closed_steps_index(m: SourcingModel) -> list[tuple[str, int]]:
    """(p, t) where a closable, expandable p may have steps producing while closed."""
    d = m.d
    out = []
    for p, years in sorted(d.closure_starts.items()):
        if not years or p not in m.ix.expandable:
            continue
        pl = d.plants[p]
        out += [(p, t) for t in d.years if t >= years[0] and any(pl.online(s, t) for s in d.starts[p])]
    return out


def define_closed_steps(m: SourcingModel) -> None:
    """``closed_steps[p,t]`` q[p,t] >= 0 (a variable), with ``closed_steps_cap[p,t]``: q <= n_max[p] closed[p,t]
    and ``closed_steps_built[p,t]``: q <= N[p,t]  (:func:`online_steps`).

    q = N[p,t] closed[p,t], linearised: the fixed O&M of p's steps, om[p] g[p] (N - q), is minimised, so q
    rises to min(n_max closed, N), which is N when closed and 0 when open. Only for closable plants
    that can expand. Duals: none of interest.
    """
    d = m.d
    index = closed_steps_index(m)
    m.closed_steps = pyo.Var(index, domain=pyo.NonNegativeReals)
    m.closed_steps_cap = pyo.Constraint(
        index, rule=lambda _m, p, t: m.closed_steps[p, t] <= d.plants[p].max_steps * closed(m, p, t))
    m.closed_steps_built = pyo.Constraint(index, rule=lambda _m, p, t: m.closed_steps[p, t] <= online_steps(m, p, t))


def open_nameplate(m: SourcingModel, p: str, t: int, nameplate):
    """Nameplate that pays fixed O&M: ``nameplate`` (K0 + online builds) unless p is closed by t:
    K0[p,t] (1 - closed[p,t]) + g[p] (N[p,t] - q[p,t]) for a closable plant."""
    if p not in m.d.closure_starts:
        return nameplate
    expr = nameplate - m.par.existing[p, t] * closed(m, p, t)
    if (p, t) in m.closed_steps:
        expr = expr - m.d.plants[p].step_gwh * m.closed_steps[p, t]
    return expr


def closure_cash(m: SourcingModel, t: int):
    """Closure costs falling in year t: sum_p C[p] c[p,t] ($M)."""
    return sum(m.par.closure_cost[p] * m.close[p, s] for p, s in m.ix.close_idx if s == t)
