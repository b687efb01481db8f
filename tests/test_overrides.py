"""`optimizer solve --set KEY=VALUE`: overrides validated like a file, recorded in the manifest, reflected in
the result's name and id; a solve never silently overwrites another scenario's results."""

from __future__ import annotations

import json

import pytest
from test_cli import run
from tiny import TinyCase

import optimizer
from optimizer.io import write_scenario


def tiny_folder(tmp_path, name="tiny", **config):
    """The default tiny case: 5 GWh of hard demand served at $100 + $1 freight per kWh = $505M."""
    tables, cfg = TinyCase.default().set(name=name, **config).build()
    folder = tmp_path / name
    write_scenario(optimizer.scenario_from_tables(tables, cfg), folder)
    return folder


def manifest(folder):
    return json.loads((folder / "manifest.json").read_text())


@pytest.mark.slow
def test_overrides_change_the_solve_name_and_id(tmp_path):
    folder = tiny_folder(tmp_path)
    proc = run("solve", str(folder), "--threads", "1", "--set", "demand=soft",
               "--set", "unserved_penalty_usd_per_kwh=50", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "results" / "tiny__demand-soft__unserved_penalty_usd_per_kwh-50"
    m = manifest(out)
    # soft demand at a $50/kWh penalty is cheaper than $101/kWh cells: all 5 GWh go unserved, 5 x 50 = $250M
    assert m["objective"] == pytest.approx(5 * 50)
    assert m["overrides"] == {"demand": "soft", "unserved_penalty_usd_per_kwh": 50}
    assert m["scenario"] == out.name

    plain = run("solve", str(folder), "--threads", "1", cwd=tmp_path)
    assert plain.returncode == 0, plain.stderr
    base = manifest(tmp_path / "results" / "tiny")
    assert base["objective"] == pytest.approx(5 * 101)
    assert base["overrides"] == {}
    assert base["scenario_id"] != m["scenario_id"]

    # the same settings written in scenario.yaml give the same solve
    edited = tiny_folder(tmp_path, name="edited", demand="soft", unserved_penalty_usd_per_kwh=50)
    assert run("solve", str(edited), "--threads", "1", cwd=tmp_path).returncode == 0
    assert manifest(tmp_path / "results" / "edited")["objective"] == m["objective"]


def test_bad_overrides_exit_2_naming_each(tmp_path):
    folder = tiny_folder(tmp_path)
    proc = run("solve", str(folder), "--set", "demnd=soft", "--set", "discount_rate=7", "--set", "fx=1",
               "--set", "nonsense", cwd=tmp_path)
    assert proc.returncode == 2
    text = " ".join(proc.stderr.split())
    assert "Traceback" not in proc.stderr
    assert "--set, column demnd: [unknown-key] 'demnd' is not a setting of scenario.yaml (did you mean 'demand'?)" \
        in text
    assert "--set, column discount_rate: [value] discount_rate=7:" in text
    assert "'fx': give fx.<code>" in text
    assert "'nonsense' is not KEY=VALUE" in text
    assert not (tmp_path / "results").exists()


@pytest.mark.slow
def test_a_solve_does_not_overwrite_another_scenario_of_the_same_name(tmp_path):
    first = tiny_folder(tmp_path / "a")
    second = tiny_folder(tmp_path / "b", demand="soft", unserved_penalty_usd_per_kwh=50)  # also named tiny
    out = tmp_path / "results" / "tiny"
    assert run("solve", str(first), "--threads", "1", cwd=tmp_path).returncode == 0
    before = (out / "manifest.json").read_text()
    proc = run("solve", str(second), "--threads", "1", cwd=tmp_path)
    assert proc.returncode == 2
    assert "holds the results of another scenario named 'tiny'" in " ".join(proc.stderr.split())
    assert (out / "manifest.json").read_text() == before
    assert run("solve", str(first), "--threads", "1", cwd=tmp_path).returncode == 0  # the same scenario again
    assert run("solve", str(second), "--threads", "1", "--overwrite", cwd=tmp_path).returncode == 0
    assert manifest(out)["objective"] == pytest.approx(250)


@pytest.mark.slow
def test_an_optimal_solve_that_leaves_demand_unserved_says_so(tmp_path):
    """Soft demand at a $50/kWh penalty under $101/kWh cells: all 5 GWh (100,000 vehicles of 50 kWh) go
    unserved, at 5 GWh x $50/kWh = $250M (discount rate 0, so nominal = discounted)."""
    folder = tiny_folder(tmp_path)
    proc = run("solve", str(folder), "--threads", "1", "--set", "demand=soft",
               "--set", "unserved_penalty_usd_per_kwh=50", "--out", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    text = " ".join(proc.stdout.split())
    assert ("Unserved demand: 5.00 GWh of demand unserved (100,000 vehicles, 100.0 % of demand) at the $50/kWh "
            "penalty, $250M discounted: A1 M 5.00 GWh (2026)") in text
    u = manifest(tmp_path / "out")["unserved"]
    assert u["gwh"] == pytest.approx(5) and u["vehicles"] == pytest.approx(100_000)
    assert u["penalty_musd_discounted"] == pytest.approx(250)
    assert u["where"] == [{"assembly": "A1", "model": "M", "gwh": pytest.approx(5), "vehicles": pytest.approx(1e5),
                           "years": "2026"}]
    served = run("solve", str(folder), "--threads", "1", "--json", "--out", str(tmp_path / "served"))
    assert json.loads(served.stdout)["unserved"] is None
