"""Index sets and decision variables.

=====================  ==========================  =============================================
Pyomo name             math                        meaning
=====================  ==========================  =============================================
``flow[p,a,v,t]``      x[p,a,v,t] >= 0             GWh of cells from plant p to assembly a, model v
``unserved[a,v,t]``    u[a,v,t] >= 0               GWh of demand not served (soft demand only)
``open[p,s]``          w[p,s] in {0,1}             candidate site p opened in year s
``steps[p,s]``         z[p,s] in {0..n_max[p]}     expansion steps started at p in year s
``source[p,a,v]``      y[p,a,v] in {0,1}           single sourcing: p is the one supplier of (a,v)
``close[p,s]``         c[p,s] in {0,1}             existing plant p closed from year s on
``closed_steps[p,t]``  q[p,t] >= 0                 steps of a closed plant (see :mod:`.closure`)
=====================  ==========================  =============================================
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import pyomo.environ as pyo

from ..scenario import ModelData, Scenario
from .params import define_params


@dataclass(frozen=True)
class ModelIndex:
    """Precomputed groupings of the flow index, so that constraint rules never scan all flows."""

    flows: tuple[tuple[str, str, str, int], ...]
    by_demand: dict[tuple[str, str, int], list[tuple[str, str, str, int]]]
    by_plant_year: dict[tuple[str, int], list[tuple[str, str, str, int]]]
    by_assembly_year: dict[tuple[str, int], list[tuple[str, str, str, int]]]
    by_lane_year: dict[tuple[str, str, int], list[tuple[str, str, str, int]]]
    by_arc: dict[tuple[str, str, str], list[tuple[str, str, str, int]]]
    by_year: dict[int, list[tuple[str, str, str, int]]]
    open_idx: tuple[tuple[str, int], ...]
    step_idx: tuple[tuple[str, int], ...]
    candidates: tuple[str, ...]
    expandable: tuple[str, ...]
    close_idx: tuple[tuple[str, int], ...]


def _index(d: ModelData) -> ModelIndex:
    by_av: dict[tuple[str, str], list[str]] = defaultdict(list)
    for p, a, v in d.arcs:
        by_av[a, v].append(p)
    flows = tuple((p, a, v, t) for (a, v, t) in d.demand_gwh for p in by_av[a, v])
    by_demand, by_plant_year, by_assembly_year, by_lane_year, by_arc, by_year = (defaultdict(list) for _ in range(6))
    for f in flows:
        p, a, v, t = f
        by_demand[a, v, t].append(f)
        by_plant_year[p, t].append(f)
        by_assembly_year[a, t].append(f)
        by_lane_year[p, a, t].append(f)
        by_arc[p, a, v].append(f)
        by_year[t].append(f)
    candidates = tuple(p for p, pl in d.plants.items() if pl.candidate)
    expandable = tuple(p for p, pl in d.plants.items() if pl.max_steps > 0 and pl.step_gwh > 0)
    open_idx = tuple((p, s) for p in candidates for s in d.starts[p])
    step_idx = tuple((p, s) for p in expandable for s in d.starts[p])
    close_idx = tuple((p, s) for p, years in sorted(d.closure_starts.items()) for s in years)
    return ModelIndex(flows, dict(by_demand), dict(by_plant_year), dict(by_assembly_year), dict(by_lane_year),
                      dict(by_arc), dict(by_year), open_idx, step_idx, candidates, expandable, close_idx)


def define_variables(scenario: Scenario, mutable: bool = False) -> pyo.ConcreteModel:
    """Create the model, its parameters (:mod:`.params`), index sets and variables (see the module table)."""
    d = scenario.data
    ix = _index(d)
    m = pyo.ConcreteModel(name=scenario.name)
    m.scenario = scenario
    m.d = d
    m.ix = ix
    define_params(m, mutable)
    m.flow = pyo.Var(list(ix.flows), domain=pyo.NonNegativeReals)
    if scenario.config.demand == "soft":
        m.unserved = pyo.Var(list(d.demand_gwh), domain=pyo.NonNegativeReals)
    m.open = pyo.Var(list(ix.open_idx), domain=pyo.Binary)
    m.steps = pyo.Var(list(ix.step_idx), domain=pyo.NonNegativeIntegers,
                      bounds=lambda _m, p, s: (0, d.plants[p].max_steps))
    if scenario.config.single_sourcing:
        m.source = pyo.Var(list(ix.by_arc), domain=pyo.Binary)
    m.close = pyo.Var(list(ix.close_idx), domain=pyo.Binary)
    return m


def integer_vars(m: pyo.ConcreteModel) -> list[pyo.Var]:
    """The model's integer variable components (openings, steps, closures, single-source picks)."""
    out = [m.open, m.steps, m.close]
    if hasattr(m, "source"):
        out.append(m.source)
    return out
