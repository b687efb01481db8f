"""One plan for many futures: hand-derived stochastic figures, the regret matrix, ``optimizer robust``."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from tiny import TinyCase

from optimizer.robust import Plan, evaluate_plans, regret_tables, risk_value, solve_stochastic
from optimizer.robust.mean import mean_scenario
from optimizer.solver import SolveOptions

ROOT = Path(__file__).resolve().parents[1]
EXACT = SolveOptions(rel_gap=1e-9, threads=1)

# The two-future example. One plant P1 with no capacity of its own; expansion steps of 10 GWh at $300M
# each (at most 2, online the same year); cells cost $100/kWh + $1/kWh freight; unserved demand costs
# $201/kWh. One year, no discounting, upfront capex. Demand is 2 GWh ("low") or 18 GWh ("high").
STEP, UNIT, PENALTY = 300.0, 101.0, 201.0


def future(demand_gwh: float):
    return (TinyCase(years=1, demand="soft", unserved_penalty_usd_per_kwh=PENALTY)
            .plant("P1", capacity=0, cost=100, freight=1, step_gwh=10, step_cost_musd=STEP, max_steps=2,
                   lead_time_years=0)
            .demand(gwh=demand_gwh)).scenario()


def cost(steps: int, demand: float) -> float:
    """Cost of building ``steps`` steps when ``demand`` GWh comes: serve what fits, pay the penalty on the rest."""
    served = min(10 * steps, demand)
    return STEP * steps + UNIT * served + PENALTY * (demand - served)


FUTURES = {"low": 2.0, "high": 18.0}


def test_hand_costs_of_the_example():
    # the formula above, written out, so the figures below rest on arithmetic anyone can redo
    assert [cost(n, 2) for n in range(3)] == [402, 502, 802]
    assert [cost(n, 18) for n in range(3)] == [3618, 2918, 2418]


def test_two_futures_stochastic_plan_vss_and_evpi_by_hand():
    result = solve_stochastic({k: future(d) for k, d in FUTURES.items()}, options=EXACT)
    expected = {n: 0.5 * cost(n, 2) + 0.5 * cost(n, 18) for n in range(3)}  # 1110, 1710, 1610
    rp_steps = min(expected, key=expected.get)
    assert rp_steps == 2
    assert result.plan == Plan(((("P1", "step", 2026), 2),))
    f = result.figures
    assert f["RP"] == pytest.approx(expected[2], rel=1e-9)                      # 1610
    ws = 0.5 * min(cost(n, 2) for n in range(3)) + 0.5 * min(cost(n, 18) for n in range(3))
    assert f["WS"] == pytest.approx(ws, rel=1e-9)                               # 0.5 * 402 + 0.5 * 2418 = 1410
    # the average future demands 10 GWh: one step (300 + 1010 = 1310) beats two (1610) and none (2010)
    ev_steps = min(range(3), key=lambda n: cost(n, 10))
    assert ev_steps == 1 and f["EV"] == pytest.approx(cost(1, 10), rel=1e-9)
    assert f["EEV"] == pytest.approx(expected[1], rel=1e-9)                     # 1710
    assert f["VSS"] == pytest.approx(expected[1] - expected[2], abs=1e-6)       # 100
    assert f["EVPI"] == pytest.approx(expected[2] - ws, abs=1e-6)               # 200
    by_future = result.scenarios.set_index("scenario")
    assert by_future.loc["low", "cost_musd"] == pytest.approx(cost(2, 2))
    assert by_future.loc["high", "ev_plan_cost_musd"] == pytest.approx(cost(1, 18))
    # each future's tables come out as a single solve writes them, tagged with the future
    flows = result.tables["flows"].groupby("scenario")["gwh"].sum()
    assert flows["low"] == pytest.approx(2) and flows["high"] == pytest.approx(18)


def test_cvar_weight_changes_the_plan_by_hand():
    # low is likely (0.8), high rare (0.2). Risk-neutral: one step wins.
    w = {"low": 0.8, "high": 0.2}
    expected = {n: 0.8 * cost(n, 2) + 0.2 * cost(n, 18) for n in range(3)}    # 1045.2, 985.2, 1125.2
    neutral = solve_stochastic({k: future(d) for k, d in FUTURES.items()}, w, options=EXACT)
    assert neutral.plan.count("P1", "step", 2026) == 1
    assert neutral.figures["RP"] == pytest.approx(expected[1], rel=1e-9)
    # CVaR at alpha = 0.8 is the cost of the worst 20 %: the high future. With lambda = 1 the
    # objective is E + cost(high): 0 steps 4663.2, 1 step 3903.2, 2 steps 3543.2 -> two steps.
    averse = solve_stochastic({k: future(d) for k, d in FUTURES.items()}, w, cvar_weight=1.0, cvar_alpha=0.8,
                              options=EXACT)
    objective = {n: expected[n] + cost(n, 18) for n in range(3)}
    assert averse.plan.count("P1", "step", 2026) == 2
    assert averse.figures["RP"] == pytest.approx(objective[2], rel=1e-9)
    assert averse.figures["cvar"] == pytest.approx(cost(2, 18), rel=1e-9)
    # the EV plan (mean demand 5.2 GWh: one step) under the same risk measure
    assert averse.figures["EEV"] == pytest.approx(objective[1], rel=1e-9)
    assert averse.figures["VSS"] == pytest.approx(objective[1] - objective[2], abs=1e-6)


def test_risk_value_is_expectation_plus_cvar():
    costs, w = [10.0, 20.0, 40.0, 100.0], [0.4, 0.3, 0.2, 0.1]
    assert risk_value(costs, w) == pytest.approx(4 + 6 + 8 + 10)
    # alpha = 0.7: the worst 30 % are 100 (0.1) and 40 (0.2): (0.1 * 100 + 0.2 * 40) / 0.3 = 60
    assert risk_value(costs, w, cvar_weight=2.0, cvar_alpha=0.7) == pytest.approx(28 + 2 * 60)
    # alpha = 0.85: the worst 15 %: all of 100 (0.1) and half of 40's mass (0.05): (10 + 2) / 0.15 = 80
    assert risk_value(costs, w, cvar_weight=1.0, cvar_alpha=0.85) == pytest.approx(28 + 80)
    assert risk_value([1.0, math.inf], [0.5, 0.5]) == math.inf


def test_plan_evaluation_and_regret_by_hand():
    plans = {"none": Plan(()), "two": Plan(((("P1", "step", 2026), 2),))}
    rows = []
    for k, d in FUTURES.items():
        for pid, e in zip(plans, evaluate_plans(future(d), list(plans.values()), EXACT)):
            rows.append((pid, k, e.status.value, e.cost))
    ev = pd.DataFrame(rows, columns=["plan", "scenario", "status", "cost_musd"])
    got = ev.set_index(["plan", "scenario"])["cost_musd"]
    assert got["none", "low"] == pytest.approx(cost(0, 2)) and got["none", "high"] == pytest.approx(cost(0, 18))
    assert got["two", "low"] == pytest.approx(cost(2, 2)) and got["two", "high"] == pytest.approx(cost(2, 18))

    optima = {"low": cost(0, 2), "high": cost(2, 18)}
    regret, summary = regret_tables(ev, optima, own_plan={"low": "none", "high": "two"})
    r = regret.set_index(["plan", "scenario"])["regret_musd"]
    assert r["none", "high"] == pytest.approx(3618 - 2418) and r["two", "low"] == pytest.approx(802 - 402)
    assert r["none", "low"] == pytest.approx(0) and r["two", "high"] == pytest.approx(0)
    s = summary.set_index("plan")
    assert s.loc["two", "max_regret_musd"] == pytest.approx(400) and bool(s.loc["two", "least_max_regret"])
    assert s.loc["two", "expected_cost_musd"] == pytest.approx(0.5 * 802 + 0.5 * 2418)
    assert bool(s.loc["two", "least_expected_cost"]) and not bool(s.loc["none", "least_expected_cost"])
    assert list(s["optimal_in"]) == [1, 1]


def test_an_infeasible_plan_has_infinite_regret():
    # hard demand of 18 GWh cannot be met without two steps: a plan with none is infeasible there
    hard = (TinyCase(years=1, demand="hard")
            .plant("P1", capacity=0, cost=100, step_gwh=10, step_cost_musd=STEP, max_steps=2)
            .demand(gwh=18)).scenario()
    none, two = evaluate_plans(hard, [Plan(()), Plan(((("P1", "step", 2026), 2),))], EXACT)
    assert none.cost is None and none.status.value == "infeasible"
    assert two.cost == pytest.approx(cost(2, 18))
    ev = pd.DataFrame([("none", "hard", "infeasible", None), ("two", "hard", "optimal", two.cost)],
                      columns=["plan", "scenario", "status", "cost_musd"])
    _, summary = regret_tables(ev, {"hard": two.cost})
    s = summary.set_index("plan")
    assert s.loc["none", "max_regret_musd"] == math.inf and s.loc["none", "expected_cost_musd"] == math.inf
    assert bool(s.loc["two", "least_max_regret"])


def test_mean_scenario_averages_every_number():
    mean = mean_scenario([future(2), future(18)], [0.5, 0.5])
    demand = mean.table("demand")
    assert float(demand["vehicles"].iloc[0]) == pytest.approx(future(10).table("demand")["vehicles"].iloc[0])
    weighted = mean_scenario([future(2), future(18)], [0.8, 0.2])
    assert float(weighted.data.demand_gwh["A1", "M", 2026]) == pytest.approx(5.2)


BASE_LOADS: list[str] = []  # every scenario load (and so validation) during the futures run, by path


@pytest.fixture(scope="module")
def futures_run(ray_session, tmp_path_factory):
    from optimizer.robust.run import run_robust

    out = tmp_path_factory.mktemp("futures")
    with pytest.MonkeyPatch.context() as patch:
        # every module of the package that holds load_scenario gets a counting wrapper of it
        for module in [m for name, m in sys.modules.items() if name.startswith("optimizer")]:
            original = getattr(module, "load_scenario", None)
            if callable(original):
                def counted(path, _original=original):
                    BASE_LOADS.append(str(path))
                    return _original(path)
                patch.setattr(module, "load_scenario", counted)
        return run_robust(ROOT / "scenarios" / "sweeps" / "futures.yaml", out, workers=2)


@pytest.mark.slow
def test_a_robust_run_validates_its_base_once(futures_run):
    assert len(BASE_LOADS) == 1, BASE_LOADS


@pytest.mark.slow
def test_regret_matrix_of_a_20_scenario_sweep(futures_run):
    run = futures_run
    assert len(run.scenarios) == 20 and not run.left_out
    regret = run.regret
    matrix = regret.pivot(index="plan", columns="scenario", values="regret_musd")
    assert matrix.shape == (run.plans["plan"].nunique(), 20)
    assert matrix.notna().all().all()
    assert (regret["status"] == "optimal").all()
    assert (regret["regret_musd"] >= 0).all()
    # every scenario's own plan, re-evaluated with its builds fixed, costs what the sweep's MILP found
    summary = pd.read_parquet(run.out / "summary.parquet").set_index("case")
    builds = pd.read_parquet(run.out / "builds.parquet")
    plans = {pid: Plan.from_builds(g.dropna(subset=["plant"])) for pid, g in run.plans.groupby("plan")}
    for name in run.scenarios:
        chosen = Plan.from_builds(builds[builds["case_key"] == summary.loc[name, "case_key"]])
        plan_id = run.own_plan[name]
        assert plans[plan_id] == chosen
        row = regret[(regret["plan"] == plan_id) & (regret["scenario"] == name)].iloc[0]
        assert row["cost_musd"] == pytest.approx(summary.loc[name, "objective"], rel=1e-6)
        assert row["regret_musd"] <= 1e-6 * row["cost_musd"]
    # the summary's figures come from the matrix
    s = run.plan_summary.set_index("plan")
    assert s["max_regret_musd"].to_dict() == pytest.approx(matrix.max(axis=1).to_dict())
    assert int(s["optimal_in"].sum()) == 20
    assert s["least_max_regret"].sum() >= 1 and s["least_expected_cost"].sum() >= 1
    written = pd.read_parquet(run.out / "robust" / "regret.parquet")
    assert len(written) == len(regret)


@pytest.mark.slow
def test_stochastic_plan_of_the_sweep_is_consistent(futures_run):
    st = futures_run.stochastic
    f = st.figures
    assert st.status.value == "optimal"
    # the extensive form may pick any plan, so it can do no worse than the best of the sweep's plans,
    # no better than perfect information, and no worse than the plan of the average future
    best = futures_run.plan_summary["expected_cost_musd"].min()
    assert f["WS"] <= f["RP"] + 1e-6 <= best + 1e-3
    assert f["EEV"] >= f["RP"] - 1e-3 and f["VSS"] >= -1e-3 and f["EVPI"] >= -1e-3
    # the stochastic plan evaluated in each future, one by one, averages to RP
    from optimizer.io import load_scenario
    from optimizer.sweep.apply import apply_changes
    from optimizer.sweep.spec import load_sweep

    sweep = load_sweep(ROOT / "scenarios" / "sweeps" / "futures.yaml")
    base = load_scenario(sweep.base_path)
    costs = [evaluate_plans(apply_changes(base, c.changes), [st.plan], EXACT)[0].cost for c in sweep.cases()]
    assert sum(costs) / len(costs) == pytest.approx(f["RP"], rel=1e-6)
    manifest = json.loads((futures_run.out / "robust" / "manifest.json").read_text())
    assert manifest["stochastic"]["figures"]["VSS"] == pytest.approx(f["VSS"])
    assert (futures_run.out / "robust" / "stochastic" / "flows.parquet").is_file()


def run_cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "optimizer", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=900)


@pytest.mark.slow
def test_robust_cli_on_the_smoke_sweep(tmp_path):
    # smoke.yaml mixes a delay (other lead times: a different model structure) with price changes
    # the delayed future is judged twice as likely as each of the others: weights 1,1,1,2,1,1 -> 2/7
    out = tmp_path / "smoke"
    weights = tmp_path / "weights.csv"
    names = ["base", "grid-cn_us_tariff=0.534", "grid-cn_us_tariff=1.034", "ibaraki_slips_2y", "sample-0000",
             "sample-0001"]
    pd.DataFrame({"scenario": names, "weight": [1, 1, 1, 2, 1, 1]}).to_csv(weights, index=False)
    proc = run_cli("robust", str(ROOT / "scenarios" / "sweeps" / "smoke.yaml"), "--out", str(out), "--workers", "2",
                   "--decision-year", "2030", "--weights", str(weights))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "stochastic plan (optimal)" in proc.stdout and "VSS" in proc.stdout
    manifest = json.loads((out / "robust" / "manifest.json").read_text())
    assert manifest["scenarios"] == 6 and manifest["stochastic"]["decision_year"] == 2030
    futures = pd.read_parquet(out / "robust" / "stochastic" / "scenarios.parquet").set_index("scenario")
    assert futures.loc["ibaraki_slips_2y", "probability"] == pytest.approx(2 / 7)
    assert futures.loc["base", "probability"] == pytest.approx(1 / 7)
    regret = pd.read_parquet(out / "robust" / "regret.parquet")
    delayed = regret.loc[regret["scenario"] == "ibaraki_slips_2y", "weight"]
    assert len(delayed) == regret["plan"].nunique() and list(delayed) == pytest.approx([2 / 7] * len(delayed))
    summary = pd.read_parquet(out / "robust" / "plan_summary.parquet")
    for plan, g in regret.groupby("plan"):
        expected = float((g["cost_musd"] * g["weight"]).sum())
        assert summary.set_index("plan").loc[plan, "expected_cost_musd"] == pytest.approx(expected)
    assert manifest["least_max_regret"]["plan"] in set(pd.read_parquet(out / "robust" / "plans.parquet")["plan"])
    plan = pd.read_parquet(out / "robust" / "stochastic" / "plan.parquet")
    assert (plan["start_year"] <= 2030).all()
    # builds up to the decision year are shared by every future; later ones are each future's own
    shared = Plan.from_builds(plan)
    builds = pd.read_parquet(out / "robust" / "stochastic" / "builds.parquet")
    for name in pd.read_parquet(out / "robust" / "stochastic" / "scenarios.parquet")["scenario"]:
        early = builds[(builds["scenario"] == name) & (builds["start_year"] <= 2030)]
        assert Plan.from_builds(early) == shared, name


def test_robust_cli_bad_sweep_writes_nothing(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text((ROOT / "scenarios" / "sweeps" / "smoke.yaml").read_text().replace("base: ../base",
                   f"base: {ROOT / 'scenarios' / 'base'}").replace("column: tariff_rate", "column: tarif_rate"))
    out = tmp_path / "out"
    proc = run_cli("robust", str(bad), "--out", str(out))
    assert proc.returncode == 2
    assert "tarif_rate" in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists()


@pytest.mark.slow
def test_benders_on_ray_matches_the_extensive_form(ray_session):
    from optimizer.robust.benders import solve_benders

    # the two futures: Benders reaches the hand-derived plan and RP = 1610
    tiny = solve_benders({k: future(d) for k, d in FUTURES.items()}, options=EXACT, tolerance=1e-9)
    assert tiny.status.value == "optimal"
    assert tiny.plan.count("P1", "step", 2026) == 2
    assert tiny.upper_bound == pytest.approx(0.5 * cost(2, 2) + 0.5 * cost(2, 18), rel=1e-9)
    assert tiny.lower_bound <= tiny.upper_bound + 1e-6
    # eight base-case futures with a CVaR term: the same objective as the extensive form
    import itertools

    from optimizer.io import load_scenario
    from optimizer.sweep.apply import apply_changes
    from optimizer.sweep.spec import load_sweep

    sweep = load_sweep(ROOT / "scenarios" / "sweeps" / "futures.yaml")
    base = load_scenario(sweep.base_path)
    futures = {c.name: apply_changes(base, c.changes) for c in itertools.islice(sweep.cases(), 8)}
    options = SolveOptions(rel_gap=1e-7, threads=1)
    risk = {"cvar_weight": 0.5, "cvar_alpha": 0.75}
    # (optima only feed WS, not compared here: zeros spare solving each future alone)
    ef = solve_stochastic(futures, options=options, optima={k: 0.0 for k in futures}, **risk)
    bd = solve_benders(futures, options=options, tolerance=1e-7, **risk)
    assert bd.status.value == "optimal" and ef.status.value == "optimal"
    assert bd.upper_bound == pytest.approx(ef.figures["RP"], rel=1e-6)
    # Benders' own record of its plan's costs, recomputed one future at a time
    costs = [evaluate_plans(s, [bd.plan], EXACT)[0].cost for s in futures.values()]
    assert risk_value(costs, [1] * len(costs), **risk) == pytest.approx(bd.upper_bound, rel=1e-7)
    assert [h["lower_bound"] for h in bd.history] == sorted(h["lower_bound"] for h in bd.history)


@pytest.mark.parametrize(("rows", "row", "column", "rule"), [
    ("scenario,weight\nbase,1\nnope,1\n", 3, "scenario", "reference"),
    ("scenario,weight\nbase,1\nbase,2\nother,1\n", 3, "scenario", "duplicate-key"),
    ("scenario,weight\nbase,-1\nother,1\n", 2, "weight", "range"),
    ("scenario,weight\nbase,lots\nother,1\n", 2, "weight", "range"),
    ("scenario,weight\nbase,1\n", None, "scenario", "coverage"),
    ("scenario,probability\nbase,1\nother,1\n", 1, "weight", "missing-column"),
    ("scenario,weight\nbase,0\nother,0\n", None, "weight", "range"),
])
def test_bad_weights_are_named_by_file_row_column_and_rule(tmp_path, rows, row, column, rule):
    from optimizer.errors import InputError
    from optimizer.robust.run import read_weights

    path = tmp_path / "w.csv"
    path.write_text(rows)
    with pytest.raises(InputError) as err:
        read_weights(path, ["base", "other"])
    problem = err.value.problems[0]
    assert (problem.file, problem.row, problem.column, problem.rule) == (str(path), row, column, rule)


def test_weights_file_read_and_checked_before_anything_is_written(tmp_path):
    from optimizer.robust.run import read_weights

    good = tmp_path / "w.csv"
    good.write_text("scenario,weight\nother,3\nbase,1\n")
    assert read_weights(good, ["base", "other"]) == {"base": 1.0, "other": 3.0}
    bad = tmp_path / "bad.csv"
    bad.write_text("scenario,weight\nbase,1\n")
    out = tmp_path / "out"
    smoke = str(ROOT / "scenarios" / "sweeps" / "smoke.yaml")
    proc = run_cli("robust", smoke, "--out", str(out), "--weights", str(bad))
    assert proc.returncode == 2 and "[coverage]" in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists()
