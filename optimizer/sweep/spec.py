"""Sweep files (``scenarios/sweeps/*.yaml``): a base scenario plus changes, expanded into cases.

A sweep's cases are, in this order: the unchanged base (``include_base``, default true), the grid (the
cartesian product of the ``axes`` and of each ``zip`` group taken as one axis; the last varies
fastest), the named ``cases``, and the seeded random ``samples`` (plain or Latin hypercube). The format
is documented with examples in ``docs/sweeps.md``.

:func:`load_sweep` reads a file with a safe YAML loader (``yaml.SafeLoader``; a key written twice is
an error), validates it with pydantic models (unknown keys rejected with a did-you-mean), loads the base
scenario and checks every change against it (:func:`~optimizer.sweep.changes.check_changes`), and raises
one :class:`~optimizer.errors.InputError` listing every problem (``file`` = the sweep file, ``column`` = the
key path, such as ``axes.cn_us_tariff.values``). :meth:`Sweep.cases` then yields the cases lazily.

:func:`scenario_id` is the identity of a resolved scenario: a content hash of its inputs, the solve
options and :data:`MODEL_VERSION`, the same in every run.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from statistics import NormalDist
from typing import Any, Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, ValidationError, model_validator

from ..config import NAME_MAX, NAME_PATTERN, name_message
from ..errors import InputError, Problem
from ..scenario import Scenario
from .bounds import case_count_problems, sample_draw_problems, where_problems
from .changes import (
    CHOICE_SETTINGS,
    VALUE_FIELD,
    BudgetCut,
    Change,
    Delay,
    Outage,
    SettingChange,
    TableChange,
    _hint,
    as_years,
    check_changes,
    normalize_where,
    with_value,
)

MODEL_VERSION = "1"
"""Part of every :func:`scenario_id`: bump it when a change to the model makes old results stale."""

PARAMETER_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
RESERVED_PARAMETERS = frozenset({
    "scenario_id", "case_key", "case", "status", "objective", "bound", "gap", "solve_seconds", "wall_seconds",
    "rebuilt", "message", "why_infeasible", "name", "kind",
})
"""Column names of the sweep summary a swept parameter may not take (``case`` is the named cases' own)."""

CASE_PARAMETER = "case"
EVENTS = ("outage", "delay", "budget_cut")


def scenario_id(scenario: Scenario, options: dict) -> str:
    """The stable id of a scenario solved with ``options``: the first 16 hex digits of the sha256 of
    ``scenario.inputs_sha256`` + ``json.dumps(options, sort_keys=True)`` + :data:`MODEL_VERSION`."""
    text = scenario.inputs_sha256 + json.dumps(options, sort_keys=True, default=str) + MODEL_VERSION
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# ---------------------------------------------------------------------------------------------------
# cases and sweeps


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
class _Point:
    """One value of a grid dimension (an axis, or a zip group's i-th values)."""

    params: tuple[tuple[str, object], ...]
    changes: tuple[Change, ...]


@dataclass(frozen=True)
class _Dimension:
    names: tuple[str, ...]
    points: tuple[_Point, ...]


@dataclass(frozen=True)
class _Parameter:
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
class _Samples:
    count: int
    seed: int
    method: str
    parameters: tuple[_Parameter, ...]

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
                params.append((p.name, _param_value(col[i])))
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
    grid: tuple[_Dimension, ...] = ()
    named: tuple[Case, ...] = ()
    samples: _Samples | None = None
    base_scenario: Scenario | None = field(default=None, compare=False, repr=False)

    def load_base(self) -> Scenario:
        """The base scenario (loaded again from ``base_path`` if this sweep was built without it)."""
        if self.base_scenario is not None:
            return self.base_scenario
        from ..io import load_scenario

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
                name = "grid-" + ",".join(f"{k}={_format(v)}" for k, v in params)
                yield Case(name, params, changes, "grid")
        yield from self.named
        if self.samples:
            yield from self.samples.cases()


def _format(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ";".join(_format(v) for v in value) if value else "none"
    return str(value)


def _param_of(value: object, changes: Sequence[Change]) -> object:
    """An axis value as a summary cell, numeric if the change reads it as a number (YAML reads ``1e-4``
    as text)."""
    typed = getattr(changes[0], VALUE_FIELD[type(changes[0])]) if changes else value
    if isinstance(value, str) and isinstance(typed, float):
        return typed
    return _param_value(value)


def _param_value(value: object) -> object:
    """A parameter's value as a summary cell: lists (outage years) as ``2028;2029`` (``none`` if empty)."""
    return _format(value) if isinstance(value, (list, tuple)) else value


# ---------------------------------------------------------------------------------------------------
# the file format


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SweepFile(_Strict):
    """Top level of a sweep file; the sections are validated one by one below."""

    name: str | None = Field(default=None, max_length=NAME_MAX, pattern=NAME_PATTERN)
    description: str = ""
    base: str = Field(min_length=1)
    include_base: StrictBool = True
    options: Any = None
    axes: Any = None
    zip: Any = None
    cases: Any = None
    samples: Any = None


class OptionsModel(_Strict):
    time_limit: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    rel_gap: float | None = Field(default=None, ge=0, allow_inf_nan=False)


class AxisModel(_Strict):
    values: list[Any] = Field(min_length=1)
    change: Any


class CaseModel(_Strict):
    name: str = Field(max_length=NAME_MAX, pattern=NAME_PATTERN)
    description: str = ""
    changes: list[Any] = Field(min_length=1)


class SamplesModel(_Strict):
    count: StrictInt = Field(ge=1)  # bounded by the case and draw limits (optimizer.sweep.bounds)
    seed: StrictInt = Field(ge=0)
    method: Literal["lhs", "random"] = "lhs"
    parameters: dict[str, Any] = Field(min_length=1)


class _Distribution(_Strict):
    change: Any


class UniformModel(_Distribution):
    distribution: Literal["uniform"]
    low: float = Field(allow_inf_nan=False)
    high: float = Field(allow_inf_nan=False)

    @model_validator(mode="after")
    def _order(self) -> UniformModel:
        if not self.low < self.high:
            raise ValueError(f"low ({self.low:g}) must be below high ({self.high:g})")
        return self


class TriangularModel(_Distribution):
    distribution: Literal["triangular"]
    low: float = Field(allow_inf_nan=False)
    mode: float = Field(allow_inf_nan=False)
    high: float = Field(allow_inf_nan=False)

    @model_validator(mode="after")
    def _order(self) -> TriangularModel:
        if not (self.low <= self.mode <= self.high and self.low < self.high):
            raise ValueError(f"need low <= mode <= high and low < high, got {self.low:g}, {self.mode:g}, {self.high:g}")
        return self


class NormalModel(_Distribution):
    distribution: Literal["normal"]
    mean: float = Field(allow_inf_nan=False)
    sd: float = Field(gt=0, allow_inf_nan=False)
    low: float | None = Field(default=None, allow_inf_nan=False)
    high: float | None = Field(default=None, allow_inf_nan=False)

    @model_validator(mode="after")
    def _order(self) -> NormalModel:
        lo = -math.inf if self.low is None else self.low
        hi = math.inf if self.high is None else self.high
        if not lo < hi:
            raise ValueError(f"low ({lo:g}) must be below high ({hi:g})")
        dist = NormalDist(self.mean, self.sd)
        if dist.cdf(hi) - dist.cdf(lo) < 1e-9:
            raise ValueError("the truncation bounds leave (almost) no probability")
        return self


class DiscreteModel(_Distribution):
    distribution: Literal["discrete"]
    values: list[Any] = Field(min_length=1)
    weights: list[float] | None = None

    @model_validator(mode="after")
    def _weights(self) -> DiscreteModel:
        if self.weights is not None:
            if len(self.weights) != len(self.values):
                raise ValueError(f"{len(self.weights)} weights for {len(self.values)} values")
            if any(not (math.isfinite(w) and w >= 0) for w in self.weights) or sum(self.weights) <= 0:
                raise ValueError("weights must be finite, >= 0 and not all 0")
        return self


DISTRIBUTIONS: dict[str, type[_Distribution]] = {
    "uniform": UniformModel, "triangular": TriangularModel, "normal": NormalModel, "discrete": DiscreteModel,
}


class TableChangeModel(_Strict):
    table: str
    column: str
    op: Literal["set", "scale", "add"] = "set"
    where: dict[str, Any] = Field(default_factory=dict)
    value: Any = None


class SettingChangeModel(_Strict):
    setting: str
    op: Literal["set", "scale", "add"] = "set"
    value: Any = None


class OutageModel(_Strict):
    event: Literal["outage"]
    plant: str
    years: Any = None


class DelayModel(_Strict):
    event: Literal["delay"]
    plant: str
    years: Any = None


class BudgetCutModel(_Strict):
    event: Literal["budget_cut"]
    share: Any = None
    years: Any = None


EVENT_MODELS: dict[str, type[_Strict]] = {"outage": OutageModel, "delay": DelayModel, "budget_cut": BudgetCutModel}
MAGNITUDE = {TableChangeModel: "value", SettingChangeModel: "value", OutageModel: "years", DelayModel: "years",
             BudgetCutModel: "share"}


# ---------------------------------------------------------------------------------------------------
# loading


class _DuplicateKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that rejects a key written twice in one mapping (YAML would keep the last)."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: set = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_DuplicateKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _join(path: str, loc: Sequence[object]) -> str:
    out = path
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out = f"{out}.{part}" if out else str(part)
    return out


class _Loader:
    def __init__(self, path: Path):
        self.path = path
        self.file = str(path)
        self.problems: list[Problem] = []
        self.base: Scenario | None = None

    def problem(self, column: str | None, rule: str, message: str, row: int | None = None) -> None:
        self.problems.append(Problem(self.file, row, column or None, rule, message))

    def model(self, cls: type[BaseModel], data: object, path: str, what: str = "a mapping") -> Any:
        """``cls`` validated from ``data``; None (problems recorded, key paths from ``path``) if invalid."""
        if not isinstance(data, dict):
            self.problem(path, "value", f"expected {what}, got {_shown(data)}")
            return None
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            for err in exc.errors():
                column = _join(path, err["loc"])
                last = str(err["loc"][-1]) if err["loc"] else ""
                if err["type"] == "extra_forbidden":
                    self.problem(column, "unknown-key", f"unknown key '{last}'{_hint(last, cls.model_fields)}")
                elif err["type"] == "missing":
                    self.problem(column, "missing-key", f"'{last}' is required")
                elif err["type"] in ("string_pattern_mismatch", "string_too_long") and last == "name":
                    self.problem(column, "name", name_message(err["input"]))
                else:
                    self.problem(column, "value", err["msg"].removeprefix("Value error, "))
            return None

    # -- the file ------------------------------------------------------------------------------------
    def read(self) -> object:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            self.problem(None, "not-found", "no such sweep file")
            return None
        except (OSError, UnicodeDecodeError) as exc:
            self.problem(None, "yaml", f"cannot read the file: {exc}")
            return None
        try:
            return yaml.load(text, Loader=_DuplicateKeyLoader)  # a SafeLoader subclass
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            row = mark.line + 1 if mark is not None else None
            problem = getattr(exc, "problem", None) or str(exc)
            if str(problem).startswith("duplicate key"):
                self.problem(None, "duplicate-key", f"{problem} written twice in one mapping", row)
            else:
                self.problem(None, "yaml", f"malformed YAML: {problem}", row)
            return None

    def load_base(self, base: str) -> Path:
        base_path = Path(os.path.normpath(self.path.parent / base))
        if not base_path.exists():
            self.problem("base", "base-not-found", f"no scenario folder or workbook at {base_path} "
                                                   f"(base is relative to the sweep file)")
            return base_path
        from ..io import load_scenario

        try:
            self.base = load_scenario(base_path)
        except InputError as exc:
            self.problems += exc.problems
        return base_path

    # -- changes -------------------------------------------------------------------------------------
    def change_list(self, raw: object, path: str, bound: bool) -> list[Change] | None:
        """A change, or a list of changes sharing one value; None if any is invalid."""
        items = raw if isinstance(raw, list) else [raw]
        if isinstance(raw, list) and not raw:
            self.problem(path, "value", "an empty list of changes")
            return None
        out = []
        for i, item in enumerate(items):
            change = self.change(item, f"{path}[{i}]" if isinstance(raw, list) else path, bound)
            if change is None:
                return None
            out.append(change)
        return out

    def change(self, raw: object, path: str, bound: bool) -> Change | None:
        """One change; ``bound`` when its magnitude comes from an axis or a sample (and must be absent)."""
        if not isinstance(raw, dict):
            self.problem(path, "value", f"a change is a mapping with 'table' and 'column', 'setting', or 'event'; "
                                        f"got {_shown(raw)}")
            return None
        if "event" in raw:
            event = raw["event"]
            cls = EVENT_MODELS.get(event) if isinstance(event, str) else None
            if cls is None:
                self.problem(f"{path}.event", "value",
                             f"unknown event {event!r}{_hint(str(event), EVENTS)}; events: {', '.join(EVENTS)}")
                return None
        elif "setting" in raw:
            cls = SettingChangeModel
        elif "table" in raw or "column" in raw:
            cls = TableChangeModel
        else:
            self.problem(path, "missing-key", "a change needs 'table' and 'column', 'setting', or 'event'")
            return None
        if cls is TableChangeModel and "where" in raw:
            bad_filter = where_problems(raw["where"], f"{path}.where", self.file)
            if bad_filter:
                self.problems += bad_filter
                return None
        m = self.model(cls, raw, path)
        if m is None:
            return None
        key = MAGNITUDE[cls]
        if bound and raw.get(key) is not None:
            self.problem(f"{path}.{key}", "value", f"'{key}' comes from the values being swept; remove it here")
            return None
        if not bound and raw.get(key) is None:
            self.problem(f"{path}.{key}", "missing-key", f"'{key}' is required in a named case's change")
            return None
        if isinstance(m, TableChangeModel):
            template: Change = TableChange(m.table, m.column, m.op, 0.0, normalize_where(m.where), path=path)
        elif isinstance(m, SettingChangeModel):
            template = SettingChange(m.setting, m.op, 0.0, path=path)
        elif isinstance(m, OutageModel):
            template = Outage(m.plant, (), path=path)
        elif isinstance(m, DelayModel):
            template = Delay(m.plant, 0, path=path)
        else:
            try:
                years = None if m.years is None else as_years(m.years)
            except ValueError as exc:
                self.problem(f"{path}.years", "value", str(exc))
                return None
            template = BudgetCut(0.0, years, path=path)
        if bound:
            return template
        try:
            return with_value(template, raw[key])
        except ValueError as exc:
            self.problem(f"{path}.{key}", "value", str(exc))
            return None

    def check(self, changes: Sequence[Change], value_path: str | None = None) -> bool:
        """Check changes against the base; value and range problems point at ``value_path`` if given."""
        if self.base is None:
            return True
        found = check_changes(self.base, changes, self.file)
        for p in found:
            if value_path is not None and p.rule in ("range", "value"):
                p = Problem(p.file, p.row, value_path, p.rule, p.message)
            if p not in self.problems:
                self.problems.append(p)
        return not found

    def bind(self, templates: Sequence[Change], value: object, value_path: str) -> tuple[Change, ...] | None:
        try:
            return tuple(with_value(t, value) for t in templates)
        except ValueError as exc:
            self.problem(value_path, "value", str(exc))
            return None

    # -- sections ------------------------------------------------------------------------------------
    def axis(self, name: str, raw: object, path: str) -> _Dimension | None:
        m = self.model(AxisModel, raw, path, "a mapping with 'values' and 'change'")
        if m is None:
            return None
        templates = self.change_list(m.change, f"{path}.change", bound=True)
        if templates is None:
            return None
        points = []
        seen: list[object] = []
        for i, value in enumerate(m.values):
            vpath = f"{path}.values[{i}]"
            if value in seen:
                self.problem(vpath, "value", f"{_format(value)} appears more than once")
                continue
            seen.append(value)
            changes = self.bind(templates, value, vpath)
            if changes is None:
                continue
            if not self.check(changes, vpath) and self.base is not None and self._structural(path):
                return None  # the same structural problem would repeat for every value
            points.append(_Point(((name, _param_of(value, changes)),), changes))
        return _Dimension((name,), tuple(points))

    def _structural(self, path: str) -> bool:
        return any(p.column and (p.column == path or p.column.startswith((path + ".", path + "[")))
                   and p.rule not in ("range", "value") for p in self.problems)

    def zip_group(self, raw: object, path: str) -> tuple[list[str], _Dimension | None]:
        if not isinstance(raw, dict) or not raw:
            self.problem(path, "value", f"a zip group is a mapping of axes, got {_shown(raw)}")
            return [], None
        names, dims = list(raw), []
        for name, axis in raw.items():
            dims.append(self.axis(str(name), axis, f"{path}.{name}"))
        lengths = {n: (len(axis["values"]) if isinstance(axis, dict) and isinstance(axis.get("values"), list)
                       else None) for n, axis in raw.items()}
        known = {n: k for n, k in lengths.items() if k is not None}
        if len(set(known.values())) > 1:
            shown = ", ".join(f"{n}: {k}" for n, k in known.items())
            self.problem(path, "zip-length", f"the axes of a zip group move together and need as many values "
                                             f"each; got {shown}")
            return names, None
        if any(d is None for d in dims) or any(len(d.points) != len(dims[0].points) for d in dims):
            return names, None
        points = tuple(
            _Point(tuple(kv for d in dims for kv in d.points[i].params),
                   tuple(c for d in dims for c in d.points[i].changes))
            for i in range(len(dims[0].points))
        )
        return names, _Dimension(tuple(str(n) for n in names), points)

    def named_case(self, raw: object, path: str) -> Case | None:
        m = self.model(CaseModel, raw, path, "a mapping with 'name' and 'changes'")
        if m is None:
            return None
        changes = []
        for j, item in enumerate(m.changes):
            change = self.change(item, f"{path}.changes[{j}]", bound=False)
            if change is None:
                return None
            changes.append(change)
        if not self.check(changes):
            return None
        return Case(m.name, ((CASE_PARAMETER, m.name),), tuple(changes), "case")

    def parameter(self, name: str, raw: object, path: str) -> _Parameter | None:
        if not isinstance(raw, dict):
            self.problem(path, "value", f"a sampled parameter is a mapping with 'distribution' and 'change', "
                                        f"got {_shown(raw)}")
            return None
        dist = raw.get("distribution")
        cls = DISTRIBUTIONS.get(dist) if isinstance(dist, str) else None
        if cls is None:
            if dist is None:
                self.problem(f"{path}.distribution", "missing-key", "'distribution' is required")
            else:
                self.problem(f"{path}.distribution", "value",
                             f"unknown distribution {dist!r}{_hint(str(dist), DISTRIBUTIONS)}; "
                             f"one of {', '.join(DISTRIBUTIONS)}")
            return None
        m = self.model(cls, raw, path)
        if m is None:
            return None
        templates = self.change_list(m.change, f"{path}.change", bound=True)
        if templates is None:
            return None
        if isinstance(m, DiscreteModel):
            probes = [(v, f"{path}.values[{i}]") for i, v in enumerate(m.values)]
        else:
            whole = [t for t in templates if isinstance(t, (Delay, Outage))
                     or (isinstance(t, SettingChange) and t.setting in CHOICE_SETTINGS)]
            if whole:
                self.problem(f"{path}.distribution", "value",
                             f"{_kind(whole[0])} takes whole numbers or choices: use distribution: discrete")
                return None
            fields = {"uniform": ("low", "high"), "triangular": ("low", "mode", "high"),
                      "normal": ("mean", "low", "high")}[m.distribution]
            probes = [(getattr(m, f), f"{path}.{f}") for f in fields if getattr(m, f) is not None]
        for value, vpath in probes:
            changes = self.bind(templates, value, vpath)
            if changes is None or (not self.check(changes, vpath) and self._structural(path)):
                return None
        if isinstance(m, UniformModel):
            args: tuple[float, ...] = (m.low, m.high)
        elif isinstance(m, TriangularModel):
            args = (m.low, m.mode, m.high)
        elif isinstance(m, NormalModel):
            args = (m.mean, m.sd, -math.inf if m.low is None else m.low, math.inf if m.high is None else m.high)
        else:
            args = ()
        choices = tuple(tuple(v) if isinstance(v, list) else v for v in m.values) if isinstance(m, DiscreteModel) \
            else ()
        weights = tuple(m.weights or [1.0] * len(choices)) if isinstance(m, DiscreteModel) else ()
        return _Parameter(name, m.distribution, args, choices, weights, tuple(templates))

    def samples(self, raw: object) -> _Samples | None:
        m = self.model(SamplesModel, raw, "samples", "a mapping with 'count', 'seed' and 'parameters'")
        if m is None:
            return None
        params = []
        for name, spec in m.parameters.items():
            p = self.parameter(str(name), spec, f"samples.parameters.{name}")
            if p is not None:
                params.append(p)
        if len(params) != len(m.parameters):
            return None
        too_many = sample_draw_problems(m.count, len(params), self.file)
        if too_many:
            self.problems += too_many
            return None
        return _Samples(m.count, m.seed, m.method, tuple(params))

    def parameter_name(self, name: object, path: str, seen: dict[str, str]) -> None:
        text = str(name)
        if not re.match(PARAMETER_PATTERN, text):
            self.problem(path, "value", f"'{text}' is not a valid parameter name (letters, digits and _, "
                                        f"not starting with a digit)")
        elif text in RESERVED_PARAMETERS:
            self.problem(path, "value", f"'{text}' is a column of the sweep summary; choose another name")
        elif text in seen:
            self.problem(path, "duplicate-name", f"parameter '{text}' is already defined at {seen[text]}")
        else:
            seen[text] = path


def _kind(change: Change) -> str:
    if isinstance(change, Delay):
        return "a delay"
    if isinstance(change, Outage):
        return "an outage"
    return f"setting {getattr(change, 'setting', '?')}"


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def load_sweep(path: str | Path) -> Sweep:
    """Read, validate and expand-check a sweep file; raise :class:`~optimizer.errors.InputError` with
    every problem found (the file, its structure, and every change against the base scenario)."""
    path = Path(path)
    ld = _Loader(path)
    raw = ld.read()
    if ld.problems:
        raise InputError(ld.problems)
    if not isinstance(raw, dict):
        ld.problem(None, "yaml-structure", f"expected a mapping at the top level, got {_shown(raw)}")
        raise InputError(ld.problems)

    top = ld.model(SweepFile, raw, "")
    base_raw = raw.get("base")
    base_path = ld.load_base(base_raw) if isinstance(base_raw, str) and base_raw else path.parent / "?"

    options: dict[str, float] = {}
    if raw.get("options") is not None:
        om = ld.model(OptionsModel, raw["options"], "options")
        if om is not None:
            options = om.model_dump(exclude_none=True)

    seen: dict[str, str] = {}
    grid: list[_Dimension] = []
    axes = raw.get("axes")
    if axes is not None:
        if not isinstance(axes, dict):
            ld.problem("axes", "value", f"axes is a mapping of axis name to axis, got {_shown(axes)}")
        else:
            for name, spec in axes.items():
                ld.parameter_name(name, f"axes.{name}", seen)
                dim = ld.axis(str(name), spec, f"axes.{name}")
                if dim is not None:
                    grid.append(dim)
    groups = raw.get("zip")
    if groups is not None:
        if not isinstance(groups, list):
            ld.problem("zip", "value", f"zip is a list of groups of axes, got {_shown(groups)}")
        else:
            for i, group in enumerate(groups):
                names, dim = ld.zip_group(group, f"zip[{i}]")
                for name in names:
                    ld.parameter_name(name, f"zip[{i}].{name}", seen)
                if dim is not None:
                    grid.append(dim)

    named: list[Case] = []
    cases = raw.get("cases")
    if cases is not None:
        if not isinstance(cases, list):
            ld.problem("cases", "value", f"cases is a list of named cases, got {_shown(cases)}")
        else:
            names: dict[str, int] = {}
            for i, item in enumerate(cases):
                case = ld.named_case(item, f"cases[{i}]")
                name = item.get("name") if isinstance(item, dict) else None
                if isinstance(name, str):
                    if name in names:
                        ld.problem(f"cases[{i}].name", "duplicate-name",
                                   f"case '{name}' is already defined at cases[{names[name]}]")
                    elif name == "base" or name.startswith(("grid-", "sample-")):
                        ld.problem(f"cases[{i}].name", "value",
                                   f"'{name}': 'base', 'grid-...' and 'sample-...' name generated cases")
                    names.setdefault(name, i)
                if case is not None:
                    named.append(case)

    samples = None
    if raw.get("samples") is not None:
        samples = ld.samples(raw["samples"])
        if samples is not None:
            for p in samples.parameters:
                ld.parameter_name(p.name, f"samples.parameters.{p.name}", seen)

    ordered = [n for n, where in seen.items() if not where.startswith("samples.")]
    ordered += [CASE_PARAMETER] if cases else []
    ordered += [n for n, where in seen.items() if where.startswith("samples.")]

    if top is not None and not ld.problems:
        total = int(top.include_base) + (math.prod(len(d.points) for d in grid) if grid else 0) + len(named) \
            + (samples.count if samples else 0)
        if total == 0:
            ld.problem(None, "empty", "the sweep has no cases: add axes, zip, cases or samples, "
                                      "or set include_base: true")
        ld.problems += case_count_problems(total, ld.file)  # counted, not built
    if ld.problems:
        raise InputError(ld.problems)
    assert top is not None
    return Sweep(
        name=top.name or path.stem,
        path=path,
        base_path=base_path,
        options=options,
        parameter_names=tuple(ordered),
        description=top.description,
        include_base=top.include_base,
        grid=tuple(grid),
        named=tuple(named),
        samples=samples,
        base_scenario=ld.base,
    )
