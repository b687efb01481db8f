"""One build plan for many futures: the regret of each scenario's plan across a sweep, and a two-stage
stochastic programme whose first stage is a single plan (``optimizer robust``)."""

from .plans import Plan, evaluate_plans
from .regret import cross_evaluate, regret_tables
from .risk import risk_value
from .stochastic import StochasticResult, extensive_form, solve_stochastic

__all__ = ["Plan", "StochasticResult", "cross_evaluate", "evaluate_plans", "extensive_form", "regret_tables",
           "risk_value", "solve_stochastic"]
