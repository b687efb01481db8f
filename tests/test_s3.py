"""Sweeps into an object store, end to end: an S3-compatible server (moto's standalone server) started by the
test on 127.0.0.1, pyarrow's S3 file system pointed at it through the environment (``AWS_ENDPOINT_URL_S3``
and the usual credential variables), `optimizer sweep --out s3://...` whose workers write there themselves,
the driver SIGKILLed mid-sweep and the sweep resumed, then `optimizer.load_results` and `optimizer report`
reading the URI, and pyarrow reading the dataset in place."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.dataset as pads
import pyarrow.fs as pafs
import pytest
from sample_sweeps import sample_sweep

import optimizer
from optimizer.sweep.runner import solve_in_loop

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    """A moto S3 server on 127.0.0.1 with one bucket; yields the environment a client needs."""
    # the dev extra's server (beside this interpreter) first: another one on PATH may be another moto version
    server = (shutil.which("moto_server", path=str(Path(sys.executable).parent)) or shutil.which("moto_server")
              or pytest.skip("moto[server] is not installed (the dev extra has it)"))
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with open(log, "w") as f:
        proc = subprocess.Popen([server, "-H", "127.0.0.1", "-p", str(port)], stdout=f, stderr=subprocess.STDOUT)
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_ENDPOINT_URL_S3": f"http://127.0.0.1:{port}", "AWS_EC2_METADATA_DISABLED": "true"}
    try:
        end = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < end, log.read_text()
                time.sleep(0.2)
        fs = pafs.S3FileSystem(access_key="testing", secret_key="testing", region="us-east-1", scheme="http",
                               endpoint_override=f"127.0.0.1:{port}", allow_bucket_creation=True)
        fs.create_dir("sweeps")
        yield env, fs
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.slow
def test_sweep_to_s3_killed_resumed_and_read_back(s3, tmp_path, monkeypatch):
    env, fs = s3
    path = sample_sweep(tmp_path, 10)
    uri = "s3://sweeps/mc/run-1"
    reference = {r.case_key: r.objective for r in solve_in_loop(path, rebuild=False)}  # no Ray, no S3
    cmd = [sys.executable, "-m", "optimizer", "sweep", str(path), "--out", uri, "--workers", "2", "--batch-size", "1",
           "--quiet"]
    run_env = {**os.environ, **env}
    first = subprocess.Popen(cmd, cwd=ROOT, env=run_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             start_new_session=True)
    end = time.monotonic() + 240
    commits = pafs.FileSelector("sweeps/mc/run-1/_commits", allow_not_found=True)
    while len(fs.get_file_info(commits)) < 2:
        assert first.poll() is None, first.communicate()
        assert time.monotonic() < end, "no batch was committed"
        time.sleep(0.2)
    os.killpg(first.pid, signal.SIGKILL)  # the driver and the Ray it started
    first.communicate()
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    partial = optimizer.load_results(uri).summary
    assert 0 < len(partial) < 10 and partial["case_key"].is_unique

    resumed = subprocess.run(cmd, cwd=ROOT, env=run_env, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    # workers of the killed driver may still commit the batch they were on before they notice it is gone
    already = int(resumed.stdout.split(" already done")[0].rsplit(" ", 1)[-1])
    assert len(partial) <= already < 10, resumed.stdout

    result = optimizer.load_results(uri)
    summary = result.summary
    assert summary["case_key"].is_unique and set(summary["case_key"]) == set(reference)
    for key, objective in zip(summary["case_key"], summary["objective"]):
        assert objective == pytest.approx(reference[key], rel=2e-6)
    assert set(result.flows["scenario_id"]) == set(summary["scenario_id"])
    # in place, with pyarrow alone: every scenario once (the run ended, so only committed parts are left)
    assert pads.dataset("sweeps/mc/run-1/summary.parquet", filesystem=fs).count_rows() == 10
    assert pads.dataset("sweeps/mc/run-1/flows.parquet", filesystem=fs).count_rows() == len(result.flows)

    report = subprocess.run([sys.executable, "-m", "optimizer", "report", uri], cwd=ROOT, env=run_env,
                            capture_output=True, text=True, timeout=300)
    assert report.returncode == 0, report.stderr
    assert fs.get_file_info("sweeps/mc/run-1/report.html").size > 10_000


@pytest.mark.slow
def test_solve_to_s3_read_back_and_reported(s3, tmp_path, monkeypatch):
    """`optimizer solve --out s3://...` writes its tables and manifest to the object store; `load_results`
    reads them back equal to a local solve of the same scenario; `optimizer report` writes its HTML there;
    another scenario into the same URI and a solve into a sweep's URI are refused (exit 2)."""
    from tiny import TinyCase

    from optimizer.io import write_scenario

    env, fs = s3
    case = (TinyCase(years=2).plant("P1", capacity=4, cost=100, max_steps=3, step_gwh=3, step_cost_musd=60)
            .candidate("C", opening_capacity_gwh=6, opening_cost_musd=100, cost=90).demand(gwh=[6, 9]))
    scenario = write_scenario(case.scenario(), tmp_path / "tiny")
    run_env = {**os.environ, **env}
    uri = "s3://sweeps/solve/tiny"

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "optimizer", *args], cwd=ROOT, env=run_env, capture_output=True,
                              text=True, timeout=300)

    remote = cli("solve", str(scenario), "--out", uri, "--threads", "1")
    assert remote.returncode == 0, remote.stderr
    assert not (ROOT / "s3:").exists(), "the URI was taken for a local folder"
    local = cli("solve", str(scenario), "--out", str(tmp_path / "local"), "--threads", "1")
    assert local.returncode == 0, local.stderr
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    there, here = optimizer.load_results(uri), optimizer.load_results(tmp_path / "local")
    assert there.status == here.status and there.objective == pytest.approx(here.objective, rel=1e-12)
    for name, table in here.tables.items():
        assert len(there.tables[name]) == len(table) and list(there.tables[name].columns) == list(table.columns), name
    assert fs.get_file_info("sweeps/solve/tiny/manifest.json").size > 0

    report = cli("report", uri)
    assert report.returncode == 0, report.stderr
    assert fs.get_file_info("sweeps/solve/tiny/report.html").size > 10_000

    other = write_scenario(case.demand(gwh=[7, 10]).scenario(), tmp_path / "other")
    refused = cli("solve", str(other), "--out", uri)
    assert refused.returncode == 2 and "another scenario" in refused.stderr and "Traceback" not in refused.stderr
    path = sample_sweep(tmp_path, 2)
    sweep = cli("sweep", str(path), "--out", "s3://sweeps/solve/sweep", "--workers", "1", "--quiet")
    assert sweep.returncode == 0, sweep.stderr
    into_sweep = cli("solve", str(scenario), "--out", "s3://sweeps/solve/sweep")
    assert into_sweep.returncode == 2 and "sweep" in into_sweep.stderr and "Traceback" not in into_sweep.stderr
