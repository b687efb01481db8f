"""One tiny instance per constraint family and per objective convention, optimum derived by hand.

Every instance is built so that its family binds: each test says in a comment what the optimum
would be if the family were missing or wrong, and most tests solve that counterfactual too (with
the family's Pyomo constraints deactivated, ``without(case, "open_once")``, or the feature switched
off in the data) to show the two differ. Units: GWh, $M, $/kWh
($/kWh x GWh = $M). The builder (tests/tiny.py) defaults: one year 2026, model M with 50 kWh packs
(100,000 vehicles = 5 GWh), assembly plant A1 without a vehicle limit, lanes from every plant with
freight $1/kWh and no tariff, discount rate 0, upfront investment, hard demand.
"""

from __future__ import annotations

import pytest

from optimizer import Status
from optimizer.scenario import crf

try:  # tests/ on sys.path (pytest's default "prepend" import mode, no tests/__init__.py)
    from tiny import TinyCase, solve_tiny, tiny_tables
except ImportError:  # tests imported as a package
    from tests.tiny import TinyCase, solve_tiny, tiny_tables


def optimum(result) -> float:
    """The proven optimum; also checks that the ``costs`` table adds up to it."""
    assert result.status == Status.OPTIMAL, result.status
    assert result.costs["discounted_musd"].sum() == approx(result.objective)
    return result.objective


def builds(result) -> set[tuple[str, str, int, int]]:
    """{(plant, kind, start_year, count)} of the build plan."""
    b = result.builds
    return {(r.plant, r.kind, int(r.start_year), int(round(r.count))) for r in b.itertuples(index=False)}


def flow(result, plant: str, year: int | None = None, model: str | None = None) -> float:
    f = result.flows
    mask = f["plant"] == plant
    if year is not None:
        mask &= f["year"] == year
    if model is not None:
        mask &= f["model"] == model
    return float(f.loc[mask, "gwh"].sum())


def unmet(result, year: int | None = None, model: str | None = None) -> float:
    u = result.unmet
    mask = u["unmet_gwh"].notna()
    if year is not None:
        mask &= u["year"] == year
    if model is not None:
        mask &= u["model"] == model
    return float(u.loc[mask, "unmet_gwh"].sum())


def approx(x: float):
    return pytest.approx(x, rel=1e-9, abs=1e-9)


def without(case: TinyCase, *components: str) -> float:
    """Optimum with the named constraint components switched off (the family "removed")."""
    outcome = case.solve_without(*components)
    assert outcome.status == Status.OPTIMAL, outcome.status
    return outcome.objective


def test_default_tiny_case():
    tables, config = tiny_tables(years=2)
    assert optimum(solve_tiny(tables, config)) == approx(2 * 5 * (100 + 1))  # 5 GWh a year at cells 100 + freight 1


# ---------------------------------------------------------------------------------------------- demand


def _two_year_spike(demand: str) -> TinyCase:
    # P1 makes cells at $100/kWh in 2026 and $300/kWh in 2027 (freight 1); 5 GWh demanded a year.
    return (TinyCase(years=2, demand=demand, unserved_penalty_usd_per_kwh=200)
            .plant("P1", capacity=10, cost=[100, 300]).demand(gwh=5))


def test_demand_balance_soft_leaves_the_dear_year_unserved():
    case = _two_year_spike("soft")
    r = case.solve()
    # 2026: serving costs 101 < penalty 200 -> serve 5 GWh; 2027: serving costs 301 > 200 -> leave 5 GWh unserved.
    expected = 5 * 101 + 5 * 200
    # Without the balance row nothing need be served (optimum 0); with the penalty ignored, 5 * 101.
    assert optimum(r) == approx(expected)
    assert unmet(r, 2026) == approx(0) and unmet(r, 2027) == approx(5)
    assert without(case, "demand_balance") == approx(0)


def test_demand_balance_hard_serves_every_year():
    r = _two_year_spike("hard").solve()
    expected = 5 * 101 + 5 * 301  # hard demand: u fixed at 0, the dear year is served at 301 $/kWh
    assert optimum(r) == approx(expected)  # soft would give 1505 (previous test)
    assert unmet(r) == approx(0)


def test_demand_balance_hard_infeasible_when_short():
    # 3 GWh of capacity for 5 GWh of hard demand: no feasible plan; soft demand pays the penalty.
    case = TinyCase().plant("P1", capacity=3, cost=100).demand(gwh=5)
    assert case.solve().status == Status.INFEASIBLE
    soft = case.set(demand="soft", unserved_penalty_usd_per_kwh=1000).solve()
    assert optimum(soft) == approx(3 * 101 + 2 * 1000)


# ---------------------------------------------------------------------------------------------- capacity


def test_plant_capacity_with_lead_time():
    # P1: 3 GWh at 100. P2 candidate: opens 10 GWh for $50M, one year of lead time, cells at 80.
    case = (TinyCase(years=2, demand="soft", unserved_penalty_usd_per_kwh=1000)
            .plant("P1", capacity=3, cost=100)
            .candidate("P2", opening_capacity_gwh=10, opening_cost_musd=50, lead_time_years=1, cost=80)
            .demand(gwh=5))
    r = case.solve()
    # 2026: P2 cannot produce yet (opened in 2026, online 2027): 3 GWh from P1, 2 GWh unserved.
    # 2027: P2 (81/kWh) serves all 5 GWh; opening it in 2026 costs 50.
    expected = (3 * 101 + 2 * 1000) + 50 + 5 * 81
    # Without lead time P2 would serve both years: 50 + 2 * 5 * 81 = 860;
    # without plant capacity P1 would serve all of 2026 (P2 still opens for 2027): 5 * 101 + 50 + 5 * 81 = 960.
    assert optimum(r) == approx(expected)
    assert builds(r) == {("P2", "opening", 2026, 1)}
    assert int(r.builds["online_year"].iloc[0]) == 2027
    assert unmet(r, 2026) == approx(2)
    assert without(case, "plant_capacity") == approx(5 * 101 + 50 + 5 * 81)
    no_lead = case.edit("plants", "lead_time_years", 0, plant="P2").solve()
    assert optimum(no_lead) == approx(50 + 2 * 5 * 81)


def test_ramp_up_profile_limits_new_capacity():
    # P1: 20 GWh at 100. P2 candidate: 10 GWh for $50M, no lead time, ramp 30 %, 60 %, then 100 %; cells at 80.
    case = (TinyCase(years=3)
            .plant("P1", capacity=20, cost=100)
            .candidate("P2", opening_capacity_gwh=10, opening_cost_musd=50, cost=80, ramp="0.3;0.6")
            .demand(gwh=8))
    r = case.solve()
    # Open P2 in 2026; it delivers 3, 6, 10 GWh; P1 tops up at 101.
    expected = 50 + (3 * 81 + 5 * 101) + (6 * 81 + 2 * 101) + 8 * 81
    # Without the ramp P2 would serve everything: 50 + 3 * 8 * 81 = 1994; never opening: 3 * 8 * 101 = 2424.
    assert optimum(r) == approx(expected)
    assert builds(r) == {("P2", "opening", 2026, 1)}
    avail = r.capacity.set_index(["plant", "year"])["available_gwh"]
    assert [avail["P2", t] for t in (2026, 2027, 2028)] == [approx(3), approx(6), approx(10)]
    no_ramp = case.edit("plants", "ramp", "", plant="P2").solve()
    assert optimum(no_ramp) == approx(50 + 3 * 8 * 81)


def test_ramp_and_lead_time_apply_to_expansion_steps():
    # P1 existing: 5 GWh at 80, may add steps of 4 GWh for $10M each (at most 2), lead 1 year, ramp 50 %.
    # P9: 20 GWh at 100. Demand 13 GWh a year, 2026-2028.
    case = (TinyCase(years=3)
            .plant("P1", capacity=5, cost=80, step_gwh=4, step_cost_musd=10, max_steps=2, lead_time_years=1,
                   ramp=[0.5])
            .plant("P9", capacity=20, cost=100)
            .demand(gwh=13))
    r = case.solve()
    # Two steps in 2026 (each saves 20 $/kWh on 2 GWh in 2027 and 4 GWh in 2028 = 120 > 10):
    # P1 has 5, 5 + 2*4*0.5 = 9, 5 + 2*4 = 13 GWh. A step in 2027 would only give 2 GWh in 2028 (40 > 10)
    # but max_steps is used up.
    expected = 2 * 10 + (5 * 81 + 8 * 101) + (9 * 81 + 4 * 101) + 13 * 81
    # Without ramp: 20 + (5*81 + 8*101) + 2*13*81 = 3339; without lead time (steps in 2026 deliver
    # 4 GWh in 2026 and 8 after): 20 + (9*81 + 4*101) + 2*13*81 = 3259.
    assert optimum(r) == approx(expected)
    assert builds(r) == {("P1", "step", 2026, 2)}
    assert optimum(case.edit("plants", "ramp", "", plant="P1").solve()) == approx(20 + (5 * 81 + 8 * 101) + 2 * 13 * 81)


def test_assembly_capacity_in_vehicles_uses_each_pack_size():
    # Two models at A1: M50 (50 kWh) and M100 (100 kWh), 100,000 vehicles each = 5 + 10 GWh.
    # A1 builds at most 150,000 vehicles; soft demand at 1000 $/kWh; P1 ample at 100.
    case = (TinyCase(demand="soft", unserved_penalty_usd_per_kwh=1000)
            .model("M50", pack_kwh=50).model("M100", pack_kwh=100)
            .assembly("A1", capacity_vehicles=150_000)
            .plant("P1", capacity=100, cost=100)
            .demand(100_000, model="M50").demand(100_000, model="M100"))
    r = case.solve()
    # Each vehicle slot saves (1000 - 101) $/kWh x its pack, so the bigger pack goes first:
    # 100,000 M100 (10 GWh) + 50,000 M50 (2.5 GWh); 2.5 GWh of M50 unserved.
    expected = (10 + 2.5) * 101 + 2.5 * 1000
    # Without the assembly limit: 15 * 101 = 1515. Counting GWh instead of vehicles, or one pack size for both,
    # gives another split.
    assert optimum(r) == approx(expected)
    assert flow(r, "P1", model="M100") == approx(10)
    assert flow(r, "P1", model="M50") == approx(2.5)
    assert without(case, "assembly_capacity") == approx(15 * 101)


# ---------------------------------------------------------------------------------------------- investment


def test_open_at_most_once():
    # P1: 10 GWh at 100. P2 candidate: 5 GWh for $50M, no lead, cells at 80. Demand 10 GWh in 2026-2027.
    case = (TinyCase(years=2)
            .plant("P1", capacity=10, cost=100)
            .candidate("P2", opening_capacity_gwh=5, opening_cost_musd=50, cost=80)
            .demand(gwh=10))
    r = case.solve()
    # Open once in 2026: 5 GWh from P2 at 81 and 5 from P1 at 101 in each year.
    expected = 50 + 2 * (5 * 81 + 5 * 101)
    # Opening again in 2027 (adding 5 more GWh) would save 5 * 20 = 100 > 50: without open_once 1820.
    assert optimum(r) == approx(expected)
    assert builds(r) == {("P2", "opening", 2026, 1)}
    assert without(case, "open_once") == approx(50 + (5 * 81 + 5 * 101) + 50 + 10 * 81)


def _candidate_with_steps(max_steps: int) -> TinyCase:
    # P1: 20 GWh at 100. P2 candidate: opening adds only 1 GWh for $60M; steps add 4 GWh for $10M each; cells at 80.
    return (TinyCase()
            .plant("P1", capacity=20, cost=100)
            .candidate("P2", opening_capacity_gwh=1, opening_cost_musd=60, cost=80,
                       step_gwh=4, step_cost_musd=10, max_steps=max_steps)
            .demand(gwh=10))


def test_expansion_only_at_an_open_site():
    # Flows from an unopened candidate are already blocked by open_link, so the instance makes the
    # ordering bind: a step must start in the opening year or later. Two years, 10 GWh a year; capex
    # budget $10M in 2026 and $60M in 2027 (opening $60M + a step $10M do not fit in 2027 together).
    case = (TinyCase(years=2)
            .plant("P1", capacity=20, cost=100)
            .candidate("P2", opening_capacity_gwh=1, opening_cost_musd=60, cost=80,
                       step_gwh=4, step_cost_musd=10, max_steps=1)
            .demand(gwh=10)
            .year_params(capex_budget_musd=[10, 60]))
    r = case.solve()
    # Opening in 2027 alone: 60 + 1 * 81 + 9 * 101 = 1050 > 1010 in 2027, so P2 stays shut; P1 serves all.
    expected = 2 * 10 * 101
    # If a step could start before the site opens: step in 2026 ($10M), open in 2027 ($60M), 2027 at
    # 70 + 5 * 81 + 5 * 101 = 980 -> 1010 + 980 = 1990.
    assert optimum(r) == approx(expected)
    assert builds(r) == set()
    assert without(case, "expansion_limit") == approx(10 * 101 + 70 + 5 * 81 + 5 * 101)


def test_expansion_at_most_max_steps_candidate():
    r = _candidate_with_steps(max_steps=1).solve()
    # Open (60) + one step (10): 5 GWh at 81, 5 at 101. Opening alone: 60 + 81 + 9 * 101 = 1050; nothing: 1010.
    expected = 60 + 10 + 5 * 81 + 5 * 101
    # With two steps allowed: 60 + 20 + 9 * 81 + 1 * 101 = 910.
    assert optimum(r) == approx(expected)
    assert builds(r) == {("P2", "opening", 2026, 1), ("P2", "step", 2026, 1)}
    assert optimum(_candidate_with_steps(max_steps=2).solve()) == approx(60 + 2 * 10 + 9 * 81 + 1 * 101)


def test_expansion_at_most_max_steps_over_the_horizon():
    # P1 existing: 5 GWh at 80, steps of 5 GWh for $10M, at most 2 over the horizon (the integer bound
    # allows 2 per year, so only the horizon row enforces the total). P9: 100 GWh at 100. Demand 20 GWh.
    case = (TinyCase(years=2)
            .plant("P1", capacity=5, cost=80, step_gwh=5, step_cost_musd=10, max_steps=2)
            .plant("P9", capacity=100, cost=100)
            .demand(gwh=20))
    r = case.solve()
    # Two steps in 2026: P1 has 15 GWh in both years, P9 supplies 5.
    expected = 2 * 10 + 2 * (15 * 81 + 5 * 101)
    # Without the horizon limit a third step in 2027 saves 5 * 20 = 100 for 10: 3370.
    assert optimum(r) == approx(expected)
    assert builds(r) == {("P1", "step", 2026, 2)}
    assert without(case, "expansion_limit") == approx(2 * 10 + (15 * 81 + 5 * 101) + 10 + 20 * 81)


def _budget_case(**config) -> TinyCase:
    # P1: 20 GWh at 100. P2 existing with no capacity yet: steps of 5 GWh for $10M (at most 4), cells at 80.
    # Demand 20 GWh in 2026-2027. Each step saves 5 * 20 = $100M a year.
    return (TinyCase(years=2, **config)
            .plant("P1", capacity=20, cost=100)
            .plant("P2", capacity=0, cost=80, step_gwh=5, step_cost_musd=10, max_steps=4)
            .demand(gwh=20))


def test_annual_capex_budget():
    r = _budget_case().year_params(capex_budget_musd=20).solve()
    # $20M a year: two steps in 2026 (P2 10 GWh), two more in 2027 (P2 20 GWh).
    expected = 20 + (10 * 81 + 10 * 101) + 20 + 20 * 81
    # Without the budget: four steps in 2026, 40 + 2 * 20 * 81 = 3280.
    assert optimum(r) == approx(expected)
    assert builds(r) == {("P2", "step", 2026, 2), ("P2", "step", 2027, 2)}
    assert optimum(_budget_case().solve()) == approx(40 + 2 * 20 * 81)
    assert without(_budget_case().year_params(capex_budget_musd=20), "capex_budget") == approx(40 + 2 * 20 * 81)


def test_annual_capex_budget_counts_cash_not_annualised_charge():
    # Same case, annualised over 10 years at r = 0 (CRF 0.1): a step charges $1M a year from its start.
    case = _budget_case(investment_cost="annualised", economic_life_years=10).year_params(capex_budget_musd=20)
    r = case.solve()
    # The budget counts the $10M cash per step in its start year: still 2 + 2 steps.
    expected = (2 * 1 + 10 * 81 + 10 * 101) + (4 * 1 + 20 * 81)
    # If the budget counted the annual charge ($1M a step) all four would start in 2026: 2 * (4 + 20 * 81) = 3248.
    assert optimum(r) == approx(expected)
    assert builds(r) == {("P2", "step", 2026, 2), ("P2", "step", 2027, 2)}
    assert without(case, "capex_budget") == approx(2 * (4 + 20 * 81))


def test_total_budget():
    case = _budget_case(total_budget_musd=30)
    r = case.solve()
    # $30M over the horizon: three steps, all in 2026 (P2 15 GWh both years).
    expected = 30 + 2 * (15 * 81 + 5 * 101)
    # Without it: 3280 (four steps).
    assert optimum(r) == approx(expected)
    assert builds(r) == {("P2", "step", 2026, 3)}
    assert without(case, "total_budget") == approx(40 + 2 * 20 * 81)


# ---------------------------------------------------------------------------------------------- sourcing rules


def test_local_content_from_a_given_year():
    # P1 (local, 100/kWh) and P2 (far, 60/kWh), both ample. From 2027, 60 % of A1's cells must come from P1.
    case = (TinyCase(years=2)
            .plant("P1", capacity=100, cost=100)
            .plant("P2", capacity=100, cost=60, region="CN", country="CN")
            .demand(gwh=5)
            .rule("eu-origin", plants="P1", min_share=0.6, from_year=2027))
    r = case.solve()
    # 2026: no rule, all from P2 at 61; 2027: 3 GWh from P1 at 101, 2 from P2 at 61.
    expected = 5 * 61 + (3 * 101 + 2 * 61)
    # Without the rule: 2 * 5 * 61 = 610; in force from 2026 too: 2 * 425 = 850.
    assert optimum(r) == approx(expected)
    assert flow(r, "P1", 2026) == approx(0) and flow(r, "P1", 2027) == approx(3)
    assert without(case, "local_content") == approx(2 * 5 * 61)


def test_local_content_until_to_year():
    # Same rule in force in 2026 only (from 2026 to 2026).
    r = (TinyCase(years=2)
         .plant("P1", capacity=100, cost=100)
         .plant("P2", capacity=100, cost=60, region="CN", country="CN")
         .demand(gwh=5)
         .rule("eu-origin", plants="P1", min_share=0.6, from_year=2026, to_year=2026)).solve()
    expected = (3 * 101 + 2 * 61) + 5 * 61  # 850 if to_year were ignored
    assert optimum(r) == approx(expected)


def test_supplier_concentration():
    # P1 at 100, P2 at 80, both ample; no plant may supply more than 60 % of A1's cells.
    case = (TinyCase()
            .assembly("A1", max_supplier_share=0.6)
            .plant("P1", capacity=100, cost=100)
            .plant("P2", capacity=100, cost=80)
            .demand(gwh=5))
    r = case.solve()
    expected = 3 * 81 + 2 * 101  # P2 capped at 0.6 * 5 = 3 GWh; without the cap 5 * 81 = 405
    assert optimum(r) == approx(expected)
    assert flow(r, "P2") == approx(3)
    assert without(case, "supplier_share") == approx(5 * 81)


def test_minimum_offtake():
    # P1 at 80 (ample), P2 at 100 with a take-or-pay of 2 GWh.
    case = (TinyCase()
            .plant("P1", capacity=100, cost=80)
            .plant("P2", capacity=100, cost=100, min_offtake_gwh=2)
            .demand(gwh=5))
    r = case.solve()
    expected = 3 * 81 + 2 * 101  # without the commitment 5 * 81 = 405
    assert optimum(r) == approx(expected)
    assert flow(r, "P2") == approx(2)
    assert without(case, "min_offtake") == approx(5 * 81)


def test_minimum_offtake_only_in_its_year():
    r = (TinyCase(years=2)
         .plant("P1", capacity=100, cost=80)
         .plant("P2", capacity=100, cost=100, min_offtake_gwh={2027: 2})
         .demand(gwh=5)).solve()
    expected = 5 * 81 + (3 * 81 + 2 * 101)
    assert optimum(r) == approx(expected)


def test_co2_cap():
    # P1 at 80 emitting 100 kg/kWh, P2 at 100 emitting 20 kg/kWh; cap 300 kt (GWh x kg/kWh = kt).
    case = (TinyCase()
            .plant("P1", capacity=100, cost=80, co2_kg_per_kwh=100)
            .plant("P2", capacity=100, cost=100, co2_kg_per_kwh=20)
            .demand(gwh=5)
            .year_params(co2_cap_kt=300))
    r = case.solve()
    # 100 x1 + 20 (5 - x1) <= 300  ->  x1 <= 2.5.
    expected = 2.5 * 81 + 2.5 * 101  # uncapped: 5 * 81 = 405 (500 kt)
    assert optimum(r) == approx(expected)
    assert flow(r, "P1") == approx(2.5)
    assert without(case, "co2_cap") == approx(5 * 81)


def test_single_sourcing_over_the_horizon():
    # P1 at 80 has 3 GWh in 2026 and 10 in 2027; P2 at 100 has 10. Demand 5 GWh a year, hard.
    case = (TinyCase(years=2)
            .plant("P1", capacity=[3, 10], cost=80)
            .plant("P2", capacity=10, cost=100)
            .demand(gwh=5))
    split = case.solve()
    assert optimum(split) == approx((3 * 81 + 2 * 101) + 5 * 81)  # 850 with splitting allowed
    r = case.set(single_sourcing=True).solve()
    # One supplier for (A1, M) over the whole horizon: P1 cannot cover 2026, so P2 in both years.
    expected = 2 * 5 * 101
    # Choosing a supplier per year instead would give 5 * 101 + 5 * 81 = 910.
    assert optimum(r) == approx(expected)
    assert flow(r, "P1") == approx(0)
    assert without(case, "single_source_pick", "single_source_link") == approx(850)


# ---------------------------------------------------------------------------------------------- objective


def test_discounting_from_the_first_year():
    r = TinyCase.default(years=3, discount_rate=0.1).solve()
    expected = 505 * (1 + 1.1 ** -1 + 1.1 ** -2)  # d_t = 1.1^-(t - 2026); undiscounted 1515
    assert optimum(r) == approx(expected)


def _annualised_case(**config) -> TinyCase:
    # r = 10 %, 2026-2028. P1: 10 GWh at 100. P2 candidate: 10 GWh for $100M, one year of lead, cells at 80.
    return (TinyCase(years=3, discount_rate=0.1, **config)
            .plant("P1", capacity=10, cost=100)
            .candidate("P2", opening_capacity_gwh=10, opening_cost_musd=100, lead_time_years=1, cost=80)
            .demand(gwh=5))


def test_investment_upfront():
    r = _annualised_case(investment_cost="upfront").solve()
    d1, d2 = 1.1 ** -1, 1.1 ** -2
    # Open in 2026 (cash in 2026, undiscounted); P2 serves 2027 and 2028: saves 100 (d1 + d2) = 173.6 > 100.
    expected = 100 + 505 + (d1 + d2) * 405
    assert optimum(r) == approx(expected)
    assert builds(r) == {("P2", "opening", 2026, 1)}


def test_investment_annualised_truncated_at_horizon_end():
    r = _annualised_case(investment_cost="annualised", economic_life_years=5).solve()
    d1, d2 = 1.1 ** -1, 1.1 ** -2
    k = 0.1 * 1.1 ** 5 / (1.1 ** 5 - 1)  # CRF(10 %, 5) = 0.26380
    assert crf(0.1, 5) == approx(k)
    # Opened in 2026, delivers from 2027: 100 k falls in 2027 and 2028 only (the rest of the 5-year life is
    # beyond 2028). Not in 2026 (before delivery).
    expected = 505 + (d1 + d2) * (405 + 100 * k)
    # Charging the whole 5-year life would cost 100 k (d1 + ... + d5) = 100 d1 (its NPV): 1307.9;
    # charging from the start year instead of the first delivering year: + 100 k = 1280.1; upfront: 1307.9.
    assert optimum(r) == approx(expected)
    assert builds(r) == {("P2", "opening", 2026, 1)}


def test_investment_annualised_stops_after_economic_life():
    # Same case, life 1 year: the whole cash amount x CRF(10 %, 1) = 1.1 falls in the first delivering year.
    r = _annualised_case(investment_cost="annualised", economic_life_years=1).solve()
    d1, d2 = 1.1 ** -1, 1.1 ** -2
    expected = 505 + d1 * (405 + 100 * 1.1) + d2 * 405
    # (Equal to upfront here: 110 d1 = 100.) Charging up to the horizon end instead, 110 (d1 + d2) would
    # make opening dearer than not opening (505 (1 + d1 + d2) = 1381.4), the optimum would be 1381.4.
    assert optimum(r) == approx(expected)
    assert builds(r) == {("P2", "opening", 2026, 1)}


def test_fixed_om_on_nameplate_not_ramped():
    # P1 existing: 10 GWh in 2026, 12 in 2027, at 100, fixed O&M $1M/GWh/yr.
    # P2 candidate: 10 GWh for $50M, no lead, ramp 50 %, cells at 80, fixed O&M $2M/GWh/yr.
    r = (TinyCase(years=2)
         .plant("P1", capacity=[10, 12], cost=100, fixed_om_musd_per_gwh=1)
         .candidate("P2", opening_capacity_gwh=10, opening_cost_musd=50, cost=80, ramp="0.5", fixed_om_musd_per_gwh=2)
         .demand(gwh=5)).solve()
    # Open P2 in 2026: 5 GWh available in 2026 (ramp), 10 in 2027 -> P2 serves all 10 GWh at 81.
    # O&M: P1 on its existing 10 + 12 GWh; P2 on its full 10 GWh nameplate in both years (not 5 in 2026).
    expected = (10 + 12) * 1 + 50 + 2 * 10 * 2 + 2 * 5 * 81
    # O&M on ramped capacity would give 912; not opening: 22 + 2 * 505 = 1032.
    assert optimum(r) == approx(expected)
    assert builds(r) == {("P2", "opening", 2026, 1)}


def test_fixed_om_on_delivered_steps_from_online_year():
    # P1 existing 0 GWh, steps of 5 GWh for $10M (max 1), lead 1, fixed O&M $1M/GWh; P9: 10 GWh at 100.
    r = (TinyCase(years=3)
         .plant("P1", capacity=0, cost=80, step_gwh=5, step_cost_musd=10, max_steps=1, lead_time_years=1,
                fixed_om_musd_per_gwh=1)
         .plant("P9", capacity=10, cost=100)
         .demand(gwh=5)).solve()
    # Step in 2026, online 2027: saves 2 * 5 * 20 = 200 for 10 cash + 2 * 5 O&M (none in 2026, before delivery).
    expected = 10 + 5 * 101 + 2 * (5 * 1 + 5 * 81)
    assert optimum(r) == approx(expected)
    assert builds(r) == {("P1", "step", 2026, 1)}


def test_tariff_is_a_rate_on_cell_cost():
    # P1: cells 100, freight 4, tariff 25 % -> 100 + 4 + 25 = 129. P2: cells 129.5, freight 0, no tariff.
    r = (TinyCase()
         .plant("P1", capacity=10, cost=100, freight=4, tariff=0.25)
         .plant("P2", capacity=10, cost=129.5, freight=0)
         .demand(gwh=5)).solve()
    expected = 5 * (100 + 4 + 0.25 * 100)
    # Tariff on cells + freight: P1 would cost 130 > 129.5, so 5 * 129.5 = 647.5; no tariff: 520.
    assert optimum(r) == approx(expected)
    assert flow(r, "P1") == approx(5)


def test_carbon_price_per_kg():
    # Carbon at $100/t. P1: 100 + 1 + 100 x 80 kg/kWh / 1000 = 109. P2: 106 + 1 + 100 x 10 / 1000 = 108.
    r = (TinyCase()
         .plant("P1", capacity=10, cost=100, co2_kg_per_kwh=80)
         .plant("P2", capacity=10, cost=106, co2_kg_per_kwh=10)
         .demand(gwh=5)
         .year_params(carbon_price_usd_per_t=100)).solve()
    expected = 5 * (106 + 1 + 100 * 10 / 1000)  # without the carbon price P1: 5 * 101 = 505
    assert optimum(r) == approx(expected)
    assert flow(r, "P2") == approx(5)


def test_credits_are_subtracted():
    # P1 (US) cells at 110 with a $35/kWh credit -> 110 + 1 - 35 = 76; P2 at 80 -> 81.
    r = (TinyCase()
         .plant("P1", capacity=10, cost=110, credit_usd_per_kwh=35, region="US", country="US")
         .plant("P2", capacity=10, cost=80)
         .demand(gwh=5)).solve()
    expected = 5 * (110 + 1 - 35)  # credit ignored or added: P2 at 5 * 81 = 405
    assert optimum(r) == approx(expected)
    assert flow(r, "P1") == approx(5)


def test_cell_type_matching():
    # P1 makes only LFP at 50; P2 makes NMC and LFP at 100. Model M (NMC) and L (LFP): 5 GWh each.
    r = (TinyCase()
         .model("M", cell_type="NMC").model("L", cell_type="LFP")
         .plant("P1", capacity=100, cost=50, cell_types="LFP")
         .plant("P2", capacity=100, cost=100, cell_types=["NMC", "LFP"])
         .demand(gwh=5, model="M").demand(gwh=5, model="L")).solve()
    expected = 5 * 51 + 5 * 101  # L from P1, M from P2; without matching all from P1: 10 * 51 = 510
    assert optimum(r) == approx(expected)
    assert flow(r, "P1", model="M") == approx(0)
    assert flow(r, "P1", model="L") == approx(5)


def test_fx_index_on_cell_cost_and_fixed_om():
    # P1 costs in JPY, fx JPY 1.2: cells 100 -> 120, fixed O&M 1 -> 1.2 $M/GWh on 10 GWh. Freight is not converted.
    # P2 (USD) at 115.
    r = (TinyCase(fx={"JPY": 1.2})
         .plant("P1", capacity=10, cost=100, currency="JPY", fixed_om_musd_per_gwh=1)
         .plant("P2", capacity=10, cost=115)
         .demand(gwh=5)).solve()
    expected = 10 * 1 * 1.2 + 5 * (115 + 1)  # P1 at 121 loses to P2 at 116; O&M still paid
    # Without fx: 10 + 5 * 101 = 515.
    assert optimum(r) == approx(expected)
    assert flow(r, "P2") == approx(5)


def test_fx_index_on_capex_and_tariff_base():
    # P2 candidate in JPY (fx 1.2): opening $100M -> 120, cells 50 -> 60, tariff 10 % on 60 = 6. P1 (USD) at 100.
    r = (TinyCase(fx={"JPY": 1.2, "EUR": 0.5})  # an unused currency changes nothing
         .plant("P1", capacity=10, cost=100)
         .candidate("P2", opening_capacity_gwh=10, opening_cost_musd=100, cost=50, currency="JPY", tariff=0.1)
         .demand(gwh=5)).solve()
    expected = 100 * 1.2 + 5 * (50 * 1.2 + 1 + 0.1 * 50 * 1.2)  # opening saves 5 * (101 - 67) = 170 > 120
    # Without fx: 100 + 5 * 56 = 380.
    assert optimum(r) == approx(expected)
    assert builds(r) == {("P2", "opening", 2026, 1)}


def test_earliest_start():
    # P1: 10 GWh at 100. P2 candidate: 10 GWh for $50M, no lead, cells at 80, may not start before 2027.
    r = (TinyCase(years=2)
         .plant("P1", capacity=10, cost=100)
         .candidate("P2", opening_capacity_gwh=10, opening_cost_musd=50, cost=80, earliest_start=2027)
         .demand(gwh=5)).solve()
    expected = 5 * 101 + 50 + 5 * 81  # without earliest_start: open in 2026, 50 + 2 * 405 = 860
    assert optimum(r) == approx(expected)
    assert builds(r) == {("P2", "opening", 2027, 1)}


def test_earliest_start_of_expansion_steps():
    # P1 existing: 5 GWh at 80, steps of 5 GWh for $10M (max 1) not before 2027; P9: 10 GWh at 100. 10 GWh a year.
    r = (TinyCase(years=2)
         .plant("P1", capacity=5, cost=80, step_gwh=5, step_cost_musd=10, max_steps=1, earliest_start=2027)
         .plant("P9", capacity=10, cost=100)
         .demand(gwh=10)).solve()
    expected = (5 * 81 + 5 * 101) + 10 + 10 * 81  # step in 2027; from 2026 it would be 10 + 2 * 810 = 1630
    assert optimum(r) == approx(expected)
    assert builds(r) == {("P1", "step", 2027, 1)}


def test_candidate_cannot_supply_unless_opened():
    # A cheap candidate with a prohibitive opening cost ships nothing (and costs nothing).
    case = (TinyCase()
            .plant("P1", capacity=10, cost=100)
            .candidate("P2", opening_capacity_gwh=10, opening_cost_musd=1e4, cost=1)
            .demand(gwh=5))
    r = case.solve()
    assert optimum(r) == approx(5 * 101)  # if P2 could ship unopened: 5 * 2 = 10
    assert flow(r, "P2") == approx(0) and builds(r) == set()
    # open_link is a valid inequality: the capacity row alone already keeps P2 shut.
    assert without(case, "open_link") == approx(5 * 101)
    assert without(case, "open_link", "plant_capacity") == approx(5 * 2)


def test_availability_outage_takes_the_whole_plant_out():
    # P1: 10 GWh at 100 (existing) plus a 4 GWh step started 2026 at $20M, online at once; P2: 10 GWh at 120.
    # P1 is out (availability 0) in 2027: existing and new capacity both.
    case = (TinyCase(years=2)
            .plant("P1", capacity=10, cost=100, step_gwh=4, step_cost_musd=20, max_steps=1,
                   availability={2027: 0.0})
            .plant("P2", capacity=10, cost=120)
            .demand(gwh=5))
    r = case.solve()
    # 2026: P1 serves 5 GWh at 101; 2027: P2 serves 5 at 121. The step is never worth its $20M.
    expected = 5 * 101 + 5 * 121
    # Without the availability factor P1 would serve both years: 2 * 5 * 101 = 1010.
    assert optimum(r) == approx(expected)
    assert builds(r) == set()
    flows = r.flows.groupby(["plant", "year"])["gwh"].sum()
    assert flows[("P2", 2027)] == approx(5)
    cap = r.capacity.set_index(["plant", "year"])
    assert cap.loc[("P1", 2027), "available_gwh"] == approx(0)
    assert optimum(case.edit("plant_years", "availability", 1.0, plant="P1").solve()) == approx(2 * 5 * 101)
