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

import pyomo.environ as pyo

from ..scenario import Scenario
from .context import FIRST_STAGE, SourcingModel
from .params import define_params


def define_variables(scenario: Scenario, mutable: bool = False) -> SourcingModel:
    """Create the model, its parameters (:mod:`.params`), index sets and variables (see the module table)."""
    m = SourcingModel(scenario, mutable)
    d, ix = m.d, m.ix
    define_params(m, mutable)
    m.flow = pyo.Var(list(ix.flows), domain=pyo.NonNegativeReals)
    m.flow_var = dict(m.flow.items())
    if scenario.config.demand == "soft":
        m.unserved = pyo.Var(list(d.demand_gwh), domain=pyo.NonNegativeReals)
    for decision in FIRST_STAGE:
        setattr(m, decision.var, pyo.Var(list(getattr(ix, decision.index)), domain=decision.domain,
                                         bounds=lambda _m, p, s, f=decision: (0, f.upper(d.plants[p]))))
    if scenario.config.single_sourcing:
        m.source = pyo.Var(list(ix.by_arc), domain=pyo.Binary)
    return m


def integer_vars(m: SourcingModel) -> list[pyo.Var]:
    """The model's integer variable components (the first-stage decisions, single-source picks)."""
    out = [f.of(m) for f in FIRST_STAGE]
    if hasattr(m, "source"):
        out.append(m.source)
    return out
