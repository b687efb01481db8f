"""A sweep case resolved on the arrays the model is built from, not on pandas tables.

A sweep worker solves many cases of one base scenario. Most changes of a sweep file (demand scaled,
tariffs set, capex scaled, a carbon price, an exchange rate, an outage, a budget cut) only move
parameter values of the model: for those, :class:`ArrayCases` keeps, once per worker,

- each changed column of the base tables as a float array, and the rows each filter selects;
- for each parameter group of :func:`optimizer.model.params.param_groups`, how its values follow from
  those columns (``cell_cost[p,t] = cell_cost_usd_per_kwh[row] x fx[currency(p)]``,
  ``demand[a,v,t] = vehicles[row] x pack_kwh[v] x 1e-6``, ``freight[p,a,t]`` = the lane_years value where
  there is one, else the lane's, ...), checked against the base's own groups when built;

and applies a case as numpy operations on copies of the touched columns: the same operations, in the same
order and the same floating-point arithmetic as :func:`.apply.apply_changes`, so the parameter vector is
the one the pandas path gives. The changed values are checked with the schema's rules for their columns
(blank, finite, range, magnitude) and settings with ``ScenarioConfig``.

A case is left to the pandas path (:meth:`ArrayCases.resolve` returns None) when a change is not covered
here: a change that alters the model's structure (a delay, a lead time, a discount rate, a demand that
appears or vanishes, a blank limit filled), a column the checks across tables read, a filter on numeric
values, or any problem at all: the pandas path then raises the error, with its message, as before.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import ValidationError

from ..config import ScenarioConfig
from ..model.params import param_groups
from ..scenario import GWH_PER_KWH_VEHICLE, ModelData, Scenario
from ..schema import MAGNITUDE, TABLES_BY_NAME, Column
from .apply import _Editor
from .changes import (
    FX_PREFIX,
    BudgetCut,
    Change,
    Delay,
    Outage,
    SettingChange,
    TableChange,
    as_number,
    as_whole,
    as_years,
)
from .digests import TableText, table_texts

FX_GROUPS = ("cell_cost", "opening_cost", "step_cost", "fixed_om", "closure_cost")
"""Groups whose values are in a plant's currency, converted with the scenario's fx index."""

SOURCES: dict[tuple[str, str], tuple[str, ...]] = {
    ("plant_years", "cell_cost_usd_per_kwh"): ("cell_cost",),
    ("plant_years", "credit_usd_per_kwh"): ("credit",),
    ("plant_years", "co2_kg_per_kwh"): ("co2",),
    ("plant_years", "availability"): ("availability",),
    ("plant_years", "min_offtake_gwh"): ("min_offtake",),
    ("demand", "vehicles"): ("demand",),
    ("lanes", "freight_usd_per_kwh"): ("freight",),
    ("lanes", "tariff_rate"): ("tariff",),
    ("lane_years", "freight_usd_per_kwh"): ("freight",),
    ("lane_years", "tariff_rate"): ("tariff",),
    ("years", "carbon_price_usd_per_t"): ("carbon_price",),
    ("years", "capex_budget_musd"): ("capex_budget",),
    ("years", "co2_cap_kt"): ("co2_cap",),
    ("assembly_years", "capacity_vehicles"): ("assembly_cap",),
    ("plants", "opening_cost_musd"): ("opening_cost",),
    ("plants", "step_cost_musd"): ("step_cost",),
    ("plants", "fixed_om_musd_per_gwh"): ("fixed_om",),
    ("plants", "closure_cost_musd"): ("closure_cost",),
}
"""The columns a case may change on arrays, and the parameter groups each one feeds."""

KEPT_SIGN = {("plant_years", "min_offtake_gwh"): "positive", ("demand", "vehicles"): "positive",
             ("years", "capex_budget_musd"): "blank", ("years", "co2_cap_kt"): "blank",
             ("assembly_years", "capacity_vehicles"): "blank"}
"""Columns whose rows enter a group only when positive (or not blank): a case that changes which rows
those are changes the model's structure, and goes the pandas path."""

PLANT_FIELDS = ("opening_cost", "step_cost", "fixed_om", "closure_cost")
DATA_FIELDS = {"cell_cost": "cell_cost", "credit": "credit", "co2": "co2", "availability": "availability",
               "demand": "demand_gwh", "freight": "freight", "tariff": "tariff", "carbon_price": "carbon_price",
               "capex_budget": "capex_budget", "co2_cap": "co2_cap", "assembly_cap": "assembly_cap"}


class Uncovered(Exception):
    """The case needs the pandas path."""


def _index(keys: Sequence, rows: Mapping) -> np.ndarray:
    return np.fromiter((rows[k] for k in keys), dtype=np.int64, count=len(keys))


def _row_map(frame: Any, *key: str) -> dict:
    cols = [frame[k].tolist() for k in key]
    return {tuple(int(v) if k == "year" else v for k, v in zip(key, vals)) if len(key) > 1 else vals[0]: i
            for i, vals in enumerate(zip(*cols))}


@dataclass
class Resolved:
    """A case resolved on arrays: the changed groups' values and settings; the scenario on demand."""

    groups: dict[str, np.ndarray]  # changed group -> its values, in the base group's key order
    columns: dict[tuple[str, str], np.ndarray]  # changed column -> its values, in the base table's row order
    config: ScenarioConfig
    inputs_sha256: str
    owner: ArrayCases

    def vector(self, keys: list[tuple[str, object]]) -> np.ndarray:
        """The parameter vector in ``keys`` order (:meth:`.push.ParameterPush.param_keys`)."""
        return self.owner.vector(keys, self.groups)

    def scenario(self) -> Scenario:
        """The case's scenario (tables, settings and model data as the pandas path resolves them), built
        from the arrays without re-validation."""
        return self.owner.scenario(self)


class ArrayCases:
    """One worker's base, ready to resolve cases on arrays (see the module docstring)."""

    def __init__(self, base: Scenario, source: str = "<sweep>", masks: dict | None = None):
        self.base = base
        self.source = source
        self.masks = masks if masks is not None else {}
        self.base_groups = {g: dict(v) for g, v in param_groups(base).items()}
        self.keys = {g: list(v) for g, v in self.base_groups.items()}
        self.columns = {tc: base.tables[tc[0]][tc[1]].to_numpy(dtype=float) for tc in SOURCES
                        if tc[0] in base.tables and tc[1] in base.tables[tc[0]].columns}
        self.plant_currency = base.tables["plants"]["currency"].tolist()
        self.plants = base.tables["plants"]["plant"].tolist()
        self.rows: dict[tuple, np.ndarray | None] = {}  # (table, where) -> rows the filter selects
        self.derive = self._derivations()
        self.texts: dict[str, TableText] = table_texts(base.tables, {t for t, _ in self.columns})
        self._positions: tuple[int, dict[str, tuple[np.ndarray, np.ndarray]], np.ndarray] | None = None

    # -- how each group follows from the columns ------------------------------------------------------
    def _derivations(self) -> dict[str, Callable[[dict, np.ndarray], np.ndarray]]:
        """group -> f(columns, fx of each plant) giving the group's values in its key order; only groups
        whose function reproduces the base's values exactly."""
        t, base = self.base.tables, self.base
        out: dict[str, Callable[[dict, np.ndarray], np.ndarray]] = {}
        py = _row_map(t["plants"], "plant")

        def col(c: dict, table: str, column: str) -> np.ndarray:
            return c.get((table, column), self.columns[table, column])

        def plain(table: str, column: str, idx: np.ndarray) -> Callable:
            return lambda c, fx: col(c, table, column)[idx]

        def in_fx(table: str, column: str, idx: np.ndarray, plant_idx: np.ndarray) -> Callable:
            return lambda c, fx: col(c, table, column)[idx] * fx[plant_idx]

        rows = _row_map(t["plant_years"], "plant", "year")
        for group, column in (("credit", "credit_usd_per_kwh"), ("co2", "co2_kg_per_kwh"),
                              ("availability", "availability"), ("min_offtake", "min_offtake_gwh")):
            out[group] = plain("plant_years", column, _index(self.keys[group], rows))
        idx = _index(self.keys["cell_cost"], rows)
        out["cell_cost"] = in_fx("plant_years", "cell_cost_usd_per_kwh", idx,
                                 _index([p for p, _ in self.keys["cell_cost"]], py))
        for group, column in (("opening_cost", "opening_cost_musd"), ("step_cost", "step_cost_musd"),
                              ("fixed_om", "fixed_om_musd_per_gwh"), ("closure_cost", "closure_cost_musd")):
            idx = _index(self.keys[group], py)
            out[group] = in_fx("plants", column, idx, idx)
        d = t["demand"]
        drows = _row_map(d, "assembly", "model", "year")
        didx = _index(self.keys["demand"], drows)
        pack = dict(zip(t["models"]["model"], t["models"]["pack_kwh"].astype(float)))
        dpack = np.array([pack[v] for _, v, _ in self.keys["demand"]], dtype=float)
        out["demand"] = lambda c, fx: col(c, "demand", "vehicles")[didx] * dpack * GWH_PER_KWH_VEHICLE
        lrows = _row_map(t["lanes"], "plant", "assembly")
        lyrows = _row_map(t["lane_years"], "plant", "assembly", "year") if "lane_years" in t else {}
        for group, column in (("freight", "freight_usd_per_kwh"), ("tariff", "tariff_rate")):
            lidx = _index([(p, a) for p, a, _ in self.keys[group]], lrows)
            yidx = np.array([lyrows.get(k, -1) for k in self.keys[group]], dtype=np.int64)
            out[group] = self._lane_values(column, lidx, yidx, col)
        if "years" in t:
            yrows = _row_map(t["years"], "year")
            for group, column in (("carbon_price", "carbon_price_usd_per_t"), ("capex_budget", "capex_budget_musd"),
                                  ("co2_cap", "co2_cap_kt")):
                if all(k in yrows for k in self.keys[group]):
                    out[group] = plain("years", column, _index(self.keys[group], yrows))
        arows = _row_map(t["assembly_years"], "assembly", "year")
        out["assembly_cap"] = plain("assembly_years", "capacity_vehicles", _index(self.keys["assembly_cap"], arows))
        fx = self._fx(base.config)
        exact = {}
        for group, f in out.items():
            try:
                same = np.array_equal(f({}, fx), np.fromiter(self.base_groups[group].values(), dtype=float))
            except (KeyError, IndexError):
                same = False
            if same:
                exact[group] = f
        return exact

    def _lane_values(self, column: str, lidx: np.ndarray, yidx: np.ndarray, col: Callable) -> Callable:
        has = yidx >= 0

        def values(c: dict, fx: np.ndarray) -> np.ndarray:
            v = col(c, "lanes", column)[lidx].copy()
            if has.any():
                year = col(c, "lane_years", column)[yidx[has]]
                v[has] = np.where(np.isnan(year), v[has], year)  # a blank year falls back to the lane
            return v
        return values

    def _fx(self, config: ScenarioConfig) -> np.ndarray:
        return np.array([float(config.fx.get(c, 1.0)) for c in self.plant_currency], dtype=float)

    # -- resolving a case -----------------------------------------------------------------------------
    def resolve(self, changes: Sequence[Change]) -> Resolved | None:
        """The case on arrays, or None for the pandas path (see the module docstring)."""
        try:
            return self._resolve(changes)
        except (Uncovered, ValueError, TypeError):
            return None

    def _filter(self, ch: TableChange, path: str) -> np.ndarray:
        key = (ch.table, ch.where)
        if key not in self.rows:
            self.rows[key] = None
            schema = TABLES_BY_NAME[ch.table]
            names = {c.name for c in schema.columns}
            fixed = all("." in k or k in schema.key or schema.column(k).kind not in ("int", "float")
                        for k, _ in ch.where if k in names or "." in k)
            editor = _Editor(self.base, self.source, self.masks)
            mask = self.masks.get(key)
            if mask is None and fixed:
                mask = editor.match(schema, self.base.tables[ch.table], ch.where, path)
                if mask is not None and not editor.problems:
                    self.masks[key] = mask
            if fixed and mask is not None and mask.any():
                self.rows[key] = np.flatnonzero(mask.to_numpy())
        rows = self.rows[key]
        if rows is None:
            raise Uncovered(path)
        return rows

    def _column(self, columns: dict, table: str, column: str) -> np.ndarray:
        if (table, column) not in self.columns or not set(SOURCES[table, column]) <= set(self.derive):
            raise Uncovered(f"{table}.{column}")
        if (table, column) not in columns:
            columns[table, column] = self.columns[table, column].copy()
        return columns[table, column]

    def _resolve(self, changes: Sequence[Change]) -> Resolved | None:
        columns: dict[tuple[str, str], np.ndarray] = {}
        settings: dict[str, Any] = {}
        cfg = self.base.config

        def setting(name: str) -> Any:
            return settings[name] if name in settings else getattr(cfg, name)

        for i, ch in enumerate(changes):
            path = ch.path or f"changes[{i}]"
            if isinstance(ch, TableChange):
                if ch.op not in ("set", "scale", "add") or ch.table not in self.base.tables:
                    raise Uncovered(path)
                values = self._column(columns, ch.table, ch.column)
                rows = self._filter(ch, path)
                x = float(ch.value)
                if ch.op == "set":
                    values[rows] = x
                elif ch.op == "scale":
                    values[rows] = values[rows] * x
                else:
                    values[rows] = values[rows] + x
            elif isinstance(ch, SettingChange):
                if ch.op not in ("set", "scale", "add"):
                    raise Uncovered(path)
                x = as_number(ch.value)
                if ch.setting.startswith(FX_PREFIX):
                    currency = ch.setting[len(FX_PREFIX):]
                    if currency not in set(cfg.fx) | set(self.plant_currency):
                        raise Uncovered(path)
                    fx = dict(setting("fx"))
                    old = float(fx.get(currency, 1.0))
                    fx[currency] = x if ch.op == "set" else (old * x if ch.op == "scale" else old + x)
                    settings["fx"] = fx
                elif ch.setting in ("unserved_penalty_usd_per_kwh", "total_budget_musd"):
                    old = setting(ch.setting)
                    new = x if ch.op == "set" else (None if old is None else (
                        float(old) * x if ch.op == "scale" else float(old) + x))
                    settings[ch.setting] = new
                else:
                    raise Uncovered(path)
            elif isinstance(ch, Outage):
                rows = self._outage_rows(ch)
                if len(rows):
                    self._column(columns, "plant_years", "availability")[rows] = 0.0
            elif isinstance(ch, Delay):
                if as_whole(ch.years, "a whole number of years") != 0:
                    raise Uncovered(path)  # lead times: the structure changes
            elif isinstance(ch, BudgetCut):
                self._budget_cut(ch, columns, settings, setting)
            else:
                raise Uncovered(path)
        return self._finish(columns, settings)

    def _outage_rows(self, ch: Outage) -> np.ndarray:
        years = as_years(ch.years)
        if ch.plant not in self.plants or any(y not in self.base.years for y in years):
            raise Uncovered("outage")
        key = ("plant_years", (("plant", (ch.plant,)), ("year", tuple(years))))
        if key not in self.rows:
            py = self.base.tables["plant_years"]
            self.rows[key] = np.flatnonzero(((py["plant"] == ch.plant) & py["year"].isin(years)).to_numpy())
        rows = self.rows[key]
        assert rows is not None
        return rows

    def _budget_cut(self, ch: BudgetCut, columns: dict, settings: dict, setting: Callable) -> None:
        share = as_number(ch.share)
        if not 0.0 <= share <= 1.0:
            raise Uncovered("budget cut")
        years = None if ch.years is None else as_years(ch.years)
        if years is not None and any(y not in self.base.years for y in years):
            raise Uncovered("budget cut")
        cut = False
        if ("years", "capex_budget_musd") in self.columns:
            base_years = self.base.tables["years"]["year"].to_numpy()
            mask = np.ones(len(base_years), bool) if years is None else np.isin(base_years, years)
            budget = columns.get(("years", "capex_budget_musd"), self.columns["years", "capex_budget_musd"])
            if (mask & ~np.isnan(budget)).any():
                values = self._column(columns, "years", "capex_budget_musd")
                values[:] = np.where(mask, values * (1.0 - share), values)
                cut = True
        if years is None and setting("total_budget_musd") is not None:
            settings["total_budget_musd"] = float(setting("total_budget_musd")) * (1.0 - share)
            cut = True
        if not cut:
            raise Uncovered("budget cut: nothing to cut")

    def _finish(self, columns: dict, settings: dict) -> Resolved:
        for (table, column), values in columns.items():
            if not _valid(TABLES_BY_NAME[table].column(column), values):
                raise Uncovered(f"{table}.{column}")
            base = self.columns[table, column]
            kept = KEPT_SIGN.get((table, column))
            if kept == "positive" and not np.array_equal(values > 0, base > 0):
                raise Uncovered(f"{table}.{column}: rows enter or leave the model")
            if kept == "blank" and not np.array_equal(np.isnan(values), np.isnan(base)):
                raise Uncovered(f"{table}.{column}: a limit appears or vanishes")
        config = self.base.config
        if settings:
            if ("total_budget_musd" in settings
                    and (settings["total_budget_musd"] is None) != (config.total_budget_musd is None)):
                raise Uncovered("total_budget_musd: a limit appears or vanishes")
            try:
                config = ScenarioConfig(**{**config.model_dump(), **settings})
            except ValidationError as exc:
                raise Uncovered("settings") from exc
        changed = {g for tc in columns for g in SOURCES[tc]}
        if "fx" in settings:
            changed |= set(FX_GROUPS)
        if not changed <= set(self.derive):
            raise Uncovered("group")
        fx = self._fx(config)
        groups = {g: self.derive[g](columns, fx) for g in sorted(changed)}
        if config.unserved_penalty_usd_per_kwh != self.base.config.unserved_penalty_usd_per_kwh:
            groups["penalty"] = np.array([config.unserved_penalty_usd_per_kwh], dtype=float)
        if config.total_budget_musd != self.base.config.total_budget_musd:
            groups["total_budget"] = np.array([config.total_budget_musd], dtype=float)
        return Resolved(groups, columns, config, self._inputs_sha256(columns, config), self)

    # -- what a resolved case gives -------------------------------------------------------------------
    def _inputs_sha256(self, columns: dict, config: ScenarioConfig) -> str:
        """:attr:`Scenario.inputs_sha256` of the case: only the changed tables are hashed again."""
        by_table: dict[str, dict[str, np.ndarray]] = {}
        for (table, column), values in columns.items():
            by_table.setdefault(table, {})[column] = values
        h = hashlib.sha256()
        if config is self.base.config:
            h.update(self._base_config_json())
        else:
            h.update(json.dumps(config.model_dump(mode="json"), sort_keys=True).encode())
        for name, digest in self.base.table_digests.items():
            if name in by_table:
                if name not in self.texts:
                    raise Uncovered(f"digest of {name}")
                digest = self.texts[name].digest(by_table[name])
            h.update(name.encode())
            h.update(digest.encode())
        return h.hexdigest()

    def _base_config_json(self) -> bytes:
        if not hasattr(self, "_config_json"):
            self._config_json = json.dumps(self.base.config.model_dump(mode="json"), sort_keys=True).encode()
        return self._config_json

    def vector(self, keys: list[tuple[str, object]], groups: Mapping[str, np.ndarray]) -> np.ndarray:
        """The base's parameter vector in ``keys`` order with ``groups`` laid over it."""
        if self._positions is None or self._positions[0] != id(keys):
            where = {g: {k: j for j, k in enumerate(ks)} for g, ks in self.keys.items()}
            slots: dict[str, tuple[list[int], list[int]]] = {}
            for i, (g, k) in enumerate(keys):
                pos, src = slots.setdefault(g, ([], []))
                pos.append(i)
                src.append(where[g][k])
            start = np.fromiter((self.base_groups[g][k] for g, k in keys), dtype=float, count=len(keys))
            self._positions = (id(keys), {g: (np.asarray(p, dtype=np.int64), np.asarray(s, dtype=np.int64))
                                          for g, (p, s) in slots.items()}, start)
        _, slots_of, base = self._positions
        out = base.copy()
        for g, values in groups.items():
            if g in slots_of:
                at, take = slots_of[g]
                out[at] = values[take]
        return out

    def scenario(self, case: Resolved) -> Scenario:
        base, cfg = self.base, case.config
        tables = dict(base.tables)
        for (table, column), values in case.columns.items():
            if tables[table] is base.tables[table]:
                tables[table] = tables[table].copy()
            tables[table][column] = values
        s = Scenario(config=cfg, tables=tables, origin=base.origin)
        s.__dict__["_inherited_digests"] = {n: d for n, d in base.table_digests.items() if tables[n] is base.tables[n]}
        s.__dict__["inputs_sha256"] = case.inputs_sha256
        s.__dict__["data"] = self._data(case)
        return s

    def _data(self, case: Resolved) -> ModelData:
        """The base's model data with the case's groups laid over it."""
        d = self.base.data
        update: dict[str, Any] = {}
        for g, values in case.groups.items():
            if g in DATA_FIELDS:
                update[DATA_FIELDS[g]] = dict(zip(self.keys[g], values.tolist()))
        if "demand" in case.groups:
            q = case.columns["demand", "vehicles"]
            update["demand_vehicles"] = dict(zip(d.demand_vehicles, q[q > 0].tolist()))
        if ("plant_years", "min_offtake_gwh") in case.columns:
            update["min_offtake"] = dict(zip(d.min_offtake, case.columns["plant_years", "min_offtake_gwh"].tolist()))
        if any(g in case.groups for g in PLANT_FIELDS) or case.config.fx != self.base.config.fx:
            fx = dict(zip(self.plants, self._fx(case.config).tolist()))
            cols = {c: case.columns.get(("plants", c), self.columns["plants", c]).tolist()
                    for c in ("opening_cost_musd", "step_cost_musd", "fixed_om_musd_per_gwh", "closure_cost_musd")}
            plants = {}
            for i, (p, pl) in enumerate(d.plants.items()):
                f = fx[p]
                plants[p] = dataclasses.replace(
                    pl, opening_cost=cols["opening_cost_musd"][i] * f, step_cost=cols["step_cost_musd"][i] * f,
                    fixed_om=cols["fixed_om_musd_per_gwh"][i] * f, closure_cost=cols["closure_cost_musd"][i] * f,
                    fx=f)
            update["plants"] = plants
        return dataclasses.replace(d, **update)


def _valid(col: Column, values: np.ndarray) -> bool:
    """Whether the validation of a typed column (:mod:`optimizer.validate`) accepts these values as they
    are: no blank where one is not allowed, finite, within the column's range and the model's magnitude."""
    blank = np.isnan(values)
    if blank.any() and (col.default is not None or (col.required and col.blank_means is None)):
        return False
    x = values[~blank]
    if not np.isfinite(x).all() or (np.abs(x) > MAGNITUDE).any():
        return False
    if col.kind != "float":
        return False
    if col.minimum is not None and (x < col.minimum).any():
        return False
    return not (col.maximum is not None and (x > col.maximum).any())
