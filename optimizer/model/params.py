"""The model's numeric parameters, as plain numbers (a single solve) or as mutable Pyomo Params (a sweep
worker that re-solves one built model for many scenarios).

A scenario can reuse a model built for another when the two have the same :func:`structure_key`:
the same sets, index keys, lead times, ramps, rules and settings. Then :func:`update_params` pushes only
the values that differ. Anything outside the parameter groups below changes the structure and needs
a rebuild.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import pyomo.environ as pyo

from ..scenario import Scenario
from .context import SourcingModel

SCALAR = 0  # key of the one-entry groups


def param_groups(s: Scenario) -> dict[str, Mapping]:
    """Every parameter group: name -> {index: value} (money already converted with fx)."""
    d, cfg = s.data, s.config
    return {
        "existing": d.existing_gwh,
        "availability": d.availability,
        "demand": d.demand_gwh,
        "cell_cost": d.cell_cost,
        "credit": d.credit,
        "co2": d.co2,
        "freight": d.freight,
        "tariff": d.tariff,
        "carbon_price": d.carbon_price,
        "opening_cost": {p: pl.opening_cost for p, pl in d.plants.items()},
        "step_cost": {p: pl.step_cost for p, pl in d.plants.items()},
        "fixed_om": {p: pl.fixed_om for p, pl in d.plants.items()},
        "closure_cost": {p: d.plants[p].closure_cost for p in d.closure_starts},
        "capex_budget": d.capex_budget,
        "co2_cap": d.co2_cap,
        "min_offtake": {k: q for k, q in d.min_offtake.items() if q > 0},
        "assembly_cap": d.assembly_cap,
        "penalty": {SCALAR: cfg.unserved_penalty_usd_per_kwh},
        "total_budget": {} if cfg.total_budget_musd is None else {SCALAR: cfg.total_budget_musd},
    }


def structure_key(s: Scenario) -> tuple:
    """What a built model depends on beyond its parameter values: two scenarios with equal keys can
    share one model (with :func:`update_params` between solves)."""
    d, cfg = s.data, s.config
    plants = tuple(
        dataclasses.replace(pl, opening_cost=0.0, step_cost=0.0, fixed_om=0.0, fx=1.0, closure_cost=0.0)
        for pl in d.plants.values()
    )
    keys = tuple((name, tuple(sorted(values, key=repr))) for name, values in param_groups(s).items())
    settings = (cfg.start_year, cfg.end_year, cfg.discount_rate, cfg.investment_cost, cfg.economic_life_years,
                cfg.demand, cfg.single_sourcing)
    return (settings, plants, d.assemblies, d.models, tuple(sorted(d.pack_kwh.items())), d.arcs,
            tuple(sorted(d.starts.items())), tuple(sorted(d.closure_starts.items())), d.rules,
            tuple(sorted(d.max_supplier_share.items())), keys)


def define_params(m: SourcingModel, mutable: bool) -> None:
    """``m.par.<group>[key]``: a number, or with ``mutable`` a Pyomo Param ``par_<group>`` whose value a
    sweep worker can change without rebuilding."""
    for name, values in param_groups(m.scenario).items():
        if mutable:
            component = pyo.Param(list(values), initialize=dict(values), mutable=True, within=pyo.Reals)
            setattr(m, f"par_{name}", component)
            setattr(m.par, name, component)
        else:
            setattr(m.par, name, dict(values))


def update_params(m: SourcingModel, s: Scenario) -> int:
    """Point a mutable model at scenario ``s`` (same structure key); return how many values changed."""
    if not m.mutable:
        raise ValueError("the model was built with plain numbers; build it with mutable=True to update it")
    changed = 0
    for name, values in param_groups(s).items():
        component = getattr(m.par, name)
        for key, value in values.items():
            if component[key].value != value:
                component[key] = value
                changed += 1
    point_at(m, s)
    return changed


def point_at(m: SourcingModel, s: Scenario) -> None:
    """Make scenario ``s`` the one the model's rules and the result extraction read (its Params are
    set separately, by :func:`update_params` or a sweep worker's direct push)."""
    m.scenario = s
    m.d = s.data
