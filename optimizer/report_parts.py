"""Sections of the HTML report that make it stand on its own (see :mod:`optimizer.report`): the overview
header, demand against capacity by year, the marginal value of capacity, sourcing by year, the
explanation of an infeasible result and the side-by-side comparison of two results; plus the KPI labels
in words and the number formats of money axes.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import pandas as pd
import plotly.graph_objects as go

from .unserved import unserved_sentence, unserved_summary

if TYPE_CHECKING:
    from .review import Review, ReviewData

MONEY_AXIS = {"tickformat": ",.0f"}
"""$M axes show whole millions with separators (14,560), never plotly's SI suffixes (14.56k)."""

KPI_LABELS: dict[str, tuple[str, str]] = {
    "objective": ("Total cost, discounted", "$M"),
    "total_cost_musd": ("Total cost, discounted", "$M"),
    "nominal_cost_musd": ("Total cost, nominal", "$M"),
    "investment_cash_musd": ("Investment cash (openings and steps)", "$M"),
    "new_capacity_gwh": ("New capacity built (nameplate)", "GWh/yr"),
    "openings": ("New sites opened", "sites"),
    "expansion_steps": ("Expansion steps started", "steps"),
    "demand_gwh": ("Demand over the horizon", "GWh"),
    "served_gwh": ("Demand served", "GWh"),
    "unmet_gwh": ("Demand left unserved", "GWh"),
    "service_level": ("Share of demand served", "fraction"),
    "avg_landed_usd_per_kwh": ("Average landed cell cost", "$/kWh"),
    "co2_kt": ("Factory CO2 of the cells shipped", "kt CO2"),
    "avg_utilisation": ("Average plant utilisation", "fraction"),
    "lp_fixed_objective": ("Cost of the plan re-solved as an LP (check)", "$M"),
}
SETTINGS_SHOWN = ("start_year", "end_year", "discount_rate", "investment_cost", "economic_life_years", "demand",
                  "unserved_penalty_usd_per_kwh", "total_budget_musd", "single_sourcing")


class Page:
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


def kpi_label(kpi: str) -> tuple[str, str]:
    """(words, unit) of a KPI; an unknown one keeps its name."""
    return KPI_LABELS.get(kpi, (kpi.replace("_", " "), "-"))


def _esc(value: Any) -> str:
    return html.escape(str(value))


def _note(text: str) -> str:
    return f'<p class="note">{_esc(text)}</p>'


def _dl(rows: list[tuple[str, Any]]) -> str:
    return '<table class="data meta-table">' + "".join(
        f"<tr><th>{_esc(k)}</th><td>{_esc(v)}</td></tr>" for k, v in rows) + "</table>"


def overview(page: Page, result: Review, data: ReviewData, key: str | None, baseline_note: str) -> None:
    """Status, gap, solve time, the description and key settings (solve); the sweep's make-up (sweep)."""
    if not data.is_sweep:
        m = result.manifest  # type: ignore[attr-defined]
        gap = m.get("gap")
        rows = [("status", m.get("status")), ("total cost ($M, discounted)",
                                                f"{m['objective']:,.1f}" if m.get("objective") is not None else "-"),
                ("gap", f"{100 * gap:.3f} %" if gap is not None else "-"),
                ("solve time (HiGHS)", f"{m.get('solve_seconds', 0):.2f} s"),
                ("time limit", f"{(m.get('options') or {}).get('time_limit')} s"),
                ("source", m.get("source"))]
        if m.get("overrides"):
            rows.append(("overrides", ", ".join(f"{k}={v}" for k, v in m["overrides"].items())))
        settings = m.get("settings") or {}
        rows += [(k.replace("_", " "), settings[k]) for k in SETTINGS_SHOWN if k in settings]
        parts = [f'<p class="description">{_esc(m.get("description") or "")}</p>', _dl(rows)]
        if m.get("warnings"):
            parts.append(_note(f"{len(m['warnings'])} input warnings: " + " | ".join(m["warnings"])))
        if m.get("unserved"):
            parts.append(f'<p class="alert">Unserved demand: {_esc(unserved_sentence(m["unserved"]))}</p>')
    else:
        meta = result.meta  # type: ignore[attr-defined]
        counts = data.summary["status"].value_counts()
        rows = [("scenarios", len(data.summary)), ("by status", ", ".join(f"{v} {k}" for k, v in counts.items())),
                ("swept parameters", ", ".join(data.parameters) or "-"), ("base scenario", meta.get("base")),
                ("solve options", ", ".join(f"{k} {v}" for k, v in (meta.get("options") or {}).items()))]
        parts = [f'<p class="description">{_esc(meta.get("description") or "")}</p>', _dl(rows),
                 _note(baseline_note)]
    page.section("overview", "Overview", *parts)


def demand_capacity(page: Page, data: ReviewData, key: str | None, penalty: float | None) -> None:
    """Demand, served, unserved and available capacity per year, and the unserved demand said in words."""
    unmet = data.table("unmet")
    unmet = unmet[unmet["case_key"] == key] if len(unmet) else unmet
    cap = data.table("capacity")
    cap = cap[cap["case_key"] == key] if len(cap) else cap
    if not len(unmet):
        page.section("demand", "Demand against capacity", _note("No demand rows (or no solution)."))
        return
    by_year = unmet.groupby("year", as_index=False)[["demand_gwh", "served_gwh", "unmet_gwh"]].sum()
    if len(cap):
        by_year = by_year.merge(cap.groupby("year", as_index=False)["available_gwh"].sum(), on="year", how="left")
    fig = go.Figure()
    if "available_gwh" in by_year:
        fig.add_bar(x=by_year["year"], y=by_year["available_gwh"], name="available capacity", marker_color="#bcccdc")
    fig.add_bar(x=by_year["year"], y=by_year["served_gwh"], name="served", marker_color="#2f80ed")
    fig.add_bar(x=by_year["year"], y=by_year["unmet_gwh"], name="unserved", marker_color="#eb5757",
                base=by_year["served_gwh"])
    fig.add_scatter(x=by_year["year"], y=by_year["demand_gwh"], name="demand", mode="lines+markers",
                    line={"color": "#1f2933"})
    fig.update_layout(barmode="overlay", title="Demand, served and unserved cells against available capacity (GWh)",
                      xaxis_title="year", yaxis_title="GWh", yaxis={"tickformat": ",.0f"})
    parts = [page.chart(fig, "chart-demand")]
    costs = data.table("costs")
    costs = costs[costs["case_key"] == key] if len(costs) else costs
    u = unserved_summary(unmet, costs, penalty if penalty is not None else float("nan"))
    if u:
        parts.insert(0, f'<p class="alert">{_esc(unserved_sentence(u, shown=8))}</p>')
    else:
        parts.insert(0, _note("Every demand is served."))
    parts.append(html_table(by_year.rename(columns={"demand_gwh": "demand GWh", "served_gwh": "served GWh",
                                                "unmet_gwh": "unserved GWh", "available_gwh": "available GWh"})))
    page.section("demand", "Demand against capacity", *parts)


def marginal_value(page: Page, data: ReviewData, key: str | None) -> None:
    """The marginal value of capacity: plant x year heatmap of -dual(plant_capacity) in $/kWh."""
    cap = data.table("capacity")
    cap = cap[cap["case_key"] == key] if len(cap) else cap
    col = "marginal_value_usd_per_kwh"
    if not len(cap) or col not in cap or cap[col].isna().all():
        page.section("marginal-value", "Marginal value of capacity",
                     _note("Not computed for this result (sweeps skip the LP re-solve that prices capacity)."))
        return
    grid = cap.pivot_table(index="plant", columns="year", values=col, aggfunc="mean", dropna=False)
    fig = go.Figure(go.Heatmap(z=grid.to_numpy(), x=[str(c) for c in grid.columns], y=list(grid.index),
                               colorscale="Oranges", colorbar={"title": "$/kWh"}, zmin=0,
                               hovertemplate="%{y} %{x}: %{z:,.2f} $/kWh<extra></extra>"))
    fig.update_layout(title="Marginal value of one more kWh of capacity ($/kWh, nominal; blank: no capacity row)",
                      height=140 + 28 * max(len(grid.index), 1))
    top = cap[cap[col] > 1e-9].sort_values(col, ascending=False).head(8)[["plant", "year", col]]
    page.section("marginal-value", "Marginal value of capacity", page.chart(fig, "chart-marginal-value"),
                 _note("What one more kWh/yr of available capacity at a plant would save in that year, from the LP "
                       "with the build plan fixed; 0 where capacity is slack. Largest values:"),
                 html_table(top.rename(columns={col: "$/kWh"})))


def sourcing_by_year(page: Page, data: ReviewData, key: str | None) -> str:
    """A stacked bar of GWh shipped per year by cell plant (the HTML of the chart)."""
    flows = data.table("flows")
    flows = flows[flows["case_key"] == key] if len(flows) else flows
    fig = go.Figure()
    if len(flows):
        per = flows.groupby(["plant", "year"], as_index=False)["gwh"].sum()
        for plant, rows in per.groupby("plant", sort=True):
            fig.add_bar(x=rows["year"], y=rows["gwh"], name=str(plant))
    fig.update_layout(barmode="stack", title="Cells shipped per year by cell plant (GWh)", xaxis_title="year",
                      yaxis_title="GWh", yaxis={"tickformat": ",.0f"})
    return page.chart(fig, "chart-sourcing-year")


def explanation(page: Page, manifest: dict) -> None:
    """An infeasible result's explanation: the relaxations that make it feasible and the LP conflict."""
    why = manifest.get("why_infeasible") or []
    conflict = manifest.get("lp_conflict")
    parts = [_note(f"Status {manifest.get('status')}: the scenario has no feasible plan.")]
    if why:
        parts.append("<p>Feasible only with these relaxations:</p><ul>" + "".join(f"<li>{_esc(w)}</li>" for w in why)
                     + "</ul>")
    if conflict == []:
        parts.append(_note("The LP relaxation is feasible: only whole openings and expansion steps make it "
                           "infeasible."))
    elif conflict:
        parts.append(_note("Conflicting rows of the LP relaxation (HiGHS IIS): " + ", ".join(conflict[:40])
                           + (f" ... and {len(conflict) - 40} more" if len(conflict) > 40 else "")))
    page.section("explanation", "Why there is no plan", *parts)


def comparison(page: Page, result: Review, other: Review, name: str, other_name: str) -> None:
    """Two results side by side: every KPI and cost category, and each one's builds."""
    table = result.compare(baseline=other)
    kpis = table[table["table"] == "kpis"].copy()
    kpis["KPI"] = kpis["item"].map(lambda k: kpi_label(k)[0])
    kpis["unit"] = kpis["item"].map(lambda k: kpi_label(k)[1])
    kpis = kpis[["KPI", "unit", "value", "baseline", "delta"]].rename(
        columns={"value": name, "baseline": other_name, "delta": f"{name} - {other_name}"})
    costs = table[(table["table"] == "costs") & (table["metric"] == "discounted_musd")]
    costs = costs[["item", "value", "baseline", "delta"]].rename(
        columns={"item": "cost category ($M, discounted)", "value": name, "baseline": other_name,
                 "delta": f"{name} - {other_name}"})
    builds = []
    for label, r in ((name, result), (other_name, other)):
        b = r.review_data().table("builds")
        if len(b):
            builds.append(b.assign(result=label)[["result", "plant", "kind", "start_year", "count", "gwh",
                                                  "cash_musd"]].astype({"start_year": int, "count": int}))
        else:
            builds.append(pd.DataFrame([{"result": label, "plant": "(no new capacity)"}]))
    page.section("compare", f"{name} against {other_name}", html_table(kpis, 3), html_table(costs),
                 _note("Builds of each:"), html_table(pd.concat(builds, ignore_index=True).fillna("")))


def html_table(frame: pd.DataFrame, digits: int = 2) -> str:
    """A DataFrame as an HTML table (numbers with thousands separators, NaN as a dash)."""
    if not len(frame):
        return '<p class="note">(no rows)</p>'
    return frame.to_html(index=False, classes="data", border=0, na_rep="-",
                         float_format=lambda v: f"{v:,.{digits}f}")
