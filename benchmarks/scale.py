"""The scale run (``python -m benchmarks --scale``): one 10,000-scenario Monte Carlo sweep of the base case
on the local workers, with the driver's memory over time, the files written, the wall time, and a
projection to 1,000,000 scenarios on 1,000 cores.

The projection takes the measured per-worker rate (scenarios per second per worker) and the driver's
CPU seconds per scenario (dispatching, receiving, writing parquet parts: everything the single driver
does): a cluster of C workers cannot go faster than C x the per-worker rate, nor than 1 / (driver CPU
seconds per scenario), whichever is lower.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import psutil

from optimizer.sweep.runner import run_sweep

from .sweeps import MemoryProbe, monte_carlo_file

TARGET_SCENARIOS = 1_000_000
TARGET_CORES = 1_000


def scale_run(count: int = 10_000, workers: int = 2) -> tuple[dict[str, object], list[tuple[float, int, float]]]:
    """Run the sweep; return its figures and the driver memory trace (seconds, scenarios done, MB)."""
    probe = MemoryProbe()
    me = psutil.Process()
    with tempfile.TemporaryDirectory() as tmp:
        sweep_file = monte_carlo_file(Path(tmp), count)
        out = Path(tmp) / "out"
        cpu0 = sum(me.cpu_times()[:2])
        t0 = time.perf_counter()
        run = run_sweep(sweep_file, out, workers=workers, on_progress=probe)
        wall = time.perf_counter() - t0
        driver_cpu = sum(me.cpu_times()[:2]) - cpu0
        files = [p for p in out.rglob("*") if p.is_file()]
        written_mb = sum(p.stat().st_size for p in files) / 2**20
    steady = (probe.last_result or wall) - (probe.first_result or 0.0)
    per_worker = (run.solved - 1) / steady / workers
    driver_per_scenario = driver_cpu / max(run.solved, 1)
    cluster_rate = min(TARGET_CORES * per_worker, 1.0 / driver_per_scenario)
    bound = "workers (solve time)" if TARGET_CORES * per_worker <= 1.0 / driver_per_scenario else "the driver"
    mem = [m for _, _, m in probe.driver]
    figures = {
        "scenarios": run.solved, "statuses": dict(run.counts), "workers": workers, "wall_s": wall,
        "scen_per_s": run.solved / wall, "per_worker_scen_per_s": per_worker,
        "driver_cpu_s_per_scenario": driver_per_scenario,
        "driver_mb_first": mem[0] if mem else None, "driver_mb_max": max(mem) if mem else None,
        "driver_mb_last": mem[-1] if mem else None,
        "files_written": len(files), "mb_written": written_mb,
        "projected_cluster_scen_per_s": cluster_rate,
        "projected_hours_1M_on_1000_cores": TARGET_SCENARIOS / cluster_rate / 3600,
        "projection_bound": bound,
    }
    return figures, probe.driver
