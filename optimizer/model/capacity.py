"""Capacity: what each cell plant can make in a year, and what each assembly plant can build."""

from __future__ import annotations

import pyomo.environ as pyo

from ..scenario import GWH_PER_KWH_VEHICLE
from .context import SourcingModel
from .linear import linear_sum, var_sum


def available_capacity(m: SourcingModel, p: str, t: int):
    """Ramped capacity of plant p in year t (GWh):

    K0[p,t] + sum_s open_gwh[p] ramp_p(t - s - l[p]) w[p,s] + sum_s g[p] ramp_p(t - s - l[p]) z[p,s]
    """
    d, pl = m.d, m.d.plants[p]
    expr = m.par.existing[p, t]
    terms = []
    if pl.candidate and pl.opening_gwh > 0:
        terms += [(pl.opening_gwh * pl.delivered(s, t), m.open[p, s]) for s in d.starts[p]]
    if p in m.ix.expandable:
        terms += [(pl.step_gwh * pl.delivered(s, t), m.steps[p, s]) for s in d.starts[p]]
    terms = [(c, v) for c, v in terms if c > 0]
    return expr + linear_sum([c for c, _ in terms], [v for _, v in terms])


def define_plant_capacity(m: SourcingModel) -> None:
    """``plant_capacity[p,t]``: sum_{a,v} x[p,a,v,t] <= alpha[p,t] capacity[p,t]  for p, t with flows.

    capacity[p,t] is :func:`available_capacity` (existing, openings and steps, each ramped after its
    lead time); alpha[p,t] is the plant's availability (1, or 0 in an outage year).
    Dual: value of one more GWh of cell capacity at p in year t ($M/GWh = $/kWh, discounted).
    """
    ix, x = m.ix, m.flow_var

    def rule(_m, p, t):
        shipped = var_sum([x[f] for f in ix.by_plant_year[p, t]])
        return shipped <= m.par.availability[p, t] * available_capacity(m, p, t)

    m.plant_capacity = pyo.Constraint(sorted(ix.by_plant_year), rule=rule)


def define_assembly_capacity(m: SourcingModel) -> None:
    """``assembly_capacity[a,t]``: sum_{p,v} x[p,a,v,t] / (pack[v] 1e-6) / 1000 <= cap[a,t] / 1000.

    Vehicles built (GWh served over GWh per vehicle) may not exceed the plant's EV capacity; both
    sides in thousands of vehicles for scaling. Only where the capacity is limited.
    Dual: value of capacity for 1,000 more vehicles ($M, discounted).
    """
    d, ix, x = m.d, m.ix, m.flow_var
    index = sorted(k for k in ix.by_assembly_year if k in d.assembly_cap)
    per_gwh = {v: 1.0 / (pack * GWH_PER_KWH_VEHICLE * 1000.0) for v, pack in d.pack_kwh.items()}

    def rule(_m, a, t):
        flows = ix.by_assembly_year[a, t]
        return linear_sum([per_gwh[f[2]] for f in flows], [x[f] for f in flows]) <= m.par.assembly_cap[a, t] / 1000.0

    m.assembly_capacity = pyo.Constraint(index, rule=rule)
