"""Hostile sweep files: too many cases or draws, filters written as sets, names too long for a folder.

Every case is refused while the sweep file is read (exit 2, the file and key path, the limit and how to
raise it), before Ray starts and before anything is written. The timed cases run ``python -m optimizer`` as
a process and print their wall time and peak memory (``-s``); the bounds asserted are generous (they bound
the work done: counting cases must not build them).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from cli_process import assert_refused, run_cli
from tiny import TinyCase
from typer.testing import CliRunner

from benchmarks.hostile import grid_sweep, samples_sweep
from optimizer.cli import app
from optimizer.errors import InputError
from optimizer.io import write_scenario
from optimizer.sweep.spec import load_sweep

TARIFF = "{table: lanes, column: tariff_rate, op: set}"


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """P1 (FR, EU) -> A1, model M, 5 GWh demanded in 2026."""
    return write_scenario(TinyCase.default().scenario(), tmp_path_factory.mktemp("hostile-sweep") / "base")


def sweep_file(tmp_path: Path, base: Path, body: str) -> Path:
    path = tmp_path / "sweep.yaml"
    path.write_text(f"base: {base}\n{body}", encoding="utf-8")
    return path


@pytest.fixture
def no_ray(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("Ray started for a sweep that should have been refused")
    monkeypatch.setattr("optimizer.sweep.runner.connect", refuse)


def test_a_1e20_case_grid_is_refused_without_building_a_case(base, tmp_path, no_ray):
    path = grid_sweep(tmp_path / "sweep.yaml", base, axes=10, values=100)  # 100^10 = 1e20 cases, and the base
    t = time.perf_counter()
    with pytest.raises(InputError) as info:
        load_sweep(path)
    seconds = time.perf_counter() - t
    (problem,) = info.value.problems
    assert (problem.file, problem.rule) == (str(path), "limit")
    assert "100,000,000,000,000,000,001 cases" in problem.message and "OPTIMIZER_MAX_CASES" in problem.message

    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["sweep", str(path), "--out", str(out)])
    assert_refused(result.exit_code, result.stderr, f"{path}: [limit]", "more than the limit of 1,000,000 cases")
    assert not out.exists()
    code, stderr, wall, rss = run_cli("sweep", str(path), "--out", str(out))
    assert_refused(code, stderr, "[limit]")
    print(f"\n1e20-case grid: load_sweep {seconds:.2f} s; CLI process {wall:.2f} s, peak {rss} MB")
    assert seconds < 10 and wall < 30  # it used to start solving


def test_10_million_samples_are_refused_before_drawing_them(base, tmp_path, no_ray):
    path = samples_sweep(tmp_path / "sweep.yaml", base, count=10_000_000)
    out = tmp_path / "out"
    code, stderr, wall, rss = run_cli("sweep", str(path), "--out", str(out))
    assert_refused(code, stderr, f"{path}: [limit]", "10,000,000 cases", "OPTIMIZER_MAX_CASES")
    assert not out.exists()
    print(f"\n10,000,000 samples: refused by the CLI process in {wall:.2f} s, peak {rss} MB (drawing them took 1.6 GB)")
    assert wall < 30 and rss < 600


def test_sample_draws_have_their_own_limit(base, tmp_path):
    params = "".join(f"    p{i}: {{distribution: uniform, low: 0, high: 1, change: {TARIFF}}}\n" for i in range(3))
    path = sweep_file(tmp_path, base, f"samples:\n  count: 10\n  seed: 1\n  parameters:\n{params}")
    assert load_sweep(path).count() == 11
    os.environ["OPTIMIZER_MAX_SAMPLE_DRAWS"] = "29"
    try:
        with pytest.raises(InputError) as info:
            load_sweep(path)
        (problem,) = info.value.problems
        assert (problem.column, problem.rule) == ("samples.count", "limit")
        assert "30 random draws" in problem.message and "OPTIMIZER_MAX_SAMPLE_DRAWS" in problem.message
    finally:
        del os.environ["OPTIMIZER_MAX_SAMPLE_DRAWS"]


def test_the_case_limit_can_be_raised(base, tmp_path):
    path = sweep_file(tmp_path, base, f"axes:\n  t:\n    values: [0.1, 0.2, 0.3]\n    change: {TARIFF}\n")
    assert load_sweep(path).count() == 4
    os.environ["OPTIMIZER_MAX_CASES"] = "3"
    try:
        with pytest.raises(InputError) as info:
            load_sweep(path)
        assert "4 cases: more than the limit of 3 cases" in info.value.problems[0].message
    finally:
        del os.environ["OPTIMIZER_MAX_CASES"]


@pytest.mark.parametrize("where, message", [
    ("{plant.country: {CN, JP}}", "write a list, [CN, JP]"),
    ("{plant.country: {CN: 1}}", "write a list, [CN]"),
    ("{plant.country: [[CN], JP]}", "a flat list of values, such as [CN, JP]"),
])
def test_a_where_filter_written_as_a_set_is_a_message(base, tmp_path, where, message, no_ray):
    path = sweep_file(tmp_path, base, f"axes:\n  t:\n    values: [0.1]\n    change: {{table: lanes, column: "
                      f"tariff_rate, where: {where}}}\n")
    with pytest.raises(InputError) as info:
        load_sweep(path)
    (problem,) = info.value.problems
    assert (problem.file, problem.column, problem.rule) == (str(path), "axes.t.change.where.plant.country", "value")
    assert message in problem.message
    result = CliRunner().invoke(app, ["sweep", str(path), "--out", str(tmp_path / "out")])
    assert_refused(result.exit_code, result.stderr, "column axes.t.change.where.plant.country: [value]")


@pytest.mark.parametrize("body, column", [
    ("name: " + "n" * 300 + f"\naxes:\n  t:\n    values: [0.1]\n    change: {TARIFF}\n", "name"),
    ("cases:\n  - name: " + "n" * 300 + "\n    changes: [{setting: discount_rate, value: 0.1}]\n", "cases[0].name"),
])
def test_300_character_sweep_and_case_names_are_refused(base, tmp_path, body, column, no_ray):
    path = sweep_file(tmp_path, base, body)
    code, stderr, _, _ = run_cli("sweep", str(path), "--out", str(tmp_path / "out"))
    assert_refused(code, stderr, f"{path}, column {column}: [name]", "(300 characters) is too long")


@pytest.mark.parametrize("body, column, rule, message", [
    ("axes:\n  d:\n    values: [1.0, 1.0e+300]\n    change: {table: demand, column: vehicles, op: scale}\n",
     "axes.d.values[1]", "magnitude", "demand.vehicles would be 1e+305"),
    ("cases:\n  - name: dear\n    changes: [{table: plants, column: step_cost_musd, op: set, value: 1.0e+300}]\n",
     "cases[0].changes[0]", "magnitude", "plants.step_cost_musd would be 1e+300"),
    ("options: {rel_gap: 5}\n" f"axes:\n  t:\n    values: [0.1]\n    change: {TARIFF}\n", "options.rel_gap", "value",
     "less than or equal to 1"),
])
def test_overflowing_sweep_values_and_options_are_refused_with_their_key(base, tmp_path, body, column, rule, message,
                                                                          no_ray):
    path = sweep_file(tmp_path, base, body)
    with pytest.raises(InputError) as info:
        load_sweep(path)
    found = [(p.column, p.rule) for p in info.value.problems]
    assert (column, rule) in found, info.value.render()
    assert message in info.value.render()
    result = CliRunner().invoke(app, ["sweep", str(path), "--out", str(tmp_path / "out")])
    assert_refused(result.exit_code, result.stderr, f"column {column}: [{rule}]")


def test_robust_refuses_out_of_range_threads_before_the_sweep(base, tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the robust run started")
    monkeypatch.setattr("optimizer.cli.run_robust", refuse)
    path = sweep_file(tmp_path, base, f"axes:\n  t:\n    values: [0.1]\n    change: {TARIFF}\n")
    result = CliRunner().invoke(app, ["robust", str(path), "--out", str(tmp_path / "out"), "--threads", "100000"])
    assert_refused(result.exit_code, result.stderr, "solver options, column threads: [range]")
