"""Readers that turn public capacitated facility-location benchmarks into scenarios of this model.

DESIGN.md section 3 says the model, restricted to one year, candidate sites only, per-unit lane costs and
hard demand, *is* the capacitated facility location problem (CFLP); with single sourcing on, it is the
single-source CFLP. The two public benchmark sets in ``../shared/benchmarks`` test that claim:

* ``orlib-cap``: Beasley's OR-Library instances ``cap41`` ... ``cap134``, ``capa``/``capb``/``capc`` (multi-source);
* ``holmberg-sscflp``: Holmberg, Ronnqvist and Yuan's ``p1`` ... ``p71`` (single source).

The conversion (facility i -> candidate cell plant, customer j -> assembly plant):

=================================  =========================================================================
benchmark                          scenario
=================================  =========================================================================
facility i, capacity s_i, cost f_i  plant ``W<i>``: candidate, ``opening_capacity_gwh`` s_i,
                                    ``opening_cost_musd`` f_i, lead time 0, no ramp, no steps, cell type ``X``;
                                    plant_years: capacity 0, cell cost 0
customer j, demand d_j              assembly plant ``C<j>`` (EV capacity blank: unlimited); one model ``unit``
                                    with ``pack_kwh`` 1e6, so that d_j vehicles are d_j GWh; demand row d_j
c_ij (cost of serving all of j)     lane (``W<i>``, ``C<j>``), ``freight_usd_per_kwh`` c_ij / d_j, tariff 0
one year, no discounting            start_year = end_year = 2030, discount_rate 0, investment ``upfront``,
                                    demand ``hard``, single_sourcing false (OR-Library) / true (Holmberg)
=================================  =========================================================================

so that the scenario's objective ($M) is sum_i f_i y_i + sum_ij c_ij x_ij, the published objective.
Facilities and customers are numbered from 1 in file order.

A customer with zero demand (none occurs in the published files) has no demand row: the model only writes
rows for positive demand. Under the published formulations (sum_i x_ij = 1, sum_j d_j x_ij <= s_i y_i)
such a customer may be assigned to any facility, open or not, so it adds the constant min_i c_ij to the
published optimum; :attr:`Instance.objective_offset` carries that constant.

All functions here are pure (they read files and return data); :meth:`Instance.scenario` validates an
instance through :func:`optimizer.scenario_from_tables`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pandas as pd

ENV_VAR = "OPTIMIZER_SHARED_BENCHMARKS"
DEFAULT_SHARED_BENCHMARKS = Path(__file__).resolve().parents[2] / "shared" / "benchmarks"
"""The repository's parent folder / shared / benchmarks."""


def shared_benchmarks_dir() -> Path:
    """The shared benchmark folder: ``$OPTIMIZER_SHARED_BENCHMARKS`` if set, else the default (read at call time)."""
    env = os.environ.get(ENV_VAR, "").strip()
    return Path(env).expanduser() if env else DEFAULT_SHARED_BENCHMARKS


SHARED_BENCHMARKS = shared_benchmarks_dir()
"""The shared benchmark folder as found at import time (see :func:`shared_benchmarks_dir`)."""

ORLIB_DIR = "orlib-cap"
HOLMBERG_DIR = "holmberg-sscflp"

YEAR = 2030
CELL_TYPE = "X"
MODEL = "unit"
PACK_KWH = 1e6  # vehicles x 1e6 kWh x 1e-6 = GWh: one "vehicle" is one unit of benchmark demand

# capa/capb/capc: one problem per uniform capacity given to every warehouse (README of orlib-cap)
ORLIB_CAPACITIES: Mapping[str, tuple[int, ...]] = MappingProxyType({
    "capa": (8000, 10000, 12000, 14000),
    "capb": (5000, 6000, 7000, 8000),
    "capc": (5000, 5750, 6500, 7250),
})
CAPACITY_WORD = "capacity"


@dataclass(frozen=True)
class Instance:
    """One benchmark problem as scenario tables and settings (ready for ``optimizer.scenario_from_tables``).

    ``optimum`` is the published optimal objective, or None when unknown. ``objective_offset`` is a constant
    the published objective has and the scenario cannot (zero-demand customers; 0 in every published file):
    the scenario's optimum plus the offset equals ``optimum``.
    """

    name: str
    tables: Mapping[str, pd.DataFrame]
    config: Mapping[str, Any]
    optimum: float | None = None
    objective_offset: float = 0.0
    facilities: int = field(default=0, compare=False)
    customers: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tables", MappingProxyType(dict(self.tables)))
        object.__setattr__(self, "config", MappingProxyType(dict(self.config)))

    def scenario(self):
        """Validate into an :class:`optimizer.Scenario` (copies, so the instance stays untouched)."""
        from optimizer import scenario_from_tables

        return scenario_from_tables(
            {k: v.copy() for k, v in self.tables.items()}, dict(self.config), origin=f"benchmark:{self.name}"
        )


# --------------------------------------------------------------------------------------------- reading


def _tokens(path: Path) -> Iterator[str]:
    """Whitespace-separated tokens of a file, streamed line by line (line breaks carry no meaning)."""
    with open(path, encoding="ascii") as fh:
        for line in fh:
            yield from line.split()


class _Stream:
    """A cursor over a file's tokens with typed reads and clear errors at the end of the data."""

    def __init__(self, path: Path):
        self.path = path
        self._it = _tokens(path)
        self.count = 0

    def word(self, what: str) -> str:
        try:
            tok = next(self._it)
        except StopIteration:
            raise ValueError(f"{self.path}: file ends early, expected {what} (after {self.count} numbers)") from None
        self.count += 1
        return tok

    def number(self, what: str) -> float:
        tok = self.word(what)
        try:
            return float(tok)
        except ValueError:
            raise ValueError(f"{self.path}: token {self.count} '{tok}' is not a number ({what})") from None

    def integer(self, what: str) -> int:
        x = self.number(what)
        if x != int(x) or x < 0:
            raise ValueError(f"{self.path}: token {self.count} ({what}) should be a whole number >= 0, got {x}")
        return int(x)

    def numbers(self, k: int, what: str) -> list[float]:
        return [self.number(what) for _ in range(k)]

    def finish(self) -> None:
        extra = sum(1 for _ in self._it)
        if extra:
            raise ValueError(f"{self.path}: {extra} unexpected token(s) after the {self.count} expected ones")


def _plant(i: int) -> str:
    return f"W{i + 1}"


def _customer(j: int) -> str:
    return f"C{j + 1}"


def _build(
    name: str,
    capacities: list[float],
    fixed: list[float],
    demand: list[float],
    cost: list[list[float]],  # cost[i][j]: cost of serving all of customer j from facility i
    single_sourcing: bool,
    optimum: float | None,
) -> Instance:
    """Scenario tables of a CFLP (see the module docstring)."""
    m, n = len(fixed), len(demand)
    plant_ids = [_plant(i) for i in range(m)]
    plants = pd.DataFrame({
        "plant": plant_ids,
        "region": "BM",
        "country": "XX",
        "cell_types": CELL_TYPE,
        "status": "candidate",
        "opening_capacity_gwh": [float(s) for s in capacities],
        "opening_cost_musd": [float(f) for f in fixed],
        "lead_time_years": 0,
    })
    plant_years = pd.DataFrame({
        "plant": plant_ids, "year": YEAR, "capacity_gwh": 0.0, "cell_cost_usd_per_kwh": 0.0,
    })
    served = [j for j in range(n) if demand[j] > 0]
    customers = [_customer(j) for j in served]
    assembly = pd.DataFrame({"assembly": customers, "region": "BM", "country": "XX"})
    assembly_years = pd.DataFrame({
        "assembly": customers, "year": YEAR, "capacity_vehicles": [float("nan")] * len(served),  # blank: no limit
    })
    models = pd.DataFrame({"model": [MODEL], "cell_type": [CELL_TYPE], "pack_kwh": [PACK_KWH]})
    demand_rows = pd.DataFrame({
        "assembly": customers, "model": MODEL, "year": YEAR, "vehicles": [float(demand[j]) for j in served],
    })
    lanes = pd.DataFrame({
        "plant": [plant_ids[i] for j in served for i in range(m)],
        "assembly": [_customer(j) for j in served for _ in range(m)],
        "freight_usd_per_kwh": [cost[i][j] / demand[j] for j in served for i in range(m)],
        "tariff_rate": 0.0,
    })
    offset = sum(min(cost[i][j] for i in range(m)) for j in range(n) if demand[j] <= 0) if m else 0.0
    config = {
        "name": name,
        "description": f"benchmark {name}: {m} facilities x {n} customers"
        + (" (single source)" if single_sourcing else ""),
        "start_year": YEAR,
        "end_year": YEAR,
        "discount_rate": 0.0,
        "investment_cost": "upfront",
        "demand": "hard",
        "single_sourcing": single_sourcing,
    }
    tables = {
        "plants": plants, "plant_years": plant_years, "assembly": assembly, "assembly_years": assembly_years,
        "models": models, "demand": demand_rows, "lanes": lanes,
    }
    return Instance(name, tables, config, optimum, float(offset), facilities=m, customers=n)


def read_orlib_cap(path: str | Path, optima: Mapping[str, float] | None = None) -> list[Instance]:
    """Read one OR-Library CAP file (Beasley 1988) into instances (multi-source CFLP).

    Format, one stream of whitespace-separated numbers: ``m n``; m times ``capacity_i fixedcost_i``; n times
    ``demand_j c_1j ... c_mj`` (c_ij = cost of serving all of j from i). In capa/capb/capc the capacity is
    the literal word ``capacity`` and the file makes four instances, one per uniform capacity in
    :data:`ORLIB_CAPACITIES`, named ``capa-8000`` etc. ``optima`` (default: the published ones, parsed from
    the README next to the file if present) fills :attr:`Instance.optimum`.
    """
    path = Path(path)
    stem = path.stem
    s = _Stream(path)
    m = s.integer("m (warehouses)")
    n = s.integer("n (customers)")
    caps: list[float | None] = []
    fixed: list[float] = []
    for i in range(m):
        tok = s.word(f"capacity of warehouse {i + 1}")
        if tok.lower() == CAPACITY_WORD:
            caps.append(None)
        else:
            try:
                caps.append(float(tok))
            except ValueError:
                raise ValueError(f"{path}: capacity of warehouse {i + 1} '{tok}' is not a number") from None
        fixed.append(s.number(f"fixed cost of warehouse {i + 1}"))
    demand: list[float] = []
    cost = [[0.0] * n for _ in range(m)]
    for j in range(n):
        demand.append(s.number(f"demand of customer {j + 1}"))
        for i in range(m):
            cost[i][j] = s.number(f"cost c[{i + 1},{j + 1}]")
    s.finish()

    if optima is None:
        readme = path.parent / "README.md"
        optima = published_optima_orlib(readme) if readme.is_file() else {}

    symbolic = [c is None for c in caps]
    if any(symbolic):
        if not all(symbolic):
            raise ValueError(f"{path}: some capacities are the word '{CAPACITY_WORD}' and some are numbers")
        if stem not in ORLIB_CAPACITIES:
            raise ValueError(f"{path}: capacities are '{CAPACITY_WORD}' but '{stem}' has no known capacities")
        out = []
        for cap in ORLIB_CAPACITIES[stem]:
            name = f"{stem}-{cap}"
            out.append(_build(name, [float(cap)] * m, fixed, demand, cost, False, optima.get(name)))
        return out
    return [_build(stem, [float(c) for c in caps], fixed, demand, cost, False, optima.get(stem))]


def read_holmberg(path: str | Path, optima: Mapping[str, float] | None = None) -> Instance:
    """Read one Holmberg-Ronnqvist-Yuan SSCFLP file into an instance (single sourcing on).

    Format (whitespace-separated numbers): ``m n``; m times ``capacity_i fixedcost_i``; n demands; then
    m x n costs, row i = facility i: c_i1 ... c_in (cost of serving all of j from i). ``optima`` (default:
    the published ones, parsed from the README next to the file if present) fills :attr:`Instance.optimum`.
    """
    path = Path(path)
    s = _Stream(path)
    m = s.integer("m (facilities)")
    n = s.integer("n (customers)")
    caps, fixed = [], []
    for i in range(m):
        caps.append(s.number(f"capacity of facility {i + 1}"))
        fixed.append(s.number(f"fixed cost of facility {i + 1}"))
    demand = s.numbers(n, "demand")
    cost = [s.numbers(n, f"costs of facility {i + 1}") for i in range(m)]
    s.finish()
    if optima is None:
        readme = path.parent / "README.md"
        optima = published_optima_holmberg(readme) if readme.is_file() else {}
    return _build(path.name, caps, fixed, demand, cost, True, optima.get(path.name))


# --------------------------------------------------------------------------------------------- optima

_ROW = re.compile(r"^\|\s*([A-Za-z0-9][A-Za-z0-9_.\-]*)\s*\|\s*([-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)\s*\|\s*$")


def parse_optima_table(text: str) -> dict[str, float]:
    """``| instance | optimum |`` rows of a markdown file -> {instance: optimum} (header/rule rows skipped)."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        hit = _ROW.match(line.strip())
        if hit:
            name, value = hit.group(1), float(hit.group(2))
            if name in out and out[name] != value:
                raise ValueError(f"optimum of {name} listed twice with different values")
            out[name] = value
    return out


def published_optima_orlib(readme: str | Path | None = None) -> dict[str, float]:
    """Published optima of the OR-Library CAP instances, parsed from ``orlib-cap/README.md``."""
    readme = Path(readme) if readme is not None else shared_benchmarks_dir() / ORLIB_DIR / "README.md"
    return parse_optima_table(readme.read_text(encoding="utf-8"))


def published_optima_holmberg(readme: str | Path | None = None) -> dict[str, float]:
    """Published optima of the Holmberg SSCFLP instances, parsed from ``holmberg-sscflp/README.md``."""
    readme = Path(readme) if readme is not None else shared_benchmarks_dir() / HOLMBERG_DIR / "README.md"
    return parse_optima_table(readme.read_text(encoding="utf-8"))


def orlib_files(root: str | Path | None = None) -> list[Path]:
    """The OR-Library CAP files of the shared folder, in numeric order (cap41 ... cap134, capa, capb, capc)."""
    folder = Path(root) if root is not None else shared_benchmarks_dir() / ORLIB_DIR

    def key(p: Path) -> tuple[int, str]:
        digits = p.stem[3:]
        return (int(digits), "") if digits.isdigit() else (10**9, p.stem)

    return sorted(folder.glob("cap*.txt"), key=key)


def holmberg_files(root: str | Path | None = None) -> list[Path]:
    """The Holmberg files p1 ... p71 of the shared folder, in numeric order."""
    folder = Path(root) if root is not None else shared_benchmarks_dir() / HOLMBERG_DIR
    return sorted((p for p in folder.glob("p*") if re.fullmatch(r"p\d+", p.name)), key=lambda p: int(p.name[1:]))


__all__ = [
    "DEFAULT_SHARED_BENCHMARKS", "ENV_VAR", "Instance", "ORLIB_CAPACITIES", "SHARED_BENCHMARKS", "holmberg_files",
    "orlib_files", "parse_optima_table", "published_optima_holmberg", "published_optima_orlib", "read_holmberg",
    "read_orlib_cap", "shared_benchmarks_dir",
]
