"""Wall time of a sweep on Ray against a plain loop that rebuilds the model for every scenario.

    python -m benchmarks.sweep_vs_loop scenarios/sweeps/monte_carlo.yaml [--limit N] [--workers 2]

Prints scenarios per second for both and their ratio (measured in one run: these machines are shared).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter
from pathlib import Path

import optimizer
from optimizer.sweep.apply import apply_changes
from optimizer.sweep.runner import DEFAULT_TIME_LIMIT, run_sweep
from optimizer.sweep.spec import load_sweep


def plain_loop(sweep_file: Path, limit: int | None) -> tuple[float, int, Counter]:
    """Every case resolved, built, solved and extracted from scratch, one after another."""
    sweep = load_sweep(sweep_file)
    base = optimizer.load_scenario(sweep.base_path)
    opts = {"time_limit": DEFAULT_TIME_LIMIT, "rel_gap": 1e-4, **dict(sweep.options)}
    options = optimizer.SolveOptions(time_limit=opts["time_limit"], rel_gap=opts["rel_gap"], threads=1)
    counts: Counter = Counter()
    t0 = time.perf_counter()
    n = 0
    for case in sweep.cases():
        if limit is not None and n >= limit:
            break
        result = optimizer.solve(apply_changes(base, case.changes), options, duals=False)
        counts[result.status.value] += 1
        n += 1
    return time.perf_counter() - t0, n, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sweep", type=Path)
    parser.add_argument("--limit", type=int, default=None, help="only the first N cases in the loop")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-loop", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        run = run_sweep(args.sweep, Path(tmp) / "out", workers=args.workers)
    sweep_rate = run.solved / run.wall_seconds
    print(f"sweep: {run.solved} scenarios on {run.workers} workers in {run.wall_seconds:.1f} s "
          f"({sweep_rate:.2f} scenarios/s, incl. Ray start-up); statuses {run.counts}; "
          f"model rebuilds {run.rebuilds}, worker restarts {run.worker_restarts}")
    if args.skip_loop:
        return
    wall, n, counts = plain_loop(args.sweep, args.limit)
    loop_rate = n / wall
    print(f"plain loop (rebuild every scenario, 1 process): {n} scenarios in {wall:.1f} s ({loop_rate:.2f}/s); "
          f"statuses {dict(counts)}")
    print(f"sweep / loop throughput: {sweep_rate / loop_rate:.2f}x")


if __name__ == "__main__":
    main()
