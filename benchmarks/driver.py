"""What the sweep's single driver costs (``python -m benchmarks.driver``): its own process CPU time per
scenario, its memory, and the projection to a million scenarios on a thousand cores.

Each measurement is one sweep run in a fresh Python process (so that the process CPU clock and the peak
memory are the driver's alone; the Ray workers are other processes): ``resource.getrusage(RUSAGE_SELF)``
user + system seconds at the end of the run. Start-up (imports, Ray start, actor start) is excluded by
running two lengths of the same sweep: CPU per scenario = (cpu(long) - cpu(short)) / (long - short).
Memory: the driver's resident set, sampled at every progress call; "flat" compares the peak of a 10,000
and a 100,000 scenario run.

``--old REF`` measures the runner of another commit (checked out into a temporary worktree) in the same
run, on the same sweeps: the figures of both sit side by side in one table.

Scenarios: ``tiny`` (2 plants, 1 assembly plant, 1 model, 2 years; a random demand scale per case) and the
base case's Monte Carlo (``scenarios/sweeps/monte_carlo.yaml`` cut to the count).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import textwrap
from pathlib import Path

import pandas as pd

from .versions import code_versions, run_fresh

ROOT = Path(__file__).resolve().parents[1]
TARGET_SCENARIOS = 1_000_000
TARGET_CORES = 1_000

RUN = textwrap.dedent("""
    import json, resource, sys, time
    sys.path.insert(0, sys.argv[1])
    import psutil
    from optimizer.sweep.runner import run_sweep

    me = psutil.Process()
    state = {"rss": [], "first": None, "last": None, "done": 0, "traced": -1.0}
    t0 = time.perf_counter()
    trace = open(sys.argv[5], "w", buffering=1) if len(sys.argv) > 5 else None  # the RSS over time, as it runs
    if trace:
        trace.write("seconds,done,driver_rss_mb,driver_cpu_s\\n")

    def probe(*args):
        if len(args) == 1:
            done = sum(args[0].counts.values())
        else:  # the runner before the worker-written store: (store, total, skipped)
            done = sum(args[0].counts.values())
        now = time.perf_counter() - t0
        if done and state["first"] is None:
            state["first"] = now
        if done > state["done"]:
            state["done"], state["last"] = done, now
        state["rss"].append(me.memory_info().rss / 2**20)
        if len(state["rss"]) > 10_000:  # the peak so far and the latest, not one float per tick
            state["rss"][:] = [max(state["rss"]), state["rss"][-1]]
        if trace and now - state["traced"] >= 10:
            state["traced"] = now
            use = resource.getrusage(resource.RUSAGE_SELF)
            trace.write(f"{now:.1f},{done},{state['rss'][-1]:.1f},{use.ru_utime + use.ru_stime:.2f}\\n")

    run = run_sweep(sys.argv[2], sys.argv[3], workers=int(sys.argv[4]), on_progress=probe)
    use = resource.getrusage(resource.RUSAGE_SELF)
    steady = (state["last"] or 0) - (state["first"] or 0)
    print(json.dumps({"solved": run.solved, "counts": run.counts, "wall_s": time.perf_counter() - t0,
                      "cpu_s": use.ru_utime + use.ru_stime, "rss_peak_mb": max(state["rss"] or [0]),
                      "rss_last_mb": (state["rss"] or [0])[-1], "max_rss_mb": use.ru_maxrss / 1024,
                      "steady_scen_per_s": (run.solved - 1) / steady if steady > 0 else None}))
""")


def tiny_sweep(folder: Path, count: int) -> Path:
    """The tiny scenario and a Monte Carlo of ``count`` demand scales on it."""
    from optimizer import write_scenario

    from .synthetic import synthetic_scenario

    base = folder / "tiny-base"
    if not base.exists():
        write_scenario(synthetic_scenario(2, 1, 1, 2, seed=1), base)
    path = folder / f"tiny_{count}.yaml"
    path.write_text(f"name: tiny_{count}\nbase: {base}\ninclude_base: false\noptions: {{time_limit: 20}}\n"
                    f"samples:\n  count: {count}\n  seed: 5\n  method: random\n  parameters:\n"
                    "    demand: {distribution: uniform, low: 0.6, high: 1.4,\n"
                    "             change: {table: demand, column: vehicles, op: scale}}\n", encoding="utf-8")
    return path


def base_sweep(folder: Path, count: int) -> Path:
    """The base case's Monte Carlo; with ``--old`` on the old commit's base case, which both runners read
    (the shipped base case has since gained tables that an older reader refuses)."""
    from .sweeps import monte_carlo_file

    old_base = folder / "old" / "scenarios" / "base"
    return monte_carlo_file(folder, count, base=old_base if old_base.exists() else None)


def measure(code_root: Path, sweep_file: Path, out: Path, workers: int, trace: Path | None = None) -> dict:
    """One sweep in a fresh process; with ``trace``, the driver's RSS and CPU written there every 10 s."""
    extra = [str(trace)] if trace else []
    return run_fresh(code_root, RUN, [str(code_root), str(sweep_file), str(out), str(workers), *extra], "sweep")


def cpu_rows(code: dict[str, Path], kind: str, lengths: tuple[int, int], workers: int, folder: Path) -> list[dict]:
    """Both lengths for every code version, interleaved (new short, old short, new long, old long) so that
    the machine's load falls on both alike."""
    make = tiny_sweep if kind == "tiny" else base_sweep
    runs: dict[str, dict[int, dict]] = {label: {} for label in code}
    for n in lengths:
        for label, root in code.items():
            runs[label][n] = measure(root, make(folder, n), folder / f"out-{label}-{kind}-{n}", workers)
    rows = []
    a, b = lengths
    for label, r in runs.items():
        per = (r[b]["cpu_s"] - r[a]["cpu_s"]) / (b - a)
        rows.append({"code": label, "scenario": kind, "lengths": f"{a}/{b}", "workers": workers,
                     "driver_cpu_s": f"{r[a]['cpu_s']:.2f}/{r[b]['cpu_s']:.2f}",
                     "driver_ms_per_scenario": 1000 * per,
                     "steady_scen_per_s": r[b]["steady_scen_per_s"],
                     "wall_s_long": r[b]["wall_s"], "driver_peak_mb_long": r[b]["rss_peak_mb"],
                     "statuses": json.dumps(r[b]["counts"])})
    return rows


def projection(ms_per_scenario: float, per_worker_rate: float) -> dict:
    """A cluster of C workers finishes no faster than C x the per-worker rate, nor than the driver's
    1 / (CPU seconds per scenario): the lower bound rules."""
    driver_rate = 1000.0 / max(ms_per_scenario, 1e-9)
    workers_rate = TARGET_CORES * per_worker_rate
    rate = min(driver_rate, workers_rate)
    return {"driver_scen_per_s": driver_rate, "workers_scen_per_s": workers_rate,
            "bound": "the driver" if driver_rate < workers_rate else "the workers (solve time)",
            "minutes_1M_on_1000_cores": TARGET_SCENARIOS / rate / 60}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old", help="also measure the runner of this git commit (e.g. 345cf6f)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--tiny", default="500,2500", help="two lengths of the tiny sweep")
    ap.add_argument("--base", default="100,400", help="two lengths of the base-case Monte Carlo")
    ap.add_argument("--memory", default="", help="lengths for the memory run, e.g. 10000,100000")
    ap.add_argument("--trace-dir", type=Path, default=ROOT / "results" / "bench",
                    help="where the memory runs write their trace, driver_memory_<n>.csv (RSS every 10 s)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp, code_versions(args.old, Path(tmp)) as code:
        folder = Path(tmp)
        rows = []
        for kind, spec in (("tiny", args.tiny), ("base", args.base)):
            if spec:
                a, b = (int(x) for x in spec.split(","))
                rows += cpu_rows(code, kind, (a, b), args.workers, folder)
        pd.set_option("display.width", 200)
        if rows:
            print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        for r in rows:
            if r["code"] == "new" and r["scenario"] == "base":
                per_worker = r["steady_scen_per_s"] / args.workers
                figures = projection(r["driver_ms_per_scenario"], per_worker)
                print(f"\nprojection ({r['code']}, base case): {figures}")
        if args.memory:
            mem = []
            for n in (int(x) for x in args.memory.split(",")):
                args.trace_dir.mkdir(parents=True, exist_ok=True)
                m = measure(ROOT, tiny_sweep(folder, n), folder / f"mem-{n}", args.workers,
                            trace=args.trace_dir / f"driver_memory_{n}.csv")
                mem.append({"scenarios": n, "driver_peak_mb": m["rss_peak_mb"], "driver_last_mb": m["rss_last_mb"],
                            "wall_s": m["wall_s"], "driver_cpu_s": m["cpu_s"], "statuses": json.dumps(m["counts"])})
            print("\n" + pd.DataFrame(mem).to_string(index=False, float_format=lambda v: f"{v:.1f}"))


if __name__ == "__main__":
    main()
