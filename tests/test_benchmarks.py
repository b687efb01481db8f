"""The model is the classic capacitated facility location problem (DESIGN.md section 3): public benchmarks.

* OR-Library CAP (Beasley 1988), cap41 ... cap134, multi-source: 37 instances solve to the published optimum;
* Holmberg, Ronnqvist and Yuan (1999) p1 ... p24, single source: likewise.

capa/capb/capc (100 x 1000, tens of seconds to minutes each) belong to the benchmark harness and are not
solved here; a fast test only checks that capa.txt reads into the right four instances.

Published optima are parsed from the benchmark READMEs (never retyped). The shared folder is
``<repo>/../shared/benchmarks`` or ``$OPTIMIZER_SHARED_BENCHMARKS``; tests that need it skip when it is absent.
"""

from __future__ import annotations

import math

import pytest

import optimizer
from benchmarks.instances import (
    ENV_VAR,
    ORLIB_CAPACITIES,
    Instance,
    parse_optima_table,
    published_optima_holmberg,
    published_optima_orlib,
    read_holmberg,
    read_orlib_cap,
    shared_benchmarks_dir,
)

ROOT = shared_benchmarks_dir()
ORLIB = ROOT / "orlib-cap"
HOLMBERG = ROOT / "holmberg-sscflp"

needs_orlib = pytest.mark.skipif(
    not (ORLIB / "README.md").is_file(),
    reason=f"shared OR-Library benchmarks not found at {ORLIB} (set {ENV_VAR} to the shared benchmarks folder)",
)
needs_holmberg = pytest.mark.skipif(
    not (HOLMBERG / "README.md").is_file(),
    reason=f"shared Holmberg benchmarks not found at {HOLMBERG} (set {ENV_VAR} to the shared benchmarks folder)",
)

# The 37 small OR-Library problems (16-50 warehouses x 50 customers); capa/b/c are left to the harness.
ORLIB_SMALL = (
    ["cap41", "cap42", "cap43", "cap44", "cap51"]
    + [f"cap{g}{k}" for g in (6, 7, 8, 9, 10, 11, 12, 13) for k in (1, 2, 3, 4)]
)
HOLMBERG_TESTED = [f"p{k}" for k in range(1, 25)]

OPTIONS = optimizer.SolveOptions(rel_gap=0.0, threads=1)  # one thread is fastest on these small MILPs


def _solve(inst: Instance) -> optimizer.SolveResult:
    return optimizer.solve(inst.scenario(), OPTIONS, duals=False)


def _check_optimal(inst: Instance, result: optimizer.SolveResult) -> None:
    assert inst.optimum is not None, f"no published optimum for {inst.name}"
    assert result.status == optimizer.Status.OPTIMAL, f"{inst.name}: {result.status} ({result.manifest})"
    assert result.objective + inst.objective_offset == pytest.approx(inst.optimum, rel=1e-9, abs=1e-3)
    assert result.gap is not None and result.gap <= 1e-9


def _benchmark_cost(inst: Instance, result: optimizer.SolveResult) -> float:
    """sum_i f_i y_i + sum_ij c_ij x_ij recomputed from the result tables and the benchmark's own numbers."""
    plants = inst.tables["plants"].set_index("plant")
    opened = result.builds.loc[result.builds["kind"] == "opening"]
    fixed = sum(plants.loc[p, "opening_cost_musd"] * c for p, c in zip(opened["plant"], opened["count"]))
    lanes = inst.tables["lanes"].set_index(["plant", "assembly"])["freight_usd_per_kwh"]
    flows = result.flows
    moved = sum(lanes[p, a] * g for p, a, g in zip(flows["plant"], flows["assembly"], flows["gwh"]))
    return float(fixed + moved)


# ------------------------------------------------------------------------------------------ fast checks


def test_parse_optima_table_reads_rows_and_skips_the_rest():
    text = "# t\n| instance | optimum |\n|---|---|\n| cap41 | 1040444.375 |\n| p1 | 8848 |\ntext | 1 |\n"
    assert parse_optima_table(text) == {"cap41": 1040444.375, "p1": 8848.0}


def test_env_var_moves_the_shared_folder(monkeypatch, tmp_path):
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    assert shared_benchmarks_dir() == tmp_path
    (tmp_path / "orlib-cap").mkdir()
    (tmp_path / "orlib-cap" / "README.md").write_text("| cap41 | 12.5 |\n")
    assert published_optima_orlib() == {"cap41": 12.5}


def test_reader_converts_a_hand_made_cflp(tmp_path):
    """2 warehouses x 3 customers, one customer with zero demand; optimum worked out by hand.

    Open W1 only (cap 10, f 5): serves 4 + 6 = 10 at cost 8 + 12 = 20, total 25. Open W2 only (cap 8): too small.
    Both: 5 + 7 + best split, more than 25. Zero-demand customer C3 adds min(c_13, c_23) = 1 (offset).
    """
    f = tmp_path / "cap1.txt"
    f.write_text(" 2 3\n 10 5.\n 8 6.\n 4 8. 20.\n 6\n 12. 9.\n 0 3. 1.\n")
    [inst] = read_orlib_cap(f, optima={"cap1": 26.0})
    assert (inst.facilities, inst.customers) == (2, 3)
    assert list(inst.tables["assembly"]["assembly"]) == ["C1", "C2"]  # C3 has no demand
    lanes = inst.tables["lanes"].set_index(["plant", "assembly"])["freight_usd_per_kwh"]
    assert lanes["W2", "C1"] == pytest.approx(20 / 4) and lanes["W1", "C2"] == pytest.approx(12 / 6)
    assert inst.objective_offset == 1.0
    result = _solve(inst)
    _check_optimal(inst, result)
    assert _benchmark_cost(inst, result) == pytest.approx(25.0)


def test_reader_rejects_truncated_and_overlong_files(tmp_path):
    f = tmp_path / "cap1.txt"
    f.write_text("2 1\n10 5\n8 6\n4 8 20 99\n")
    with pytest.raises(ValueError, match="unexpected token"):
        read_orlib_cap(f, optima={})
    f.write_text("2 1\n10 5\n8 6\n4 8\n")
    with pytest.raises(ValueError, match="ends early"):
        read_orlib_cap(f, optima={})


@needs_orlib
def test_published_optima_orlib_cover_every_file():
    optima = published_optima_orlib()
    expected = ORLIB_SMALL + [f"{s}-{c}" for s, caps in ORLIB_CAPACITIES.items() for c in caps]
    assert sorted(optima) == sorted(expected)
    assert optima["cap41"] == 1040444.375 and optima["capc-7250"] == 11505767.394  # spot checks of the parser


@needs_holmberg
def test_published_optima_holmberg_match_the_os_file():
    optima = published_optima_holmberg()
    assert sorted(optima) == sorted(f"p{k}" for k in range(1, 72))
    os_file = HOLMBERG / "os"
    if os_file.is_file():
        listed = [float(x) for x in os_file.read_text().split()]
        assert {f"p{k}": v for k, v in enumerate(listed, start=1)} == optima


@pytest.mark.slow
@needs_orlib
def test_capa_reads_into_four_instances_of_100_by_1000():
    instances = read_orlib_cap(ORLIB / "capa.txt")
    assert [i.name for i in instances] == [f"capa-{c}" for c in ORLIB_CAPACITIES["capa"]]
    optima = published_optima_orlib()
    for inst, cap in zip(instances, ORLIB_CAPACITIES["capa"]):
        assert (inst.facilities, inst.customers) == (100, 1000)
        assert len(inst.tables["plants"]) == 100 and len(inst.tables["assembly"]) == 1000
        assert len(inst.tables["lanes"]) == 100_000 and len(inst.tables["demand"]) == 1000
        assert set(inst.tables["plants"]["opening_capacity_gwh"]) == {float(cap)}
        assert inst.optimum == optima[inst.name]
        assert inst.config["single_sourcing"] is False
    # same data, only the capacity differs
    assert instances[0].tables["lanes"].equals(instances[3].tables["lanes"])
    assert instances[0].tables["plants"]["opening_cost_musd"].iloc[0] == 2141200.0  # first fixed cost in the file
    assert math.isclose(instances[0].tables["demand"]["vehicles"].sum(), 50886.0)


# ------------------------------------------------------------------------------------------ the benchmarks


@pytest.mark.slow
@needs_orlib
@pytest.mark.parametrize("name", ORLIB_SMALL)
def test_orlib_cap_solves_to_published_optimum(name):
    [inst] = read_orlib_cap(ORLIB / f"{name}.txt")
    assert inst.name == name and inst.config["single_sourcing"] is False
    result = _solve(inst)
    _check_optimal(inst, result)
    assert _benchmark_cost(inst, result) == pytest.approx(inst.optimum, rel=1e-9, abs=1e-3)


@pytest.mark.slow
@needs_holmberg
@pytest.mark.parametrize("name", HOLMBERG_TESTED)
def test_holmberg_sscflp_solves_to_published_optimum(name):
    inst = read_holmberg(HOLMBERG / name)
    assert inst.name == name and inst.config["single_sourcing"] is True
    result = _solve(inst)
    _check_optimal(inst, result)
    assert _benchmark_cost(inst, result) == pytest.approx(inst.optimum, rel=1e-9, abs=1e-3)
    flows = result.flows.loc[result.flows["gwh"] > 1e-9]
    assert flows.groupby("assembly")["plant"].nunique().max() == 1  # each customer served by one facility
    assert set(flows["assembly"]) == set(inst.tables["assembly"]["assembly"])
