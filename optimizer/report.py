"""The HTML report of a result folder: one self-contained file (plotly.js inlined once, no external URL).

Sections, each a ``<section>`` with a stable id: ``kpis``, ``build-plan`` (nameplate capacity by plant and
year, and the builds), ``sourcing`` (a Sankey of GWh from cell plant to assembly plant), ``costs`` (nominal
cost by category and year), ``utilisation`` (plant x year heatmap), ``landed-cost`` (by lane); for a sweep
also ``distributions``, ``build-frequency`` and ``tornado``. For a sweep the single-plan sections show
the baseline case (``base`` if the sweep has one, else its first scenario with a solution).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from .results import atomic_write, load_results
from .review import Review, ReviewData

SOLVE_SECTIONS = ("kpis", "build-plan", "sourcing", "costs", "utilisation", "landed-cost")
SWEEP_SECTIONS = (*SOLVE_SECTIONS, "distributions", "build-frequency", "tornado")
REPORT_NAME = "report.html"

STYLE = """
body { font-family: "Liberation Sans", Arial, sans-serif; margin: 0 auto; max-width: 1150px; padding: 0 1.5em 3em;
       color: #1f2933; }
h1 { margin-bottom: 0.2em; } .meta { color: #52606d; margin-top: 0; }
nav a { margin-right: 1em; } section { border-top: 1px solid #d9e2ec; padding-top: 0.5em; margin-top: 1.5em; }
table.data { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0; }
table.data th, table.data td { border: 1px solid #d9e2ec; padding: 0.2em 0.6em; text-align: right; }
table.data th { background: #f0f4f8; } p.note { color: #52606d; font-size: 0.9em; }
"""


def _table(frame: pd.DataFrame, digits: int = 2) -> str:
    """A DataFrame as an HTML table (numbers with thousands separators, NaN as a dash)."""
    if not len(frame):
        return '<p class="note">(no rows)</p>'
    return frame.to_html(index=False, classes="data", border=0, na_rep="-",
                         float_format=lambda v: f"{v:,.{digits}f}")


class _Page:
    """Collects the sections; the first chart carries plotly.js inline, the others reuse it."""

    def __init__(self) -> None:
        self.sections: list[str] = []
        self.library_included = False

    def chart(self, fig: go.Figure, chart_id: str) -> str:
        fig.update_layout(template="plotly_white", margin={"l": 60, "r": 30, "t": 50, "b": 50})
        out = fig.to_html(full_html=False, include_plotlyjs=not self.library_included, div_id=chart_id,
                          config={"displaylogo": False, "responsive": True})
        self.library_included = True
        return out

    def section(self, section_id: str, title: str, *parts: str) -> None:
        self.sections.append(f'<section id="{section_id}"><h2>{html.escape(title)}</h2>{"".join(parts)}</section>')


def _note(text: str) -> str:
    return f'<p class="note">{html.escape(text)}</p>'


def focus_case(data: ReviewData) -> str | None:
    """The case_key of the plan shown in the single-plan sections: ``base`` if present, else the first
    scenario with a solution (None if none has one)."""
    solved = data.solved()
    if not len(solved):
        return None
    named = solved[solved["case"] == "base"]
    return str((named if len(named) else solved)["case_key"].iloc[0])


def _of(data: ReviewData, name: str, key: str | None) -> pd.DataFrame:
    t = data.table(name)
    return t[t["case_key"] == key] if len(t) else t


def _kpis(page: _Page, result: Review, data: ReviewData, key: str | None) -> None:
    parts = []
    if data.is_sweep:
        counts = data.summary["status"].value_counts().rename_axis("status").reset_index(name="scenarios")
        parts += [_note(f"{len(data.summary)} scenarios by status:"), _table(counts)]
    if key is None:
        page.section("kpis", "Key figures", *parts, _note("No scenario has a solution."))
        return
    row = data.summary[data.summary["case_key"] == key].iloc[0]
    kpis = pd.DataFrame({"kpi": data.kpis, "value": [row[k] for k in data.kpis]})
    if not data.is_sweep:
        kpis["unit"] = result.tables["kpis"]["unit"].to_numpy()
    else:
        dist = result.distributions((0.05, 0.5, 0.95)).set_index("kpi")
        kpis = kpis.assign(**{f"sweep {c}": kpis["kpi"].map(dist[c]) for c in ("p5", "p50", "p95")})
        parts.append(_note(f"Case {row['case']} (the baseline), with the 5th, 50th and 95th percentile of each "
                           "KPI across the scenarios with a solution."))
    page.section("kpis", "Key figures", *parts, _table(kpis, 3))


def _build_plan(page: _Page, data: ReviewData, key: str | None) -> None:
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
                       "has no capacity; cash = the closure cost), cash in $M nominal:"), _table(table))


def _sourcing(page: _Page, data: ReviewData, key: str | None) -> None:
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
    page.section("sourcing", "Sourcing flows", page.chart(fig, "chart-sourcing"))


def _costs(page: _Page, data: ReviewData, key: str | None) -> None:
    costs = _of(data, "costs", key)
    fig = go.Figure()
    for category, rows in costs.groupby("category", sort=False):
        if rows["nominal_musd"].abs().sum() > 0:
            fig.add_bar(x=rows["year"], y=rows["nominal_musd"], name=str(category))
    fig.update_layout(barmode="relative", title="Cost by category and year ($M nominal; credits below zero)",
                      xaxis_title="year", yaxis_title="$M")
    totals = costs.pivot_table(index="category", values=["nominal_musd", "discounted_musd"], aggfunc="sum",
                               sort=False).reset_index() if len(costs) else pd.DataFrame()
    page.section("costs", "Cost breakdown", page.chart(fig, "chart-costs"),
                 _note("Totals over the horizon (the discounted column sums to the objective):"), _table(totals))


def _utilisation(page: _Page, data: ReviewData, key: str | None) -> None:
    cap = _of(data, "capacity", key)
    grid = cap.pivot_table(index="plant", columns="year", values="utilisation", aggfunc="mean", dropna=False) \
        if len(cap) else pd.DataFrame()
    fig = go.Figure(go.Heatmap(z=grid.to_numpy(), x=[str(c) for c in grid.columns], y=list(grid.index),
                               zmin=0, zmax=1, colorscale="Blues", colorbar={"title": "share"},
                               hovertemplate="%{y} %{x}: %{z:.0%}<extra></extra>"))
    fig.update_layout(title="Utilisation: production / available capacity (blank: no capacity)",
                      height=120 + 28 * max(len(grid.index), 1))
    page.section("utilisation", "Utilisation", page.chart(fig, "chart-utilisation"))


def _landed(page: _Page, result: Review, key: str | None) -> None:
    landed = result.landed_cost(by_year=False)
    landed = landed[landed["case_key"] == key].drop(columns=["case_key", "case"])
    page.section("landed-cost", "Landed cost by lane",
                 _note("Volume-weighted over the horizon, $/kWh nominal; cost in $M nominal."), _table(landed))


def _distributions(page: _Page, result: Review, data: ReviewData) -> None:
    solved = data.solved()
    fig = go.Figure(go.Box(x=solved["objective"], name="total cost", boxpoints="all", jitter=0.4,
                           text=solved["case"], hovertemplate="%{text}: %{x:,.1f} $M<extra></extra>"))
    fig.update_layout(title="Total cost across scenarios ($M, discounted)", height=300, xaxis_title="$M")
    page.section("distributions", "Distributions across scenarios", page.chart(fig, "chart-distributions"),
                 _table(result.distributions(), 3))


def _build_frequency(page: _Page, result: Review) -> None:
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
    page.section("build-frequency", "Build frequency", *parts, _table(freq, 3))


def _tornado(page: _Page, result: Review) -> None:
    tornado = result.tornado()
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
                          height=160 + 40 * len(t), xaxis_title="$M (discounted)")
        parts.append(page.chart(fig, "chart-tornado"))
    else:
        parts.append(_note("No numeric swept parameter takes two or more values."))
    page.section("tornado", "Sensitivity (tornado)", *parts, _table(tornado))


def build_report(result: Review, title: str) -> str:
    """The report of a solve or a sweep as one HTML string."""
    data = result.review_data()
    key = focus_case(data)
    page = _Page()
    builders: list[Callable[[], None]] = [
        lambda: _kpis(page, result, data, key), lambda: _build_plan(page, data, key),
        lambda: _sourcing(page, data, key), lambda: _costs(page, data, key),
        lambda: _utilisation(page, data, key), lambda: _landed(page, result, key),
    ]
    if data.is_sweep:
        builders += [lambda: _distributions(page, result, data), lambda: _build_frequency(page, result),
                     lambda: _tornado(page, result)]
    for build in builders:
        build()
    ids = SWEEP_SECTIONS if data.is_sweep else SOLVE_SECTIONS
    nav = "".join(f'<a href="#{i}">{i.replace("-", " ")}</a>' for i in ids)
    kind = f"sweep of {len(data.summary)} scenarios" if data.is_sweep else "single solve"
    created = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{STYLE}</style></head>'
            f'<body><h1>{html.escape(title)}</h1><p class="meta">{kind}; report written {created}</p>'
            f'<nav>{nav}</nav>{"".join(page.sections)}</body></html>')


def write_report(results_dir: str | Path, out: str | Path | None = None) -> Path:
    """Write the report of the result folder ``results_dir`` to ``out`` (default ``results_dir/report.html``),
    atomically. Raises FileNotFoundError if ``results_dir`` is not a result folder."""
    folder = Path(results_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder")
    result = load_results(folder)
    name = result.meta.get("sweep") if hasattr(result, "meta") else result.scenario
    text = build_report(result, f"Results: {name}")
    target = Path(out) if out is not None else folder / REPORT_NAME
    atomic_write(target, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    return target
