"""The Pyomo MILP: one function per constraint family, called in a fixed order by :func:`build_model`.

Every function's docstring states its inequality, the sets it ranges over and the Pyomo names it
creates; ``docs/formulation.md`` gathers them with the meaning of each dual.
"""

from __future__ import annotations

import pyomo.environ as pyo

from ..scenario import Scenario
from . import capacity, closure, demand, investment, objective, sourcing, variables


def build_model(scenario: Scenario, mutable: bool = False) -> pyo.ConcreteModel:
    """Build the MILP of a scenario: parameters and variables, each constraint family, the objective.

    ``mutable`` makes the numeric parameters Pyomo Params that :func:`.params.update_params` can change
    in place (a sweep worker's model); a single solve builds with plain numbers, which is faster.
    """
    m = variables.define_variables(scenario, mutable)
    demand.define_demand_balance(m)
    capacity.define_plant_capacity(m)
    capacity.define_assembly_capacity(m)
    investment.define_open_once(m)
    investment.define_expansion_limit(m)
    investment.define_capex_budget(m)
    investment.define_total_budget(m)
    demand.define_open_link(m)
    sourcing.define_local_content(m)
    sourcing.define_supplier_share(m)
    sourcing.define_min_offtake(m)
    sourcing.define_co2_cap(m)
    sourcing.define_single_sourcing(m)
    closure.define_close_once(m)
    closure.define_closure_flow(m)
    closure.define_closed_steps(m)
    objective.define_objective(m)
    return m


__all__ = ["build_model"]
