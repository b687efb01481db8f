"""Battery-sourcing capacity optimisation: a Pyomo MILP solved with HiGHS, swept on Ray.

Stages, kept apart: :mod:`~optimizer.scenario` (validated, solver-free data) -> :mod:`~optimizer.model`
(Pyomo build) -> :mod:`~optimizer.solver` (HiGHS) -> :mod:`~optimizer.results` (tables).
"""

from .api import DEFAULT_SCENARIO, load_results, solve
from .errors import InputError, Problem
from .io import load_scenario, scenario_from_tables, write_scenario
from .results import SolveResult
from .scenario import Scenario
from .solver import SolveOptions, Status

__all__ = [
    "DEFAULT_SCENARIO", "InputError", "Problem", "Scenario", "SolveOptions", "SolveResult", "Status",
    "load_results", "load_scenario", "scenario_from_tables", "solve", "write_scenario",
]
