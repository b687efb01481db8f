"""Loading a sweep file (``scenarios/sweeps/*.yaml``): a base scenario plus changes, checked and expanded into
a :class:`~optimizer.sweep.cases.Sweep`.

:func:`load_sweep` reads a file with the project's one YAML reader (:mod:`optimizer.yamlfile`: a safe
loader; a key written twice is an error; bounded size), validates it with the pydantic models of
:mod:`.fileformat` (unknown keys rejected with a did-you-mean), loads the base scenario and checks every
change against it (:func:`~optimizer.sweep.apply.check_changes`), and raises one
:class:`~optimizer.errors.InputError` listing every problem (``file`` = the sweep file, ``column`` = the key
path, such as ``axes.cn_us_tariff.values``). :meth:`Sweep.cases` then yields the cases lazily.
"""

from __future__ import annotations

import math
import os
import re
import reprlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from ..errors import InputError, Problem, did_you_mean, pydantic_problems
from ..io import load_scenario
from ..scenario import Scenario
from ..yamlfile import read_yaml
from .apply import check_changes
from .bounds import case_count_problems, declared_case_count, sample_draw_problems, where_problems
from .cases import Case, Dimension, Point, SampledParameter, Samples, Sweep, format_value, param_of
from .changes import (
    CHOICE_SETTINGS,
    BudgetCut,
    Change,
    Delay,
    Outage,
    SettingChange,
    TableChange,
    as_years,
    normalize_where,
    with_value,
)
from .fileformat import (
    CASE_PARAMETER,
    DISTRIBUTIONS,
    EVENT_MODELS,
    EVENTS,
    MAGNITUDE,
    PARAMETER_PATTERN,
    RESERVED_PARAMETERS,
    AxisModel,
    CaseModel,
    DelayModel,
    DiscreteModel,
    NormalModel,
    OptionsModel,
    OutageModel,
    SamplesModel,
    SettingChangeModel,
    SweepFile,
    TableChangeModel,
    TriangularModel,
    UniformModel,
)


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
            self.problems += pydantic_problems(exc, self.file, path, known=cls.model_fields)
            return None

    # -- the file ------------------------------------------------------------------------------------
    def read(self) -> object:
        try:
            data, problems = read_yaml(self.path)
        except FileNotFoundError:
            self.problem(None, "not-found", "no such sweep file")
            return None
        self.problems += problems
        return data

    def load_base(self, base: str) -> Path:
        base_path = Path(os.path.normpath(self.path.parent / base))
        if not base_path.exists():
            self.problem("base", "base-not-found", f"no scenario folder or workbook at {base_path} "
                                                   f"(base is relative to the sweep file)")
            return base_path
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
                             f"unknown event {event!r}{did_you_mean(str(event), EVENTS)}; events: {', '.join(EVENTS)}")
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
            if value_path is not None and p.rule in ("range", "value", "magnitude"):
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
    def axis(self, name: str, raw: object, path: str) -> Dimension | None:
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
                self.problem(vpath, "value", f"{format_value(value)} appears more than once")
                continue
            seen.append(value)
            changes = self.bind(templates, value, vpath)
            if changes is None:
                continue
            if not self.check(changes, vpath) and self.base is not None and self._structural(path):
                return None  # the same structural problem would repeat for every value
            points.append(Point(((name, param_of(value, changes)),), changes))
        return Dimension((name,), tuple(points))

    def _structural(self, path: str) -> bool:
        return any(p.column and (p.column == path or p.column.startswith((path + ".", path + "[")))
                   and p.rule not in ("range", "value") for p in self.problems)

    def zip_group(self, raw: object, path: str) -> tuple[list[str], Dimension | None]:
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
        built = [d for d in dims if d is not None]
        if len(built) != len(dims) or any(len(d.points) != len(built[0].points) for d in built):
            return names, None
        points = tuple(
            Point(tuple(kv for d in built for kv in d.points[i].params),
                  tuple(c for d in built for c in d.points[i].changes))
            for i in range(len(built[0].points))
        )
        return names, Dimension(tuple(str(n) for n in names), points)

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

    def parameter(self, name: str, raw: object, path: str) -> SampledParameter | None:
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
                             f"unknown distribution {dist!r}{did_you_mean(str(dist), DISTRIBUTIONS)}; "
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
        return SampledParameter(name, m.distribution, args, choices, weights, tuple(templates))

    def samples(self, raw: object) -> Samples | None:
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
        return Samples(m.count, m.seed, m.method, tuple(params))

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


_SHOWN = reprlib.Repr()
_SHOWN.maxlevel, _SHOWN.maxlist, _SHOWN.maxdict, _SHOWN.maxstring, _SHOWN.maxother = 2, 4, 4, 40, 40


def _shown(value: object) -> str:
    """A short view of a value for a message (bounded work: never the repr of a whole structure)."""
    text = _SHOWN.repr(value)
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
    too_many = case_count_problems(declared_case_count(raw), ld.file)  # before any value is checked
    if too_many:
        raise InputError(too_many)
    base_raw = raw.get("base")
    base_path = ld.load_base(base_raw) if isinstance(base_raw, str) and base_raw else path.parent / "?"

    options: dict[str, float] = {}
    if raw.get("options") is not None:
        om = ld.model(OptionsModel, raw["options"], "options")
        if om is not None:
            options = om.model_dump(exclude_none=True)

    seen: dict[str, str] = {}
    grid: list[Dimension] = []
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
            case_names: dict[str, int] = {}
            for i, item in enumerate(cases):
                case = ld.named_case(item, f"cases[{i}]")
                name = item.get("name") if isinstance(item, dict) else None
                if isinstance(name, str):
                    if name in case_names:
                        ld.problem(f"cases[{i}].name", "duplicate-name",
                                   f"case '{name}' is already defined at cases[{case_names[name]}]")
                    elif name == "base" or name.startswith(("grid-", "sample-")):
                        ld.problem(f"cases[{i}].name", "value",
                                   f"'{name}': 'base', 'grid-...' and 'sample-...' name generated cases")
                    case_names.setdefault(name, i)
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
