"""The command line as a user runs it: real processes, real files, exit codes 0 / 2 / 3."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
BASE = ROOT / "scenarios" / "base"


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "optimizer", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600)


def copy_base(tmp_path: Path) -> Path:
    target = tmp_path / "case"
    shutil.copytree(BASE, target)
    return target


def test_validate_base_case_ok():
    proc = run("validate", str(BASE))
    assert proc.returncode == 0, proc.stderr
    assert "valid" in proc.stdout


def test_solve_json_writes_every_table(tmp_path):
    out = tmp_path / "out"
    proc = run("solve", str(BASE), "--out", str(out), "--json", "--threads", "2")
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads(proc.stdout)
    assert manifest["status"] == "optimal"
    for key in ("scenario", "objective", "bound", "gap", "solve_seconds", "wall_seconds", "inputs_sha256", "versions"):
        assert key in manifest
    assert json.loads((out / "manifest.json").read_text()) == manifest
    for table in ("flows", "builds", "capacity", "costs", "unmet", "kpis"):
        frame = pd.read_parquet(out / f"{table}.parquet")
        assert len(frame) > 0, table
    costs = pd.read_parquet(out / "costs.parquet")
    assert costs["discounted_musd"].sum() == pytest.approx(manifest["objective"], rel=1e-9)


def test_solve_default_scenario_and_summary(tmp_path):
    """`optimizer solve` with no argument solves scenarios/base and prints the plan, matrix and KPIs."""
    work = tmp_path / "w"
    (work / "scenarios").mkdir(parents=True)
    shutil.copytree(BASE, work / "scenarios" / "base")
    proc = run("solve", cwd=work)
    assert proc.returncode == 0, proc.stderr
    for text in ("optimal", "Build plan", "Sourcing", "KPIs"):
        assert text in proc.stdout
    assert (work / "results" / "base" / "manifest.json").is_file()


def test_write_mps(tmp_path):
    mps = tmp_path / "base.mps"
    proc = run("solve", str(BASE), "--out", str(tmp_path / "o"), "--write-mps", str(mps), "--json")
    assert proc.returncode == 0, proc.stderr
    text = mps.read_text()
    assert "ROWS" in text and "COLUMNS" in text


def test_infeasible_hard_demand_exits_3(tmp_path):
    case = copy_base(tmp_path)
    cfg = (case / "scenario.yaml").read_text().replace("demand: soft", "demand: hard")
    assert "demand: hard" in cfg
    (case / "scenario.yaml").write_text(cfg)
    demand = pd.read_csv(case / "demand.csv")
    demand["vehicles"] = demand["vehicles"] * 100  # far beyond every plant and build option
    demand.to_csv(case / "demand.csv", index=False)
    out = tmp_path / "out"
    proc = run("solve", str(case), "--out", str(out), "--json")
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert json.loads(proc.stdout)["status"] == "infeasible"
    assert json.loads((out / "manifest.json").read_text())["status"] == "infeasible"


def test_malformed_input_exits_2_naming_file_row_column(tmp_path):
    case = copy_base(tmp_path)
    lanes = pd.read_csv(case / "lanes.csv", dtype=str, keep_default_na=False)
    lanes.loc[2, "freight_usd_per_kwh"] = "cheap"
    lanes.to_csv(case / "lanes.csv", index=False)
    out = tmp_path / "out"
    proc = run("solve", str(case), "--out", str(out))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert f"{case / 'lanes.csv'}, row 4, column freight_usd_per_kwh: [type] 'cheap' is not a number" in proc.stderr
    assert not out.exists()


def test_validate_lists_every_problem(tmp_path):
    case = copy_base(tmp_path)
    plants = pd.read_csv(case / "plants.csv", dtype=str, keep_default_na=False)
    plants.loc[0, "step_gwh"] = "-5"
    plants = plants.rename(columns={"region": "regoin"})
    plants.to_csv(case / "plants.csv", index=False)
    proc = run("validate", str(case))
    assert proc.returncode == 2
    assert "column regoin: [unknown-column] 'regoin' is not a column of plants (did you mean 'region'?)" in proc.stderr
    assert "column region: [missing-column]" in proc.stderr
    assert f"{case / 'plants.csv'}, row 2, column step_gwh: [range] -5 is below the minimum 0" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_usage_error_exits_2():
    proc = run("solve", "--gap", "not-a-number")
    assert proc.returncode == 2


def test_export_xlsx_round_trip(tmp_path):
    book = tmp_path / "base.xlsx"
    assert run("export", str(BASE), str(book)).returncode == 0
    proc = run("validate", str(book))
    assert proc.returncode == 0, proc.stderr
