"""The Pyomo MILP: one function per constraint family, called in the order of the registry of families
(:data:`.families.FAMILIES`) by :func:`build_model`.

Every function's docstring states its inequality, the sets it ranges over and the Pyomo names it
creates; ``docs/formulation.md`` gathers them with the meaning of each dual.
"""

from __future__ import annotations

from pyomo.common.gc_manager import PauseGC

from ..scenario import Scenario
from . import objective, variables
from .context import SourcingModel
from .families import FAMILIES


def build_model(scenario: Scenario, mutable: bool = False) -> SourcingModel:
    """Build the MILP of a scenario: parameters and variables, each constraint family, the objective.

    ``mutable`` makes the numeric parameters Pyomo Params that :func:`.params.update_params` can change
    in place (a sweep worker's model); a single solve builds with plain numbers, which is faster.

    Python's cyclic garbage collector is paused while the model is built (Pyomo's writers do the same): the
    build makes hundreds of thousands of objects and no garbage cycles, and each full collection would scan
    them all again (on 202,400 variables the collector took 60 % of the build's CPU time).
    """
    with PauseGC():
        m = variables.define_variables(scenario, mutable)
        for family in FAMILIES:
            family.build(m)
        objective.define_objective(m)
    return m


__all__ = ["build_model"]
