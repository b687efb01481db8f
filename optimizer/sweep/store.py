"""A sweep's results folder: exactly-once batches written by the workers themselves, on any file system.

Layout (``DIR`` a folder, a shared path or an ``s3://`` / ``gs://`` URI)::

    sweep.json                           the sweep's identity and description, written first (atomically)
    _lock.json                           held by the one run writing DIR (refreshed while it runs)
    summary.parquet/part-SSSSSSSSSSSS-EEEEEEEEEEEE-ATTEMPT.parquet   one batch's summary rows (cases S .. E-1)
    flows.parquet/part-...parquet  builds.parquet/ ...  the batch's long tables, same part name

Each ``TABLE.parquet`` is a folder of parts (a dataset, as Spark writes them): ``pd.read_parquet(
"DIR/summary.parquet")`` reads it whole.
    _commits/b-SSSSSSSSSSSS-EEEEEEEEEEEE.json               the batch's commit record, written LAST

A batch counts once its commit record exists; the record names the attempt whose parts it commits. A
part without a record (a worker killed mid-batch, a lost race) is never read and is deleted by the next
run. The record's name depends only on the case range, so a batch sent again after a lost acknowledgement
finds its record and is not solved again; two records whose ranges overlap (a resumed run cut its ranges
differently) are read as one: each case counts once, from the first record (widest first) that covers it.
What is done is the union of the ranges in the records' names: resuming lists ``_commits/`` and nothing else.

A folder belongs to one sweep identity (the base scenario's inputs, the options and the definition of the
cases): a run with another identity, or into a folder with files this program did not write, is refused
unless told to overwrite (which removes only what a sweep writes).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import time
import uuid
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pyarrow as pa

from ..location import Location

FORMAT = "sweep-2"
LONG_TABLES = ("flows", "builds", "capacity", "costs", "unmet")
TABLES = ("summary", *LONG_TABLES)
COMMITS = "_commits"
LOCK = "_lock.json"
META = "sweep.json"
COMMIT_NAME = re.compile(r"^b-(?P<start>\d{12})-(?P<stop>\d{12})\.json$")
PART_NAME = re.compile(r"^part-(?P<start>\d{12})-(?P<stop>\d{12})-(?P<attempt>[0-9a-f]+)\.parquet$")
# what a sweep (this version or the one before) writes at the top of its folder: --overwrite removes these only
OWN_NAMES = {META, LOCK, COMMITS, "parts", "report.html", "robust", *(f"{t}.parquet" for t in TABLES)}
SOLVE_ONLY = {"manifest.json", "kpis.parquet"}  # with the tables above, what `optimizer solve` writes
LOCK_STALE = 120.0  # seconds without a heartbeat after which a lock on another machine is taken over
HEARTBEAT = 20.0


class StoreError(Exception):
    """The results folder cannot be used as asked; the message says why and what to do (exit 2)."""


def table_dir(table: str) -> str:
    return f"{table}.parquet"


def commit_name(start: int, stop: int) -> str:
    return f"b-{start:012d}-{stop:012d}.json"


def part_name(start: int, stop: int, attempt: str) -> str:
    return f"part-{start:012d}-{stop:012d}-{attempt}.parquet"


def sweep_identity(base_sha256: str, options: dict, definition: str) -> str:
    """What makes two runs the same sweep: the base inputs, the solve options and the cases' definition."""
    options = {k: float(v) if isinstance(v, int | float) and not isinstance(v, bool) else v for k, v in options.items()}
    text = json.dumps([FORMAT, base_sha256, options, definition], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


@dataclass
class Ranges:
    """Disjoint, sorted, merged half-open ranges of case numbers: what is done, in O(number of gaps)."""

    starts: list[int] = field(default_factory=list)
    stops: list[int] = field(default_factory=list)

    def add(self, start: int, stop: int) -> None:
        i = bisect_right(self.stops, start - 1)  # first range that ends at or after start
        j = i
        while j < len(self.starts) and self.starts[j] <= stop:
            start, stop = min(start, self.starts[j]), max(stop, self.stops[j])
            j += 1
        self.starts[i:j] = [start]
        self.stops[i:j] = [stop]

    def covers(self, start: int, stop: int) -> bool:
        i = bisect_right(self.starts, start) - 1
        return i >= 0 and self.stops[i] >= stop

    def count(self) -> int:
        return sum(b - a for a, b in zip(self.starts, self.stops))

    def gaps(self, total: int) -> Iterator[tuple[int, int]]:
        at = 0
        for a, b in zip(self.starts, self.stops):
            if a > at:
                yield at, min(a, total)
            at = max(at, b)
        if at < total:
            yield at, total

    def missing(self, start: int, stop: int) -> list[tuple[int, int]]:
        """The parts of [start, stop) not covered."""
        out, at = [], start
        i = bisect_right(self.stops, start)
        for a, b in zip(self.starts[i:], self.stops[i:]):
            if a >= stop:
                break
            if a > at:
                out.append((at, a))
            at = max(at, b)
        if at < stop:
            out.append((at, stop))
        return out


def list_commits(loc: Location) -> list[tuple[int, int]]:
    """The (start, stop) of every commit record, widest first among equal starts."""
    found = [(int(m["start"]), int(m["stop"])) for n in loc.names(COMMITS) if (m := COMMIT_NAME.match(n))]
    return sorted(found, key=lambda r: (r[0], -r[1]))


def done_ranges(loc: Location) -> Ranges:
    done = Ranges()
    for start, stop in list_commits(loc):
        done.add(start, stop)
    return done


def read_commit(loc: Location, start: int, stop: int) -> dict | None:
    try:
        return json.loads(loc.read_text(COMMITS, commit_name(start, stop)))
    except (FileNotFoundError, OSError):
        return None
    except ValueError as exc:
        raise StoreError(f"{loc.uri}/{COMMITS}/{commit_name(start, stop)} is not a readable commit record "
                         f"({exc}): delete it and run the sweep again to solve cases {start}..{stop - 1} again") \
            from None


def write_batch(loc: Location, start: int, stop: int, frames: dict[str, pa.Table], counts: dict[str, int],
                seconds: float = 0.0) -> dict:
    """Write one batch (cases ``start`` .. ``stop - 1``): its parts under a fresh attempt name, then the commit
    record. Returns the record (the acknowledgement the driver gets)."""
    attempt = uuid.uuid4().hex[:12]
    name = part_name(start, stop, attempt)
    files, sizes = {}, {}
    for table, data in frames.items():
        if data.num_rows or table == "summary":
            loc.write_parquet(data, table_dir(table), name)
            files[table] = name
            sizes[table] = loc.fs.get_file_info(loc.path(table_dir(table), name)).size
    record = {"start": start, "stop": stop, "attempt": attempt, "files": files, "bytes": sizes,
              "counts": dict(counts), "seconds": round(seconds, 4), "replaces": [],
              "written": datetime.now(UTC).isoformat(timespec="seconds")}
    loc.write_text(json.dumps(record), COMMITS, commit_name(start, stop))
    return record


def ack(record: dict) -> dict:
    return {"start": record["start"], "stop": record["stop"], "counts": record.get("counts", {}),
            "seconds": record.get("seconds", 0.0)}


# ---------------------------------------------------------------------------------------------------
# the folder as a whole: identity, ownership, lock


def folder_kind(loc: Location) -> tuple[str, dict | None]:
    """``empty``, ``sweep`` (this format; its meta), ``old-sweep``, ``solve`` or ``foreign``."""
    names = [n for n in loc.names() if not n.startswith(".")]
    if not names:
        return "empty", None
    if META in names:
        try:
            meta = json.loads(loc.read_text(META))
        except ValueError:
            return "foreign", None
        return ("sweep" if meta.get("format") == FORMAT else "old-sweep"), meta
    if "manifest.json" in names:
        return "solve", None
    return "foreign", None


def foreign_names(loc: Location) -> list[str]:
    return [n for n in loc.names() if n not in OWN_NAMES | SOLVE_ONLY and not n.startswith(".")]


def remove_sweep(loc: Location) -> None:
    """Remove what a sweep (or a solve) writes into ``loc``, and nothing else."""
    for n in loc.names():
        if n in OWN_NAMES | SOLVE_ONLY and n != LOCK:
            if loc.is_file(n):
                loc.delete(n)
            else:
                loc.delete_dir(n)


def forget_folder(loc: Location) -> None:
    """Remove a folder that a run created and left with nothing but its ``sweep.json`` (its Ray connection
    was refused before any solve)."""
    remove_sweep(loc)
    if loc.local:
        try:
            os.rmdir(loc.root)
        except OSError:  # not empty after all: leave it
            pass


class Lock:
    """``_lock.json``: one writing run per folder. On a local file system it is created exclusively; on
    an object store it is a lease (written, read back, refreshed every :data:`HEARTBEAT` s, stale after
    :data:`LOCK_STALE` s without a refresh)."""

    def __init__(self, loc: Location):
        self.loc = loc
        self.run = uuid.uuid4().hex
        self.last = 0.0

    def _body(self) -> str:
        return json.dumps({"run": self.run, "pid": os.getpid(), "host": socket.gethostname(),
                           "heartbeat": time.time()})

    def _stale(self, held: dict) -> bool:
        if held.get("host") == socket.gethostname():
            try:
                os.kill(int(held.get("pid", 0)), 0)
                return False
            except ProcessLookupError:
                return True
            except (PermissionError, ValueError):
                return False
        return time.time() - float(held.get("heartbeat", 0)) > LOCK_STALE

    def _refuse(self, held: dict) -> None:
        raise StoreError(f"another sweep (process {held.get('pid')} on {held.get('host')}) is writing "
                         f"{self.loc.uri}: wait for it to end, or write elsewhere with --out (if that process is "
                         f"gone, delete {self.loc.uri}/{LOCK})")

    def acquire(self) -> None:
        self.loc.mkdir()
        path = self.loc.path(LOCK)
        for _ in range(3):
            if self.loc.local:
                if self._create_whole(path):
                    self.last = time.monotonic()
                    return
                held = self._held()
                if held is None or self._stale(held):
                    self._set_aside(path, held)
                    continue
                self._refuse(held)
            held = self._held()
            if held is not None and not self._stale(held):
                self._refuse(held)
            self.loc.write_text(self._body(), LOCK)
            time.sleep(0.5)  # a second writer racing us would have overwritten it by now
            held = self._held()
            if held is None or held.get("run") != self.run:
                self._refuse(held or {})
            self.last = time.monotonic()
            return
        raise StoreError(f"could not take the lock {self.loc.uri}/{LOCK}")

    def _create_whole(self, path: str) -> bool:
        """Create ``path`` with this run's body, whole, only if it does not exist: the body goes to a private
        file first, then is hard-linked to the lock's name (atomic, and refused if the name exists, on local
        and network file systems). A lock created empty then filled would, in between, read as unreadable to
        a second run starting at the same instant, which would take it over: both would write."""
        tmp = self.loc.path(f".{LOCK}.{self.run}")
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(self._body())
        try:
            os.link(tmp, path)
            return True
        except FileExistsError:
            return False
        finally:
            os.unlink(tmp)

    def _set_aside(self, path: str, stale: dict | None) -> None:
        """Remove the stale lock ``stale`` so that the next attempt can create one. It is renamed aside
        first (atomic) and checked: if another run took it over since it was read, that run's lock is put
        back (deleting by name would remove the other run's fresh lock, and both would write)."""
        aside = self.loc.path(f".{LOCK}.{self.run}.stale")
        try:
            os.rename(path, aside)
        except FileNotFoundError:
            return  # another run set it aside first
        try:
            with open(aside, encoding="utf-8") as f:
                moved = json.loads(f.read())
        except ValueError:
            moved = None
        if moved is not None and (stale is None or moved.get("run") != stale.get("run")):
            try:
                os.link(aside, path)
            except FileExistsError:
                pass
        os.unlink(aside)

    def _held(self) -> dict | None:
        try:
            return json.loads(self.loc.read_text(LOCK))
        except (FileNotFoundError, OSError, ValueError):
            return None

    def refresh(self) -> None:
        if not self.loc.local and time.monotonic() - self.last > HEARTBEAT:
            self.loc.write_text(self._body(), LOCK)
            self.last = time.monotonic()

    def release(self) -> None:
        held = self._held()
        if held is not None and held.get("run") == self.run:
            self.loc.delete(LOCK)


def open_folder(loc: Location, meta: dict, overwrite: bool = False) -> Lock:
    """Claim ``loc`` for the sweep described by ``meta`` (with its ``identity``): refuse a folder of another
    sweep or with foreign content unless ``overwrite``; take the lock; write ``sweep.json``. Returns the lock."""
    kind, old = folder_kind(loc)
    foreign = foreign_names(loc) if kind != "empty" else []
    if foreign:
        shown = ", ".join(foreign[:5]) + (" ..." if len(foreign) > 5 else "")
        raise StoreError(f"{loc.uri} holds files a sweep did not write ({shown}): give an empty or new folder with "
                         "--out (nothing there is removed, even with --overwrite)")
    same = kind == "sweep" and old is not None and old.get("identity") == meta["identity"]
    if kind in ("sweep", "old-sweep", "solve") and not same and not overwrite:
        what = {"solve": "the result of `optimizer solve`",
                "old-sweep": "results of an earlier version of this program",
                "sweep": f"results of another sweep ({old.get('sweep') if old else '?'}: its base scenario, options "
                         "or cases differ)"}[kind]
        raise StoreError(f"{loc.uri} holds {what}: write elsewhere with --out, or replace them with --overwrite")
    lock = Lock(loc)
    lock.acquire()
    try:
        if overwrite and not same:
            remove_sweep(loc)
        loc.write_text(json.dumps(meta, indent=2, default=str), META)
    except BaseException:
        lock.release()
        raise
    return lock


def counts_of(records: list[dict]) -> Counter:
    c: Counter = Counter()
    for r in records:
        c.update(r.get("counts", {}))
    return c
