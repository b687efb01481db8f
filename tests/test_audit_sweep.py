"""`optimizer audit` on a sweep folder: every scenario audited (exit 0), a tampered case found (exit 1), a
folder whose sweep file is gone refused with a clear message (exit 2, no traceback)."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
from test_cli import run


@pytest.mark.slow
def test_audit_of_a_sweep_audits_every_scenario(smoke_sweep_dir):
    proc = run("audit", str(smoke_sweep_dir))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    summary = pd.read_parquet(smoke_sweep_dir / "summary.parquet")
    assert f"{len(summary)} scenarios audited, 0 violations" in proc.stdout
    for case in summary["case"]:
        assert case[:12] in proc.stdout


@pytest.mark.slow
def test_audit_of_a_sweep_finds_a_tampered_case(smoke_sweep_dir, tmp_path):
    """One flow of one case pushed far past its plant's capacity: exit 1, the case and family named."""
    copy = tmp_path / "smoke"
    shutil.copytree(smoke_sweep_dir, copy)
    summary = pd.read_parquet(copy / "summary.parquet")
    key = summary.loc[summary["case"] == "ibaraki_slips_2y", "case_key"].iloc[0]
    for part in sorted((copy / "flows.parquet").iterdir()):  # the table is a folder of parts: edit the case's
        flows = pd.read_parquet(part)
        hit = flows.index[flows["case_key"] == key]
        if len(hit):
            flows.loc[hit[0], "gwh"] += 1000.0
            flows.to_parquet(part, index=False)
            break
    proc = run("audit", str(copy))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "violated: ibaraki_slips_2y: plant_capacity" in proc.stdout


@pytest.mark.slow
def test_audit_of_a_sweep_without_its_sweep_file_exits_2(smoke_sweep_dir, tmp_path):
    copy = tmp_path / "smoke"
    shutil.copytree(smoke_sweep_dir, copy)
    meta = json.loads((copy / "sweep.json").read_text())
    meta["file"] = str(tmp_path / "gone.yaml")
    (copy / "sweep.json").write_text(json.dumps(meta))
    proc = run("audit", str(copy))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "gone.yaml" in proc.stderr and "not found" in proc.stderr
