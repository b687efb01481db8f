"""Analyses of results for review: the same methods on a single solve and on a sweep.

A solve is treated as a sweep of one scenario. Every scenario is identified by its ``case_key`` (unique per
case of a sweep; for a solve, the first 16 hex digits of its ``inputs_sha256``) and its readable ``case``
name (``base``, ``grid-...``, a named case, ``sample-0007``; for a solve, the scenario name). Only
scenarios with a solution (status ``optimal`` or ``feasible``) enter the analyses.

:class:`Review` is mixed into :class:`~optimizer.results.SolveResult` and
:class:`~optimizer.sweep.store.SweepResult`; each method returns a tidy DataFrame:

* :meth:`Review.metrics` every KPI and a total of every table, per scenario;
* :meth:`Review.compare` those metrics against a chosen baseline scenario;
* :meth:`Review.build_frequency` how often each opening and expansion is chosen, by start year;
* :meth:`Review.landed_cost` landed cost per kWh by lane (plant -> assembly plant), by part;
* :meth:`Review.distributions` percentiles of the total cost and every KPI across scenarios;
* :meth:`Review.tornado` which swept parameter moves the total cost most.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

SOLVED = ("optimal", "feasible")
ID_COLUMNS = ["case_key", "case"]
BOOKKEEPING = frozenset({"scenario_id", "case_key", "case", "status", "objective", "bound", "gap", "solve_seconds",
                         "wall_seconds", "rebuilt", "message"})
LANDED_PARTS = ["cell_usd_per_kwh", "freight_usd_per_kwh", "tariff_usd_per_kwh", "carbon_usd_per_kwh",
                "credit_usd_per_kwh"]
DEFAULT_PERCENTILES = (0.05, 0.25, 0.5, 0.75, 0.95)

# (table, value column, key columns naming the item) of the per-scenario table totals in ``metrics``
TABLE_TOTALS = (
    ("costs", "discounted_musd", ["category"]),
    ("costs", "nominal_musd", ["category"]),
    ("builds", "gwh", ["plant", "kind"]),
    ("flows", "gwh", ["plant", "assembly"]),
    ("capacity", "available_gwh", ["plant"]),
    ("capacity", "production_gwh", ["plant"]),
    ("unmet", "unmet_gwh", ["assembly"]),
)


_folder_reader: Callable[[Path], Review] | None = None


def use_folder_reader(reader: Callable[[Path], Review]) -> None:
    """Install the reader of result folders that :meth:`Review.compare` uses for a baseline given as a
    folder. The analyses sit below the result classes they serve, so the API layer, which knows every
    kind of result folder (:func:`optimizer.load_results`), installs it."""
    global _folder_reader
    _folder_reader = reader


@dataclass
class ReviewData:
    """What the analyses read: ``summary`` (one row per scenario: case_key, case, status, objective, the swept
    parameters and one column per KPI), the long tables (each with case_key and case columns), the swept
    parameters' names, the KPI names, and whether this is a sweep (or a single solve)."""

    summary: pd.DataFrame
    tables: dict[str, pd.DataFrame]
    parameters: list[str]
    kpis: list[str]
    is_sweep: bool = True

    def solved(self) -> pd.DataFrame:
        """Summary rows of the scenarios with a solution."""
        return self.summary[self.summary["status"].isin(SOLVED)]

    def table(self, name: str) -> pd.DataFrame:
        """A long table restricted to the scenarios with a solution (empty with the id columns if absent)."""
        frame = self.tables.get(name)
        if frame is None or not len(frame.columns):
            return pd.DataFrame(columns=ID_COLUMNS)
        return frame[frame["case_key"].isin(self.solved()["case_key"])]


def _label(keys: pd.DataFrame) -> pd.Series:
    """Item names: the key columns joined (``Ibaraki step``; lanes as ``Wuxi -> Sunderland``)."""
    sep = " -> " if list(keys.columns) == ["plant", "assembly"] else " "
    return keys.astype(str).agg(sep.join, axis=1)


class Review:
    """Analyses shared by a solve and a sweep; subclasses provide :meth:`review_data`."""

    def review_data(self) -> ReviewData:  # pragma: no cover - implemented by the result classes
        raise NotImplementedError

    def metrics(self) -> pd.DataFrame:
        """Every KPI and a total of every table, one row per scenario and metric.

        Columns: case_key, case, table, item, metric, value. ``table`` ``kpis``: item = the KPI, metric
        ``value``. The table totals sum over years (and models): ``costs`` per category (``discounted_musd``,
        ``nominal_musd``), ``builds`` GWh per plant and kind, ``flows`` GWh per lane (``plant -> assembly``),
        ``capacity`` available and production GWh per plant, ``unmet`` GWh per assembly plant. Table items a
        scenario does not have (a plant it never builds) are absent here and count as 0 in :meth:`compare`.
        """
        data = self.review_data()
        solved = data.solved()
        frames = []
        kpis = solved.melt(id_vars=ID_COLUMNS, value_vars=data.kpis, var_name="item", value_name="value")
        frames.append(kpis.assign(table="kpis", metric="value"))
        for name, column, keys in TABLE_TOTALS:
            t = data.table(name)
            if not len(t):
                continue
            sums = t.groupby(ID_COLUMNS + keys, as_index=False, sort=False)[column].sum()
            frames.append(sums[ID_COLUMNS].assign(table=name, item=_label(sums[keys]), metric=column,
                                                  value=sums[column].astype(float)))
        out = pd.concat(frames, ignore_index=True)
        return out[[*ID_COLUMNS, "table", "item", "metric", "value"]]

    def compare(self, baseline: Any = None) -> pd.DataFrame:
        """Every scenario's :meth:`metrics` against a baseline scenario.

        ``baseline``: a case name, case_key or scenario_id of this result; another result (a
        ``SolveResult``, a one-scenario sweep) or its folder. Default: the case named ``base`` if there is
        one, else the first scenario with a solution (a single solve needs a baseline from elsewhere).

        Columns: case_key, case, table, item, metric, value, baseline, delta = value - baseline,
        delta_pct = 100 x delta / \\|baseline\\| (NaN where the baseline is 0). Table totals a scenario or
        the baseline lacks count as 0; KPIs stay NaN where undefined.
        """
        mine = self.metrics()
        base = self._baseline_metrics(baseline, mine)
        keys = ["table", "item", "metric"]
        base = base[keys + ["value"]].rename(columns={"value": "baseline"})
        scenarios = mine[ID_COLUMNS].drop_duplicates()
        # every (scenario, metric) that the scenario or the baseline has
        grid = scenarios.merge(pd.concat([mine[keys], base[keys]]).drop_duplicates(), how="cross")
        out = grid.merge(mine.drop(columns="case"), on=["case_key", *keys], how="left").merge(base, on=keys, how="left")
        tables = out["table"] != "kpis"
        out.loc[tables, ["value", "baseline"]] = out.loc[tables, ["value", "baseline"]].fillna(0.0)
        out["delta"] = out["value"] - out["baseline"]
        denominator = out["baseline"].abs().where(out["baseline"] != 0)
        out["delta_pct"] = 100.0 * out["delta"] / denominator
        return out.sort_values(ID_COLUMNS[1:] + keys, kind="stable", ignore_index=True)

    def _baseline_metrics(self, baseline: Any, mine: pd.DataFrame) -> pd.DataFrame:
        data = self.review_data()
        solved = data.solved()
        if baseline is None:
            if not data.is_sweep:
                raise ValueError("a single solve needs a baseline to compare with: another result or its folder")
            named = solved[solved["case"] == "base"]
            if not len(solved):
                raise ValueError("no scenario has a solution: nothing to compare")
            key = (named if len(named) else solved)["case_key"].iloc[0]
            return mine[mine["case_key"] == key]
        if isinstance(baseline, str):
            for column in ("case", "case_key", "scenario_id"):
                if column in solved and (solved[column] == baseline).any():
                    key = solved.loc[solved[column] == baseline, "case_key"].iloc[0]
                    return mine[mine["case_key"] == key]
        if isinstance(baseline, (str, Path)):
            if not Path(baseline).is_dir():
                raise ValueError(f"baseline {baseline!r} is neither a scenario with a solution here nor a result "
                                 "folder")
            if _folder_reader is None:
                raise RuntimeError("no reader of result folders: import optimizer (its API installs one)")
            baseline = _folder_reader(Path(baseline))
        if not isinstance(baseline, Review):
            raise TypeError(f"baseline must be a case name, a result or a result folder, not {type(baseline)}")
        other = baseline.metrics()
        if other["case_key"].nunique() != 1:
            raise ValueError("a baseline result must hold exactly one scenario with a solution")
        return other

    def build_frequency(self) -> pd.DataFrame:
        """How often each opening and expansion is chosen across the scenarios, by start year.

        One row per (plant, kind, start_year) chosen in at least one scenario with a solution: scenarios =
        the number of those scenarios that start this build (count > 0) that year, share = scenarios /
        all scenarios with a solution, mean_count = the average count (steps) in the scenarios that choose
        it, mean_gwh the same for the nameplate GWh. Sorted by plant, kind, start_year.
        """
        data = self.review_data()
        total = len(data.solved())
        builds = data.table("builds")
        keys = ["plant", "kind", "start_year"]
        if not len(builds):
            return pd.DataFrame(columns=[*keys, "scenarios", "share", "mean_count", "mean_gwh", "of"])
        chosen = builds[builds["count"] > 0]
        per_case = chosen.groupby([*keys, "case_key"], as_index=False)[["count", "gwh"]].sum()
        out = per_case.groupby(keys, as_index=False).agg(scenarios=("case_key", "nunique"),
                                                         mean_count=("count", "mean"), mean_gwh=("gwh", "mean"))
        out.insert(4, "share", out["scenarios"] / total)
        out["of"] = total
        return out.sort_values(keys, ignore_index=True)

    def landed_cost(self, by_year: bool = True) -> pd.DataFrame:
        """Landed cost per kWh by lane (cell plant -> assembly plant), per scenario.

        One row per scenario, plant, assembly (and year with ``by_year``): gwh = sum of ``flows.gwh``,
        cost_musd = sum of ``flows.cost_musd``, landed_usd_per_kwh = cost_musd / gwh ($M / GWh = $/kWh), and
        each part (cell, freight, tariff, carbon, credit) volume-weighted: sum(part x gwh) / gwh. The parts
        add up to the landed cost. Nominal dollars of each year.
        """
        data = self.review_data()
        flows = data.table("flows")
        keys = [*ID_COLUMNS, "plant", "assembly"] + (["year"] if by_year else [])
        columns = [*keys, "gwh", "cost_musd", *LANDED_PARTS, "landed_usd_per_kwh"]
        if not len(flows):
            return pd.DataFrame(columns=columns)
        weighted = flows[keys + ["gwh", "cost_musd"]].copy()
        for part in LANDED_PARTS:
            weighted[part] = flows[part] * flows["gwh"]
        out = weighted.groupby(keys, as_index=False, sort=False).sum()
        for part in LANDED_PARTS:
            out[part] = out[part] / out["gwh"]
        out["landed_usd_per_kwh"] = out["cost_musd"] / out["gwh"]
        return out[columns].sort_values(keys[1:], kind="stable", ignore_index=True)

    def distributions(self, percentiles: tuple[float, ...] = DEFAULT_PERCENTILES) -> pd.DataFrame:
        """Percentiles of the total cost and of every KPI across the scenarios with a solution.

        One row per KPI (``objective`` first, then the KPI columns): count (scenarios with a value), mean,
        std (sample, ddof 1; NaN for one scenario), min, one column ``p<100 q>`` per percentile q (pandas'
        linear interpolation between order statistics: ``p50`` is the median), max.
        """
        if any(not 0 <= q <= 1 for q in percentiles):
            raise ValueError(f"percentiles must lie in [0, 1]: {percentiles}")
        data = self.review_data()
        values = data.solved()[["objective", *data.kpis]].astype(float)
        rows = []
        for kpi in values.columns:
            v = values[kpi].dropna()
            row = {"kpi": kpi, "count": len(v), "mean": v.mean(), "std": v.std(), "min": v.min()}
            row.update({f"p{100 * q:g}": v.quantile(q) if len(v) else np.nan for q in percentiles})
            row["max"] = v.max()
            rows.append(row)
        return pd.DataFrame(rows)

    def tornado(self, kpi: str = "objective", quantile: float = 0.25) -> pd.DataFrame:
        """Which swept parameter moves the total cost (or ``kpi``) most: low vs high value of each parameter.

        For each numeric swept parameter with at least two distinct values among the scenarios with a
        solution where it is set: the low group = those scenarios whose value is at most the parameter's
        ``quantile`` (empirical, linear interpolation), the high group = those at least its
        ``1 - quantile`` quantile. low_cost and high_cost = the mean ``kpi`` of each group, swing =
        high_cost - low_cost. On a full grid this is the main effect of the parameter's lowest vs highest
        level (averaged over the other axes); in a one-at-a-time design, the cost at its low vs high value;
        in a Monte Carlo sweep, the mean cost of its bottom vs top quartile. ``reference`` = the median
        ``kpi`` over all scenarios with a solution, the tornado's axis.

        Columns: parameter, low_value, high_value (mean parameter value of each group), n_low, n_high,
        low_cost, high_cost, swing, reference. Sorted by \\|swing\\|, largest first.
        """
        if not 0 < quantile <= 0.5:
            raise ValueError(f"quantile must lie in (0, 0.5]: {quantile}")
        data = self.review_data()
        solved = data.solved()
        columns = ["parameter", "low_value", "high_value", "n_low", "n_high", "low_cost", "high_cost", "swing",
                   "reference"]
        rows = []
        for name in data.parameters:
            if name not in solved or not pd.api.types.is_numeric_dtype(solved[name]):
                continue
            cases = solved[solved[name].notna() & solved[kpi].notna()]
            x = cases[name].astype(float)
            if x.nunique() < 2:
                continue
            low = cases[x <= x.quantile(quantile)]
            high = cases[x >= x.quantile(1 - quantile)]
            rows.append((name, low[name].mean(), high[name].mean(), len(low), len(high), low[kpi].mean(),
                         high[kpi].mean(), high[kpi].mean() - low[kpi].mean(), solved[kpi].median()))
        out = pd.DataFrame(rows, columns=columns)
        order = out["swing"].abs().sort_values(ascending=False, kind="stable").index
        return out.loc[order].reset_index(drop=True)


def solve_review_data(scenario: str, status: str, objective: float | None, manifest: dict,
                      tables: dict[str, pd.DataFrame]) -> ReviewData:
    """A single solve as a sweep of one scenario (case = the scenario name)."""
    key = str(manifest.get("inputs_sha256") or scenario)[:16]
    kpis = tables["kpis"]
    row = {"case_key": key, "case": scenario, "status": status, "objective": objective}
    row.update(zip(kpis["kpi"], kpis["value"].astype(float)))
    long = {name: t.assign(case_key=key, case=scenario) for name, t in tables.items() if name != "kpis"}
    return ReviewData(pd.DataFrame([row]), long, [], list(kpis["kpi"]), is_sweep=False)


def sweep_review_data(summary: pd.DataFrame, tables: dict[str, pd.DataFrame], parameters: list[str]) -> ReviewData:
    """A sweep's summary and long tables (the case name added to the long tables)."""
    if not len(summary.columns):
        summary = pd.DataFrame(columns=[*BOOKKEEPING, *parameters])
    names = summary[["case_key", "case"]]
    long = {name: (t.merge(names, on="case_key", how="left") if len(t.columns) else t)
            for name, t in tables.items() if name != "summary"}
    kpis = [c for c in summary.columns if c not in BOOKKEEPING and c not in parameters
            and pd.api.types.is_numeric_dtype(summary[c])]
    return ReviewData(summary, long, [p for p in parameters if p != "case"], kpis)
