"""Synthetic scenarios of any size from a seeded generator: plants x assembly plants x models x years.

The shape follows the base case: half the plants exist (with capacity, expansion steps and a ramp),
half are candidate sites (opening capacity, lead time 2); two cell types (every model uses one; a plant
makes one or both); lanes from every plant to every assembly plant, with freight growing with a random
distance and a tariff between regions; demand that grows over the horizon; soft demand, annualised
investment, a discount rate. The generator uses one local ``numpy.random.Generator``: the same
arguments give the same scenario.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from optimizer import Scenario, scenario_from_tables

START_YEAR = 2026
REGIONS = ("JP", "US", "EU", "CN")
CELL_TYPES = ("NMC", "LFP")


def synthetic_tables(plants: int, assemblies: int, models: int, years: int, seed: int = 0
                     ) -> tuple[dict[str, pd.DataFrame], dict]:
    """Tables and settings of a synthetic scenario (see the module docstring)."""
    rng = np.random.default_rng(seed)
    yrs = list(range(START_YEAR, START_YEAR + years))
    p_ids = [f"P{i + 1:03d}" for i in range(plants)]
    a_ids = [f"A{j + 1:03d}" for j in range(assemblies)]
    v_ids = [f"V{k + 1:02d}" for k in range(models)]
    p_region = rng.choice(REGIONS, plants)
    a_region = rng.choice(REGIONS, assemblies)
    candidate = np.arange(plants) % 2 == 1
    p_types = [";".join(CELL_TYPES) if i % 3 == 0 else CELL_TYPES[i % 2] for i in range(plants)]
    plants_t = pd.DataFrame({
        "plant": p_ids, "region": p_region, "country": p_region, "cell_types": p_types,
        "status": np.where(candidate, "candidate", "existing"),
        "opening_capacity_gwh": np.where(candidate, rng.uniform(10, 40, plants).round(1), 0.0),
        "opening_cost_musd": np.where(candidate, rng.uniform(800, 2500, plants).round(0), 0.0),
        "lead_time_years": np.where(candidate, 2, 1),
        "step_gwh": rng.uniform(4, 10, plants).round(1),
        "step_cost_musd": rng.uniform(200, 600, plants).round(0),
        "max_steps": 2,
        "ramp": "0.5;0.8",
        "fixed_om_musd_per_gwh": rng.uniform(2, 4, plants).round(2),
    })
    cost0 = rng.uniform(70, 110, plants)
    py = pd.DataFrame([
        {"plant": p, "year": t, "capacity_gwh": 0.0 if candidate[i] else round(float(cap[i]), 1),
         "cell_cost_usd_per_kwh": round(float(cost0[i] * 0.98 ** (t - START_YEAR)), 3),
         "co2_kg_per_kwh": round(float(co2[i]), 2)}
        for cap, co2 in [(rng.uniform(5, 30, plants), rng.uniform(5, 15, plants))]
        for i, p in enumerate(p_ids) for t in yrs
    ])
    assembly = pd.DataFrame({"assembly": a_ids, "region": a_region, "country": a_region})
    ay = pd.DataFrame([{"assembly": a, "year": t, "capacity_vehicles": float("nan")} for a in a_ids for t in yrs])
    model_t = pd.DataFrame({"model": v_ids, "cell_type": [CELL_TYPES[k % 2] for k in range(models)],
                            "pack_kwh": rng.uniform(40, 90, models).round(0)})
    base = rng.uniform(2_000, 20_000, (assemblies, models))
    demand = pd.DataFrame([
        {"assembly": a, "model": v, "year": t, "vehicles": round(float(base[j, k] * 1.06 ** (t - START_YEAR)))}
        for j, a in enumerate(a_ids) for k, v in enumerate(v_ids) for t in yrs
    ])
    same = p_region[:, None] == a_region[None, :]
    freight = np.where(same, rng.uniform(0.5, 2, (plants, assemblies)), rng.uniform(3, 8, (plants, assemblies)))
    tariff = np.where(same, 0.0, rng.choice([0.0, 0.03, 0.25], (plants, assemblies)))
    lanes = pd.DataFrame({
        "plant": np.repeat(p_ids, assemblies), "assembly": np.tile(a_ids, plants),
        "freight_usd_per_kwh": freight.ravel().round(2), "tariff_rate": tariff.ravel(),
    })
    config = {"name": f"synthetic-{plants}x{assemblies}x{models}x{years}", "start_year": yrs[0], "end_year": yrs[-1],
              "discount_rate": 0.08, "investment_cost": "annualised", "economic_life_years": 15, "demand": "soft",
              "unserved_penalty_usd_per_kwh": 500.0}
    tables = {"plants": plants_t, "plant_years": py, "assembly": assembly, "assembly_years": ay, "models": model_t,
              "demand": demand, "lanes": lanes}
    return tables, config


def synthetic_scenario(plants: int, assemblies: int, models: int, years: int, seed: int = 0) -> Scenario:
    """A validated synthetic scenario (see :func:`synthetic_tables`)."""
    tables, config = synthetic_tables(plants, assemblies, models, years, seed)
    return scenario_from_tables(tables, config, origin=f"synthetic:{config['name']}")
