"""The one error type for bad input: it carries every problem found, each with file, row, column and rule;
the one "did you mean" and the one translation of pydantic's validation errors into problems."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from pydantic import ValidationError

from .config import name_message


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


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the known name closest to a misspelt ``name``, or ``""`` if none is close."""
    close = difflib.get_close_matches(str(name), sorted({str(k) for k in known}), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def key_path(path: str, loc: Sequence[object]) -> str:
    """``path`` extended by a pydantic error location: names joined by dots, list positions as ``[i]``."""
    out = path
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out = f"{out}.{part}" if out else str(part)
    return out


def pydantic_problems(exc: ValidationError, file: str, path: str = "", known: Iterable[str] = (),
                      noun: str = "key") -> list[Problem]:
    """One problem per error of a pydantic validation, ``column`` = the key path under ``path``:
    ``unknown-key`` (with a did-you-mean among ``known``), ``missing-key``, ``name`` (a name breaking
    :data:`~optimizer.config.NAME_PATTERN`) or ``value`` (pydantic's message)."""
    known = list(known)
    problems = []
    for err in exc.errors():
        column = key_path(path, err["loc"]) or None
        last = str(err["loc"][-1]) if err["loc"] else ""
        if err["type"] == "extra_forbidden":
            problems.append(Problem(file, None, column, "unknown-key",
                                    f"unknown {noun} '{last}'{did_you_mean(last, known)}"))
        elif err["type"] == "missing":
            problems.append(Problem(file, None, column, "missing-key", f"'{last}' is required"))
        elif err["type"] in ("string_pattern_mismatch", "string_too_long") and last == "name":
            problems.append(Problem(file, None, column, "name", name_message(err["input"])))
        else:
            message = err["msg"].removeprefix("Value error, ")
            if "input" in err and not isinstance(err["input"], (Mapping, list, tuple)):
                message += f" (got {_short(err['input'])})"  # the bad value in every range error
            problems.append(Problem(file, None, column, "value", message))
    return problems
