"""A sweep's cases: the base, the grid, the named cases and the seeded samples, generated lazily in order.

A sweep's cases are, in this order: the unchanged base (``include_base``, default true), the grid (the
cartesian product of the ``axes`` and of each ``zip`` group taken as one axis; the last varies fastest),
the named ``cases``, and the seeded random ``samples`` (plain or Latin hypercube, by the inverse CDF of
each parameter's distribution). :class:`Sweep` is what :func:`~optimizer.sweep.spec.load_sweep` returns.

:func:`scenario_id` is the identity of a resolved scenario: a content hash of its inputs, the solve
options and :data:`MODEL_VERSION`, the same in every run.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from statistics import NormalDist

import numpy as np

from ..io import load_scenario
from ..scenario import Scenario
from .changes import VALUE_FIELD, Change, with_value

MODEL_VERSION = "1"
"""Part of every :func:`scenario_id`: bump it when a change to the model makes old results stale."""


def scenario_id(scenario: Scenario, options: dict) -> str:
    """The stable id of a scenario solved with ``options``: the first 16 hex digits of the sha256 of
    ``scenario.inputs_sha256`` + ``json.dumps(options, sort_keys=True)`` + :data:`MODEL_VERSION`."""
    return scenario_id_of(scenario.inputs_sha256, options)


def scenario_id_of(inputs_sha256: str, options: dict) -> str:
    """:func:`scenario_id` of a scenario whose ``inputs_sha256`` is known (a sweep worker computes it
    from the changed columns only, :mod:`.arrays`)."""
    text = inputs_sha256 + json.dumps(options, sort_keys=True, default=str) + MODEL_VERSION
    return hashlib.sha256(text.encode()).hexdigest()[:16]



@dataclass(frozen=True)
class Case:
    """One scenario of a sweep: a readable name (``base``, ``grid-cn_us_tariff=0.534``, a named case's
    name, ``sample-0007``), the swept parameters with their values (summary columns; named cases have
    ``case`` = their name; the base has none) and the changes to apply to the base, in order.
    ``kind`` is ``base``, ``grid``, ``case`` or ``sample``."""

    name: str
    params: tuple[tuple[str, object], ...]
    changes: tuple[Change, ...]
    kind: str = "case"


@dataclass(frozen=True)
class Point:
    """One value of a grid dimension (an axis, or a zip group's i-th values)."""

    params: tuple[tuple[str, object], ...]
    changes: tuple[Change, ...]


@dataclass(frozen=True)
class Dimension:
    names: tuple[str, ...]
    points: tuple[Point, ...]


@dataclass(frozen=True)
class SampledParameter:
    """A sampled parameter: a distribution and the changes its value is given to."""

    name: str
    distribution: str
    args: tuple[float, ...]  # uniform (low, high); triangular (low, mode, high); normal (mean, sd, low, high)
    choices: tuple[object, ...]  # discrete values
    weights: tuple[float, ...]
    changes: tuple[Change, ...]

    def values(self, u: np.ndarray) -> list[object]:
        """The inverse CDF at the uniform draws ``u`` (continuous values rounded to 10 significant digits,
        so that a case's values print and hash the same everywhere)."""
        if self.distribution == "discrete":
            cum = np.cumsum(self.weights) / sum(self.weights)
            index = np.minimum(np.searchsorted(cum, u, side="right"), len(self.choices) - 1)
            return [self.choices[i] for i in index]
        if self.distribution == "uniform":
            low, high = self.args
            x = low + u * (high - low)
        elif self.distribution == "triangular":
            low, mode, high = self.args
            c = (mode - low) / (high - low)
            left = low + np.sqrt(u * (high - low) * (mode - low))
            right = high - np.sqrt((1.0 - u) * (high - low) * (high - mode))
            x = np.where(u < c, left, right)
        else:  # normal, optionally truncated to [low, high]
            mean, sd, low, high = self.args
            dist = NormalDist(mean, sd)
            lo = dist.cdf(low) if math.isfinite(low) else 0.0
            hi = dist.cdf(high) if math.isfinite(high) else 1.0
            q = np.clip(lo + u * (hi - lo), 1e-12, 1.0 - 1e-12)
            x = np.clip(np.array([dist.inv_cdf(float(p)) for p in q]), low, high)
        return [float(f"{v:.10g}") for v in x]


@dataclass(frozen=True)
class Samples:
    count: int
    seed: int
    method: str
    parameters: tuple[SampledParameter, ...]

    def unit_draws(self) -> np.ndarray:
        """count x dimensions uniform draws in [0, 1) from a local ``numpy.random.default_rng(seed)``.

        ``random``: independent draws, row by row. ``lhs`` (Latin hypercube): per dimension, in file
        order, a random permutation of the ``count`` strata plus a uniform jitter inside each stratum,
        so every dimension has exactly one draw in each of [i/count, (i+1)/count)."""
        rng = np.random.default_rng(self.seed)
        n, d = self.count, len(self.parameters)
        if self.method == "random":
            return rng.random((n, d))
        u = np.empty((n, d))
        for j in range(d):
            u[:, j] = (rng.permutation(n) + rng.random(n)) / n
        return u

    def cases(self) -> Iterator[Case]:
        u = self.unit_draws()
        columns = [p.values(u[:, j]) for j, p in enumerate(self.parameters)]
        width = max(4, len(str(self.count - 1)))
        for i in range(self.count):
            params, changes = [], []
            for p, col in zip(self.parameters, columns):
                params.append((p.name, param_value(col[i])))
                changes += [with_value(c, col[i]) for c in p.changes]
            yield Case(f"sample-{i:0{width}d}", tuple(params), tuple(changes), "sample")


@dataclass(frozen=True)
class Sweep:
    """A loaded sweep file. :meth:`cases` yields its cases lazily (a generator: a 100,000-sample sweep
    is never held in memory), :meth:`count` says how many there are without building them.

    ``options`` holds only the solve options the file sets (``time_limit``, ``rel_gap``); the runner
    lays them over its defaults. ``parameter_names`` are the swept parameters, in file order (the
    summary's columns). ``base_scenario`` is the base as loaded and validated by :func:`load_sweep`."""

    name: str
    path: Path
    base_path: Path
    options: dict
    parameter_names: tuple[str, ...]
    description: str = ""
    include_base: bool = True
    grid: tuple[Dimension, ...] = ()
    named: tuple[Case, ...] = ()
    samples: Samples | None = None
    base_scenario: Scenario | None = field(default=None, compare=False, repr=False)

    def load_base(self) -> Scenario:
        """The base scenario (loaded again from ``base_path`` if this sweep was built without it)."""
        if self.base_scenario is not None:
            return self.base_scenario
        return load_scenario(self.base_path)

    def grid_count(self) -> int:
        return math.prod(len(d.points) for d in self.grid) if self.grid else 0

    def count(self) -> int:
        return (int(self.include_base) + self.grid_count() + len(self.named)
                + (self.samples.count if self.samples else 0))

    def cases(self) -> Iterator[Case]:
        if self.include_base:
            yield Case("base", (), (), "base")
        if self.grid:
            for combo in itertools.product(*(d.points for d in self.grid)):
                params = tuple(kv for point in combo for kv in point.params)
                changes = tuple(c for point in combo for c in point.changes)
                name = "grid-" + ",".join(f"{k}={format_value(v)}" for k, v in params)
                yield Case(name, params, changes, "grid")
        yield from self.named
        if self.samples:
            yield from self.samples.cases()


def format_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ";".join(format_value(v) for v in value) if value else "none"
    return str(value)


def param_of(value: object, changes: Sequence[Change]) -> object:
    """An axis value as a summary cell, numeric if the change reads it as a number (YAML reads ``1e-4``
    as text)."""
    typed = getattr(changes[0], VALUE_FIELD[type(changes[0])]) if changes else value
    if isinstance(value, str) and isinstance(typed, float):
        return typed
    return param_value(value)


def param_value(value: object) -> object:
    """A parameter's value as a summary cell: lists (outage years) as ``2028;2029`` (``none`` if empty)."""
    return format_value(value) if isinstance(value, (list, tuple)) else value
