"""The HTML report of a result folder: one self-contained file (plotly.js inlined once, no external URL).

Sections, each a ``<section>`` with a stable id: ``kpis``, ``build-plan`` (nameplate capacity by plant and
year, and the builds), ``sourcing`` (a Sankey of GWh from cell plant to assembly plant), ``costs`` (nominal
cost by category and year), ``utilisation`` (plant x year heatmap), ``landed-cost`` (by lane); for a sweep
also ``distributions``, ``build-frequency`` and ``tornado``. For a sweep the single-plan sections show
the baseline case (``base`` if the sweep has one, else its first scenario with a solution).
"""

from __future__ import annotations

import functools
import html
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from .api import load_results
from .files import atomic_write
from .location import resolve
from .report_parts import (
    MONEY_AXIS,
    Page,
    comparison,
    demand_capacity,
    explanation,
    html_table,
    kpi_label,
    marginal_value,
    overview,
    sourcing_by_year,
)
from .review import Review, ReviewData

SOLVE_SECTIONS = ("overview", "kpis", "demand", "build-plan", "sourcing", "costs", "utilisation", "marginal-value",
                  "landed-cost")
SWEEP_SECTIONS = (*SOLVE_SECTIONS, "distributions", "build-frequency", "tornado")
REPORT_NAME = "report.html"
COST_COLOURS = {"investment": "#6c5ce7", "fixed_om": "#2d9cdb", "cell": "#eb5757", "freight": "#27ae60",
                "tariff": "#f2994a", "carbon": "#7f8c8d", "credit": "#00b894", "unserved": "#c0392b"}
PLAN_SECTIONS = (("demand", "Demand against capacity"), ("build-plan", "Capacity build plan"),
                 ("sourcing", "Sourcing flows"), ("costs", "Cost breakdown"), ("utilisation", "Utilisation"),
                 ("marginal-value", "Marginal value of capacity"), ("landed-cost", "Landed cost by lane"))

STYLE = """
body { font-family: "Liberation Sans", Arial, sans-serif; margin: 0 auto; max-width: 1150px; padding: 0 1.5em 3em;
       color: #1f2933; }
h1 { margin-bottom: 0.2em; } .meta { color: #52606d; margin-top: 0; }
nav a { margin-right: 1em; } section { border-top: 1px solid #d9e2ec; padding-top: 0.5em; margin-top: 1.5em; }
table.data { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0; }
table.data th, table.data td { border: 1px solid #d9e2ec; padding: 0.2em 0.6em; text-align: right; }
table.data th { background: #f0f4f8; } p.note { color: #52606d; font-size: 0.9em; }
table.meta-table th { text-align: left; } table.meta-table td { text-align: left; }
p.alert { background: #fff4e5; border-left: 4px solid #f2994a; padding: 0.5em 0.8em; }
div.scroll { overflow-x: auto; max-width: 100%; }
"""


def _note(text: str) -> str:
    return f'<p class="note">{html.escape(text)}</p>'


def focus_case(data: ReviewData, baseline: str | None = None) -> tuple[str | None, str]:
    """The case_key of the plan shown in the single-plan sections, and a note saying which it is: the case
    named ``baseline`` if given, else ``base``, else (a sweep without a base case) the first case by name
    with a solution, never simply the first to finish. Raises ValueError for a ``baseline`` not solved here."""
    solved = data.solved()
    if baseline is not None:
        named = solved[solved["case"] == baseline]
        if not len(named):
            known = ", ".join(sorted(map(str, solved["case"]))[:12])
            raise ValueError(f"--baseline {baseline!r} is not a case with a solution in this sweep (cases: {known})")
        return str(named["case_key"].iloc[0]), f"Single-plan sections show case {baseline} (chosen as the baseline)."
    if not len(solved):
        return None, "No scenario has a solution."
    named = solved[solved["case"] == "base"]
    if len(named):
        return str(named["case_key"].iloc[0]), "Single-plan sections show the base case."
    first = solved.sort_values("case", kind="stable").iloc[0]
    return str(first["case_key"]), (f"The sweep has no base case: single-plan sections show case {first['case']} "
                                    "(the first by name; choose another with --baseline).")


def _of(data: ReviewData, name: str, key: str | None) -> pd.DataFrame:
    t = data.table(name)
    return t[t["case_key"] == key] if len(t) else t


def _kpis(page: Page, result: Review, data: ReviewData, key: str | None) -> None:
    parts = []
    if data.is_sweep:
        counts = data.summary["status"].value_counts().rename_axis("status").reset_index(name="scenarios")
        parts += [_note(f"{len(data.summary)} scenarios by status:"), html_table(counts)]
    if key is None:
        page.section("kpis", "Key figures", *parts, _note("No scenario has a solution."))
        return
    row = data.summary[data.summary["case_key"] == key].iloc[0]
    kpis = pd.DataFrame({"KPI": [kpi_label(k)[0] for k in data.kpis], "unit": [kpi_label(k)[1] for k in data.kpis],
                         "value": [row[k] for k in data.kpis]})
    if data.is_sweep:
        dist = result.distributions((0.05, 0.5, 0.95)).set_index("kpi")
        kpis = kpis.assign(**{f"sweep {c}": [dist[c].get(k) for k in data.kpis] for c in ("p5", "p50", "p95")})
        parts.append(_note(f"Case {row['case']} (the baseline), with the 5th, 50th and 95th percentile of each "
                           "KPI across the scenarios with a solution."))
    page.section("kpis", "Key figures", *parts, html_table(kpis, 3))


def _build_plan(page: Page, data: ReviewData, key: str | None) -> None:
    cap = _of(data, "capacity", key)
    builds = _of(data, "builds", key)
    fig = go.Figure()
    for plant, rows in cap.groupby("plant", sort=True):
        if rows["nameplate_gwh"].abs().sum() > 0:
            fig.add_bar(x=rows["year"], y=rows["nameplate_gwh"], name=str(plant))
    closures = builds[builds["kind"] == "closure"] if len(builds) else builds
    if len(closures):  # a closed plant's bars stop at its closure year: mark where and why
        fig.add_scatter(x=closures["start_year"], y=[0.0] * len(closures), mode="markers+text",
                        marker={"symbol": "x", "size": 12, "color": "black"}, text=closures["plant"] + " closes",
                        textposition="top center", name="closures")
    fig.update_layout(barmode="stack", title="Nameplate cell capacity by plant (GWh/yr)", xaxis_title="year",
                      yaxis_title="GWh/yr")
    table = builds[["plant", "kind", "start_year", "count", "gwh", "online_year", "cash_musd"]] if len(builds) \
        else pd.DataFrame()
    page.section("build-plan", "Capacity build plan", page.chart(fig, "chart-build-plan"),
                 _note("Builds started (openings and expansion steps) and closures (from their year on, the plant "
                       "has no capacity; cash = the closure cost), cash in $M nominal:"), html_table(table))


def _sourcing(page: Page, data: ReviewData, key: str | None) -> None:
    flows = _of(data, "flows", key)
    lanes = flows.groupby(["plant", "assembly"], as_index=False)["gwh"].sum() if len(flows) else flows
    plants = sorted(lanes["plant"].unique()) if len(lanes) else []
    assemblies = sorted(lanes["assembly"].unique()) if len(lanes) else []
    index = {name: i for i, name in enumerate([*plants, *[f"{a} (assembly)" for a in assemblies]])}
    fig = go.Figure(go.Sankey(
        node={"label": list(index), "pad": 12},
        link={"source": [index[p] for p in lanes.get("plant", [])],
              "target": [index[f"{a} (assembly)"] for a in lanes.get("assembly", [])],
              "value": list(lanes.get("gwh", []))}))
    fig.update_layout(title="Cells shipped from cell plant to assembly plant, whole horizon (GWh)", height=520)
    page.section("sourcing", "Sourcing flows", page.chart(fig, "chart-sourcing"), sourcing_by_year(page, data, key))


def _costs(page: Page, data: ReviewData, key: str | None) -> None:
    costs = _of(data, "costs", key)
    fig = go.Figure()
    for category, rows in costs.groupby("category", sort=False):
        if rows["nominal_musd"].abs().sum() > 0:
            fig.add_bar(x=rows["year"], y=rows["nominal_musd"], name=str(category),
                        marker_color=COST_COLOURS.get(str(category)))
    fig.update_layout(barmode="relative", title="Cost by category and year ($M nominal; credits below zero)",
                      xaxis_title="year", yaxis_title="$M", yaxis=MONEY_AXIS)
    parts = go.Figure()  # the smaller parts on their own scale: under the cell cost they are slivers
    for category, rows in costs.groupby("category", sort=False):
        if category not in ("cell", "unserved") and rows["nominal_musd"].abs().sum() > 0:
            parts.add_bar(x=rows["year"], y=rows["nominal_musd"], name=str(category),
                          marker_color=COST_COLOURS.get(str(category)))
    parts.update_layout(barmode="relative", title="The other parts on their own scale: without cell cost and the "
                        "unserved-demand penalty ($M nominal)",
                        xaxis_title="year", yaxis_title="$M", yaxis=MONEY_AXIS, height=380)
    totals = costs.pivot_table(index="category", values=["nominal_musd", "discounted_musd"], aggfunc="sum",
                               sort=False).reset_index() if len(costs) else pd.DataFrame()
    page.section("costs", "Cost breakdown", page.chart(fig, "chart-costs"), page.chart(parts, "chart-cost-parts"),
                 _note("Totals over the horizon (the discounted column sums to the objective):"), html_table(totals))


def _utilisation(page: Page, data: ReviewData, key: str | None) -> None:
    cap = _of(data, "capacity", key)
    grid = cap.pivot_table(index="plant", columns="year", values="utilisation", aggfunc="mean", dropna=False) \
        if len(cap) else pd.DataFrame()
    fig = go.Figure(go.Heatmap(z=grid.to_numpy(), x=[str(c) for c in grid.columns], y=list(grid.index),
                               zmin=0, zmax=1, colorscale="Blues", colorbar={"title": "share"},
                               hovertemplate="%{y} %{x}: %{z:.0%}<extra></extra>"))
    fig.update_layout(title="Utilisation: production / available capacity (blank: no capacity)",
                      height=120 + 28 * max(len(grid.index), 1))
    page.section("utilisation", "Utilisation", page.chart(fig, "chart-utilisation"))


def _landed(page: Page, result: Review, key: str | None) -> None:
    landed = result.landed_cost(by_year=False)
    landed = landed[landed["case_key"] == key].drop(columns=["case_key", "case"])
    landed.columns = [c.replace("_usd_per_kwh", "").replace("_musd", " $M").replace("_", " ") for c in landed.columns]
    page.section("landed-cost", "Landed cost by lane",
                 _note("Volume-weighted over the horizon, parts and landed cost in $/kWh nominal; cost in $M "
                       "nominal."), f'<div class="scroll">{html_table(landed)}</div>')


def _distributions(page: Page, result: Review, data: ReviewData) -> None:
    solved = data.solved()
    fig = go.Figure(go.Box(x=solved["objective"], name="total cost", boxpoints="all", jitter=0.4,
                           text=solved["case"], hovertemplate="%{text}: %{x:,.1f} $M<extra></extra>"))
    fig.update_layout(title="Total cost across scenarios ($M, discounted)", height=300, xaxis_title="$M",
                      xaxis=MONEY_AXIS)
    page.section("distributions", "Distributions across scenarios", page.chart(fig, "chart-distributions"),
                 html_table(result.distributions(), 3))


def _build_frequency(page: Page, result: Review) -> None:
    freq = result.build_frequency()
    parts = []
    if len(freq):
        rows = (freq["plant"] + " " + freq["kind"]).rename("build")
        grid = freq.assign(build=rows).pivot_table(index="build", columns="start_year", values="share",
                                                   aggfunc="sum")
        fig = go.Figure(go.Heatmap(z=grid.to_numpy(), x=[str(c) for c in grid.columns], y=list(grid.index),
                                   zmin=0, zmax=1, colorscale="Greens", colorbar={"title": "share"},
                                   hovertemplate="%{y} started %{x}: %{z:.0%} of scenarios<extra></extra>"))
        fig.update_layout(title="Share of scenarios that start each build, by start year",
                          height=160 + 30 * len(grid.index))
        parts.append(page.chart(fig, "chart-build-frequency"))
    else:
        parts.append(_note("No scenario builds anything."))
    page.section("build-frequency", "Build frequency", *parts, html_table(freq, 3))


def _tornado(page: Page, result: Review) -> None:
    tornado = result.tornado()
    flat = tornado[tornado["swing"].abs() <= 1e-9 * tornado["reference"].abs().clip(lower=1.0)]
    tornado = tornado.drop(flat.index)
    parts = [_note("For each swept parameter: mean total cost of the scenarios at its low values (bottom quartile) "
                   "and at its high values (top quartile); the axis is the median total cost.")]
    if len(tornado):
        t = tornado.iloc[::-1]
        fig = go.Figure()
        for side, color in (("low", "#2f80ed"), ("high", "#eb5757")):
            fig.add_bar(y=t["parameter"], x=t[f"{side}_cost"] - t["reference"], base=t["reference"],
                        orientation="h", name=f"{side} value", marker_color=color, opacity=0.7,
                        customdata=t[f"{side}_value"],
                        hovertemplate="%{y} = %{customdata:.4g}: %{x:,.1f} $M<extra></extra>")
        fig.update_layout(barmode="overlay", title="Tornado: total cost at low vs high parameter values ($M)",
                          height=160 + 40 * len(t), xaxis_title="$M (discounted)", xaxis=MONEY_AXIS)
        parts.append(page.chart(fig, "chart-tornado"))
    else:
        parts.append(_note("No numeric swept parameter takes two or more values."))
    if len(flat):
        parts.append(_note("Not drawn, as they do not move the total cost: " + ", ".join(flat["parameter"]) + "."))
    page.section("tornado", "Sensitivity (tornado)", *parts, html_table(tornado))


def build_report(result: Review, title: str, other: Review | None = None, baseline: str | None = None) -> str:
    """The report of a solve or a sweep as one HTML string; ``other`` adds a side-by-side comparison with a
    second result, ``baseline`` names the sweep case the single-plan sections show."""
    data = result.review_data()
    key, baseline_note = focus_case(data, baseline)
    manifest = getattr(result, "manifest", {}) if not data.is_sweep else {}
    penalty = (manifest.get("settings") or {}).get("unserved_penalty_usd_per_kwh")
    page = Page()
    builders: list[Callable[[], None]] = [
        lambda: overview(page, result, data, key, baseline_note), lambda: _kpis(page, result, data, key),
        lambda: demand_capacity(page, data, key, penalty), lambda: _build_plan(page, data, key),
        lambda: _sourcing(page, data, key), lambda: _costs(page, data, key),
        lambda: _utilisation(page, data, key), lambda: marginal_value(page, data, key),
        lambda: _landed(page, result, key),
    ]
    if key is None:  # no plan: each single-plan section says so (charts of empty tables only confuse)
        builders[2:] = [functools.partial(page.section, i, t, _note("No plan to show: no solution."))
                        for i, t in PLAN_SECTIONS]
    ids = list(SWEEP_SECTIONS if data.is_sweep else SOLVE_SECTIONS)
    if data.is_sweep:
        builders += [lambda: _distributions(page, result, data), lambda: _build_frequency(page, result),
                     lambda: _tornado(page, result)]
    if manifest.get("why_infeasible") is not None:
        builders.insert(1, lambda: explanation(page, manifest))
        ids.insert(1, "explanation")
    if other is not None:
        name, other_name = _name(result), _name(other)
        if name == other_name:
            name, other_name = f"{name} (A)", f"{other_name} (B)"
        builders.insert(2, lambda: comparison(page, result, other, name, other_name))
        ids.insert(2, "compare")
    for build in builders:
        build()
    nav = "".join(f'<a href="#{i}">{i.replace("-", " ")}</a>' for i in ids)
    kind = f"sweep of {len(data.summary)} scenarios" if data.is_sweep else "single solve"
    created = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{STYLE}</style></head>'
            f'<body><h1>{html.escape(title)}</h1><p class="meta">{kind}; report written {created}</p>'
            f'<nav>{nav}</nav>{"".join(page.sections)}</body></html>')


def _name(result: Review) -> str:
    return str(result.meta.get("sweep") if hasattr(result, "meta") else result.scenario)  # type: ignore[attr-defined]


def write_report(results_dir: str | Path, out: str | Path | None = None, compare: str | Path | None = None,
                 baseline: str | None = None) -> Path | str:
    """Write the report of the result folder ``results_dir`` to ``out`` (default ``results_dir/report.html``),
    atomically; ``compare`` is a second result folder to set beside it, ``baseline`` the sweep case shown in
    the single-plan sections. Raises FileNotFoundError if a folder is not a result folder, ValueError for a
    baseline that is not a solved case."""
    loc = resolve(str(results_dir))  # a folder, or a sweep's s3:// / gs:// URI
    if loc.local and not Path(loc.root).is_dir():
        raise FileNotFoundError(f"{results_dir} is not a folder")
    result = load_results(str(results_dir))
    other = load_results(str(compare)) if compare is not None else None
    title = f"Results: {_name(result)}" + (f" against {_name(other)}" if other is not None else "")
    text = build_report(result, title, other, baseline)
    if out is None and not loc.local:
        loc.write_text(text, REPORT_NAME)
        return f"{loc.uri}/{REPORT_NAME}"
    target = Path(out) if out is not None else Path(loc.root) / REPORT_NAME
    atomic_write(target, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    return target
