"""Checks of an .xlsx scenario workbook made before it is loaded, reading its parts as a stream:

* its unpacked size against :data:`~optimizer.limits.WORKBOOK_MB` (the zip directory states it);
* each sheet's rows against :data:`~optimizer.limits.TABLE_ROWS`: first the sheet's declared dimension
  (``<dimension ref="A1:D2000001"/>``, read at once), then a count of the rows while streaming, which stops
  one row past the limit (so a false dimension costs at most the limit's worth of parsing, never memory);
* formulas without a cached value (``<c><f>B2*2</f><v/></c>``, as written by scripts and by some tools that
  do not calculate): read through a library they are blank, which silently changes the model (a budget
  becomes "no limit"), so each is refused with its sheet and cell. Open and save the workbook in Excel or
  LibreOffice to store the values, or type the numbers.

Workbook XML is parsed with the standard library's expat (2.4.1+ refuses entity-expansion bombs; no
external entities are resolved).
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import XMLPullParser

from .errors import Problem
from .limits import SHOWN_PER_RULE, TABLE_ROWS, WORKBOOK_MB

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
CHUNK = 1 << 16
_LAST_ROW = re.compile(r"[A-Z]+(\d+)$")
_DIMENSION = re.compile(rb'<(?:\w{1,20}:)?dimension\s+ref="([^"]*)"')
# the scan looks for tag starts, plain or with a namespace prefix (<x:row ...>); the prefixed forms may also
# match text such as "a:row", which can only count too many rows or parse a sheet without formulas
_FORMULA_TAGS = (b"<f", b":f")  # also <formula>, <filterColumn> ...: those sheets are parsed, in vain
TAG_CARRY = 64  # longer than any tag start the scan looks for


def workbook_problems(path: Path) -> list[Problem]:
    """Every reason not to load the workbook at ``path`` (empty when it may be loaded). A file that is not
    a zip archive gives no problem here: the reader reports it as unreadable."""
    try:
        with zipfile.ZipFile(path) as book:
            unpacked = sum(info.file_size for info in book.infolist())
            if unpacked > WORKBOOK_MB.value * 1_000_000:
                return [Problem(str(path), None, None, "limit",
                                WORKBOOK_MB.exceeded(f"the workbook unpacks to {unpacked / 1e6:,.0f} MB"))]
            problems: list[Problem] = []
            for sheet, part in _sheet_parts(book):
                problems += _sheet_problems(book, part, f"{path}[{sheet}]")
            return problems
    except (zipfile.BadZipFile, KeyError, OSError):
        return []  # not a workbook: the reader says so
    except SyntaxError as exc:  # ElementTree.ParseError
        return [Problem(str(path), None, None, "xlsx", f"cannot read workbook: malformed XML ({exc})")]


def _sheet_parts(book: zipfile.ZipFile) -> list[tuple[str, str]]:
    """(sheet name, part name in the archive) of each worksheet, in workbook order."""
    targets = {}
    for rel in _parse(book.read("xl/_rels/workbook.xml.rels")).iter(f"{PKG_REL}Relationship"):
        target = rel.get("Target", "")
        part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
        targets[rel.get("Id")] = part
    sheets = _parse(book.read("xl/workbook.xml")).iter(f"{MAIN}sheet")
    return [(s.get("name", "?"), targets[s.get(f"{REL}id")]) for s in sheets if s.get(f"{REL}id") in targets]


def _parse(data: bytes) -> Any:
    parser: Any = XMLPullParser(events=("end",))
    parser.feed(data)
    parser.close()
    root = None
    for _, elem in parser.read_events():
        root = elem
    return root


def _sheet_problems(book: zipfile.ZipFile, part: str, file: str) -> list[Problem]:
    """Row limit and uncached formulas of one sheet. A byte scan counts the rows (stopping past the limit)
    and looks for formulas; only a sheet with formulas is parsed as XML, one row at a time."""
    limit = TABLE_ROWS.value + 1  # the header row is not a data row
    rows, has_formula, carry, first = 0, False, b"", True
    with book.open(part) as stream:
        while chunk := stream.read(CHUNK):
            data = carry + chunk
            if first:
                first = False
                dim = _DIMENSION.search(data)
                last = _LAST_ROW.search(dim.group(1).decode("ascii", "replace").split(":")[-1].replace("$", "")) \
                    if dim else None
                if last and int(last.group(1)) > limit:
                    return [_too_many(file, f"the sheet declares {int(last.group(1)) - 1:,} data rows")]
            # a tag cut by the chunk's end is counted with the next chunk: it starts at the last '<'
            cut = data.rfind(b"<")
            if cut == -1 or len(data) - cut > TAG_CARRY:
                cut = len(data)
            rows += _rows(data, cut)
            has_formula = has_formula or _count(data, _FORMULA_TAGS, cut) > 0
            carry = data[cut:]
            if rows > limit:
                return [_too_many(file, f"the sheet has more than {limit - 1:,} data rows")]
    rows += _rows(carry, len(carry))
    if rows > limit:
        return [_too_many(file, f"the sheet has more than {limit - 1:,} data rows")]
    if not (has_formula or _count(carry, _FORMULA_TAGS, len(carry))):
        return []
    return _uncached_formulas(book, part, file)


def _rows(data: bytes, end: int) -> int:
    """Row tags in ``data[:end]``: every tag name starting with ``row`` (whatever follows it, whitespace
    included) except ``rowBreaks``, the only other worksheet element so named."""
    return _count(data, (b"<row", b":row"), end) - _count(data, (b"<rowBreaks", b":rowBreaks"), end)


def _count(data: bytes, tags: tuple[bytes, ...], end: int) -> int:
    """Occurrences of the tag starts ``tags`` in ``data[:end]`` (``bytes.count``: no copy, C speed)."""
    return sum(data.count(tag, 0, end) for tag in tags)


def _uncached_formulas(book: zipfile.ZipFile, part: str, file: str) -> list[Problem]:
    """Cells holding a formula but no stored value (``<v>`` absent or empty, and not a text result)."""
    parser: Any = XMLPullParser(events=("start", "end"))
    sheet_data = None
    uncached: list[str] = []
    n_uncached = 0
    with book.open(part) as stream:
        while chunk := stream.read(CHUNK):
            parser.feed(chunk)
            for event, elem in parser.read_events():
                if event == "start":
                    if elem.tag == f"{MAIN}sheetData":
                        sheet_data = elem
                elif elem.tag == f"{MAIN}c":
                    formula, value = elem.find(f"{MAIN}f"), elem.find(f"{MAIN}v")
                    if formula is not None and (value is None or not value.text) and elem.get("t") != "str":
                        n_uncached += 1
                        if len(uncached) < SHOWN_PER_RULE:
                            uncached.append(elem.get("r") or "?")
                elif elem.tag == f"{MAIN}row" and sheet_data is not None:
                    sheet_data.clear()  # rows already checked: keep memory at one row
    if not n_uncached:
        return []
    more = f" and {n_uncached - len(uncached):,} more" if n_uncached > len(uncached) else ""
    return [Problem(file, None, None, "formula",
                    f"cell{'s' if n_uncached > 1 else ''} {', '.join(uncached)}{more} hold a formula without a "
                    "stored value, which would read as blank: open and save the workbook in Excel or LibreOffice "
                    "so that it stores the values, or type the numbers")]


def _too_many(file: str, found: str) -> Problem:
    return Problem(file, None, None, "limit", TABLE_ROWS.exceeded(found))
