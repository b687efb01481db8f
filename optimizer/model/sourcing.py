"""Sourcing rules: local content, supplier concentration, take-or-pay, CO2 cap, single sourcing."""

from __future__ import annotations

import pyomo.environ as pyo

from .context import SourcingModel
from .linear import linear_sum, var_sum


def define_local_content(m: SourcingModel) -> None:
    """``local_content[r,t]``: sum_{p in P_r, a in A_r, v} x[p,a,v,t] >= s_r sum_{p, a in A_r, v} x[p,a,v,t]
    for each rule r and each year t it is in force.

    Dual: cost of one more GWh of required local cells ($/kWh, discounted).
    """
    d, ix, x = m.d, m.ix, m.flow_var
    rules = {r.rule: r for r in d.rules}
    index = [(r.rule, t) for r in d.rules for t in r.years]

    def rule(_m, name, t):
        r = rules[name]
        local, total = [], []
        for a in r.assemblies:
            for f in ix.by_assembly_year.get((a, t), ()):
                total.append(x[f])
                if f[0] in r.plants:
                    local.append(x[f])
        if not total:
            return pyo.Constraint.Skip
        return var_sum(local) >= r.min_share * var_sum(total)

    m.local_content = pyo.Constraint(index, rule=rule)


def define_supplier_share(m: SourcingModel) -> None:
    """``supplier_share[p,a,t]``: sum_v x[p,a,v,t] <= sigma[a] sum_{p',v} x[p',a,v,t]  where sigma[a] < 1.

    No cell plant supplies more than the share sigma[a] of assembly plant a's cells in a year.
    Dual: cost of the diversification requirement per GWh ($/kWh, discounted).
    """
    d, ix, x = m.d, m.ix, m.flow_var
    index = [(p, a, t) for (p, a, t) in ix.by_lane_year if d.max_supplier_share[a] < 1.0]

    def rule(_m, p, a, t):
        mine = var_sum([x[f] for f in ix.by_lane_year[p, a, t]])
        allf = var_sum([x[f] for f in ix.by_assembly_year[a, t]])
        return mine <= d.max_supplier_share[a] * allf

    m.supplier_share = pyo.Constraint(sorted(index), rule=rule)


def define_min_offtake(m: SourcingModel) -> None:
    """``min_offtake[p,t]``: sum_{a,v} x[p,a,v,t] >= M[p,t]  where M[p,t] > 0 (take-or-pay, modelled as
    a firm minimum: no option to pay instead). A plant with a minimum but no possible flow in the
    year makes the scenario infeasible (status ``infeasible``).

    Dual: cost of the commitment per GWh ($/kWh, discounted).
    """
    d, ix, x = m.d, m.ix, m.flow_var
    index = sorted(k for k, q in d.min_offtake.items() if q > 0)

    def rule(_m, p, t):
        shipped = [x[f] for f in ix.by_plant_year.get((p, t), ())]
        if not shipped:
            return pyo.Constraint.Infeasible
        return var_sum(shipped) >= m.par.min_offtake[p, t]

    m.min_offtake = pyo.Constraint(index, rule=rule)


def define_co2_cap(m: SourcingModel) -> None:
    """``co2_cap[t]``: sum_{p,a,v} e[p,t] x[p,a,v,t] <= E[t]  where a cap is set (kt CO2;
    GWh x kg/kWh = kt). Dual: shadow price of CO2 ($M/kt = $/kg, discounted)."""
    d, ix, x = m.d, m.ix, m.flow_var
    index = sorted(t for t in d.co2_cap if t in ix.by_year)

    def rule(_m, t):
        flows = ix.by_year.get(t, ())
        emitted = linear_sum([m.par.co2[f[0], t] for f in flows], [x[f] for f in flows])
        return emitted <= m.par.co2_cap[t]

    m.co2_cap = pyo.Constraint(index, rule=rule)


def define_single_sourcing(m: SourcingModel) -> None:
    """With single sourcing on: ``single_source_pick[a,v]``: sum_p y[p,a,v] = 1, and
    ``single_source_link[p,a,v,t]``: x[p,a,v,t] <= D[a,v,t] y[p,a,v].

    Each (assembly plant, model) takes all its cells from one plant over the horizon. The link rows
    bind only through the fixed integers in the LP re-solve; their duals price the chosen supplier.
    """
    if not hasattr(m, "source"):
        return
    ix, x = m.ix, m.flow_var
    pairs: dict[tuple[str, str], list[str]] = {}
    for p, a, v in ix.by_arc:
        pairs.setdefault((a, v), []).append(p)
    m.single_source_pick = pyo.Constraint(
        sorted(pairs), rule=lambda _m, a, v: var_sum([m.source[p, a, v] for p in pairs[a, v]]) == 1
    )
    m.single_source_link = pyo.Constraint(
        list(ix.flows), rule=lambda _m, p, a, v, t: x[p, a, v, t] <= m.par.demand[a, v, t] * m.source[p, a, v]
    )
