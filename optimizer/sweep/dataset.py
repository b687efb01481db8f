"""Reading a sweep's results folder (see :mod:`.store` for the layout): only committed batches, each case
once; tidying (parts no record names, records another covers); optional compaction.

Every table is a folder of parquet parts (``DIR/summary.parquet/``, ``DIR/flows.parquet/`` ...), so pandas,
pyarrow and DuckDB read it in place (``pd.read_parquet("DIR/summary.parquet")``,
``read_parquet('DIR/flows.parquet/*.parquet', union_by_name=true)``); after a run has ended, the folder
holds only committed parts. While a run writes, or after one was killed, :class:`SweepResult`
(``optimizer.load_results``) reads exactly the committed cases.

Compaction merges runs of adjacent batches into one part per table and commits it with a record covering
their whole range (``replaces`` names the records it covers): readers take the wider record and skip the
ones it covers, so a compaction killed at any point never counts a case twice. Each group is independent,
so groups can run on many workers (:func:`compact` on Ray), never through one process.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs

from ..location import Location, resolve
from ..review import Review, ReviewData, sweep_review_data
from .store import (
    COMMITS,
    META,
    PART_NAME,
    TABLES,
    Ranges,
    StoreError,
    commit_name,
    list_commits,
    read_commit,
    table_dir,
    write_batch,
)


def committed(loc: Location) -> list[tuple[dict, list[tuple[int, int]] | None]]:
    """The records read: (record, None) for a record whose whole range counts, (record, ranges) for one
    partly covered by an earlier (wider) record: only its cases in ``ranges`` count."""
    ranges = list_commits(loc)
    with ThreadPoolExecutor(max_workers=16) as pool:  # object stores answer in parallel
        records = list(pool.map(lambda r: read_commit(loc, *r), ranges))
    covered, out = Ranges(), []
    for (start, stop), record in zip(ranges, records):
        if record is None or covered.covers(start, stop):
            continue
        missing = covered.missing(start, stop)
        out.append((record, None if missing == [(start, stop)] else missing))
        covered.add(start, stop)
    return out


def bad_part(loc: Location, table: str, name: str, record: dict, what: str) -> StoreError:
    """The error for a counted part that cannot be read as written, with what to do about it."""
    start, stop = record["start"], record["stop"]
    return StoreError(f"{loc.uri}/{table_dir(table)}/{name} (cases {start}..{stop - 1}) is {what}: run the sweep "
                      f"again with --repair to drop that batch and solve its cases again (or delete its commit record "
                      f"{loc.uri}/{COMMITS}/{commit_name(start, stop)} and run the sweep again)")


def _read_part(loc: Location, table: str, record: dict, keep: list[tuple[int, int]] | None) -> pa.Table | None:
    name = record.get("files", {}).get(table)
    if not name:
        return None
    try:
        data = loc.read_parquet(table_dir(table), name)
    except (OSError, pa.ArrowException) as exc:
        raise bad_part(loc, table, name, record,
                       f"unreadable (truncated or corrupt: {str(exc).splitlines()[0][:160]})") from None
    if keep is not None and "case_index" in data.column_names:
        mask = None
        for a, b in keep:
            m = pc.and_(pc.greater_equal(data["case_index"], a), pc.less(data["case_index"], b))
            mask = m if mask is None else pc.or_(mask, m)
        data = data.filter(mask)
    return data


def concat(tables: list[pa.Table]) -> pa.Table | None:
    tables = [t for t in tables if t is not None]
    if not tables:
        return None
    schema = pa.unify_schemas([t.schema for t in tables], promote_options="permissive")
    aligned = []
    for t in tables:
        for f in schema:
            if f.name not in t.column_names:
                t = t.append_column(f.name, pa.nulls(len(t), f.type))
        aligned.append(t.select(schema.names).cast(schema))
    return pa.concat_tables(aligned)


def read_table(target: str | Path | Location, name: str) -> pd.DataFrame:
    """One table of a sweep folder: every committed case once."""
    loc = target if isinstance(target, Location) else resolve(target)
    if not _is_current(loc):
        return _read_legacy(Path(loc.root), name)
    with ThreadPoolExecutor(max_workers=8) as pool:
        parts = list(pool.map(lambda rk: _read_part(loc, name, *rk), committed(loc)))
    data = concat(parts)
    if data is None:
        return pd.DataFrame()
    frame = data.to_pandas()
    return frame.sort_values("case_index", kind="stable").reset_index(drop=True) if "case_index" in frame else frame


def _is_current(loc: Location) -> bool:
    return loc.exists(COMMITS) or not loc.local or not (Path(loc.root) / "parts").is_dir() and not (
        Path(loc.root) / "summary.parquet").is_file()


def _read_legacy(out: Path, name: str) -> pd.DataFrame:
    """A folder written before the current layout: compacted tables plus parts whose summary exists."""
    files = [out / f"{name}.parquet"] if (out / f"{name}.parquet").is_file() else []
    parts = out / "parts"
    if parts.is_dir():
        done = {p.name.split("-")[1] for p in parts.glob("summary-*.parquet")}
        files += [p for p in sorted(parts.glob(f"{name}-*.parquet")) if p.name.split("-")[1] in done]
    frames = [f for f in (pd.read_parquet(f) for f in files) if len(f.columns)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def tidy(loc: Location, repair: bool = False) -> list[tuple[int, int]]:
    """Delete what no reader counts: records covered by a wider one, parts no counted record names. Check
    that every counted part is there with the size its record wrote: a missing or truncated one raises
    :class:`StoreError`, or with ``repair`` its batch is dropped (its cases will be solved again). Returns
    the ranges dropped."""
    records = committed(loc)
    counted = {commit_name(r["start"], r["stop"]) for r, _ in records}
    for start, stop in list_commits(loc):
        if commit_name(start, stop) not in counted:
            loc.delete(COMMITS, commit_name(start, stop))
    owner = {(t, n): r for r, _ in records for t, n in r.get("files", {}).items()}
    found: dict[tuple[str, str], int] = {}
    for table in TABLES:
        sel = pafs.FileSelector(loc.path(table_dir(table)), allow_not_found=True)
        found.update({(table, i.base_name): i.size for i in loc.fs.get_file_info(sel) if PART_NAME.match(i.base_name)})
    dropped: list[dict] = []
    for key, r in owner.items():
        expected = r.get("bytes", {}).get(key[0])
        problem = "missing" if key not in found else (
            f"truncated ({found[key]} of {expected} bytes)" if expected is not None and found[key] != expected else "")
        if problem and not repair:
            raise bad_part(loc, key[0], key[1], r, problem)
        if problem and r not in dropped:
            dropped.append(r)
    for r in dropped:
        loc.delete(COMMITS, commit_name(r["start"], r["stop"]))
    live = {k for k, r in owner.items() if r not in dropped}
    for table, name in found:
        if (table, name) not in live:
            loc.delete(table_dir(table), name)
    return [(r["start"], r["stop"]) for r in dropped]


def compaction_groups(loc: Location, group: int = 64) -> list[list[dict]]:
    """Runs of adjacent, wholly counted records, at most ``group`` each (single records are left alone)."""
    runs: list[list[dict]] = []
    current: list[dict] = []
    for record, keep in committed(loc):
        if keep is None and current and current[-1]["stop"] == record["start"] and len(current) < group:
            current.append(record)
            continue
        if len(current) > 1:
            runs.append(current)
        current = [record] if keep is None else []
    if len(current) > 1:
        runs.append(current)
    return runs


def compact_group(target: str, records: list[dict]) -> dict:
    """Merge the parts of ``records`` (adjacent ranges) into one batch; commit it; drop the merged ones."""
    loc = resolve(target)
    frames = {}
    for table in TABLES:
        data = concat([_read_part(loc, table, r, None) for r in records])
        if data is not None:
            frames[table] = data
    counts: dict[str, int] = {}
    for r in records:
        for k, v in r.get("counts", {}).items():
            counts[k] = counts.get(k, 0) + v
    start, stop = records[0]["start"], records[-1]["stop"]
    if "summary" not in frames:
        frames["summary"] = pa.table({})
    merged = write_batch(loc, start, stop, frames, counts, sum(r.get("seconds", 0.0) for r in records))
    for r in records:  # the wider record now covers these: remove them (readers skip them meanwhile)
        loc.delete(COMMITS, commit_name(r["start"], r["stop"]))
        for table, name in r.get("files", {}).items():
            loc.delete(table_dir(table), name)
    return {"start": start, "stop": stop, "merged": len(records), "attempt": merged["attempt"]}


class SweepResult(Review):
    """A sweep read back: ``summary`` (one row per scenario) and the long tables with a scenario_id column;
    the review analyses of :class:`~optimizer.review.Review` (``compare``, ``build_frequency``, ...)."""

    def __init__(self, out: str | Path):
        loc = resolve(out)
        self.location = loc
        self.out = Path(loc.root) if loc.local else loc.uri
        try:
            self.meta = json.loads(loc.read_text(META))
        except FileNotFoundError:
            raise FileNotFoundError(f"{loc.uri} holds no {META}: not a sweep result folder") from None
        self.tables = {name: read_table(loc, name) for name in TABLES}

    summary = property(lambda self: self.tables["summary"])
    flows = property(lambda self: self.tables["flows"])
    builds = property(lambda self: self.tables["builds"])
    capacity = property(lambda self: self.tables["capacity"])
    costs = property(lambda self: self.tables["costs"])
    unmet = property(lambda self: self.tables["unmet"])

    def review_data(self) -> ReviewData:
        return sweep_review_data(self.summary, self.tables, list(self.meta.get("parameters", [])))

    def __repr__(self) -> str:
        return f"SweepResult({self.meta.get('sweep')!r}, {len(self.summary)} scenarios, {self.out})"
