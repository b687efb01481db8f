"""Limits on the work one input may ask for, so that a careless or hostile file is refused early
(exit 2, a message naming the limit and how to raise it) instead of eating the machine's memory.

Each limit has a default that fits this tool's real use with room to spare, and an environment
variable that raises (or lowers) it for a run that needs more::

    OPTIMIZER_MAX_CASES=5000000 optimizer sweep big.yaml

The checks compare counts that are known before the work starts (rows counted while streaming a
file, cases counted as a product of axis lengths), never after materialising what they count.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from .errors import InputError, Problem


@dataclass(frozen=True)
class Limit:
    """One limit: ``default`` units of ``what``, overridden by the environment variable ``env``."""

    what: str
    env: str
    default: int

    @property
    def value(self) -> int:
        """The limit in force: ``env`` when it holds a whole number >= 1, else the default."""
        raw = os.environ.get(self.env, "").strip().replace("_", "")
        if not raw:
            return self.default
        try:
            value = int(raw)
        except ValueError:
            raise InputError([Problem(self.env, None, None, "limit",
                                      f"{self.env}={raw!r} is not a whole number")]) from None
        if value < 1:
            raise InputError([Problem(self.env, None, None, "limit", f"{self.env} must be at least 1")])
        return value

    def exceeded(self, found: str) -> str:
        """The message for an input beyond the limit; ``found`` says what was found (``"2,000,001 rows"``)."""
        return (f"{found}: more than the limit of {self.value:,} {self.what}; if this is intended, raise it "
                f"with the environment variable {self.env} (e.g. {self.env}={10 * self.value})")


TABLE_ROWS = Limit("rows per table", "OPTIMIZER_MAX_TABLE_ROWS", 1_000_000)
WORKBOOK_MB = Limit("MB of unpacked workbook content", "OPTIMIZER_MAX_WORKBOOK_MB", 500)
CASES = Limit("cases per sweep (grid, zipped axes, named cases and samples together)", "OPTIMIZER_MAX_CASES",
              1_000_000)
SAMPLE_DRAWS = Limit("random draws per sweep (samples x sampled parameters)", "OPTIMIZER_MAX_SAMPLE_DRAWS",
                     20_000_000)

SHOWN_PER_RULE = 20
"""Problems of one rule in one column of one table listed one by one; the rest are counted."""
