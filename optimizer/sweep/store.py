"""Incremental, atomic, resumable storage of a sweep's results.

Layout of a sweep folder::

    sweep.json                     what was swept (name, file, base, options, parameters)
    parts/flows-000007.parquet     long tables of one batch of results ...
    parts/summary-000007.parquet   ... and its summary rows, written LAST: a batch counts once this exists
    summary.parquet, flows.parquet, builds.parquet, capacity.parquet, costs.parquet, unmet.parquet
                                   the compacted tables (written at the end of a run, parts removed)

Every file is written under a temporary name and renamed into place. A batch whose summary part is
missing (the driver died while writing it) is an orphan: its other parts are deleted on the next open
and its scenarios solved again. So a killed and resumed sweep ends with exactly the rows of an
uninterrupted one, and batches keep the number of files small however many scenarios there are.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..files import atomic_write
from ..review import Review, ReviewData, sweep_review_data
from .worker import LONG_TABLES, CaseResult, to_frames

TABLES = ("summary", *LONG_TABLES)
PART = re.compile(r"^(?P<table>[a-z]+)-(?P<n>\d{6})\.parquet$")


def _atomic_write(table: pa.Table, path: Path) -> None:
    atomic_write(path, lambda tmp: pq.write_table(table, tmp))


def _arrow(frame: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(frame, preserve_index=False)


class SweepStore:
    """The results folder of one sweep: which cases are done, and the writer of new batches."""

    def __init__(self, out: Path, meta: dict, parameter_names: tuple[str, ...], flush_every: int = 50):
        self.out = Path(out)
        self.parts = self.out / "parts"
        self.parts.mkdir(parents=True, exist_ok=True)
        self.parameter_names = parameter_names
        self.flush_every = flush_every
        self.buffer: list[CaseResult] = []
        self.counts: Counter[str] = Counter()
        meta_file = self.out / "sweep.json"
        meta_file.write_text(json.dumps(meta, indent=2, default=str), encoding="utf-8")
        self._drop_orphans()
        self.done: set[str] = set()
        for path in self._summary_files():
            self.done.update(pq.read_table(path, columns=["case_key"]).column("case_key").to_pylist())
        numbers = [int(m["n"]) for p in self.parts.iterdir() if (m := PART.match(p.name))]
        self.next_part = max(numbers, default=0) + 1

    def _summary_files(self) -> list[Path]:
        files = sorted(self.parts.glob("summary-*.parquet"))
        compacted = self.out / "summary.parquet"
        return ([compacted] if compacted.exists() else []) + files

    def _drop_orphans(self) -> None:
        complete = {m["n"] for p in self.parts.iterdir() if (m := PART.match(p.name)) and m["table"] == "summary"}
        for p in list(self.parts.iterdir()):
            m = PART.match(p.name)
            if p.name.startswith(".") or (m and m["n"] not in complete):
                p.unlink()

    def add(self, result: CaseResult) -> None:
        self.buffer.append(result)
        self.counts[result.status] += 1
        self.done.add(result.case_key)
        if len(self.buffer) >= self.flush_every:
            self.flush()

    def flush(self) -> None:
        """Write the buffered results as one batch: long tables first, the summary part last."""
        if not self.buffer:
            return
        frames = to_frames(self.buffer, self.parameter_names)
        n = f"{self.next_part:06d}"
        for name in LONG_TABLES:
            if len(frames[name]):
                _atomic_write(_arrow(frames[name]), self.parts / f"{name}-{n}.parquet")
        _atomic_write(_arrow(frames["summary"]), self.parts / f"summary-{n}.parquet")
        self.next_part += 1
        self.buffer.clear()

    def compact(self) -> None:
        """Merge the compacted tables and all parts into one file per table, streaming part by part
        (memory bounded by the largest part), then remove the parts."""
        self.flush()
        for name in TABLES:
            files = ([self.out / f"{name}.parquet"] if (self.out / f"{name}.parquet").exists() else [])
            files += sorted(self.parts.glob(f"{name}-*.parquet"))
            if not files:
                continue
            schemas = [pq.read_schema(f) for f in files]
            schema = pa.unify_schemas(schemas, promote_options="permissive")
            target = self.out / f"{name}.parquet"
            tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
            with pq.ParquetWriter(tmp, schema) as writer:
                for f in files:
                    table = pq.read_table(f)
                    for field in schema:
                        if field.name not in table.column_names:
                            table = table.append_column(field.name, pa.nulls(len(table), field.type))
                    writer.write_table(table.select(schema.names).cast(schema))
            os.replace(tmp, target)
        for f in self.parts.glob("*.parquet"):
            f.unlink()


class SweepResult(Review):
    """A sweep read back: ``summary`` (one row per scenario) and the long tables with a scenario_id column;
    the review analyses of :class:`~optimizer.review.Review` (``compare``, ``build_frequency``, ...)."""

    def __init__(self, out: Path):
        self.out = Path(out)
        self.meta = json.loads((self.out / "sweep.json").read_text(encoding="utf-8"))
        self.tables = {name: read_table(self.out, name) for name in TABLES}

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


def read_table(out: Path, name: str) -> pd.DataFrame:
    """One table of a sweep folder: the compacted file plus any parts not yet compacted."""
    out = Path(out)
    files = ([out / f"{name}.parquet"] if (out / f"{name}.parquet").exists() else [])
    parts = out / "parts"
    if parts.is_dir():
        complete = {m["n"] for p in parts.iterdir() if (m := PART.match(p.name)) and m["table"] == "summary"}
        files += [p for p in sorted(parts.glob(f"{name}-*.parquet")) if PART.match(p.name)["n"] in complete]
    frames = [pd.read_parquet(f) for f in files]
    frames = [f for f in frames if len(f.columns)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
