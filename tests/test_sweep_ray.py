"""Sweeps on real Ray processes: equivalence with single solves, resume after the driver is killed,
a worker SIGKILLed mid-sweep, and bad sweep files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest
from faults import faulty
from sample_sweeps import sample_sweep

import optimizer
from optimizer.sweep.apply import apply_changes
from optimizer.sweep.runner import run_sweep
from optimizer.sweep.spec import load_sweep

ROOT = Path(__file__).resolve().parents[1]
BASE = ROOT / "scenarios" / "base"


@pytest.mark.slow
def test_sweep_matches_single_solves(ray_session, tmp_path):
    """50 scenarios: each row of the sweep has the status and objective of `optimizer.solve` alone."""
    path = sample_sweep(tmp_path, 50)
    run = run_sweep(path, tmp_path / "out", workers=2)
    assert run.total == 50 and run.solved == 50
    result = optimizer.load_results(tmp_path / "out")
    summary = result.summary
    assert len(summary) == 50 and summary["case_key"].is_unique and summary["scenario_id"].is_unique
    sweep = load_sweep(path)
    base = optimizer.load_scenario(BASE)
    by_case = summary.set_index("case")
    for case in sweep.cases():
        alone = optimizer.solve(apply_changes(base, case.changes), optimizer.SolveOptions(rel_gap=1e-6, threads=1),
                                duals=False)
        row = by_case.loc[case.name]
        assert row["status"] == alone.status.value
        assert row["objective"] == pytest.approx(alone.objective, rel=2e-6)
    assert set(result.flows["scenario_id"]) == set(summary["scenario_id"])
    # the long tables add up: each scenario's costs sum to its objective
    sums = result.costs.groupby("scenario_id")["discounted_musd"].sum()
    objectives = summary.set_index("scenario_id")["objective"]
    pd.testing.assert_series_equal(sums.sort_index(), objectives.sort_index(), check_names=False, rtol=1e-9)


def sweep_cli(path: Path, out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "optimizer", "sweep", str(path), "--out", str(out), "--workers",
                             "2", "--batch-size", "1", "--quiet", *extra], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def wait_for_parts(out: Path, n: int, proc: subprocess.Popen, timeout: float = 240) -> None:
    """Until ``n`` batches are committed."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if len(list((out / "_commits").glob("b-*.json"))) >= n:
            return
        if proc.poll() is not None:
            raise AssertionError(f"sweep ended early: {proc.returncode}\n{proc.stderr.read()}")
        time.sleep(0.2)
    raise AssertionError("no partial results appeared")


def finish(proc: subprocess.Popen) -> None:
    stdout, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, stderr


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory):
    """An uninterrupted 24-scenario sweep, the reference for the fault tests."""
    tmp = tmp_path_factory.mktemp("clean")
    path = sample_sweep(tmp, 24)
    finish(sweep_cli(path, tmp / "out"))
    return path, optimizer.load_results(tmp / "out").summary


def same_table(summary: pd.DataFrame, reference: pd.DataFrame) -> None:
    assert summary["case_key"].is_unique, "a scenario appears twice"
    assert set(summary["case_key"]) == set(reference["case_key"])
    a = summary.set_index("case_key").sort_index()
    b = reference.set_index("case_key").sort_index()
    assert (a["scenario_id"] == b["scenario_id"]).all()
    assert (a["status"] == b["status"]).all()
    assert a["objective"].to_numpy() == pytest.approx(b["objective"].to_numpy(), rel=2e-6)


@pytest.mark.slow
def test_resume_after_driver_killed(clean_run, tmp_path):
    path, reference = clean_run
    out = tmp_path / "out"
    proc = sweep_cli(path, out)
    wait_for_parts(out, 2, proc)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and the Ray it started, mid-sweep
    proc.communicate()
    partial = optimizer.load_results(out).summary
    assert 0 < len(partial) < len(reference)
    finish(sweep_cli(path, out))
    same_table(optimizer.load_results(out).summary, reference)
    # once ended, the folder holds committed parts only: a plain reader sees every scenario once
    same_table(pd.read_parquet(out / "summary.parquet"), reference)
    # and once complete, a re-run solves nothing and changes nothing
    again = sweep_cli(path, out)
    stdout, stderr = again.communicate(timeout=600)
    assert again.returncode == 0, stderr
    assert f"{len(reference)} already done, 0 solved" in stdout
    same_table(optimizer.load_results(out).summary, reference)


def solver_actor_processes() -> list[psutil.Process]:
    found = []
    for p in psutil.process_iter(["cmdline"]):
        try:
            if any("SweepWorker" in part for part in (p.info["cmdline"] or [])):
                found.append(p)
        except psutil.Error:
            continue
    return found


@pytest.mark.slow
def test_worker_sigkilled_mid_sweep(clean_run, tmp_path):
    path, reference = clean_run
    out = tmp_path / "out"
    proc = sweep_cli(path, out)
    wait_for_parts(out, 1, proc)
    actors = solver_actor_processes()
    assert actors, "no solver actor process found"
    actors[0].send_signal(signal.SIGKILL)
    finish(proc)
    summary = optimizer.load_results(out).summary
    same_table(summary, reference)
    assert (summary["status"] != "error").all()


def test_bad_sweep_file_exits_2(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(f"base: {BASE}\naxes:\n  t:\n    values: [1, 2]\n"
                    "    change: {table: lanes, column: tarif_rate, op: set}\n")
    proc = subprocess.run([sys.executable, "-m", "optimizer", "sweep", str(path), "--out", str(tmp_path / "o")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "tarif_rate" in proc.stderr
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_a_case_that_keeps_crashing_its_worker_ends_as_error(ray_session, tmp_path):
    """Fault injection: the worker process exits whenever it reaches one case. That case is tried a
    bounded number of times and recorded as `error`; every other case is solved."""
    path = sample_sweep(tmp_path, 6)
    run = run_sweep(path, tmp_path / "out", workers=2, batch_size=1, worker_class=faulty(crash_case="sample-0002"))
    summary = optimizer.load_results(tmp_path / "out").summary.set_index("case")
    assert run.total == 6 and len(summary) == 6
    assert summary.loc["sample-0002", "status"] == "error"
    assert "worker died (3 attempts)" in summary.loc["sample-0002", "message"]
    assert (summary.drop(index="sample-0002")["status"] == "optimal").all()


@pytest.mark.slow
def test_a_worker_that_commits_then_dies_before_answering(ray_session, tmp_path):
    """The lost acknowledgement: a worker writes and commits its batch, then exits before the driver hears of
    it. The batch is found committed and counted once; nothing is solved or written twice."""
    path = sample_sweep(tmp_path, 6)
    marker = tmp_path / "died-once"
    run = run_sweep(path, tmp_path / "out", workers=2, batch_size=3,
                    worker_class=faulty(die_after_commit=str(marker)))
    assert marker.exists(), "the fault did not fire"
    assert run.worker_restarts >= 1 and run.solved + run.skipped == 6
    summary = optimizer.load_results(tmp_path / "out").summary
    assert sorted(summary["case_index"]) == list(range(6)) and summary["case_key"].is_unique
    assert (summary["status"] == "optimal").all()
    # one commit record and one part per table for each batch: the committed batch was not re-run
    assert sorted(p.name for p in (tmp_path / "out" / "_commits").iterdir()) == [
        "b-000000000000-000000000003.json", "b-000000000003-000000000006.json"]
    assert len(list((tmp_path / "out" / "summary.parquet").iterdir())) == 2
    flows = optimizer.load_results(tmp_path / "out").flows
    assert len(flows.drop_duplicates(["case_index", "plant", "assembly", "model", "year"])) == len(flows)
