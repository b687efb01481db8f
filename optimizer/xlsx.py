"""The one writer of every Excel workbook the project produces (scenario workbooks, result exports).

Each sheet is one table: a bold, frozen header row (with an optional note per header cell, e.g. the
column's unit), column widths fitted to the content (between :data:`MIN_WIDTH` and :data:`MAX_WIDTH`
characters), and every text value written as text. A text value that starts with ``=``, ``+``, ``-`` or
``@`` would otherwise be stored as a live formula (``=HYPERLINK(...)`` in a plant's name would run when
the workbook is opened): such cells are forced to the string type, so Excel shows them as typed.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

FORMULA_START = ("=", "+", "-", "@")
MIN_WIDTH, MAX_WIDTH = 8, 60
EXCEL_MAX_ROWS = 1_048_576


def _cell_value(value: object) -> object:
    """A cell's value: numbers and text as they are; NaN/None blank; tuples ';'-joined; anything else text."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (tuple, list)):
        return ";".join(str(v) for v in value)
    if isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "item"):  # numpy scalars
        return _cell_value(value.item())
    if value is pd.NA or value is pd.NaT:
        return None
    return str(value)


def write_workbook(path: str | Path, sheets: Mapping[str, pd.DataFrame],
                   notes: Mapping[str, Mapping[str, str]] | None = None) -> Path:
    """Write ``sheets`` (sheet name -> table) to ``path``; ``notes[sheet][column]`` becomes a note on that
    column's header cell. The file is written under a temporary name and moved into place.

    Raises ``ValueError`` when a table has more rows than a sheet holds (1,048,576 with the header)."""
    path = Path(path)
    notes = notes or {}
    for name, frame in sheets.items():
        if len(frame) + 1 > EXCEL_MAX_ROWS:
            raise ValueError(f"table {name} has {len(frame):,} rows, more than an Excel sheet holds "
                             f"({EXCEL_MAX_ROWS - 1:,}): export to a CSV folder instead")
    book = Workbook()
    book.remove(book.active)
    bold = Font(bold=True)
    for name, frame in sheets.items():
        sheet = book.create_sheet(title=name[:31])
        columns = [str(c) for c in frame.columns]
        sheet.append(columns)
        widths = [len(c) for c in columns]
        for row in frame.itertuples(index=False, name=None):
            values = [_cell_value(v) for v in row]
            sheet.append(values)
            r = sheet.max_row
            for j, v in enumerate(values):
                if isinstance(v, str):
                    if v.startswith(FORMULA_START):
                        sheet.cell(row=r, column=j + 1).data_type = "s"  # text, never a formula
                    widths[j] = max(widths[j], len(v))
                elif isinstance(v, float):
                    widths[j] = max(widths[j], len(f"{v:.6g}"))
                elif v is not None:
                    widths[j] = max(widths[j], len(str(v)))
        for j, column in enumerate(columns):
            cell = sheet.cell(row=1, column=j + 1)
            cell.font = bold
            note = notes.get(name, {}).get(column)
            if note:
                cell.comment = Comment(note, "optimizer")
            sheet.column_dimensions[get_column_letter(j + 1)].width = min(MAX_WIDTH, max(MIN_WIDTH, widths[j] + 2))
        sheet.freeze_panes = "A2"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        book.save(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path
