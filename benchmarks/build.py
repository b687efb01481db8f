"""How long ``optimizer.model.build_model`` takes (``python -m benchmarks.build``), and against another commit.

Each measurement is one build in a fresh Python process (imports and the synthetic scenario's generation and
validation are not timed; ``Scenario.data`` is computed before the clock starts): wall seconds and the
process's CPU seconds (``time.process_time``, the better figure on a loaded machine). ``--old REF`` checks
out another commit into a temporary git worktree and measures its build in the same run, interleaved
round by round (new, old, new, old, ...), so that the ratio old / new is from one run under the same load.
``--check`` also compares the two builds' canonical forms (``tests/model_canonical.py``: counts and the
sha256 of every variable, row, bound and coefficient to 9 significant digits), to show the model unchanged.

Instances are ``synthetic_scenario(P, A, V, T, seed=0)``; ``--mutable`` builds with mutable Params (the sweep
worker's model) instead.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import textwrap
from pathlib import Path

import pandas as pd

from .versions import code_versions, run_fresh

ROOT = Path(__file__).resolve().parents[1]
SIZES = "10x20x4x6,20x40x5x12,40x80x6x15"

RUN = textwrap.dedent("""
    import gc, json, sys, time
    code_root, tests, size = sys.argv[1:4]
    mutable, check = sys.argv[4] == "1", sys.argv[5] == "1"
    sys.path[:0] = [code_root, tests]
    from benchmarks.synthetic import synthetic_scenario
    from optimizer.model import build_model

    scenario = synthetic_scenario(*(int(x) for x in size.split("x")), seed=0)
    scenario.data
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    m = build_model(scenario, mutable=mutable)
    out = {"wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu}
    if check:
        from model_canonical import canonical, summary
        out["summary"] = summary(canonical(m))
    print(json.dumps(out))
""")


def measure(code_root: Path, size: str, mutable: bool, check: bool) -> dict:
    """One build of the instance ``size`` by the code at ``code_root``, in a fresh process."""
    return run_fresh(code_root, RUN, [str(code_root), str(ROOT / "tests"), size, str(int(mutable)), str(int(check))],
                     f"build {size}")


def rows_for(code: dict[str, Path], size: str, rounds: int, mutable: bool, check: bool) -> dict:
    """Median wall and CPU seconds of each code version over ``rounds`` interleaved builds."""
    runs: dict[str, list[dict]] = {name: [] for name in code}
    for r in range(rounds):
        for name, root in code.items():
            runs[name].append(measure(root, size, mutable, check and r == 0))
            print(f"  {size} {name} round {r + 1}: {runs[name][-1]['wall_s']:.2f} s wall, "
                  f"{runs[name][-1]['cpu_s']:.2f} s CPU", flush=True)
    row: dict = {"instance": size}
    for name, samples in runs.items():
        row[f"{name}_wall_s"] = statistics.median(s["wall_s"] for s in samples)
        row[f"{name}_cpu_s"] = statistics.median(s["cpu_s"] for s in samples)
        if check:
            summary = samples[0]["summary"]
            row["variables"], row["rows"], row["nonzeros"] = summary["vars"], summary["rows"], summary["nonzeros"]
            row[f"{name}_sha256"] = summary["sha256"][:12]
    if "old" in code:
        row["wall_ratio_old_over_new"] = row["old_wall_s"] / row["new_wall_s"]
        row["cpu_ratio_old_over_new"] = row["old_cpu_s"] / row["new_cpu_s"]
        if check:
            row["same_model"] = row["old_sha256"] == row["new_sha256"]
    return row


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old", help="also measure the build of this git commit (e.g. ac606a8)")
    ap.add_argument("--sizes", default=SIZES, help=f"comma-separated PxAxVxT (default {SIZES})")
    ap.add_argument("--rounds", type=int, default=3, help="builds per instance and code version (median)")
    ap.add_argument("--mutable", action="store_true", help="build with mutable Params (a sweep worker's model)")
    ap.add_argument("--check", action="store_true", help="compare the canonical forms of old and new")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp, code_versions(args.old, Path(tmp)) as code:
        rows = [rows_for(code, size, args.rounds, args.mutable, args.check) for size in args.sizes.split(",")]
    pd.set_option("display.width", 250)
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.2f}"))


if __name__ == "__main__":
    main()
