"""Checks that keep a sweep file's work bounded and its filters well-formed, made while the file is read.

* The number of cases (base, grid, named cases, samples) is counted as a product of axis lengths, never by
  building the cases, and refused above :data:`~optimizer.limits.CASES` (a 10 x 100 grid is 1e20 cases).
* The random draws of the samples (count x sampled parameters) are refused above
  :data:`~optimizer.limits.SAMPLE_DRAWS` before any is drawn (they are held in memory at once).
* A ``where`` filter maps a column to one value or a list of values; YAML reads ``{CN, JP}`` as a mapping
  (a set), which is refused with the list to write instead.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from ..errors import Problem
from ..limits import CASES, SAMPLE_DRAWS

SCALAR = (str, int, float, bool)


def case_count_problems(total: int, file: str) -> list[Problem]:
    """A problem when a sweep defines more than :data:`CASES` cases (``total`` counted, not built)."""
    if total <= CASES.value:
        return []
    return [Problem(file, None, None, "limit", CASES.exceeded(f"the sweep defines {total:,} cases"))]


def declared_case_count(raw: Mapping) -> int:
    """The cases a sweep file's top-level mapping declares, from the lengths of its lists alone (nothing
    checked, nothing built): base + product of the axes' and zip groups' lengths + named cases + samples.
    Parts that are not well-formed count as empty (the full checks report them)."""
    def length(axis: object) -> int:
        values = axis.get("values") if isinstance(axis, Mapping) else None
        return len(values) if isinstance(values, list) else 0

    lengths = [length(a) for a in raw["axes"].values()] if isinstance(raw.get("axes"), Mapping) else []
    if isinstance(raw.get("zip"), list):
        lengths += [max(map(length, g.values()), default=0) for g in raw["zip"] if isinstance(g, Mapping)]
    grid = math.prod(n for n in lengths if n) if any(lengths) else 0
    named = len(raw["cases"]) if isinstance(raw.get("cases"), list) else 0
    samples = raw.get("samples")
    count = samples.get("count") if isinstance(samples, Mapping) else None
    drawn = count if isinstance(count, int) and not isinstance(count, bool) and count > 0 else 0
    return int(raw.get("include_base", True) is not False) + grid + named + drawn


def sample_draw_problems(count: int, parameters: int, file: str) -> list[Problem]:
    """A problem when ``count`` samples of ``parameters`` parameters need more than :data:`SAMPLE_DRAWS` draws."""
    draws = count * parameters
    if draws <= SAMPLE_DRAWS.value:
        return []
    return [Problem(file, None, "samples.count", "limit",
                    SAMPLE_DRAWS.exceeded(f"{count:,} samples of {parameters} parameters are {draws:,} random draws"))]


def where_problems(where: object, path: str, file: str) -> list[Problem]:
    """Problems of a ``where`` filter at key path ``path``: each value must be a name or number, or a list of them."""
    if where is None:
        return []
    if not isinstance(where, Mapping):
        return [Problem(file, None, path, "value", f"a filter maps columns to values, got {_shown(where)}")]
    problems = []
    for key, value in where.items():
        at = f"{path}.{key}"
        if isinstance(value, Mapping):
            listed = f"[{', '.join(str(k) for k in value)}]"
            problems.append(Problem(file, None, at, "value",
                                    f"{_shown(value)} is a mapping (YAML reads {{a, b}} as a set of keys): "
                                    f"to filter on several values write a list, {listed}"))
        elif isinstance(value, list) and not all(isinstance(v, SCALAR) for v in value):
            problems.append(Problem(file, None, at, "value",
                                    f"{_shown(value)}: write one value or a flat list of values, such as [CN, JP]"))
        elif not isinstance(value, (*SCALAR, list)):
            problems.append(Problem(file, None, at, "value",
                                    f"{_shown(value)}: write one value or a list of values, such as [CN, JP]"))
    return problems


def _shown(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."
