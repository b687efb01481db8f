"""The sentence that explains a relaxed row of each business family (:mod:`optimizer.explain` relaxes them;
the registry :mod:`.families` pairs each family with its sentence). ``s`` is the row's slack in the row's
unit, read off the solved elastic model ``m``.
"""

from __future__ import annotations

from collections.abc import Iterable

from .context import SourcingModel


def _flow_sum(m: SourcingModel, flows: Iterable[tuple]) -> float:
    return sum(float(m.flow[f].value or 0.0) for f in flows)


def plant_capacity(m: SourcingModel, index: tuple, s: float) -> str:
    p, t = index
    return f"{p} {t}: {s:,.1f} GWh of cell capacity short"


def assembly_capacity(m: SourcingModel, index: tuple, s: float) -> str:
    a, t = index
    return f"{a} {t}: assembly capacity {1000 * s:,.0f} vehicles short"


def capex_budget(m: SourcingModel, index: tuple, s: float) -> str:
    (t,) = index
    return f"capital budget {t}: ${s:,.1f}M short"


def total_budget(m: SourcingModel, index: tuple, s: float) -> str:
    return f"total capital budget: ${s:,.1f}M short"


def local_content(m: SourcingModel, index: tuple, s: float) -> str:
    name, t = index
    rule = next(r for r in m.d.rules if r.rule == name)
    covered = _flow_sum(m, [f for a in rule.assemblies for f in m.ix.by_assembly_year.get((a, t), ())])
    points = 100.0 * s / covered  # covered > 0: with nothing covered the row holds without slack
    return f"{name} local-content rule {t}: {points:,.1f} points short ({s:,.1f} GWh of local cells)"


def supplier_share(m: SourcingModel, index: tuple, s: float) -> str:
    p, a, t = index
    total = _flow_sum(m, m.ix.by_assembly_year.get((a, t), ()))
    points = 100.0 * s / total if total > 0 else 0.0
    cap = 100.0 * m.d.max_supplier_share[a]
    return f"{a} {t}: {p} must supply {points:,.1f} points above the {cap:g} % supplier-share cap"


def min_offtake(m: SourcingModel, index: tuple, s: float) -> str:
    p, t = index
    return f"{p} {t}: take-or-pay minimum of {m.d.min_offtake[p, t]:,.1f} GWh is {s:,.1f} GWh short"


def co2_cap(m: SourcingModel, index: tuple, s: float) -> str:
    (t,) = index
    return f"CO2 cap {t}: {s:,.1f} kt CO2 over"


def demand_balance(m: SourcingModel, index: tuple, s: float) -> str:
    a, v, t = index
    if not m.ix.by_demand.get(index):  # no lane brings the model's cell type to a: all of it is short
        return f"{a} {t}: {s:,.1f} GWh short for {v} demand (no lane brings its cells to {a})"
    return f"{a} {t}: {s:,.1f} GWh short for {v} demand"
