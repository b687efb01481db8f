"""The sweep's results store on real files, without Ray (a sweep worker runs in this process and writes as
on Ray): exactly-once batches, compaction that can die anywhere, folder ownership and identity, a truncated
part, the lock against a second writer, and what pandas, pyarrow and DuckDB read in place.

Tiny scenario (tests/tiny.py): 2 years, hard demand of 6 then 9 GWh; every case solves in milliseconds.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow.dataset as pads
import pytest
from tiny import TinyCase

import optimizer
from optimizer.io import write_scenario
from optimizer.location import resolve
from optimizer.solver import SolveOptions
from optimizer.sweep import dataset
from optimizer.sweep.compaction import compact
from optimizer.sweep.runner import solve_in_process
from optimizer.sweep.spec import load_sweep
from optimizer.sweep.store import Lock, Ranges, StoreError, done_ranges

ROOT = Path(__file__).resolve().parents[1]
OPTIONS = SolveOptions(rel_gap=0.0, threads=1, time_limit=20)


def tiny_sweep(tmp: Path, count: int = 12, name: str = "tiny", scale: float = 1.0) -> Path:
    """P1 exists (4 GWh, steps of 3 GWh for $60M), candidate C (6 GWh for $100M); ``count`` random demand
    scales in [0.5, 1.5] times ``scale``."""
    case = (TinyCase(years=2)
            .plant("P1", capacity=4, cost=100, max_steps=3, step_gwh=3, step_cost_musd=60)
            .candidate("C", opening_capacity_gwh=6, opening_cost_musd=100, cost=90)
            .demand(gwh=[6 * scale, 9 * scale]))
    base = write_scenario(case.scenario(), tmp / f"base-{name}")
    path = tmp / f"{name}.yaml"
    path.write_text(f"name: {name}\nbase: {base}\ninclude_base: false\noptions: {{time_limit: 20, rel_gap: 0}}\n"
                    f"samples:\n  count: {count}\n  seed: 3\n  method: random\n  parameters:\n"
                    "    demand: {distribution: uniform, low: 0.5, high: 1.5,\n"
                    "             change: {table: demand, column: vehicles, op: scale}}\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The tiny sweep solved in one go, batches of 2: the reference for every test below."""
    tmp = tmp_path_factory.mktemp("ref")
    path = tiny_sweep(tmp)
    out = solve_in_process(path, tmp / "out", options=OPTIONS, batch_size=2)
    return path, optimizer.load_results(out)


def same(result, reference) -> None:
    s, r = result.summary, reference.summary
    assert list(s["case_index"]) == list(range(len(r))), "every case exactly once"
    assert s["objective"].to_numpy() == pytest.approx(r["objective"].to_numpy(), rel=1e-9)
    for table in ("flows", "builds", "costs"):
        assert len(result.tables[table]) == len(reference.tables[table]), table


def test_ranges_merge_and_report_gaps():
    done = Ranges()
    for a, b in ((4, 6), (0, 2), (2, 4), (9, 10)):
        done.add(a, b)
    assert (done.starts, done.stops) == ([0, 9], [6, 10])
    assert list(done.gaps(12)) == [(6, 9), (10, 12)]
    assert done.covers(1, 5) and not done.covers(5, 7)
    assert done.missing(5, 11) == [(6, 9), (10, 11)]
    assert done.count() == 7


def test_resend_of_a_committed_batch_solves_nothing(reference, tmp_path):
    """A batch sent again (its first answer lost) finds its commit record: same record, no new file."""
    from optimizer.sweep.worker import SweepContext, SweepWorker

    path, _ = reference
    out = solve_in_process(path, tmp_path / "out", options=OPTIONS, batch_size=4)
    sweep = load_sweep(path)
    worker = SweepWorker(SweepContext(sweep, sweep.load_base(), OPTIONS.as_dict(), str(out), {"demand": "float"}))
    before = sorted(p.name for p in (out / "summary.parquet").iterdir())
    again = worker.run_batch((4, 8))
    assert again["start"] == 4 and again["counts"] == {"optimal": 4}
    assert worker.solver.solved == 0
    assert sorted(p.name for p in (out / "summary.parquet").iterdir()) == before


def test_overlapping_commits_count_each_case_once(reference, tmp_path):
    """A resumed run that cut its batches differently ([0,4) then [2,6) over a committed [0,4)): readers
    count cases 2 and 3 once, from the wider/earlier record."""
    from optimizer.sweep.worker import SweepContext, SweepWorker

    path, ref = reference
    out = solve_in_process(path, tmp_path / "out", options=OPTIONS, batch_size=4)
    sweep = load_sweep(path)
    worker = SweepWorker(SweepContext(sweep, sweep.load_base(), OPTIONS.as_dict(), str(out), {"demand": "float"}))
    worker.run_batch((2, 6))  # overlaps [0,4) and [4,8)
    same(optimizer.load_results(out), ref)
    dataset.tidy(resolve(out))  # the partly counted record stays, read in part
    same(optimizer.load_results(out), ref)
    worker.run_batch((8, 10))  # wholly covered by [8,12): tidy removes it
    dataset.tidy(resolve(out))
    assert not (out / "_commits" / "b-000000000008-000000000010.json").exists()
    same(optimizer.load_results(out), ref)


def test_compaction_killed_at_any_point_never_doubles(reference, tmp_path, monkeypatch):
    """Compaction dies (1) after writing the merged parts, before its record; (2) after its record, before
    removing the merged records: every read counts each case once; a later compaction finishes the job."""
    from optimizer.location import Location

    path, ref = reference
    out = solve_in_process(path, tmp_path / "out", options=OPTIONS, batch_size=1)
    real_write, real_delete = Location.write_text, Location.delete

    def die_on_commit(self, text, *parts):
        if parts[0] == "_commits":
            raise KeyboardInterrupt("killed before the record")
        return real_write(self, text, *parts)

    monkeypatch.setattr(Location, "write_text", die_on_commit)
    with pytest.raises(KeyboardInterrupt):
        compact(str(out), group=4)
    monkeypatch.setattr(Location, "write_text", real_write)
    (out / "_lock.json").unlink(missing_ok=True)  # had the process been killed, it would hold it
    same(optimizer.load_results(out), ref)

    def die_on_delete(self, *parts):
        if parts[0] == "_commits":
            raise KeyboardInterrupt("killed after the record")
        return real_delete(self, *parts)

    monkeypatch.setattr(Location, "delete", die_on_delete)
    with pytest.raises(KeyboardInterrupt):
        compact(str(out), group=4)
    monkeypatch.setattr(Location, "delete", real_delete)
    (out / "_lock.json").unlink(missing_ok=True)
    same(optimizer.load_results(out), ref)
    merged = compact(str(out), group=4)
    assert merged
    same(optimizer.load_results(out), ref)
    assert len(list((out / "summary.parquet").iterdir())) == 3  # 12 batches of 1 -> 3 of 4
    assert len(pd.read_parquet(out / "summary.parquet")) == 12


@pytest.mark.slow
def test_compaction_sigkilled_mid_run(reference, tmp_path):
    """`optimizer compact` SIGKILLed at several moments: never a doubled or lost case."""
    path, ref = reference
    out = solve_in_process(path, tmp_path / "out", options=OPTIONS, batch_size=1)
    for delay in (0.8, 1.2, 1.6):
        proc = subprocess.Popen([sys.executable, "-m", "optimizer", "compact", str(out), "--group", "2"], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        same(optimizer.load_results(out), ref)
        (out / "_lock.json").unlink(missing_ok=True)
    done = subprocess.run([sys.executable, "-m", "optimizer", "compact", str(out), "--group", "64"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    same(optimizer.load_results(out), ref)


@pytest.mark.slow
def test_deleted_summary_is_reported_then_repaired(reference, tmp_path):
    """Deleting a finished sweep's summary and running again: refused (exit 2, what to do) rather than
    counting the long tables twice; with --repair the cases are solved again, each once."""
    import shutil

    path, ref = reference
    out = solve_in_process(path, tmp_path / "out", options=OPTIONS, batch_size=3)
    shutil.rmtree(out / "summary.parquet")
    proc = subprocess.run([sys.executable, "-m", "optimizer", "sweep", str(path), "--out", str(out), "--workers", "1",
                           "--time-limit", "20", "--quiet"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    # the sweep file sets rel_gap 0 and time_limit 20: the same identity as the in-process run
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert "missing" in proc.stderr and "--repair" in proc.stderr
    repaired = subprocess.run([sys.executable, "-m", "optimizer", "sweep", str(path), "--out", str(out), "--workers",
                               "1", "--repair", "--quiet"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert repaired.returncode == 0, repaired.stderr
    same(optimizer.load_results(out), ref)


def test_truncated_part_is_reported_on_load_and_resume(reference, tmp_path):
    path, _ = reference
    out = solve_in_process(path, tmp_path / "out", options=OPTIONS, batch_size=6)
    part = sorted((out / "flows.parquet").iterdir())[0]
    part.write_bytes(part.read_bytes()[:100])
    with pytest.raises(StoreError, match="truncated or corrupt.*--repair"):
        optimizer.load_results(out)
    with pytest.raises(StoreError, match="truncated .*--repair"):
        solve_in_process(path, out, options=OPTIONS)
    proc = subprocess.run([sys.executable, "-m", "optimizer", "report", str(out)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "truncated" in proc.stderr, proc.stderr


def test_a_folder_belongs_to_one_sweep(reference, tmp_path):
    """Another base, other options or foreign files: refused before anything is written; --overwrite replaces
    a sweep's own results (and nothing else)."""
    path, _ = reference
    out = solve_in_process(path, tmp_path / "out", options=OPTIONS, batch_size=4)
    edited = tiny_sweep(tmp_path, name="tiny", scale=1.1)  # same name, another base
    with pytest.raises(StoreError, match="another sweep"):
        solve_in_process(edited, out, options=OPTIONS)
    with pytest.raises(StoreError, match="another sweep"):
        solve_in_process(path, out, options=SolveOptions(rel_gap=0.0, threads=1, time_limit=5))
    solve_in_process(edited, out, options=OPTIONS, overwrite=True)
    result = optimizer.load_results(out)
    assert len(result.summary) == 12 and result.summary["case_index"].is_unique  # no stale rows beside the new
    meta = json.loads((out / "sweep.json").read_text())
    assert meta["identity"] and meta["sweep"] == "tiny"
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(StoreError, match="did not write"):
        solve_in_process(path, foreign, options=OPTIONS, overwrite=True)
    assert (foreign / "notes.txt").read_text() == "keep me" and not (foreign / "sweep.json").exists()


@pytest.mark.slow
def test_solve_and_sweep_out_refuse_each_others_folders(reference, tmp_path):
    path, _ = reference
    sweep_out = solve_in_process(path, tmp_path / "sweep", options=OPTIONS, batch_size=6)
    base = load_sweep(path).base_path
    proc = subprocess.run([sys.executable, "-m", "optimizer", "solve", str(base), "--out", str(sweep_out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "sweep" in proc.stderr, proc.stderr
    assert len(optimizer.load_results(sweep_out).summary) == 12  # untouched
    solved = tmp_path / "solved"
    assert subprocess.run([sys.executable, "-m", "optimizer", "solve", str(base), "--out", str(solved)], cwd=ROOT,
                          capture_output=True, timeout=120).returncode == 0
    with pytest.raises(StoreError, match="optimizer solve"):
        solve_in_process(path, solved, options=OPTIONS)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "budget.xlsx").write_text("x")
    proc = subprocess.run([sys.executable, "-m", "optimizer", "solve", str(base), "--out", str(tmp_path / "other")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "did not write" in proc.stderr, proc.stderr


def test_the_lock_refuses_a_second_writer(tmp_path):
    loc = resolve(tmp_path / "out")
    first = Lock(loc)
    first.acquire()
    with pytest.raises(StoreError, match="another sweep .* is writing"):
        Lock(loc).acquire()
    first.release()
    second = Lock(loc)
    second.acquire()  # free again
    second.release()
    # a lock left by a process that is gone is taken over
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / "out" / "_lock.json").write_text(json.dumps({"run": "x", "pid": dead.pid, "host": os.uname()[1],
                                                            "heartbeat": time.time()}))
    Lock(loc).acquire()


def test_plain_readers_read_the_dataset_in_place(reference):
    """pandas, pyarrow and DuckDB read the folders as they are, each case once."""
    import duckdb

    _, ref = reference
    out = Path(ref.out)
    assert len(pd.read_parquet(out / "summary.parquet")) == 12
    assert pads.dataset(out / "flows.parquet").count_rows() == len(ref.flows)
    n, total = duckdb.sql(f"select count(*), sum(objective) from read_parquet('{out}/summary.parquet/*.parquet', "
                          "union_by_name=true)").fetchall()[0]
    assert n == 12 and total == pytest.approx(ref.summary["objective"].sum(), rel=1e-12)
    assert done_ranges(resolve(out)).count() == 12


CONTENDER = """import sys
from optimizer.location import resolve
from optimizer.sweep.store import Lock, StoreError
held = []  # a lock taken is kept until the process ends
print("ready", flush=True)
for line in sys.stdin:  # the test says "go" for a round's folder to every contender at once
    lock = Lock(resolve(f"{sys.argv[1]}/out-{int(line)}"))
    try:
        lock.acquire()
        held.append(lock)
        print(1, flush=True)
    except StoreError:
        print(0, flush=True)
"""


@pytest.mark.slow
def test_runs_starting_at_the_same_instant_take_the_lock_once(tmp_path):
    """Eight processes try to take the lock of the same folder at the same instant, 20 times: each time
    exactly one gets it, on a free folder and over the stale lock of a process that is gone (a lock created
    empty then filled was taken over by a contender that read it in between, and a stale lock deleted by
    name removed the fresh lock of the contender that had just replaced it: 2 or 3 writers in about 1 round
    of 10 before both were fixed)."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    rounds = 20
    for r in range(1, rounds, 2):  # odd rounds: a stale lock is there first
        (tmp_path / f"out-{r}").mkdir()
        (tmp_path / f"out-{r}" / "_lock.json").write_text(json.dumps(
            {"run": "gone", "pid": dead.pid, "host": os.uname()[1], "heartbeat": time.time()}))
    procs = [subprocess.Popen([sys.executable, "-c", CONTENDER, str(tmp_path)], cwd=ROOT, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True) for _ in range(8)]
    try:
        assert all(p.stdout.readline().strip() == "ready" for p in procs)
        winners = []
        for r in range(rounds):
            for p in procs:
                p.stdin.write(f"{r}\n")
            for p in procs:
                p.stdin.flush()
            winners.append(sum(int(p.stdout.readline()) for p in procs))
    finally:
        for p in procs:
            p.stdin.close()
            p.wait(timeout=60)
            p.stdout.close()
    assert winners == [1] * rounds, winners
    assert not list(tmp_path.glob("out-*/.*")), "no private lock file left behind"


def committed_files_only(out: Path) -> None:
    """Nothing half-written in a sweep folder whose runs have ended: no lock, no temporary or hidden file,
    and every part of every table is named by a commit record."""
    assert not (out / "_lock.json").exists()
    assert not [p for p in out.rglob(".*")], "a temporary file was left"
    named = set()
    for record in (out / "_commits").glob("b-*.json"):
        named |= {f"{table}.parquet/{name}" for table, name in json.loads(record.read_text())["files"].items()}
    on_disk = {f"{p.parent.name}/{p.name}" for p in out.glob("*.parquet/*")}
    assert on_disk == named


@pytest.mark.slow
def test_two_sweep_processes_started_at_once_on_one_folder(reference, tmp_path):
    """Two real `optimizer sweep` processes started at the same moment on the same --out: the second to
    reach the folder is refused (exit 2, a message saying another sweep is writing it, nothing written by
    it), or, if the first had already finished, finds every case done; either way every case is in the
    folder exactly once with the reference's objectives, and `optimizer audit` audits each once."""
    path, ref = reference
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "optimizer", "sweep", str(path), "--out", str(out), "--workers", "1",
           "--batch-size", "1", "--quiet"]
    procs = [subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    ends = [p.communicate(timeout=600) for p in procs]
    codes = sorted(p.returncode for p in procs)
    shown = "\n".join(f"exit {p.returncode}: {o} {e}" for p, (o, e) in zip(procs, ends))
    assert codes in ([0, 0], [0, 2]), shown
    for p, (stdout, stderr) in zip(procs, ends):
        if p.returncode == 2:
            assert "another sweep" in stderr and "is writing" in stderr and "Traceback" not in stderr, shown
        else:
            solved = int(stdout.split(" solved")[0].rsplit(" ", 1)[-1])
            done = int(stdout.split(" already done")[0].rsplit(" ", 1)[-1])
            assert (done, solved) in ((0, 12), (12, 0)), shown  # one run solved everything
    committed_files_only(out)
    same(optimizer.load_results(out), ref)
    audit = subprocess.run([sys.executable, "-m", "optimizer", "audit", str(out)], cwd=ROOT, capture_output=True,
                           text=True, timeout=300)
    assert audit.returncode == 0 and "12 scenarios audited, 0 violations" in audit.stdout, audit.stdout + audit.stderr
