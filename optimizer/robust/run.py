"""``optimizer robust``: solve a sweep (or resume it), cross-evaluate its plans on Ray, solve the
two-stage stochastic programme over its scenarios, and write the tables under ``DIR/robust/``.

Scenarios are weighted equally (a sweep's samples are equally likely draws; a grid is read as equally
likely futures) unless a weights file gives each case its probability (:func:`read_weights`).
Scenarios whose own solve found no solution are left out of both analyses and listed in the manifest.
"""

from __future__ import annotations

import math
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..errors import InputError, Problem
from ..files import atomic_write
from ..outpath import check_output_folder
from ..ray_pool import connect, disconnect
from ..solver import SolveOptions, Status
from ..sweep.apply import apply_changes
from ..sweep.dataset import SweepResult
from ..sweep.runner import run_sweep
from ..sweep.spec import load_sweep
from .plans import Plan
from .regret import cross_evaluate, regret_tables
from .stochastic import StochasticResult, solve_stochastic, write_json

EF_TIME_LIMIT = 1800.0


@dataclass
class RobustRun:
    """What :func:`run_robust` produced (the same tables are written under ``out/robust``)."""

    out: Path
    scenarios: list[str]
    left_out: dict[str, str]
    plans: pd.DataFrame = field(default_factory=pd.DataFrame)
    own_plan: dict[str, str] = field(default_factory=dict)  # scenario -> the plan it chose
    regret: pd.DataFrame = field(default_factory=pd.DataFrame)
    plan_summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    stochastic: StochasticResult | None = None
    timings: dict[str, float] = field(default_factory=dict)


def run_robust(
    sweep_file: str | Path,
    out: str | Path | None = None,
    *,
    address: str | None = None,
    workers: int | None = None,
    time_limit: float | None = None,
    regret: bool = True,
    stochastic: bool = True,
    decision_year: int | None = None,
    cvar_weight: float = 0.0,
    cvar_alpha: float = 0.95,
    ef_time_limit: float = EF_TIME_LIMIT,
    ef_threads: int | None = None,
    method: str = "extensive",
    weights_file: str | Path | None = None,
) -> RobustRun:
    """Sweep, regret matrix and stochastic plan for one sweep file (see the module docstring)."""
    if method not in ("extensive", "benders"):
        raise ValueError(f"--method is 'extensive' or 'benders', got {method!r}")
    if method == "benders" and decision_year is not None:
        raise ValueError("--method benders shares every build: a --decision-year needs the extensive form")
    sweep = load_sweep(sweep_file)
    base = sweep.load_base()  # validated once, by load_sweep
    weights = read_weights(weights_file, [c.name for c in sweep.cases()]) if weights_file else None
    out = Path(out) if out is not None else Path("results") / sweep.name
    check_output_folder(out)  # before any solve: a wrong --out is found at once
    timings: dict[str, float] = {}
    started_here = connect(address, workers)  # one Ray for the sweep, the cross-evaluation and Benders
    try:
        t = time.perf_counter()
        run_sweep(sweep, out, address=address, workers=workers, time_limit=time_limit)
        timings["sweep_seconds"] = time.perf_counter() - t
        result = SweepResult(out)
        options = SolveOptions(**{k: v for k, v in result.meta["options"].items() if k != "extra"})
        cases = {c.name: c for c in sweep.cases()}
        summary = result.summary
        solved = summary[summary["status"].isin([Status.OPTIMAL.value, Status.FEASIBLE.value])]
        left_out = {str(r.case): str(r.status) for r in summary.itertuples() if r.case not in set(solved["case"])}
        names = sorted(solved["case"], key=list(cases).index)
        key_of = dict(zip(solved["case"], solved["case_key"]))
        optima = dict(zip(solved["case"], solved["objective"].astype(float)))

        builds = result.builds
        own: dict[str, Plan] = {}
        for name in names:
            rows = builds[builds["case_key"] == key_of[name]] if len(builds) else builds
            own[name] = Plan.from_builds(rows) if len(rows) else Plan(())
        plans = _number_plans(own)
        run = RobustRun(out, names, left_out, timings=timings)
        run.own_plan = {n: pid for n in names for pid, p in plans.items() if p == own[n]}
        run.plans = pd.concat([p.frame(pid) for pid, p in plans.items()], ignore_index=True) \
            if any(p.builds for p in plans.values()) else Plan(()).frame("")
        run.plans = _plan_labels(plans).merge(run.plans, on="plan", how="left")
        if regret:
            t = time.perf_counter()
            evaluations = cross_evaluate(base, [cases[n] for n in names], plans, options, source=str(sweep.path),
                                         address=address, workers=workers)
            timings["cross_evaluation_seconds"] = time.perf_counter() - t
            run.regret, run.plan_summary = regret_tables(evaluations, optima, _weights_of(weights, names),
                                                         own_plan=run.own_plan)
            run.plan_summary = _plan_labels(plans).merge(run.plan_summary, on="plan")
        if stochastic and names:
            t = time.perf_counter()
            scenarios = {n: apply_changes(base, cases[n].changes, source=str(sweep.path)) for n in names}
            ef_options = SolveOptions(time_limit=ef_time_limit, rel_gap=options.rel_gap, threads=ef_threads or 1,
                                      seed=options.seed)
            run.stochastic = solve_stochastic(scenarios, _weights_of(weights, names), decision_year=decision_year,
                                              cvar_weight=cvar_weight,
                                              cvar_alpha=cvar_alpha, options=ef_options, optima=optima,
                                              method=method, workers=workers, address=address)
            timings["stochastic_seconds"] = time.perf_counter() - t
    finally:
        disconnect(started_here)
    _write(run, sweep.name)
    return run


def _weights_of(weights: dict[str, float] | None, names: list[str]) -> dict[str, float] | None:
    """The weights of the futures taken into the analyses (those with a solution), or None for equal."""
    if weights is None:
        return None
    if sum(weights[n] for n in names) <= 0:
        raise ValueError("the futures with a solution all have weight 0")
    return {n: weights[n] for n in names}


def _number_plans(own: dict[str, Plan]) -> dict[str, Plan]:
    """Distinct plans, most frequent first (ties by plan), as ``plan-01``, ``plan-02`` ..."""
    counts: dict[Plan, int] = {}
    for plan in own.values():
        counts[plan] = counts.get(plan, 0) + 1
    ordered = sorted(counts, key=lambda p: (-counts[p], p))
    width = max(2, len(str(len(ordered))))
    return {f"plan-{i + 1:0{width}d}": p for i, p in enumerate(ordered)}


def _plan_labels(plans: dict[str, Plan]) -> pd.DataFrame:
    return pd.DataFrame({"plan": list(plans), "label": [p.label() for p in plans.values()]})


def _write(run: RobustRun, sweep_name: str) -> None:
    target = run.out / "robust"
    target.mkdir(parents=True, exist_ok=True)
    frames = {"plans": run.plans, "regret": run.regret, "plan_summary": run.plan_summary,
              "scenario_plans": pd.DataFrame(list(run.own_plan.items()), columns=["scenario", "plan"])}
    for name, frame in frames.items():
        if len(frame.columns):
            atomic_write(target / f"{name}.parquet", lambda tmp, f=frame: f.to_parquet(tmp, index=False))
        else:  # not computed this run (--no-regret): no stale table from an earlier run may stay beside the rest
            (target / f"{name}.parquet").unlink(missing_ok=True)
    if run.stochastic is None and (target / "stochastic").is_dir():
        shutil.rmtree(target / "stochastic")
    manifest: dict = {"sweep": sweep_name, "scenarios": len(run.scenarios), "left_out": run.left_out,
                      "plans": int(run.plans["plan"].nunique()) if len(run.plans) else 0, "timings": run.timings}
    if len(run.plan_summary):
        s = run.plan_summary
        manifest["least_max_regret"] = _pick(s, "least_max_regret", "max_regret_musd")
        manifest["least_expected_cost"] = _pick(s, "least_expected_cost", "expected_cost_musd")
    if run.stochastic is not None:
        run.stochastic.write(target / "stochastic")
        keep = ("status", "method", "plan", "ev_plan", "figures", "size", "iterations", "decision_year", "cvar_weight",
                "cvar_alpha")
        manifest["stochastic"] = {k: v for k, v in run.stochastic.manifest.items() if k in keep}
    write_json(target / "manifest.json", manifest)


def _pick(summary: pd.DataFrame, flag: str, value: str) -> dict:
    row = summary[summary[flag]].iloc[0]
    return {"plan": row["plan"], "label": row["label"], value: float(row[value])}



def read_weights(path: str | Path, cases: list[str]) -> dict[str, float]:
    """Probability weights of the futures from a CSV file with columns ``scenario`` (the sweep's case
    name) and ``weight`` (>= 0; normalised to sum to 1). Every case of the sweep needs exactly one row.
    Raises :class:`~optimizer.errors.InputError` listing every problem (file, row, column, rule)."""
    path = Path(path)
    problems: list[Problem] = []
    try:
        frame = pd.read_csv(path, dtype={"scenario": str})
    except (OSError, ValueError) as exc:
        raise InputError([Problem(str(path), None, None, "file", f"cannot read the weights: {exc}")]) from None
    for col in ("scenario", "weight"):
        if col not in frame.columns:
            problems.append(Problem(str(path), 1, col, "missing-column", f"the weights need a '{col}' column"))
    if problems:
        raise InputError(problems)
    weights: dict[str, float] = {}
    known = set(cases)
    for i, (name, raw) in enumerate(zip(frame["scenario"], frame["weight"]), start=2):
        value = pd.to_numeric(pd.Series([raw]), errors="coerce").iloc[0]
        if name not in known:
            problems.append(Problem(str(path), i, "scenario", "reference", f"{name!r} is not a case of the sweep"))
        elif name in weights:
            problems.append(Problem(str(path), i, "scenario", "duplicate-key", f"{name!r} is listed twice"))
        if pd.isna(value) or not math.isfinite(value) or value < 0:
            problems.append(Problem(str(path), i, "weight", "range", f"a weight is a finite number >= 0, got {raw!r}"))
        elif name in known:
            weights[name] = float(value)
    missing = [c for c in cases if c not in weights and c not in set(frame["scenario"])]
    if missing:
        problems.append(Problem(str(path), None, "scenario", "coverage",
                                f"no weight for {len(missing)} case(s): {', '.join(missing[:5])}"))
    if not problems and sum(weights.values()) <= 0:
        problems.append(Problem(str(path), None, "weight", "range", "the weights add up to 0"))
    if problems:
        raise InputError(problems)
    return weights
