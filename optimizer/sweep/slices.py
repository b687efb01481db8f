"""Random access into a sweep's cases: case number i (0-based, in the order of :meth:`Sweep.cases`) built on
its own, so a worker handed the range [start, stop) builds exactly those cases and the driver builds none.

Order: the base (if included), the grid (``itertools.product`` order: the last dimension fastest), the named
cases, the samples. Sample i of a ``random`` sweep is row i of ``default_rng(seed).random((count, d))``: the
generator is advanced to it (PCG64 jumps in O(1)); a Latin hypercube needs every row's stratum permutation,
so its draws are made once per worker and kept (count x d floats).
"""

from __future__ import annotations

import numpy as np

from .cases import Case, Samples, Sweep, format_value, param_value
from .changes import with_value

_LHS_CACHE: dict[tuple, np.ndarray] = {}


def _unit_rows(samples: Samples, start: int, stop: int) -> np.ndarray:
    d = len(samples.parameters)
    if samples.method == "random":
        bits = np.random.default_rng(samples.seed).bit_generator
        bits.advance(start * d)  # type: ignore[attr-defined]  # PCG64: one 64-bit draw per double
        return np.random.Generator(bits).random((stop - start, d))
    key = (samples.seed, samples.count, samples.method, d)
    if key not in _LHS_CACHE:
        _LHS_CACHE.clear()
        _LHS_CACHE[key] = samples.unit_draws()
    return _LHS_CACHE[key][start:stop]


def _sample_cases(samples: Samples, start: int, stop: int) -> list[Case]:
    u = _unit_rows(samples, start, stop)
    columns = [p.values(u[:, j]) for j, p in enumerate(samples.parameters)]
    width = max(4, len(str(samples.count - 1)))
    cases = []
    for row, i in enumerate(range(start, stop)):
        params, changes = [], []
        for p, col in zip(samples.parameters, columns):
            params.append((p.name, param_value(col[row])))
            changes += [with_value(c, col[row]) for c in p.changes]
        cases.append(Case(f"sample-{i:0{width}d}", tuple(params), tuple(changes), "sample"))
    return cases


def _grid_case(sweep: Sweep, j: int) -> Case:
    combo = []
    for dim in reversed(sweep.grid):
        j, r = divmod(j, len(dim.points))
        combo.append(dim.points[r])
    combo.reverse()
    params = tuple(kv for point in combo for kv in point.params)
    changes = tuple(c for point in combo for c in point.changes)
    return Case("grid-" + ",".join(f"{k}={format_value(v)}" for k, v in params), params, changes, "grid")


def case_slice(sweep: Sweep, start: int, stop: int) -> list[tuple[int, Case]]:
    """Cases ``start`` .. ``stop - 1`` of ``sweep`` with their numbers."""
    stop = min(stop, sweep.count())
    n_base, n_grid, n_named = int(sweep.include_base), sweep.grid_count(), len(sweep.named)
    out: list[tuple[int, Case]] = []
    first_sample = n_base + n_grid + n_named
    for i in range(start, min(stop, first_sample)):
        j = i
        if j < n_base:
            out.append((i, Case("base", (), (), "base")))
            continue
        j -= n_base
        if j < n_grid:
            out.append((i, _grid_case(sweep, j)))
            continue
        out.append((i, sweep.named[j - n_grid]))
    if stop > first_sample and sweep.samples:
        a = max(start, first_sample) - first_sample
        b = stop - first_sample
        out += [(first_sample + a + k, c) for k, c in enumerate(_sample_cases(sweep.samples, a, b))]
    return out


def parameter_types(sweep: Sweep) -> dict[str, str]:
    """``float`` for a swept parameter whose every value is a number, ``string`` otherwise (the summary's
    column types, fixed before any case is solved)."""
    values: dict[str, set[str]] = {}

    def see(name: str, value: object) -> None:
        kind = "float" if isinstance(value, (int, float)) and not isinstance(value, bool) else "string"
        values.setdefault(name, set()).add(kind if value is not None else "float")

    for dim in sweep.grid:
        for point in dim.points:
            for k, v in point.params:
                see(k, v)
    for case in sweep.named:
        for k, v in case.params:
            see(k, v)
    if sweep.samples:
        for p in sweep.samples.parameters:
            for v in (p.choices if p.distribution == "discrete" else (0.0,)):
                see(p.name, param_value(v))
    return {name: "float" if kinds == {"float"} else "string" for name, kinds in values.items()}
