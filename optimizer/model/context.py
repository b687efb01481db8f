"""The typed context of a built model: the index groupings of a scenario (:class:`ModelIndex`), the
declaration of the first-stage decisions (:data:`FIRST_STAGE`), and :class:`SourcingModel`, the Pyomo model
that carries its scenario, data, index and parameters as declared, typed attributes.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pyomo.environ as pyo

from ..scenario import ModelData, PlantData, Scenario


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


@dataclass(frozen=True)
class FirstStage:
    """One kind of first-stage decision (a build, decided before any future is known): the ``kind`` it
    has in the builds table and in a plan, its Pyomo variable ``var`` indexed by (plant, start year) over
    the index ``index`` of :class:`ModelIndex`, the plant's GWh and $M per unit built (attributes ``gwh``
    and ``cash`` of :class:`~optimizer.scenario.PlantData`), the parameter group of that cash in
    ``m.par``, and the variable's domain. ``investment``: the decision builds capacity (its cash counts in
    capital budgets and is charged as investment, and it produces after the plant's lead time); a
    closure does not (its cost is the ``closure`` cost category, outside budgets, from its own year)."""

    kind: str
    var: str
    index: str
    gwh: str
    cash: str
    domain: Any
    investment: bool = True

    def upper(self, plant: PlantData) -> int:
        """The most units of this decision one plant may take in one start year."""
        return 1 if self.domain is pyo.Binary else plant.max_steps

    def of(self, m: pyo.Block, prefix: str = "") -> pyo.Var:
        """This decision's variable on the model (or block) ``m``; ``prefix`` names a copy of it (the robust
        models' shared first stage, ``first_open`` and ``first_steps``)."""
        return getattr(m, prefix + self.var)


FIRST_STAGE: tuple[FirstStage, ...] = (
    FirstStage("opening", "open", "open_idx", "opening_gwh", "opening_cost", pyo.Binary),
    FirstStage("step", "steps", "step_idx", "step_gwh", "step_cost", pyo.NonNegativeIntegers),
    FirstStage("closure", "close", "close_idx", "closure_gwh", "closure_cost", pyo.Binary, investment=False),
)
"""The first-stage decisions, one declaration for the variables, the objective, the builds table and the
robust plans: openings ``open[p,s]`` in {0,1}, expansion steps ``steps[p,s]`` in {0..n_max[p]} and
closures ``close[p,s]`` in {0,1} (existing plant p closed from year s on, :mod:`.closure`)."""
INVESTMENTS: tuple[FirstStage, ...] = tuple(f for f in FIRST_STAGE if f.investment)
"""The first-stage decisions that build capacity (in budgets and investment charges)."""
FIRST_STAGE_BY_KIND: dict[str, FirstStage] = {f.kind: f for f in FIRST_STAGE}


class SourcingModel(pyo.ConcreteModel):
    """The Pyomo model of one scenario, with its context declared and typed in one place: ``scenario`` (the
    scenario its rules and the result extraction read; a sweep worker re-points it with
    :func:`.params.point_at`), ``d`` its :class:`~optimizer.scenario.ModelData`, ``ix`` the index
    groupings (:class:`ModelIndex`), ``par`` the numeric parameters by group (:mod:`.params`: plain
    numbers, or Pyomo Params when ``mutable``), ``flow_var`` each flow's variable ``flow[f]`` by its index f (a
dict lookup where the rules would otherwise index the Pyomo component row by row)."""

    scenario: Scenario
    d: ModelData
    ix: ModelIndex
    par: SimpleNamespace
    mutable: bool
    flow_var: dict[tuple[str, str, str, int], Any]

    def __init__(self, scenario: Scenario, mutable: bool = False) -> None:
        super().__init__(name=scenario.name)
        self.scenario = scenario
        self.d = scenario.data
        self.ix = _index(self.d)
        self.mutable = mutable
        self.par = SimpleNamespace()
