"""Hostile inputs refused early: ``python -m benchmarks.hostile``.

Each case is written into a temporary folder and run as ``python -m optimizer ...`` in its own process; the
table gives the exit code, the wall time and the peak memory (RSS) of that process, and the first line of
its message. Every case must end with exit 2 and a message, in a few seconds and without loading what it
refuses: before these limits a 1e20-case grid started solving, 10 million samples took 1.6 GB before the
first case, 50,000 duplicate rows took over 200 s and a 2-million-row workbook over 2 GB.

The generators are shared with ``tests/test_hostile.py`` and ``tests/test_hostile_sweep.py``.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARIFF = "{table: lanes, column: tariff_rate, op: set}"


def tiny_folder(target: Path) -> Path:
    """One existing plant P1 (10 GWh) -> A1, model M (50 kWh), 100,000 vehicles in 2026."""
    import pandas as pd

    from optimizer.io import scenario_from_tables, write_scenario

    tables = {
        "plants": [{"plant": "P1", "region": "EU", "country": "FR", "cell_types": "NMC", "status": "existing"}],
        "plant_years": [{"plant": "P1", "year": 2026, "capacity_gwh": 10, "cell_cost_usd_per_kwh": 100}],
        "assembly": [{"assembly": "A1", "region": "EU", "country": "FR"}],
        "assembly_years": [{"assembly": "A1", "year": 2026, "capacity_vehicles": ""}],
        "models": [{"model": "M", "cell_type": "NMC", "pack_kwh": 50}],
        "demand": [{"assembly": "A1", "model": "M", "year": 2026, "vehicles": 100_000}],
        "lanes": [{"plant": "P1", "assembly": "A1", "freight_usd_per_kwh": 1, "tariff_rate": 0}],
    }
    scenario = scenario_from_tables({name: pd.DataFrame(rows) for name, rows in tables.items()},
                                    {"name": "tiny", "start_year": 2026, "end_year": 2026, "discount_rate": 0.0})
    return write_scenario(scenario, target)


def duplicate_rows(folder: Path, copies: int = 50_000) -> Path:
    """The demand table's first row followed by ``copies`` copies of it."""
    demand = folder / "demand.csv"
    header, row = demand.read_text().splitlines()[:2]
    demand.write_text("\n".join([header, *[row] * (copies + 1)]) + "\n")
    return folder


def grid_sweep(path: Path, base: Path, axes: int = 10, values: int = 100) -> Path:
    """``axes`` axes of ``values`` values each: values^axes grid cases (1e20 by default), plus the base."""
    listed = "[" + ", ".join(f"{v / 1000:g}" for v in range(values)) + "]"
    body = "".join(f"  a{i}:\n    values: {listed}\n    change: {TARIFF}\n" for i in range(axes))
    path.write_text(f"base: {base}\naxes:\n{body}", encoding="utf-8")
    return path


def samples_sweep(path: Path, base: Path, count: int = 10_000_000) -> Path:
    path.write_text(f"base: {base}\ninclude_base: false\nsamples:\n  count: {count}\n  seed: 1\n  parameters:\n"
                    f"    t: {{distribution: uniform, low: 0, high: 1, change: {TARIFF}}}\n", encoding="utf-8")
    return path


def big_demand_workbook(book: Path, target: Path, rows: int, dimension: bool) -> Path:
    """The workbook ``book`` with its demand sheet replaced by a header and ``rows`` data rows (cell text from
    the shared strings, which a size check never reads), written as a stream: a few MB on disk, a hundred or
    more unpacked. ``dimension`` declares the sheet's size in its ``<dimension>`` element, as Excel does."""
    import openpyxl

    wb = openpyxl.load_workbook(book, read_only=True)
    part = wb["demand"]._worksheet_path.lstrip("/")
    wb.close()
    head = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            + (f'<dimension ref="A1:D{rows + 1}"/>' if dimension else "") + "<sheetData>")
    row = '<row><c t="s"><v>0</v></c><c t="s"><v>1</v></c><c><v>2026</v></c><c><v>1</v></c></row>'
    with zipfile.ZipFile(book) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zout:
        for info in zin.infolist():
            if info.filename != part:
                zout.writestr(info, zin.read(info.filename))
                continue
            with zout.open(part, "w", force_zip64=True) as f:
                f.write(head.encode())
                f.write(row.encode())  # the header row (its text never matters here)
                block = (row * 10_000).encode()
                for _ in range(rows // 10_000):
                    f.write(block)
                f.write((row * (rows % 10_000)).encode())
                f.write(b"</sheetData></worksheet>")
    return target


PEAK_RSS = """import resource, subprocess, sys
proc = subprocess.run(sys.argv[1:], capture_output=True, text=True)
sys.stderr.write(proc.stderr)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)
sys.exit(proc.returncode)
"""


def run_cli(*args: str) -> tuple[int, str, float, int]:
    """``python -m optimizer ARGS`` in its own process: (exit code, stderr, wall s, peak RSS MB)."""
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", PEAK_RSS, sys.executable, "-m", "optimizer", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    return proc.returncode, proc.stderr, time.perf_counter() - t, int(proc.stdout.strip().splitlines()[-1])


def timed(call) -> float:
    """Seconds ``call()`` takes to raise InputError (the refusal measured in this process)."""
    from optimizer.errors import InputError

    t = time.perf_counter()
    try:
        call()
    except InputError:
        return time.perf_counter() - t
    raise AssertionError("the input was accepted")


def main() -> None:
    from optimizer.io import load_scenario, write_scenario
    from optimizer.solver import SolveOptions
    from optimizer.sweep.spec import load_sweep

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        base = tiny_folder(tmp / "base")
        book = write_scenario(load_scenario(base), tmp / "base.xlsx")
        grid, samples = grid_sweep(tmp / "grid.yaml", base), samples_sweep(tmp / "samples.yaml", base)
        dup = duplicate_rows(write_scenario(load_scenario(base), tmp / "dup"))
        declared = big_demand_workbook(book, tmp / "declared.xlsx", 2_000_000, True)
        undeclared = big_demand_workbook(book, tmp / "undeclared.xlsx", 2_000_000, False)
        out = str(tmp / "out")
        cases = {  # name: (CLI arguments, the same refusal through the API, or None)
            "--version (start-up cost of a process)": (["--version"], None),
            "grid of 10 axes x 100 values (1e20 cases)": (["sweep", str(grid), "--out", out],
                                                          lambda: load_sweep(grid)),
            "10,000,000 samples": (["sweep", str(samples), "--out", out], lambda: load_sweep(samples)),
            "50,000 duplicate demand rows": (["validate", str(dup)], lambda: load_scenario(dup)),
            "2,000,000-row workbook, dimension declared": (["validate", str(declared)],
                                                           lambda: load_scenario(declared)),
            "2,000,000-row workbook, no dimension": (["validate", str(undeclared)], lambda: load_scenario(undeclared)),
            "solve --threads 100000": (["solve", str(base), "--threads", "100000", "--out", out],
                                       lambda: SolveOptions(threads=100_000)),
        }
        print(f"{'case':44} {'exit':>4} {'CLI s':>6} {'peak MB':>7} {'API s':>6}  message")
        for name, (args, call) in cases.items():
            code, stderr, wall, rss = run_cli(*args)
            api = f"{timed(call):6.2f}" if call else "     -"
            lines = [x.strip() for x in stderr.splitlines() if x.strip().startswith("- ")]
            print(f"{name:44} {code:>4} {wall:>6.2f} {rss:>7} {api}  {(lines[0][2:] if lines else '')[:100]}")
        print(f"(the 2,000,000-row workbooks are {declared.stat().st_size / 1e6:.1f} MB on disk; this driver peaked "
              f"at {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB)")


if __name__ == "__main__":
    main()
