"""The compile step of a single solve, old against new, in one run:
``python -m benchmarks.compile [P A V T ...] [--rounds N]``.

For each synthetic instance (default 10x20x4x6, 20x40x5x12, 40x80x6x15) the model is built once, then, in
alternation for ``--rounds`` rounds, compiled by Pyomo's ``LinearStandardFormCompiler``
(:func:`optimizer.highs_direct.compile_with_pyomo`, the old route) and by the direct reader
(:func:`optimizer.standard_form.read_standard_form`, what :func:`optimizer.highs_direct.compile_model` uses).
Printed: the median CPU seconds (``time.process_time``) of each, their ratio, whether the reader took the
model (no fallback) and whether the two forms are equal field by field, bit for bit.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time

import numpy as np
import pyomo.environ as pyo

from optimizer.highs_direct import compile_with_pyomo
from optimizer.model import build_model
from optimizer.standard_form import StandardForm, read_standard_form

from .synthetic import synthetic_scenario

DEFAULT = (10, 20, 4, 6, 20, 40, 5, 12, 40, 80, 6, 15)


def same_form(a: StandardForm, b: StandardForm) -> bool:
    """Every field equal: columns and rows by identity, arrays bit for bit."""
    for field in dataclasses.fields(StandardForm):
        x, y = getattr(a, field.name), getattr(b, field.name)
        if field.name in ("columns", "rows"):
            if len(x) != len(y) or any(p is not q for p, q in zip(x, y)):
                return False
        elif isinstance(y, np.ndarray):
            if x.dtype != y.dtype or x.shape != y.shape or x.tobytes() != y.tobytes():
                return False
        elif type(x) is not type(y) or x != y:
            return False
    return True


def compare(dims: tuple[int, int, int, int], rounds: int) -> dict[str, object]:
    """Old and new compile of one synthetic instance, interleaved ``rounds`` times."""
    m = build_model(synthetic_scenario(*dims))
    order = list(m.component_data_objects(pyo.Var, descend_into=True))
    old_s, new_s = [], []
    old = new = None
    for _ in range(rounds):
        t = time.process_time()
        old = compile_with_pyomo(m, order)
        old_s.append(time.process_time() - t)
        t = time.process_time()
        new = read_standard_form(m, order)
        new_s.append(time.process_time() - t)
    assert old is not None
    row: dict[str, object] = {"instance": "x".join(map(str, dims)), "columns": len(old.columns),
                              "rows": len(old.rows), "nonzeros": len(old.a_value),
                              "old_s": statistics.median(old_s), "new_s": statistics.median(new_s)}
    row["new_over_old"] = float(row["new_s"]) / float(row["old_s"])  # type: ignore[arg-type]
    row["direct"] = new is not None
    row["equal"] = new is not None and same_form(new, old)
    return row


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.compile", description=compare.__doc__)
    parser.add_argument("dims", nargs="*", type=int, help="P A V T for each synthetic instance")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    dims = args.dims or list(DEFAULT)
    if len(dims) % 4:
        parser.error("give P A V T for each instance")
    compile_with_pyomo(build_model(synthetic_scenario(2, 2, 1, 2)))  # first use imports scipy: once
    for k in range(0, len(dims), 4):
        row = compare((dims[k], dims[k + 1], dims[k + 2], dims[k + 3]), args.rounds)
        print(" ".join(f"{key}={value:.3f}" if isinstance(value, float) else f"{key}={value}"
                       for key, value in row.items()), flush=True)


if __name__ == "__main__":
    main()
