"""The scalar settings of a scenario (``scenario.yaml``), validated with pydantic."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .schema import MAGNITUDE

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"
"""A scenario, sweep or case name: it becomes a folder under ``results/``, so no ``/``, no leading ``.``."""
NAME_MAX = 100
"""Longest name: it becomes a folder name (most file systems stop at 255 bytes) and part of a case id."""
FX_MAX = 1e3


def name_message(value: object) -> str:
    """The error for a name that does not match :data:`NAME_PATTERN` or is longer than :data:`NAME_MAX`."""
    shown = str(value)
    if len(shown) > NAME_MAX:
        return (f"'{shown[:40]}...' ({len(shown)} characters) is too long for a name: it names a results folder, "
                f"so it may have at most {NAME_MAX} characters")
    return (f"'{value}' is not a usable name: it names a results folder, so it may hold only letters, digits, "
            "'_', '.' and '-', and must start with a letter or digit (no '/', no '..')")


class ScenarioConfig(BaseModel):
    """Scalars of one scenario. Money in $M, unit costs in $/kWh, energy in GWh.

    ``fx`` maps a currency code to an index applied to the dollar costs (capex, cell cost, fixed O&M)
    of plants whose ``currency`` it is: 1.1 for JPY means yen-denominated costs are 10 % dearer in
    dollars than in the base data.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=NAME_MAX, pattern=NAME_PATTERN)
    description: str = ""
    start_year: int = Field(ge=1900, le=2200)
    end_year: int = Field(ge=1900, le=2200)
    discount_rate: float = Field(ge=0.0, le=1.0)
    investment_cost: Literal["annualised", "upfront"] = "annualised"
    economic_life_years: int = Field(default=15, ge=1, le=100)
    demand: Literal["soft", "hard"] = "soft"
    unserved_penalty_usd_per_kwh: float = Field(default=1000.0, ge=0.0, le=MAGNITUDE, allow_inf_nan=False)
    total_budget_musd: float | None = Field(default=None, ge=0.0, le=MAGNITUDE, allow_inf_nan=False)
    single_sourcing: bool = False
    fx: dict[str, float] = Field(default_factory=dict)
    sources: dict[str, str] = Field(default_factory=dict)

    @field_validator("fx")
    @classmethod
    def _fx_positive(cls, fx: dict[str, float]) -> dict[str, float]:
        for cur, idx in fx.items():
            if not (isinstance(idx, (int, float)) and math.isfinite(idx) and 0 < idx <= FX_MAX):
                raise ValueError(f"fx index of {cur} must be a number > 0 and at most {FX_MAX:g}, got {idx!r}")
        return fx

    @model_validator(mode="after")
    def _horizon(self) -> ScenarioConfig:
        if self.end_year < self.start_year:
            raise ValueError(f"end_year {self.end_year} is before start_year {self.start_year}")
        if self.end_year - self.start_year > 100:
            raise ValueError("the horizon may span at most 100 years")
        return self

    @property
    def years(self) -> list[int]:
        return list(range(self.start_year, self.end_year + 1))
