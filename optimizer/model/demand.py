"""Demand: every GWh demanded is served or (soft demand) left unserved at a penalty."""

from __future__ import annotations

import pyomo.environ as pyo

from .context import SourcingModel
from .linear import var_sum


def define_demand_balance(m: SourcingModel) -> None:
    """``demand_balance[a,v,t]``: sum_p x[p,a,v,t] + u[a,v,t] = D[a,v,t]  for (a,v,t) with D > 0.

    D = vehicles x pack kWh x 1e-6 GWh. With hard demand u is absent; a hard demand that no lane can
    serve (validation refuses it, but a sweep case may turn soft demand hard) makes the row
    ``Constraint.Infeasible`` and the scenario infeasible, explained as that demand short. Dual: marginal
    cost of cells for model v at assembly plant a in year t ($/kWh, discounted).
    """
    d, ix, x = m.d, m.ix, m.flow_var
    soft = hasattr(m, "unserved")

    def rule(_m, a, v, t):
        flows = ix.by_demand.get((a, v, t), ())
        if not flows and not soft:
            return pyo.Constraint.Infeasible
        served = [x[f] for f in flows]
        if soft:
            served.append(m.unserved[a, v, t])
        return var_sum(served) == m.par.demand[a, v, t]

    m.demand_balance = pyo.Constraint(list(d.demand_gwh), rule=rule)


def define_open_link(m: SourcingModel) -> None:
    """``open_link[p,a,v,t]`` (valid inequality): x[p,a,v,t] <= D[a,v,t] sum_{s : s + l[p] <= t} w[p,s]
    for candidate plants p.

    A candidate site ships nothing before its opening delivers; the capacity row already says so, but
    this disaggregated form is far tighter in the LP relaxation (the classic y_i >= x_ij of facility
    location). Where no opening can be online by t the row is x[p,a,v,t] = 0. Dual (LP with the
    integers fixed): shares the price of an unopened site with ``plant_capacity``; read capacity values
    from ``plant_capacity``.
    """
    d, ix, x = m.d, m.ix, m.flow_var
    cand = set(ix.candidates)
    index = [f for f in ix.flows if f[0] in cand]
    online = {(p, t): [m.open[p, s] for s in d.starts[p] if d.plants[p].online(s, t)]
              for p in cand for t in d.years}

    def rule(_m, p, a, v, t):
        opened = online[p, t]
        if not opened:
            return x[p, a, v, t] == 0
        return x[p, a, v, t] <= m.par.demand[a, v, t] * var_sum(opened)

    m.open_link = pyo.Constraint(index, rule=rule)
