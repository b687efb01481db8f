"""Tiny hand-derived instances for the fidelity features: per-year lane data (a tariff schedule),
closure decisions, per-plant economic life, soft demand that no lane can serve, header-only tables.

Each test states the optimum with the feature and without it, derived in its comments, and solves
both. Builder defaults (tests/tiny.py): year 2026 on, model M with 50 kWh packs (100,000 vehicles =
5 GWh), assembly plant A1, lanes from every plant with freight $1/kWh and no tariff, discount rate 0,
upfront investment, hard demand. Units: GWh, $M, $/kWh ($/kWh x GWh = $M).
"""

from __future__ import annotations

import pandas as pd
import pytest

import optimizer
from optimizer import InputError, Status
from optimizer.audit import audit_result
from optimizer.robust import Plan, solve_stochastic
from optimizer.sweep.apply import apply_changes
from optimizer.sweep.changes import SettingChange
from optimizer.sweep.spec import Case
from optimizer.sweep.worker import CaseSolver

try:
    from tiny import TinyCase, solve_tiny, vehicles_for
except ImportError:
    from tests.tiny import TinyCase, solve_tiny, vehicles_for


def approx(x: float):
    return pytest.approx(x, rel=1e-9, abs=1e-9)


def optimum(result) -> float:
    """The proven optimum; the costs table adds up to it and the audit finds nothing."""
    assert result.status == Status.OPTIMAL, result.status
    assert result.costs["discounted_musd"].sum() == approx(result.objective)
    return result.objective


def audited(scenario, result) -> pd.DataFrame:
    report = audit_result(scenario, result).set_index("family")
    assert report["violations"].sum() == 0, report[report["violations"] > 0]
    return report


def flow(result, plant: str, year: int | None = None) -> float:
    f = result.flows
    mask = f["plant"] == plant
    if year is not None:
        mask &= f["year"] == year
    return float(f.loc[mask, "gwh"].sum())


def solve_with(tables, config, **extra: pd.DataFrame):
    tables = {**tables, **extra}
    scenario = optimizer.scenario_from_tables(tables, config)
    result = solve_tiny(tables, config)
    audited(scenario, result)
    return result


# ------------------------------------------------------------------------------------- per-year lane data


def _two_suppliers() -> TinyCase:
    # P1: cells $100/kWh; P2: cells $90/kWh; both 10 GWh, freight 1, no duty; 5 GWh demanded in 2026 and 2027.
    return (TinyCase(years=2).plant("P1", capacity=10, cost=100).plant("P2", capacity=10, cost=90)
            .demand(gwh=5))


def test_tariff_schedule_steps_up_in_its_year():
    tables, config = _two_suppliers().build()
    # Without a schedule P2 serves both years at 90 + 1: 2 x 5 x 91 = 910.
    assert optimum(solve_tiny(tables, config)) == approx(2 * 5 * 91)
    # A 25 % duty on P2 -> A1 from 2027: P2 costs 90 + 1 + 0.25 x 90 = 113.5 > 101 there, so P1 serves 2027:
    # 5 x 91 + 5 x 101 = 960.
    schedule = pd.DataFrame({"plant": ["P2"], "assembly": ["A1"], "year": [2027], "tariff_rate": [0.25]})
    result = solve_with(tables, config, lane_years=schedule)
    assert optimum(result) == approx(5 * 91 + 5 * 101)
    assert flow(result, "P2", 2026) == approx(5) and flow(result, "P1", 2027) == approx(5)
    tariff_2027 = result.costs.set_index(["category", "year"]).loc[("tariff", 2027), "nominal_musd"]
    assert tariff_2027 == approx(0.0)  # the duty made P2 too dear: none is paid


def test_lane_years_blank_cells_fall_back_to_the_lane():
    tables, config = _two_suppliers().build()
    # 2026: freight on P2 -> A1 is 5 (tariff blank: the lane's 0): P2 at 95 < 101 still serves, 5 x 95 = 475;
    # 2027: tariff 0.25 (freight blank: the lane's 1): P1 serves at 101, 505. Optimum 980 (910 without rows).
    rows = pd.DataFrame({"plant": ["P2", "P2"], "assembly": ["A1", "A1"], "year": [2026, 2027],
                         "freight_usd_per_kwh": [5.0, None], "tariff_rate": [None, 0.25]})
    result = solve_with(tables, config, lane_years=rows)
    assert optimum(result) == approx(5 * 95 + 5 * 101)
    assert result.flows.set_index(["plant", "year"]).loc[("P2", 2026), "freight_usd_per_kwh"] == approx(5.0)


def test_lane_years_row_needs_its_lane():
    tables, config = _two_suppliers().build()
    rows = pd.DataFrame({"plant": ["P2"], "assembly": ["A9"], "year": [2026], "tariff_rate": [0.1]})
    with pytest.raises(InputError) as err:
        optimizer.scenario_from_tables({**tables, "lane_years": rows}, config)
    (problem,) = err.value.problems
    assert (problem.file, problem.row, problem.column, problem.rule) == ("<memory>:lane_years", 2,
                                                                         "plant,assembly", "reference")


# ------------------------------------------------------------------------------------------------ closures


def _legacy_line(closure_cost: float, years: int = 3, **plant: object) -> TinyCase:
    # P1: 10 GWh at $100/kWh, no fixed O&M. P2 (legacy): 4 GWh at $99/kWh (saves $1/kWh, so at most
    # 4 x 1 = $4M a year when it ships), fixed O&M $3M/GWh = $12M a year. Demand 5 GWh a year.
    # Open, P2 ships 4 and P1 1: 4 x 100 + 1 x 101 + 12 = 513 a year; closed, P1 ships 5: 505 a year.
    return (TinyCase(years=years).plant("P1", capacity=10, cost=100)
            .plant("P2", capacity=4, cost=99, fixed_om_musd_per_gwh=3.0, may_close="yes",
                   closure_cost_musd=closure_cost, **plant)
            .demand(gwh=5))


def test_closure_saves_fixed_om_when_it_pays():
    case = _legacy_line(closure_cost=20)
    # Closing from 2026 saves 3 x (513 - 505) = 24 > 20: optimum 3 x 505 + 20 = 1535.
    result = case.solve()
    audited(case.scenario(), result)
    assert optimum(result) == approx(3 * 505 + 20)
    closures = result.builds[result.builds["kind"] == "closure"]
    assert list(zip(closures["plant"], closures["start_year"], closures["cash_musd"])) == [("P2", 2026, 20.0)]
    assert flow(result, "P2") == 0.0  # the cheaper cells of a closed plant are gone
    costs = result.costs.set_index(["category", "year"])["nominal_musd"]
    assert costs["closure", 2026] == approx(20) and costs["fixed_om"].sum() == approx(0)
    cap = result.capacity.set_index(["plant", "year"])
    assert cap.loc[("P2", 2027), "nameplate_gwh"] == 0.0 and cap.loc[("P2", 2027), "existing_gwh"] == 4.0
    assert result.kpi("closures") == 1.0 and result.kpi("investment_cash_musd") == 0.0
    # Without the closure option (may_close no): 3 x 513 = 1539.
    assert optimum(_legacy_line(20).edit("plants", "may_close", "no", plant="P2").solve()) == approx(3 * 513)


def test_closure_not_taken_when_it_costs_more_than_it_saves():
    # Closure cost 30 > the 24 it would save: P2 stays open, 3 x 513 = 1539, no closure row.
    result = _legacy_line(closure_cost=30).solve()
    assert optimum(result) == approx(3 * 513)
    assert not (result.builds["kind"] == "closure").any()


def test_closure_from_its_earliest_year_discounted():
    # Discount rate 10 %, closure cost 10, earliest closure 2027. Closing in 2027 saves 8 in 2027 and in
    # 2028 and pays 10 in 2027: (8 - 10)/1.1 + 8/1.21 = 4.79 > 0; closing in 2028 gains (8 - 10)/1.21 < 0.
    # Optimum: 513 (2026, open) + (505 + 10)/1.1 + 505/1.21.
    case = _legacy_line(closure_cost=10, earliest_closure=2027).set(discount_rate=0.1)
    result = case.solve()
    audited(case.scenario(), result)
    assert optimum(result) == approx(513 + (505 + 10) / 1.1 + 505 / 1.21)
    assert flow(result, "P2", 2026) == approx(4) and flow(result, "P2", 2027) == 0.0
    # Without the option: 513 (1 + 1/1.1 + 1/1.21).
    no_close = case.edit("plants", "may_close", "no", plant="P2").solve()
    assert optimum(no_close) == approx(513 * (1 + 1 / 1.1 + 1 / 1.21))


def test_closure_ends_step_om_but_annualised_charges_continue():
    # Annualised, rate 0, life 3 (CRF 1/3). Demand 10 GWh in 2026, 5 GWh in 2027 and 2028. P1: 5 GWh at
    # $100/kWh. P2: existing with no capacity; one step of 5 GWh for $30M (lead 0), fixed O&M $2M/GWh,
    # may close at no cost. Hard demand forces the step in 2026 (charge 30/3 = 10 in 2026, 2027, 2028).
    # From 2027 P1 alone serves 5 GWh, so P2 closes in 2027 and its 5 GWh stop paying O&M (2 x 5 = 10 a
    # year). Flows 2 x 10 x 101... : 10 x 101 + 5 x 101 + 5 x 101 = 2020; investment 30; O&M 10 (2026).
    # Optimum 2060; without the option the O&M runs on in 2027 and 2028: 2080.
    case = (TinyCase(years=3, investment_cost="annualised", economic_life_years=3)
            .plant("P1", capacity=5, cost=100)
            .plant("P2", capacity=0, cost=100, step_gwh=5, step_cost_musd=30, max_steps=1,
                   fixed_om_musd_per_gwh=2.0, may_close="yes")
            .demand(gwh=[10, 5, 5]))
    result = case.solve()
    audited(case.scenario(), result)
    assert optimum(result) == approx(2020 + 30 + 10)
    costs = result.costs.groupby("category")["nominal_musd"].sum()
    assert costs["investment"] == approx(30)  # every annualised charge of the 2026 step is paid
    plan = set(zip(result.builds["plant"], result.builds["kind"], result.builds["start_year"]))
    assert plan == {("P2", "step", 2026), ("P2", "closure", 2027)}
    no_close = case.edit("plants", "may_close", "no", plant="P2").solve()
    assert optimum(no_close) == approx(2080)


def test_candidate_may_not_close():
    tables, config = (TinyCase().plant("P1", capacity=10).candidate("P2", opening_capacity_gwh=5,
                                                                       opening_cost_musd=1, may_close="yes")
                      .demand(gwh=5).build())
    with pytest.raises(InputError) as err:
        optimizer.scenario_from_tables(tables, config)
    assert [(p.column, p.rule) for p in err.value.problems] == [("may_close", "closure-candidate")]


# ------------------------------------------------------------------------------------ per-plant economic life


def _two_sites() -> TinyCase:
    # Annualised, rate 0, scenario life 15, 3 years; 5 GWh demanded a year; only candidates can serve:
    # P2 opens 10 GWh for $60M, P3 opens 10 GWh for $50M (cells 100, freight 1, lead 0).
    return (TinyCase(years=3, investment_cost="annualised", economic_life_years=15)
            .candidate("P2", opening_capacity_gwh=10, opening_cost_musd=60, cost=100)
            .candidate("P3", opening_capacity_gwh=10, opening_cost_musd=50, cost=100)
            .demand(gwh=5))


def test_per_plant_life_changes_the_annualised_charge_and_the_choice():
    # Scenario life for both: P2 charges 60/15 x 3 = 12, P3 50/15 x 3 = 10 -> P3: 3 x 505 + 10 = 1525.
    assert optimum(_two_sites().solve()) == approx(3 * 505 + 10)
    # P2 with its own 30-year life: 60/30 x 3 = 6 < 10 -> P2 opens: 3 x 505 + 6 = 1521.
    case = _two_sites().edit("plants", "economic_life_years", 30, plant="P2")
    result = case.solve()
    audited(case.scenario(), result)
    assert optimum(result) == approx(3 * 505 + 6)
    assert set(result.builds["plant"]) == {"P2"}


def test_per_plant_life_shorter_than_the_horizon_stops_the_charge():
    # P3 alone with a 2-year life: 50/2 = 25 in 2026 and 2027, nothing in 2028: 3 x 505 + 50 = 1565.
    case = _two_sites().edit("plants", "economic_life_years", 2, plant="P3").edit(
        "plants", "opening_cost_musd", 500, plant="P2")
    result = case.solve()
    assert optimum(result) == approx(3 * 505 + 50)
    inv = result.costs[result.costs["category"] == "investment"].set_index("year")["nominal_musd"]
    assert list(inv) == [approx(25), approx(25), approx(0)]


# ------------------------------------------------------------------------------- unservable soft demand


def _lfp_nobody_makes(demand: str) -> TinyCase:
    # P1 (NMC, 10 GWh, cells 100, freight 1) serves M (5 GWh). Model L needs LFP cells, which no plant
    # makes: 40,000 vehicles x 50 kWh = 2 GWh that no lane can serve. Penalty $200/kWh.
    return (TinyCase(demand=demand, unserved_penalty_usd_per_kwh=200).plant("P1", capacity=10, cost=100)
            .model("M").model("L", cell_type="LFP").demand(gwh=5).demand(vehicles_for(2), model="L"))


def test_unservable_soft_demand_is_a_warning_and_goes_unserved_at_the_penalty():
    case = _lfp_nobody_makes("soft")
    scenario = case.scenario()
    (warning,) = [w for w in scenario.warnings if w.rule == "unservable"]
    assert "no lane brings LFP cells to 'A1' for model 'L'" in warning.message and warning.row == 3
    # Optimum: M served, 5 x 101 = 505, plus L unserved, 2 x 200 = 400: 905. (Before, an input error.)
    result = case.solve()
    audited(scenario, result)
    assert optimum(result) == approx(505 + 400)
    assert any("unservable" in w for w in result.manifest["warnings"])


def test_unservable_hard_demand_stays_an_error():
    with pytest.raises(InputError) as err:
        _lfp_nobody_makes("hard").scenario()
    assert [p.rule for p in err.value.problems] == ["unservable"]


# ------------------------------------------------------------------------------------ header-only tables


def test_header_only_optional_table_reads_as_none(tmp_path):
    tables, config = TinyCase.default().build()
    tables["rules"] = pd.DataFrame(columns=["rule", "assemblies", "plants", "min_share", "from_year"])
    tables["lane_years"] = pd.DataFrame(columns=["plant", "assembly", "year", "tariff_rate"])
    scenario = optimizer.scenario_from_tables(tables, config)
    assert "rules" not in scenario.tables and scenario.data.rules == ()
    assert optimum(optimizer.solve(scenario)) == approx(505)
    # a required table with a header only is still an error
    tables["lanes"] = tables["lanes"].iloc[0:0]
    with pytest.raises(InputError) as err:
        optimizer.scenario_from_tables(tables, config)
    assert any(p.rule == "empty-table" for p in err.value.problems)


# ------------------------------------------------------------------------------------------ audit


def _tampered(result, **tables: pd.DataFrame):
    return optimizer.SolveResult(result.scenario, result.status, result.objective, result.bound, result.gap,
                                 {**result.tables, **tables}, result.manifest)


def test_audit_catches_tampered_closures_schedules_and_lives():
    case = _legacy_line(closure_cost=20)
    scenario, result = case.scenario(), case.solve()
    assert audited(scenario, result)["checked"][["close_once", "closure_flow"]].min() > 0
    b, f = result.builds, result.flows

    def violated(tampered) -> set[str]:
        report = audit_result(scenario, tampered)
        return set(report.loc[report["violations"] > 0, "family"])

    # the closed plant still ships 1 GWh in 2027 (moved from P1): closure_flow
    moved = f.copy()
    moved.loc[(moved["plant"] == "P1") & (moved["year"] == 2027), "gwh"] -= 1.0
    extra = moved.iloc[[0]].assign(plant="P2", year=2027, gwh=1.0)
    assert "closure_flow" in violated(_tampered(result, flows=pd.concat([moved, extra], ignore_index=True)))
    # a second closure row for P2: close_once
    twice = pd.concat([b, b[b["kind"] == "closure"].assign(start_year=2027)], ignore_index=True)
    assert "close_once" in violated(_tampered(result, builds=twice))
    # the closure reported a year later than solved: P2's 2026 fixed O&M (12) is missing from the objective
    assert "objective" in violated(_tampered(result, builds=b.assign(start_year=b["start_year"] + 1)))
    # a plant that may not close reported closed
    assert "close_once" in violated(_tampered(result, builds=b.assign(plant="P1")))

    # per-year tariff: the objective reported as if the 2027 step-up were not there (lane value, 0 duty)
    tables, config = _two_suppliers().build()
    schedule = pd.DataFrame({"plant": ["P2"], "assembly": ["A1"], "year": [2027], "tariff_rate": [0.25]})
    with_schedule = optimizer.scenario_from_tables({**tables, "lane_years": schedule}, config)
    plain = solve_tiny(tables, config)  # P2 in both years at 91: 910, the duty of 2027 (112.5) unpaid
    report = audit_result(with_schedule, plain).set_index("family")
    assert report.loc["objective", "violations"] >= 1

    # per-plant life: a result annualised over the scenario's 15 years where P2's own life is 30
    own_life = _two_sites().edit("plants", "economic_life_years", 30, plant="P2")
    forced = _two_sites().edit("plants", "opening_cost_musd", 500, plant="P3").solve()  # P2 opens, life 15
    report = audit_result(own_life.scenario(), forced).set_index("family")
    assert report.loc["objective", "violations"] >= 1


# ------------------------------------------------------------------------------ closures in robust plans


def test_closure_is_a_first_stage_decision_in_the_stochastic_plan():
    # The legacy line of _legacy_line (closure cost 20) in two equally likely futures, soft demand at
    # $200/kWh. Per year: P1 ships at 101, P2 (while open) at 100, P2's fixed O&M 12.
    #   low  (5 GWh):  keep 513/yr -> 1539;  close 2026: 3 x 505 + 20 = 1535 (its own optimum).
    #   high (14 GWh): keep 10 x 101 + 4 x 100 + 12 = 1422/yr -> 4266 (its optimum);
    #                  close 2026: 10 x 101 + 4 GWh unserved x 200 = 1810/yr -> 5430 + 20 = 5450.
    # Shared plans: keep 0.5 (1539 + 4266) = 2902.5; close 2026 0.5 (1535 + 5450) = 3492.5; closing later
    # is dearer still (2028: 0.5 (1551 + 4674) = 3112.5): RP = 2902.5, keep P2. WS = 0.5 (1535 + 4266) =
    # 2900.5, EVPI = 2. The average future (9.5 GWh) closes in 2026 (9.5 x 101 x 3 + 20 = 2898.5 against
    # keeping, (4 x 100 + 5.5 x 101 + 12) x 3 = 2902.5): EEV = 3492.5, VSS = 590.
    def future(gwh: float):
        return _legacy_line(closure_cost=20).set(demand="soft", unserved_penalty_usd_per_kwh=200).demand(
            gwh=gwh).scenario()

    exact = optimizer.SolveOptions(rel_gap=0.0, threads=1)
    result = solve_stochastic({"low": future(5), "high": future(14)}, options=exact)
    f = result.figures
    assert result.plan == Plan(())
    assert f["RP"] == approx(2902.5) and f["WS"] == approx(2900.5) and f["EVPI"] == pytest.approx(2.0, abs=1e-6)
    assert f["EV"] == approx(2898.5) and f["EEV"] == approx(3492.5) and f["VSS"] == pytest.approx(590, abs=1e-6)
    # the same futures with closure not allowed: the EV plan keeps P2 too, VSS 0
    no_close = {k: future(g).derive({"plants": future(g).table("plants").assign(may_close="no")})
                for k, g in (("low", 5), ("high", 14))}
    plain = solve_stochastic(no_close, options=exact)
    assert plain.figures["RP"] == approx(2902.5) and plain.figures["VSS"] == pytest.approx(0.0, abs=1e-6)


@pytest.mark.slow
def test_benders_on_ray_closes_like_the_extensive_form():
    # Futures of 5 and 4 GWh: each closes P2 in 2026 (5 GWh: 1535 against 1539; 4 GWh: P2 at 100 saves 4 a year
    # against 12 of O&M, 4 x 101 x 3 + 20 = 1232), so the shared plan closes it: RP = 0.5 (1535 + 1232).
    def future(gwh: float):
        return _legacy_line(closure_cost=20).set(demand="soft", unserved_penalty_usd_per_kwh=200).demand(
            gwh=gwh).scenario()

    futures = {"a": future(5), "b": future(4)}
    exact = optimizer.SolveOptions(rel_gap=0.0, threads=1)
    known = {k: 0.0 for k in futures}
    ef = solve_stochastic(futures, options=exact, optima=known)
    bd = solve_stochastic(futures, options=exact, optima=known, method="benders", workers=2)
    assert ef.plan == bd.plan == Plan(((("P2", "closure", 2026), 1),))
    assert ef.figures["RP"] == approx(0.5 * (1535 + 1232)) and bd.figures["RP"] == pytest.approx(ef.figures["RP"])


def test_a_sweep_case_that_makes_unservable_demand_hard_is_infeasible_and_explained():
    # Soft, the L demand nobody can serve goes unserved (905, above). A case setting demand hard cannot
    # serve it at all: infeasible, and the explanation names the 2 GWh of L at A1 that no lane can bring.
    base = _lfp_nobody_makes("soft").scenario()
    hard = [SettingChange("demand", "set", "hard")]
    result = optimizer.solve(apply_changes(base, hard))
    assert result.status == Status.INFEASIBLE
    assert result.why_infeasible == ["A1 2026: 2.0 GWh short for L demand (no lane brings its cells to A1)"]
    got = CaseSolver(base, optimizer.SolveOptions(threads=1)).solve("0", Case("hard", (), tuple(hard)))
    assert got.status == "infeasible", got.message
