"""What the command line prints: a solve's summary (build plan, sourcing, KPIs), why a scenario is infeasible,
the warnings of a valid scenario, numbers in a table."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .results import SolveResult
from .scenario import Scenario
from .unserved import unserved_sentence

CONFLICT_SHOWN = 12  # rows of an IIS printed; the manifest keeps them all

out = Console()
err = Console(stderr=True)


def print_warnings(scenario: Scenario) -> None:
    """Likely mistakes in a valid scenario, on stderr (so `--json` output stays clean); they never fail."""
    found = scenario.warnings
    if found:
        err.print(f"{len(found)} warning{'s' if len(found) != 1 else ''} (legal values that look like mistakes):",
                  style="yellow")
        for w in found:
            err.print(f"  - {w}", markup=False, highlight=False, soft_wrap=True)


def print_summary(result: SolveResult, target: Path | str) -> None:
    m = result.manifest
    colour = "green" if result.status.has_solution else "red"
    head = f"[bold]{result.scenario}[/]: [{colour}]{result.status.value}[/]"
    if result.objective is not None:
        head += f"  total cost {result.objective:,.1f} $M (discounted)  gap {100 * (result.gap or 0):.3f} %"
    head += f"  HiGHS {m['solve_seconds']:.2f} s, wall {m['wall_seconds']:.2f} s"
    out.print(head)
    if not result.status.has_solution:
        print_why_infeasible(m.get("why_infeasible"), m.get("lp_conflict"))
        out.print(f"results (status only): {target}")
        return

    builds = Table("plant", "kind", "start", "count", "GWh", "online", "cash $M", title="Build plan")
    for b in result.builds.sort_values(["start_year", "plant"]).itertuples(index=False):
        builds.add_row(b.plant, b.kind, str(b.start_year), str(b.count), f"{b.gwh:,.1f}", str(b.online_year),
                       f"{b.cash_musd:,.0f}")
    if not len(result.builds):
        builds.add_row("(no new capacity)", "", "", "", "", "", "")
    out.print(builds)

    flows = result.flows
    if len(flows):
        last = int(flows["year"].max())
        first = int(flows["year"].min())
        for year in sorted({first, last}):
            matrix = flows[flows["year"] == year].pivot_table(index="plant", columns="assembly", values="gwh",
                                                              aggfunc="sum", fill_value=0.0)
            grid = Table("plant \\ assembly", *matrix.columns, title=f"Sourcing {year} (GWh)")
            for plant, row in matrix.iterrows():
                grid.add_row(plant, *(f"{v:,.2f}" if v > 0 else "." for v in row))
            out.print(grid)

    if m.get("unserved"):
        out.print(f"[bold yellow]Unserved demand:[/] {escape(unserved_sentence(m['unserved']))}", soft_wrap=True)
    kpis = Table("KPI", "value", "unit", title="KPIs")
    for k in result.kpis.itertuples(index=False):
        kpis.add_row(k.kpi, number(k.value), k.unit)
    out.print(kpis)
    out.print(f"results: {target}")


def print_why_infeasible(lines: list[str] | None, conflict: list[str] | None) -> None:
    """The elastic re-solve's relaxations and the LP relaxation's conflict (see optimizer/explain.py)."""
    if lines:
        out.print("Feasible only with these relaxations:", style="bold")
        for line in lines:
            out.print(f"  - {line}", markup=False, highlight=False)
    if conflict == []:
        out.print("The LP relaxation is feasible: only whole openings and expansion steps make it infeasible.")
    elif conflict:
        shown = ", ".join(conflict[:CONFLICT_SHOWN])
        more = f" ... and {len(conflict) - CONFLICT_SHOWN} more (all in manifest.json, lp_conflict)" \
            if len(conflict) > CONFLICT_SHOWN else ""
        out.print(f"Conflicting rows of the LP relaxation (HiGHS IIS): {shown}{more}", markup=False,
                  highlight=False, soft_wrap=True)


def number(value: float) -> str:
    if value != value:  # NaN
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.4g}"
