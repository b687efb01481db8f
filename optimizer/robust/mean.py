"""The expected-value scenario: every input averaged over a set of scenarios (for the VSS)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..scenario import Scenario
from ..schema import TABLES_BY_NAME


def mean_scenario(scenarios: Sequence[Scenario], weights: Sequence[float], name: str = "expected-value") -> Scenario:
    """The scenario whose every number is the probability-weighted mean of the scenarios' numbers.

    Tables are matched row by row on their keys; text columns must agree across scenarios; whole-number
    columns (lead times, step counts) are rounded to the nearest whole number after averaging. A blank
    cell ("no limit") set in some scenarios but not in others cannot be averaged: ValueError. Settings
    are averaged the same way (``total_budget_musd``, ``unserved_penalty_usd_per_kwh``, fx indices ...).
    """
    if not scenarios:
        raise ValueError("no scenarios to average")
    w = np.asarray(weights, dtype=float) / float(np.sum(weights))
    first = scenarios[0]
    changed: dict[str, pd.DataFrame] = {}
    for table in first.tables:
        frames = [_aligned(s, table) for s in scenarios]
        if all(f.equals(frames[0]) for f in frames[1:]):
            continue
        changed[table] = _mean_frame(table, frames, w)
    settings = _mean_settings([s.config.model_dump() for s in scenarios], w)
    settings["name"] = name
    return first.derive(changed, **settings)


def _aligned(s: Scenario, table: str) -> pd.DataFrame:
    frame = s.tables.get(table)
    if frame is None:
        raise ValueError(f"table {table} is missing from scenario {s.name}")
    key = list(TABLES_BY_NAME[table].key)
    return frame.sort_values(key).reset_index(drop=True)


def _mean_frame(table: str, frames: list[pd.DataFrame], w: np.ndarray) -> pd.DataFrame:
    out = frames[0].copy()
    for f in frames[1:]:
        if list(f.columns) != list(out.columns) or len(f) != len(out):
            raise ValueError(f"table {table} has different rows or columns across scenarios: cannot average")
    kinds = {c.name: c.kind for c in TABLES_BY_NAME[table].columns}
    for col in out.columns:
        values = [f[col] for f in frames]
        if all(v.equals(values[0]) for v in values[1:]):
            continue
        if kinds.get(col) not in ("int", "float"):
            raise ValueError(f"table {table}, column {col}: text differs across scenarios: cannot average")
        stack = np.vstack([pd.to_numeric(v, errors="coerce").to_numpy(dtype=float) for v in values])
        blank = np.isnan(stack)
        if (blank.any(axis=0) & ~blank.all(axis=0)).any():
            raise ValueError(f"table {table}, column {col}: blank (no limit) in some scenarios and set in "
                             "others: cannot average")
        mean = np.where(blank.all(axis=0), np.nan, np.nansum(stack * w[:, None], axis=0))
        if kinds[col] == "int":
            mean = np.round(mean)
        out[col] = pd.Series(mean, index=out.index).astype(out[col].dtype if out[col].dtype != object else float)
    return out


def _mean_settings(configs: list[Mapping[str, Any]], w: np.ndarray) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in configs[0].items():
        values = [c[key] for c in configs]
        if key in ("name", "description", "sources"):
            continue
        if key == "fx":
            out[key] = {cur: float(sum(wi * c["fx"].get(cur, 1.0) for wi, c in zip(w, configs))) for cur in value}
        elif isinstance(value, float) or (key == "total_budget_musd" and any(v is not None for v in values)):
            if any(v is None for v in values):
                raise ValueError(f"setting {key}: unlimited in some scenarios and set in others: cannot average")
            out[key] = float(sum(wi * float(v) for wi, v in zip(w, values)))
        elif any(v != value for v in values):
            if isinstance(value, int) and not isinstance(value, bool):
                out[key] = int(round(sum(wi * v for wi, v in zip(w, values))))
            else:
                raise ValueError(f"setting {key} differs across scenarios: cannot average")
    return out
