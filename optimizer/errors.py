"""The one error type for bad input: it carries every problem found, each with file, row, column and rule."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One problem in the input. ``row`` is the 1-based line of a CSV file (or row of a sheet): the
    header is row 1, so the first data row is row 2. ``row``/``column`` are ``None`` where the problem
    concerns a whole file or table."""

    file: str
    row: int | None
    column: str | None
    rule: str
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column is not None:
            where += f", column {self.column}"
        return f"{where}: [{self.rule}] {self.message}"


class InputError(Exception):
    """Bad input: one or more problems, reported all at once."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__(self.render())

    def render(self) -> str:
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''} in the input:"
        return "\n".join([head, *(f"  - {p}" for p in self.problems)])
