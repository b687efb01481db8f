"""The sweep file format: the pydantic models of its sections, its distributions, changes and events.

Every model forbids unknown keys; :mod:`.spec` validates a file section by section against them and turns
pydantic's errors into problems naming the key path. The format is documented with examples in
``docs/sweeps.md``.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, model_validator

from ..config import NAME_MAX, NAME_PATTERN
from ..solver import MAX_GAP

PARAMETER_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
RESERVED_PARAMETERS = frozenset({
    "scenario_id", "case_key", "case", "status", "objective", "bound", "gap", "solve_seconds", "wall_seconds",
    "rebuilt", "message", "why_infeasible", "name", "kind",
})
"""Column names of the sweep summary a swept parameter may not take (``case`` is the named cases' own)."""

CASE_PARAMETER = "case"
EVENTS = ("outage", "delay", "budget_cut")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SweepFile(Strict):
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


class OptionsModel(Strict):
    time_limit: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    rel_gap: float | None = Field(default=None, ge=0, le=MAX_GAP, allow_inf_nan=False)


class AxisModel(Strict):
    values: list[Any] = Field(min_length=1)
    change: Any


class CaseModel(Strict):
    name: str = Field(max_length=NAME_MAX, pattern=NAME_PATTERN)
    description: str = ""
    changes: list[Any] = Field(min_length=1)


class SamplesModel(Strict):
    count: StrictInt = Field(ge=1)  # bounded by the case and draw limits (optimizer.sweep.bounds)
    seed: StrictInt = Field(ge=0)
    method: Literal["lhs", "random"] = "lhs"
    parameters: dict[str, Any] = Field(min_length=1)


class Distribution(Strict):
    change: Any


class UniformModel(Distribution):
    distribution: Literal["uniform"]
    low: float = Field(allow_inf_nan=False)
    high: float = Field(allow_inf_nan=False)

    @model_validator(mode="after")
    def _order(self) -> UniformModel:
        if not self.low < self.high:
            raise ValueError(f"low ({self.low:g}) must be below high ({self.high:g})")
        return self


class TriangularModel(Distribution):
    distribution: Literal["triangular"]
    low: float = Field(allow_inf_nan=False)
    mode: float = Field(allow_inf_nan=False)
    high: float = Field(allow_inf_nan=False)

    @model_validator(mode="after")
    def _order(self) -> TriangularModel:
        if not (self.low <= self.mode <= self.high and self.low < self.high):
            raise ValueError(f"need low <= mode <= high and low < high, got {self.low:g}, {self.mode:g}, {self.high:g}")
        return self


class NormalModel(Distribution):
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


class DiscreteModel(Distribution):
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


DISTRIBUTIONS: dict[str, type[Distribution]] = {
    "uniform": UniformModel, "triangular": TriangularModel, "normal": NormalModel, "discrete": DiscreteModel,
}


class TableChangeModel(Strict):
    table: str
    column: str
    op: Literal["set", "scale", "add"] = "set"
    where: dict[str, Any] = Field(default_factory=dict)
    value: Any = None


class SettingChangeModel(Strict):
    setting: str
    op: Literal["set", "scale", "add"] = "set"
    value: Any = None


class OutageModel(Strict):
    event: Literal["outage"]
    plant: str
    years: Any = None


class DelayModel(Strict):
    event: Literal["delay"]
    plant: str
    years: Any = None


class BudgetCutModel(Strict):
    event: Literal["budget_cut"]
    share: Any = None
    years: Any = None


EVENT_MODELS: dict[str, type[Strict]] = {"outage": OutageModel, "delay": DelayModel, "budget_cut": BudgetCutModel}
MAGNITUDE = {TableChangeModel: "value", SettingChangeModel: "value", OutageModel: "years", DelayModel: "years",
             BudgetCutModel: "share"}
