"""A table's :func:`~optimizer.scenario.table_digest` recomputed after some of its numeric columns changed,
without going back through pandas: the text the digest hashes is kept as one ``repr`` per cell, in the
table's key order, and only the changed columns' cells are written again.

The result is the same sha256 as :func:`~optimizer.scenario.table_digest` of the changed table (checked
against it on the base table when the cache is built; a table whose digest the pieces do not reproduce
is not cached, and the caller hashes it the ordinary way).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..scenario import table_digest
from ..schema import TABLES_BY_NAME


def _cell_repr(x: object) -> str:
    """repr of a cell as :func:`table_digest` writes it (every missing value as None)."""
    if x is pd.NA or (isinstance(x, float) and x != x):
        return "None"
    return repr(x)


class TableText:
    """The digest text of one base table as cell reprs, in key order, ready for changed columns."""

    def __init__(self, name: str, frame: pd.DataFrame):
        self.name = name
        self.columns = sorted(frame.columns)
        key = [c for c in TABLES_BY_NAME[name].key if c in self.columns]
        key_cells = list(zip(*(frame[k].tolist() for k in key))) if key else [()] * len(frame)
        self.order = np.asarray(sorted(range(len(frame)), key=lambda i: key_cells[i]), dtype=np.int64)
        self.cells = {c: [_cell_repr(x) for x in (frame[c].tolist()[i] for i in self.order)] for c in self.columns}

    def digest(self, changed: Mapping[str, np.ndarray]) -> str:
        """sha256 of the table with ``changed`` columns (float arrays in the base table's row order)."""
        cells = dict(self.cells)
        for column, values in changed.items():
            cells[column] = ["None" if math.isnan(v) else repr(v) for v in values[self.order].tolist()]
        rows = list(map(", ".join, zip(*(cells[c] for c in self.columns))))
        body = "[(" + "), (".join(rows) + ")]" if rows else "[]"
        return hashlib.sha256(f"({self.columns!r}, {body})".encode()).hexdigest()


def table_texts(tables: Mapping[str, pd.DataFrame], names: set[str]) -> dict[str, TableText]:
    """A :class:`TableText` for each of ``names`` whose digest the pieces reproduce exactly."""
    out = {}
    for name in names:
        if name in tables:
            text = TableText(name, tables[name])
            if text.digest({}) == table_digest(name, tables[name]):
                out[name] = text
    return out
