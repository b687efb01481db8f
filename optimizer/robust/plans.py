"""Investment plans: the first-stage decisions (openings, expansion steps, closures) taken apart from the flows.

A plan is the set of builds ``(plant, kind, start_year) -> count`` with ``kind`` ``opening``, ``step`` or
``closure`` (the declaration :data:`~optimizer.model.context.FIRST_STAGE`). Evaluating a plan in a scenario
fixes ``open[p,s]``, ``steps[p,s]`` and ``close[p,s]`` at the plan's counts
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
from ..model.context import FIRST_STAGE, FIRST_STAGE_BY_KIND
from ..scenario import Scenario
from ..solver import SolveOptions, SolveOutcome, Status, has_loaded_model, new_solver, solve_model

KINDS = tuple(f.kind for f in FIRST_STAGE)
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
        return cls.from_vars([f.of(m) for f in FIRST_STAGE], years)

    @classmethod
    def from_vars(cls, variables: Sequence[pyo.Var], years: Iterable[int] | None = None) -> Plan:
        """The plan held by solved first-stage variables indexed by (plant, start year), one per decision of
        :data:`~optimizer.model.context.FIRST_STAGE`, in its order."""
        keep = None if years is None else set(years)
        items = []
        for var, kind in zip(variables, KINDS, strict=True):
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
        if (p, s) not in FIRST_STAGE_BY_KIND[kind].of(m):
            out.append((p, kind, s))
    return out


def fix_plan(m: pyo.Block, plan: Plan, years: Iterable[int] | None = None) -> list[pyo.Var]:
    """Hold the first-stage variables (``open``, ``steps``) of ``m`` at the plan's counts (0 where it has
    none) through their bounds, so that a persistent solver only needs the new bounds; only the start years in ``years``
    when given, the rest stay free. A build the model has no decision for is skipped (see
    :func:`unplaceable`). Returns the variables held (for :func:`release_plan`)."""
    keep = None if years is None else set(years)
    counts = dict(plan.builds)
    held = []
    for decision in FIRST_STAGE:
        for (p, s), v in decision.of(m).items():
            if keep is None or s in keep:
                n = counts.get((p, decision.kind, s), 0)
                v.setlb(n)
                v.setub(n)
                held.append(v)
    return held


def release_plan(m: pyo.Block) -> list[pyo.Var]:
    """Give the first-stage variables back their own bounds (0..1 and 0..n_max[p])."""
    released = []
    for decision in FIRST_STAGE:
        for (p, _s), v in decision.of(m).items():
            v.setlb(0)
            v.setub(decision.upper(m.d.plants[p]))
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
    open[p,s] = w_plan[p,s], steps[p,s] = z_plan[p,s] for the start years s in ``years`` (all when not
    given; later builds stay free, so the re-solve is a MILP).
    """
    m = build_model(scenario)
    solver = new_solver(manual_updates=True)
    years = None if years is None else list(years)
    out = []
    for plan in plans:
        held = fix_plan(m, plan, years)
        if has_loaded_model(solver):  # bounds only: the first solve loads the whole model
            solver.update_variables(held)
        outcome: SolveOutcome
        outcome, solver = solve_model(m, options, solver)
        solver.update_variables(release_plan(m))
        cost = outcome.objective if outcome.status.has_solution else None
        out.append(Evaluation(outcome.status, cost, outcome.solve_seconds, len(unplaceable(plan, m))))
    return out
