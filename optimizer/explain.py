"""Why is a scenario infeasible? Re-solve an elastic copy of its model and say, in business words, which
rules had to give way and by how much.

The elastic model is the scenario's own MILP (:func:`optimizer.model.build_model`) in which every row of
the business families below gets a nonnegative slack variable on the side that can fail:

=====================  ==========================================  ============  =================
Pyomo family           relaxed row                                 slack unit    weight per unit
=====================  ==========================================  ============  =================
``plant_capacity``     shipped[p,t] - s <= alpha[p,t] Cap[p,t]      GWh           1
``assembly_capacity``  built[a,t] - s <= cap[a,t] / 1000            1,000 veh.    0.05
``capex_budget``       cash[t] - s <= B[t]                          $M            0.01
``total_budget``       sum_t cash[t] - s <= B_total                 $M            0.01
``local_content``      local[r,t] + s >= share[r] covered[r,t]      GWh           1
``supplier_share``     x[p,a,t] - s <= sigma[a] x[a,t]              GWh           1
``min_offtake``        shipped[p,t] + s >= M[p,t]                   GWh           1
``co2_cap``            emitted[t] - s <= E[t]                       kt CO2        0.02
``demand_balance``     served[a,v,t] + s = D[a,v,t]  (hard demand)  GWh           10
=====================  ==========================================  ============  =================

and the objective becomes ``min sum_rows weight_family x (1 + 0.001 rank_family) x s_row`` (rank: the
family's place in the table, so two equally good answers resolve in the table's order). The weights put
the units on one footing (1,000 vehicles of 50 kWh packs = 0.05 GWh; $100M, a typical expansion step, ~ 1 GWh; 50 kg
CO2/kWh x 1 GWh = 50 kt) and make a demand shortfall the last resort (the scenario declared demand firm),
so the answer names the capacity, budget or rule to change before it drops demand. Structural rows
(open once, expansion limits, a candidate shipping before it opens, single sourcing, close once, a closed
plant shipping nothing) stay hard: a closure is a decision the elastic model simply does not take. Every
row with a slack above :data:`TOLERANCE` becomes one sentence, e.g. ``"Sunderland 2031: 3.2 GWh short
for Leaf52 demand"`` or ``"UK_EU_ROO_2027 local-content rule 2027: 12.0 points short"``.

The elastic model always has a solution (ship nothing, build nothing, and let the slacks take the rest),
so it needs no IIS. :func:`lp_conflict` adds one for modellers: HiGHS's IIS of the LP relaxation names
the conflicting rows, or is empty when only the whole openings and steps make the scenario infeasible.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pyomo.environ as pyo

from .model import build_model
from .model.context import SourcingModel
from .model.families import relaxable
from .scenario import Scenario
from .solver import SolveOptions, Status, iis_row_names, solve_model

TOLERANCE = 1e-6  # slack (in the row's unit) below this is numerical noise, not a relaxation
MAX_LINES = 20  # longest explanation; the rest is summarised as "... and N more"
TIE_BREAK = 1e-3  # weights grow by this share per place in WEIGHTS, so equal relaxations resolve in its order
IIS_STRATEGY = 2  # HiGHS iis_strategy that builds the IIS from the LP (0 only finds trivial conflicts)
DEFAULT_TIME_LIMIT = 60.0  # seconds for the elastic re-solve when the options set none


@dataclass(frozen=True)
class Relaxation:
    """One relaxed row of the elastic model: its family, index, slack (row unit) and sentence."""

    family: str
    index: tuple
    slack: float
    text: str


WEIGHTS: dict[str, float] = {f.name: f.elastic_weight or 0.0 for f in relaxable()}
"""family -> weight per unit of slack, in the order the sentences come (from the registry of families)."""
_DESCRIBE = {f.name: f.explain for f in relaxable() if f.explain is not None}


def explain_infeasible(scenario: Scenario, options: SolveOptions | None = None,
                       model: SourcingModel | None = None) -> list[str]:
    """Sentences naming the smallest weighted set of relaxations (see the module docstring) that makes
    ``scenario`` feasible; ``[]`` when nothing needs relaxing (the scenario is feasible). ``model``: the
    scenario's model already built (it becomes the elastic model; it is not usable afterwards)."""
    relaxations, note = find_relaxations(scenario, options, model)
    lines = [r.text for r in relaxations[:MAX_LINES]]
    if len(relaxations) > MAX_LINES:
        lines.append(f"... and {len(relaxations) - MAX_LINES} more relaxations")
    return [note] if note else lines


def find_relaxations(scenario: Scenario, options: SolveOptions | None = None,
                     model: SourcingModel | None = None) -> tuple[list[Relaxation], str]:
    """Build (or take ``model``, the scenario's model already built) and solve the elastic model; return its
    nonzero relaxations (in family order) and a note that is non-empty only when the elastic model itself
    found no solution."""
    options = options or SolveOptions()
    if options.time_limit is None:
        options = SolveOptions(time_limit=DEFAULT_TIME_LIMIT, rel_gap=options.rel_gap, threads=options.threads,
                               seed=options.seed, extra=dict(options.extra))
    m = model if model is not None else build_model(scenario)
    rows = _add_slack(m, hard_demand=scenario.config.demand == "hard")
    outcome, _ = solve_model(m, options)
    if not outcome.status.has_solution:
        return [], (f"no explanation: the elastic re-solve ended {outcome.status.value} "
                    f"({outcome.termination}) within the time limit")
    found = []
    for family, index, slack in rows:
        value = float(slack.value or 0.0)
        if value > TOLERANCE:
            found.append(Relaxation(family, index, value, _DESCRIBE[family](m, index, value)))
    return found, ""


def lp_conflict(scenario: Scenario, options: SolveOptions | None = None,
                model: SourcingModel | None = None) -> list[str] | None:
    """Pyomo names of the rows of an infeasible subsystem of the LP relaxation (integers relaxed to
    reals), from HiGHS's IIS; ``[]`` when the LP relaxation is feasible, i.e. only whole openings and steps
    make the scenario infeasible; ``None`` when HiGHS cannot compute one. ``model``: the scenario's model
    already built; its integers are relaxed for the LP and given back afterwards, with no values."""
    options = options or SolveOptions()
    m = model if model is not None else build_model(scenario)
    with _integers_relaxed(m):
        outcome, solver = solve_model(m, options)
        conflict = [] if outcome.status != Status.INFEASIBLE else iis_row_names(solver, IIS_STRATEGY)
    for v in m.component_data_objects(pyo.Var, descend_into=True):
        v.set_value(None, skip_validation=True)  # as built: the LP's values must not seed a later solve
    return conflict


@contextmanager
def _integers_relaxed(m: pyo.Block) -> Iterator[None]:
    """Every integer variable of ``m`` made real within its bounds (the LP relaxation), then given back its
    own domain and bounds."""
    saved = []
    for v in m.component_data_objects(pyo.Var, descend_into=True):
        if v.is_integer():
            saved.append((v, v.domain, v.lb, v.ub))
            lb, ub = v.bounds
            v.domain = pyo.Reals
            v.setlb(lb)
            v.setub(ub)
    try:
        yield
    finally:
        for v, domain, lower, upper in saved:
            v.domain = domain
            v.setlb(lower)
            v.setub(upper)


def _add_slack(m: pyo.ConcreteModel, hard_demand: bool) -> list[tuple[str, tuple, pyo.Var]]:
    """Add ``elastic_slack[i] >= 0`` to every row of the relaxable families, replace the objective by the
    weighted slack sum; return (family, index, slack variable) per row."""
    targets = []
    for family in WEIGHTS:
        if family == "demand_balance" and not hard_demand:
            continue  # soft demand already has its own slack, the unserved GWh
        component = getattr(m, family, None)
        if component is None:
            continue
        for index, row in component.items():
            targets.append((family, index if isinstance(index, tuple) else (index,), row))
    m.elastic_slack = pyo.Var(range(len(targets)), domain=pyo.NonNegativeReals)
    rows = []
    for i, (family, index, row) in enumerate(targets):
        s = m.elastic_slack[i]
        # Pyomo keeps each row as lower <= body <= upper, in whichever orientation it normalised it to:
        # the slack widens the bound that is there (both ends of an equality, i.e. a shortfall)
        if row.body.polynomial_degree() == 0 and family == "min_offtake":
            row.set_value((m.par.min_offtake[index], s, None))  # no flow can reach the plant: all of M is short
        elif row.body.polynomial_degree() == 0 and family == "demand_balance":
            demand = m.par.demand[index]
            row.set_value((demand, s, demand))  # no lane can serve it: all of D is short
        elif row.upper is not None and row.lower is None:
            row.set_value((None, row.body - s, row.upper))
        else:
            row.set_value((row.lower, row.body + s, row.upper))
        rows.append((family, index, s))
    m.total_cost.deactivate()
    rank = {family: k for k, family in enumerate(WEIGHTS)}
    m.elastic_cost = pyo.Objective(
        expr=sum(WEIGHTS[family] * (1.0 + TIE_BREAK * rank[family]) * s for family, _, s in rows), sense=pyo.minimize)
    return rows
