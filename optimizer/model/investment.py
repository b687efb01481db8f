"""Investment logic: open a candidate site at most once, expand only what is open, within budgets."""

from __future__ import annotations

import pyomo.environ as pyo

from .context import INVESTMENTS, SourcingModel
from .params import SCALAR


def define_open_once(m: SourcingModel) -> None:
    """``open_once[p]``: sum_s w[p,s] <= 1  for candidate plants p. Dual: none of interest."""
    d, ix = m.d, m.ix
    index = [p for p in ix.candidates if d.starts[p]]
    m.open_once = pyo.Constraint(index, rule=lambda _m, p: sum(m.open[p, s] for s in d.starts[p]) <= 1)


def define_expansion_limit(m: SourcingModel) -> None:
    """``expansion_limit[p,t]``: sum_{s<=t} z[p,s] <= n_max[p] (1 if p exists else sum_{s<=t} w[p,s]).

    Steps need an open site (started in the same year or before) and stop at n_max[p]. For existing
    plants only t = tN is written (the earlier rows are implied). Integer variables only: no LP dual.
    """
    d, ix = m.d, m.ix
    t_end = d.years[-1]
    index = []
    for p in ix.expandable:
        if d.plants[p].candidate:
            index += [(p, t) for t in d.starts[p]]
        elif d.starts[p]:
            index.append((p, t_end))

    def rule(_m, p, t):
        pl = d.plants[p]
        steps = sum(m.steps[p, s] for s in d.starts[p] if s <= t)
        if not pl.candidate:
            return steps <= pl.max_steps
        return steps <= pl.max_steps * sum(m.open[p, s] for s in d.starts[p] if s <= t)

    m.expansion_limit = pyo.Constraint(index, rule=rule)


def capex_cash(m: SourcingModel, t: int):
    """Cash for openings and steps started in year t: sum_p F[p] w[p,t] + G[p] z[p,t] ($M)."""
    terms = [getattr(m.par, f.cash)[p] * f.of(m)[p, s] for f in INVESTMENTS for p, s in getattr(m.ix, f.index)
             if s == t]
    return sum(terms)


def define_capex_budget(m: SourcingModel) -> None:
    """``capex_budget[t]``: sum_p F[p] w[p,t] + G[p] z[p,t] <= B[t]  for years with a budget.

    Cash amounts count in their start year whatever the investment-cost mode. Written only for years
    in which some build may start. Its row holds integer variables only, so the LP with the integers
    fixed gives it no dual: the value of more budget needs a MILP re-solve.
    """
    d = m.d
    can_start = {s for _, s in m.ix.open_idx} | {s for _, s in m.ix.step_idx}
    index = [t for t in d.years if t in d.capex_budget and t in can_start]
    m.capex_budget = pyo.Constraint(index, rule=lambda _m, t: capex_cash(m, t) <= m.par.capex_budget[t])


def define_total_budget(m: SourcingModel) -> None:
    """``total_budget``: sum_t sum_p F[p] w[p,t] + G[p] z[p,t] <= B_total  (if set in scenario.yaml)."""
    limit = m.scenario.config.total_budget_musd
    if limit is not None and (m.ix.open_idx or m.ix.step_idx):
        m.total_budget = pyo.Constraint(expr=sum(capex_cash(m, t) for t in m.d.years) <= m.par.total_budget[SCALAR])
