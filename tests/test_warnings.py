"""The warnings tier: legal values that look like mistakes are listed by `validate` and `solve` (exit 0),
and recorded in the manifest under `warnings`; the shipped base case has none."""

from __future__ import annotations

import json

from test_cli import BASE, run
from tiny import TinyCase

import optimizer
from optimizer.io import write_scenario


def suspicious_folder(tmp_path):
    """Three years; a tariff typed as a percent (5 for 5 %), a model M whose 2027 rows are missing, a model N
    with no demand rows, and an fx index that looks like an exchange rate (JPY 150)."""
    case = TinyCase.default(years=3).set(demand="soft", unserved_penalty_usd_per_kwh=500.0, fx={"JPY": 150.0})
    case.model("M").model("N").edit("lanes", "tariff_rate", 5.0)
    tables, config = case.build()
    tables["demand"] = tables["demand"][tables["demand"]["year"] != 2027].reset_index(drop=True)
    folder = tmp_path / "suspicious"
    write_scenario(optimizer.scenario_from_tables(tables, config, origin=str(folder)), folder)
    return folder


def test_validate_lists_warnings_and_exits_0(tmp_path):
    folder = suspicious_folder(tmp_path)
    proc = run("validate", str(folder))
    assert proc.returncode == 0, proc.stderr
    assert "valid" in proc.stdout
    text = " ".join(proc.stderr.split())
    assert "4 warnings" in text
    assert "lanes.csv, row 2, column tariff_rate: [percent-like] tariff rate 5 " in text
    assert "did you mean 0.05?" in text
    assert "[demand-gap] model M has no demand rows in 2027" in text
    assert "[no-demand] model N has no demand rows" in text
    assert "[fx-like-rate] fx index 150 for JPY" in text


def test_solve_records_warnings_in_the_manifest(tmp_path):
    folder = suspicious_folder(tmp_path)
    proc = run("solve", str(folder), "--out", str(tmp_path / "out"), "--json", "--threads", "1")
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads(proc.stdout)  # warnings go to stderr: the JSON on stdout stays parseable
    rules = [w.split("[")[1].split("]")[0] for w in manifest["warnings"]]
    assert rules == ["percent-like", "demand-gap", "no-demand", "fx-like-rate"]
    assert "4 warnings" in proc.stderr


def test_base_case_has_no_warnings():
    assert optimizer.load_scenario(BASE).warnings == []


def test_unknown_names_suggest_the_nearest_known_one(tmp_path):
    """A misspelt plant, assembly plant or model: exit 2, each row named with the nearest known name."""
    import shutil

    folder = tmp_path / "typos"
    shutil.copytree(BASE, folder)
    lanes = (folder / "lanes.csv").read_text().splitlines()
    lanes[1] = lanes[1].replace(lanes[1].split(",")[0], "Sunderlnd2", 1)
    (folder / "lanes.csv").write_text("\n".join(lanes) + "\n")
    demand = (folder / "demand.csv").read_text().splitlines()
    head = demand[0].split(",")
    row = demand[1].split(",")
    row[head.index("assembly")], row[head.index("model")] = "Tochigii", "Leaf5"
    demand[1] = ",".join(row)
    (folder / "demand.csv").write_text("\n".join(demand) + "\n")
    proc = run("validate", str(folder))
    assert proc.returncode == 2
    text = " ".join(proc.stderr.split())
    assert "lanes.csv, row 2, column plant: [reference] unknown plant 'Sunderlnd2' (did you mean 'Sunderland" in text
    assert "demand.csv, row 2, column assembly: [reference] unknown assembly plant 'Tochigii' (did you mean " \
           "'Tochigi'?)" in text
    assert "demand.csv, row 2, column model: [reference] unknown model 'Leaf5' (did you mean 'Leaf" in text
