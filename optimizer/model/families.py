"""The registry of constraint families: each family once, with everything the code does with it.

A :class:`Family` names its Pyomo component and carries the function that builds it, the audit's
recomputation from the result tables (:mod:`.checks`) and, for the business rules an infeasible scenario
may have to relax, its elastic weight and the sentence that explains its slack (:mod:`.slack`).
:func:`~optimizer.model.build_model` builds the families in the order of :data:`FAMILIES`;
:mod:`optimizer.explain` relaxes those with an elastic weight, in the order of their ``elastic_rank``;
:mod:`optimizer.audit` runs every family's check. A test holds the three to this registry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..scenario import Scenario
from . import capacity, checks, closure, demand, investment, slack, sourcing
from .checks import ResultTables
from .context import SourcingModel


@dataclass(frozen=True)
class Family:
    """One constraint family.

    ``name``: its Pyomo component (``m.<name>``) and its row in the audit. ``build(m)`` adds it to a
    model. ``audit(scenario, result)`` recomputes its rows from the written tables (relative violations).
    ``elastic_weight``: the weight per unit of slack when an infeasible scenario is explained (None: the
    family stays hard); ``elastic_rank`` its place in the explanation (ties resolve in that order);
    ``explain(m, index, slack)`` the sentence for a relaxed row. ``components``: the Pyomo components
    it builds when they are not just ``name``.
    """

    name: str
    build: Callable[[SourcingModel], None]
    audit: Callable[[Scenario, ResultTables], np.ndarray]
    elastic_weight: float | None = None
    elastic_rank: int | None = None
    explain: Callable[[SourcingModel, tuple, float], str] | None = None
    components: tuple[str, ...] = ()

    @property
    def component_names(self) -> tuple[str, ...]:
        """The Pyomo components the family builds (its ``name`` unless listed in ``components``)."""
        return self.components or (self.name,)


FAMILIES: tuple[Family, ...] = (
    Family("demand_balance", demand.define_demand_balance, checks.demand_balance, 10.0, 8, slack.demand_balance),
    Family("plant_capacity", capacity.define_plant_capacity, checks.plant_capacity, 1.0, 0, slack.plant_capacity),
    Family("assembly_capacity", capacity.define_assembly_capacity, checks.assembly_capacity, 0.05, 1,
           slack.assembly_capacity),
    Family("open_once", investment.define_open_once, checks.open_once),
    Family("expansion_limit", investment.define_expansion_limit, checks.expansion_limit),
    Family("capex_budget", investment.define_capex_budget, checks.capex_budget, 0.01, 2, slack.capex_budget),
    Family("total_budget", investment.define_total_budget, checks.total_budget, 0.01, 3, slack.total_budget),
    Family("open_link", demand.define_open_link, checks.open_link),
    Family("local_content", sourcing.define_local_content, checks.local_content, 1.0, 4, slack.local_content),
    Family("supplier_share", sourcing.define_supplier_share, checks.supplier_share, 1.0, 5, slack.supplier_share),
    Family("min_offtake", sourcing.define_min_offtake, checks.min_offtake, 1.0, 6, slack.min_offtake),
    Family("co2_cap", sourcing.define_co2_cap, checks.co2_cap, 0.02, 7, slack.co2_cap),
    Family("single_sourcing", sourcing.define_single_sourcing, checks.single_sourcing,
           components=("single_source_pick", "single_source_link")),
    Family("close_once", closure.define_close_once, checks.close_once),
    Family("closure_flow", closure.define_closure_flow, checks.closure_flow),
    Family("closed_steps", closure.define_closed_steps, checks.closed_steps,
           components=("closed_steps_cap", "closed_steps_built")),
)
"""Every constraint family, in the order the model builds them."""


def relaxable() -> list[Family]:
    """The families an elastic re-solve relaxes, in the order of their explanations."""
    return sorted((f for f in FAMILIES if f.elastic_weight is not None), key=lambda f: f.elastic_rank or 0)


FAMILY_BY_NAME: dict[str, Family] = {f.name: f for f in FAMILIES}
