"""Investment plans: the first-stage decisions (openings, expansion steps, closures) taken apart from the flows.

A plan is the set of builds ``(plant, kind, start_year) -> count`` with ``kind`` ``opening``, ``step`` or
``closure`` (:data:`FIRST_STAGE`). Evaluating a plan in a scenario fixes ``open[p,s]``, ``steps[p,s]`` and
``close[p,s]`` at the plan's counts
(zero where the plan has none) and solves what is left: flows, unserved demand (priced at the
scenario's penalty when demand is soft) and single-source picks. Every constraint of the scenario
stays in force, capital budgets included, so a plan that a scenario cannot afford or operate is
*infeasible* there, and the cost of any feasible plan is at least the scenario's optimum.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pandas as pd
import pyomo.environ as pyo

from ..model import build_model
from ..scenario import Scenario
from ..solver import SolveOptions, SolveOutcome, Status, new_solver, solve_model

FIRST_STAGE: tuple[tuple[str, str], ...] = (("opening", "open"), ("step", "steps"), ("closure", "close"))
"""The first-stage decisions: (kind in plans and ``builds`` tables, the model's variable), in plan order."""
KINDS = tuple(kind for kind, _ in FIRST_STAGE)
VAR_OF = dict(FIRST_STAGE)


def first_stage_vars(m: pyo.Block) -> list[tuple[str, pyo.Var]]:
    """(kind, variable component) of every first-stage decision of a built model."""
    return [(kind, getattr(m, name)) for kind, name in FIRST_STAGE]


def first_stage_upper(m: pyo.Block, kind: str, p: str) -> int:
    """The own upper bound of a first-stage variable: n_max[p] for steps, 1 for an opening or a closure."""
    return m.d.plants[p].max_steps if kind == "step" else 1
PLAN_COLUMNS = ["plan", "plant", "kind", "start_year", "count"]


@dataclass(frozen=True, order=True)
class Plan:
    """A build plan: sorted ``((plant, kind, start_year), count)`` pairs with count > 0."""

    builds: tuple[tuple[tuple[str, str, int], int], ...]

    @classmethod
    def from_builds(cls, builds: pd.DataFrame) -> Plan:
        """The plan in a ``builds`` result table (columns plant, kind, start_year, count)."""
        items: dict[tuple[str, str, int], int] = {}
        for p, kind, s, n in zip(builds["plant"], builds["kind"], builds["start_year"], builds["count"]):
            if int(n) > 0:
                key = (str(p), str(kind), int(s))
                items[key] = items.get(key, 0) + int(n)
        return cls(tuple(sorted(items.items())))

    @classmethod
    def from_model(cls, m: pyo.Block, years: Iterable[int] | None = None) -> Plan:
        """The plan held by a solved model's first-stage variables (only start years in ``years``)."""
        return cls.from_vars(m.open, m.steps, years, close_var=m.close)

    @classmethod
    def from_vars(cls, open_var: pyo.Var, steps_var: pyo.Var, years: Iterable[int] | None = None,
                  close_var: pyo.Var | None = None) -> Plan:
        """The plan held by solved opening, step (and closure) variables indexed by (plant, start year)."""
        keep = None if years is None else set(years)
        items = []
        pairs = [(open_var, "opening"), (steps_var, "step")] + ([(close_var, "closure")] if close_var is not None
                                                                 else [])
        for var, kind in pairs:
            for (p, s), value in var.extract_values().items():
                n = int(round(value or 0.0))
                if n > 0 and (keep is None or s in keep):
                    items.append(((p, kind, s), n))
        return cls(tuple(sorted(items)))

    def count(self, plant: str, kind: str, start_year: int) -> int:
        return dict(self.builds).get((plant, kind, start_year), 0)

    def label(self) -> str:
        """A readable one-line summary, e.g. ``Ibaraki step 2031; Bowling Green opening 2027 x1``."""
        if not self.builds:
            return "no new capacity"
        return "; ".join(f"{p} {kind} {s}" + (f" x{n}" if n > 1 else "") for (p, kind, s), n in self.builds)

    def frame(self, plan_id: str) -> pd.DataFrame:
        return pd.DataFrame([(plan_id, p, kind, s, n) for (p, kind, s), n in self.builds], columns=PLAN_COLUMNS)


def unplaceable(plan: Plan, m: pyo.Block) -> list[tuple[str, str, int]]:
    """Builds of ``plan`` that the scenario of ``m`` has no decision for (a start year too late to
    deliver within its horizon after its lead time, or a plant that cannot open or expand there)."""
    out = []
    for (p, kind, s), _n in plan.builds:
        var = getattr(m, VAR_OF[kind])
        if (p, s) not in var:
            out.append((p, kind, s))
    return out


def fix_plan(m: pyo.Block, plan: Plan, years: Iterable[int] | None = None) -> list[pyo.Var]:
    """Hold ``open``, ``steps`` and ``close`` of ``m`` at the plan's counts (0 where it has none) through their
    bounds, so that a persistent solver only needs the new bounds; only the start years in ``years``
    when given, the rest stay free. A build the model has no decision for is skipped (see
    :func:`unplaceable`). Returns the variables held (for :func:`release_plan`)."""
    keep = None if years is None else set(years)
    counts = dict(plan.builds)
    held = []
    for kind, var in first_stage_vars(m):
        for (p, s), v in var.items():
            if keep is None or s in keep:
                n = counts.get((p, kind, s), 0)
                v.setlb(n)
                v.setub(n)
                held.append(v)
    return held


def release_plan(m: pyo.Block) -> list[pyo.Var]:
    """Give the first-stage variables back their own bounds (0..1, or 0..n_max[p] for steps)."""
    released = []
    for kind, var in first_stage_vars(m):
        for (p, _s), v in var.items():
            v.setlb(0)
            v.setub(first_stage_upper(m, kind, p))
            released.append(v)
    return released


@dataclass(frozen=True)
class Evaluation:
    """The cost of one plan in one scenario (``cost`` is None when the plan is infeasible there)."""

    status: Status
    cost: float | None
    solve_seconds: float
    skipped_builds: int


def evaluate_plans(scenario: Scenario, plans: Sequence[Plan], options: SolveOptions,
                   years: Iterable[int] | None = None) -> list[Evaluation]:
    """Cost of each plan in ``scenario``: one model, the plan's builds fixed in turn, the rest re-solved.

    cost(plan, j) = min over flows (and single-source picks) of the scenario's discounted cost with
    open[p,s] = w_plan[p,s], steps[p,s] = z_plan[p,s], close[p,s] = c_plan[p,s] for the start years s in
    ``years`` (all when not given; later builds stay free, so the re-solve is a MILP).
    """
    m = build_model(scenario)
    solver = new_solver(manual_updates=True)
    years = None if years is None else list(years)
    out = []
    for plan in plans:
        held = fix_plan(m, plan, years)
        if solver._solver_model is not None:  # bounds only: the first solve loads the whole model
            solver.update_variables(held)
        outcome: SolveOutcome
        outcome, solver = solve_model(m, options, solver)
        solver.update_variables(release_plan(m))
        cost = outcome.objective if outcome.status.has_solution else None
        out.append(Evaluation(outcome.status, cost, outcome.solve_seconds, len(unplaceable(plan, m))))
    return out
