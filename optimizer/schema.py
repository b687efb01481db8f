"""The input schema as data: every table, every column, its type, unit, range and meaning.

The validator (:mod:`optimizer.validate`) and the column reference (``docs/data.md``) are both
generated from these declarations, so the documentation cannot drift from what is enforced.

Column kinds:

* ``str``   a non-empty identifier or label;
* ``float`` a finite real number (``nan``/``inf`` are rejected);
* ``int``   a whole number (``2027`` or ``2027.0``);
* ``list``  a ``;``-separated list of names (``NMC;LFP``);
* ``ramp``  a ``;``-separated list of fractions in [0, 1] (``0.5;0.8``).

Any numeric column ``col`` may be accompanied by a ``col_source`` text column holding the URL or
``estimate`` the number comes from; such columns are carried through untouched.

Every number in a table lies within +-:data:`MAGNITUDE` in its column's unit (rule ``magnitude``):
products of larger coefficients overflow floats or pass HiGHS's infinity (1e20).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["str", "float", "int", "list", "ramp"]

MAGNITUDE = 1e9
"""The largest absolute value of any number in a table, in the column's own unit (GWh, $M, $/kWh, vehicles):
a billion vehicles a year or $1e9/kWh is far beyond any real input, and products of a few such numbers stay
well inside a float and below HiGHS's infinity (1e20), which 1e308 demand or a 1e300 step cost do not."""


@dataclass(frozen=True)
class Column:
    """One column of an input table."""

    name: str
    kind: Kind
    unit: str
    description: str
    required: bool = True
    default: object = None  # used when an optional column is absent or a cell is blank
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    blank_means: str | None = None  # optional cells that may stay blank, and what blank means


@dataclass(frozen=True)
class Table:
    """One input table: a CSV file in a scenario folder, or a sheet of a workbook."""

    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    required: bool = True
    per_year: bool = False  # must hold one row per horizon year (per key entity)
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def file(self) -> str:
        return f"{self.name}.csv"

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)


SHARE: dict[str, Any] = {"minimum": 0.0, "maximum": 1.0}
NONNEG: dict[str, Any] = {"minimum": 0.0}

PLANTS = Table(
    name="plants",
    description="Cell plants: existing sites and candidate (greenfield) sites, with their expansion options.",
    key=("plant",),
    columns=(
        Column("plant", "str", "-", "Identifier of the cell plant."),
        Column("name", "str", "-", "Readable name.", required=False, default=""),
        Column("region", "str", "-", "Region (e.g. JP, EU, UK, US, CN); used by sweeps and reports."),
        Column("country", "str", "-", "ISO country code of the site."),
        Column(
            "currency", "str", "-",
            "Currency of the plant's costs; scenario `fx` multiplies its dollar costs by the index of this currency.",
            required=False, default="USD",
        ),
        Column("cell_types", "list", "-", "Cell types the plant can make (`;`-separated, e.g. `NMC;LFP`)."),
        Column(
            "status", "str", "-", "`existing` (open from the start) or `candidate` (must be opened first).",
            choices=("existing", "candidate"),
        ),
        Column("opening_capacity_gwh", "float", "GWh/yr", "Nameplate capacity a candidate site adds when opened.",
               required=False, default=0.0, **NONNEG),
        Column("opening_cost_musd", "float", "$M", "Cash cost of opening a candidate site.",
               required=False, default=0.0, **NONNEG),
        Column("lead_time_years", "int", "yr",
               "Years from the start of an opening or step to its start of production (0 = same year).",
               required=False, default=0, minimum=0, maximum=30),
        Column("step_gwh", "float", "GWh/yr", "Nameplate capacity added by one expansion step.",
               required=False, default=0.0, **NONNEG),
        Column("step_cost_musd", "float", "$M", "Cash cost of one expansion step.",
               required=False, default=0.0, **NONNEG),
        Column("max_steps", "int", "steps", "Most expansion steps over the horizon.",
               required=False, default=0, minimum=0, maximum=1000),
        Column("ramp", "ramp", "fraction",
               "Share of nameplate available in years 1, 2, ... of production (`;`-separated); 1 after the list.",
               required=False, default=()),
        Column("fixed_om_musd_per_gwh", "float", "$M/GWh/yr",
               "Fixed operating cost per GWh of nameplate capacity (existing plus delivered) per year.",
               required=False, default=0.0, **NONNEG),
        Column("earliest_start", "int", "year", "First year an opening or step may start (blank: any year).",
               required=False, default=None, blank_means="any horizon year"),
        Column("may_close", "str", "-",
               "`yes`: the model may close this existing plant from a year of its choice (at most once); "
               "`no`: it stays open.", required=False, default="no", choices=("yes", "no")),
        Column("closure_cost_musd", "float", "$M",
               "Cash cost of closing the plant (severance, decommissioning), in the closure year; not in budgets.",
               required=False, default=0.0, **NONNEG),
        Column("earliest_closure", "int", "year", "First year from which the plant may be closed (blank: any year).",
               required=False, default=None, blank_means="any horizon year"),
        Column("economic_life_years", "int", "yr",
               "Economic life over which the plant's openings and steps are annualised (blank: the scenario's "
               "`economic_life_years`).", required=False, default=None, blank_means="the scenario's setting",
               minimum=1, maximum=100),
    ),
)

PLANT_YEARS = Table(
    name="plant_years",
    description="Per cell plant and year: committed capacity, cell cost, credits, carbon, minimum offtake.",
    key=("plant", "year"),
    per_year=True,
    columns=(
        Column("plant", "str", "-", "Cell plant (plants.plant)."),
        Column("year", "int", "year", "Horizon year."),
        Column("capacity_gwh", "float", "GWh/yr",
               "Existing committed capacity available in the year (already ramped), before any new build.",
               **NONNEG),
        Column("cell_cost_usd_per_kwh", "float", "$/kWh", "Variable cost of cells made at the plant (customs value).",
               **NONNEG),
        Column("credit_usd_per_kwh", "float", "$/kWh", "Production credit per kWh made (e.g. US 45X).",
               required=False, default=0.0, **NONNEG),
        Column("co2_kg_per_kwh", "float", "kgCO2/kWh", "Factory CO2 emitted per kWh of cells made.",
               required=False, default=0.0, **NONNEG),
        Column("min_offtake_gwh", "float", "GWh/yr", "Take-or-pay: least the plant must ship in the year.",
               required=False, default=0.0, **NONNEG),
        Column("availability", "float", "fraction",
               "Share of the plant's whole capacity (existing and new) usable in the year: 0 = outage.",
               required=False, default=1.0, **SHARE),
    ),
)

ASSEMBLY = Table(
    name="assembly",
    description="Vehicle assembly plants.",
    key=("assembly",),
    columns=(
        Column("assembly", "str", "-", "Identifier of the assembly plant."),
        Column("name", "str", "-", "Readable name.", required=False, default=""),
        Column("region", "str", "-", "Region (e.g. JP, EU, UK, US, CN)."),
        Column("country", "str", "-", "ISO country code."),
        Column("max_supplier_share", "float", "fraction",
               "Most of the plant's cells (GWh, per year) any one cell plant may supply (1 = no limit).",
               required=False, default=1.0, **SHARE),
    ),
)

ASSEMBLY_YEARS = Table(
    name="assembly_years",
    description="Per assembly plant and year: EV assembly capacity.",
    key=("assembly", "year"),
    per_year=True,
    columns=(
        Column("assembly", "str", "-", "Assembly plant (assembly.assembly)."),
        Column("year", "int", "year", "Horizon year."),
        Column("capacity_vehicles", "float", "vehicles/yr", "EV assembly capacity (blank: no limit).",
               required=False, default=None, blank_means="no limit", **NONNEG),
    ),
)

MODELS = Table(
    name="models",
    description="Vehicle models (a model may be a trim: one pack size each).",
    key=("model",),
    columns=(
        Column("model", "str", "-", "Identifier of the vehicle model."),
        Column("name", "str", "-", "Readable name.", required=False, default=""),
        Column("cell_type", "str", "-", "Cell type its pack uses (matches plants.cell_types)."),
        Column("pack_kwh", "float", "kWh", "Pack energy per vehicle.", minimum=1e-9),
    ),
)

DEMAND = Table(
    name="demand",
    description="Vehicles to build per assembly plant, model and year (absent rows are zero).",
    key=("assembly", "model", "year"),
    columns=(
        Column("assembly", "str", "-", "Assembly plant (assembly.assembly)."),
        Column("model", "str", "-", "Vehicle model (models.model)."),
        Column("year", "int", "year", "Horizon year."),
        Column("vehicles", "float", "vehicles/yr", "Vehicles demanded.", **NONNEG),
    ),
)

LANES = Table(
    name="lanes",
    description="Allowed supply lanes from cell plants to assembly plants, with freight and import duty.",
    key=("plant", "assembly"),
    columns=(
        Column("plant", "str", "-", "Cell plant (plants.plant)."),
        Column("assembly", "str", "-", "Assembly plant (assembly.assembly)."),
        Column("freight_usd_per_kwh", "float", "$/kWh", "Freight, handling and dangerous-goods surcharge.",
               **NONNEG),
        Column("tariff_rate", "float", "fraction", "Import duty as a rate on the cells' customs value (0.25 = 25 %).",
               minimum=0.0, maximum=10.0),
    ),
)

LANE_YEARS = Table(
    name="lane_years",
    description="Per lane and year: freight and import duty where they differ from the lane's single value "
    "(a tariff schedule); a year or cell left out falls back to `lanes`.",
    key=("plant", "assembly", "year"),
    required=False,
    columns=(
        Column("plant", "str", "-", "Cell plant of the lane (lanes.plant)."),
        Column("assembly", "str", "-", "Assembly plant of the lane (lanes.assembly)."),
        Column("year", "int", "year", "Horizon year."),
        Column("freight_usd_per_kwh", "float", "$/kWh", "Freight in the year (blank: the lane's).",
               required=False, default=None, blank_means="the lane's freight_usd_per_kwh", **NONNEG),
        Column("tariff_rate", "float", "fraction", "Import duty rate in the year (blank: the lane's).",
               required=False, default=None, blank_means="the lane's tariff_rate", minimum=0.0, maximum=10.0),
    ),
)

RULES = Table(
    name="rules",
    description="Local-content rules: a least share of the cells used at a group of assembly plants "
    "must come from a group of cell plants, in the years the rule is in force.",
    key=("rule",),
    required=False,
    columns=(
        Column("rule", "str", "-", "Identifier of the rule."),
        Column("assemblies", "list", "-", "Assembly plants the rule covers (`;`-separated)."),
        Column("plants", "list", "-", "Cell plants that count as local (`;`-separated)."),
        Column("min_share", "float", "fraction", "Least share of the covered cells (GWh) from local plants.",
               **SHARE),
        Column("from_year", "int", "year", "First year in force."),
        Column("to_year", "int", "year", "Last year in force (blank: to the end).",
               required=False, default=None, blank_means="to the end of the horizon"),
    ),
)

YEARS = Table(
    name="years",
    description="Per horizon year: capital budget, carbon price and CO2 cap.",
    key=("year",),
    required=False,
    per_year=True,
    columns=(
        Column("year", "int", "year", "Horizon year."),
        Column("capex_budget_musd", "float", "$M",
               "Most cash for openings and steps started in the year (blank: no limit).",
               required=False, default=None, blank_means="no limit", **NONNEG),
        Column("carbon_price_usd_per_t", "float", "$/tCO2", "Price on factory CO2.",
               required=False, default=0.0, **NONNEG),
        Column("co2_cap_kt", "float", "ktCO2", "Most factory CO2 from all cells shipped in the year (blank: none).",
               required=False, default=None, blank_means="no cap", **NONNEG),
    ),
)

TABLES: tuple[Table, ...] = (PLANTS, PLANT_YEARS, ASSEMBLY, ASSEMBLY_YEARS, MODELS, DEMAND, LANES, LANE_YEARS, RULES,
                             YEARS)
TABLES_BY_NAME: dict[str, Table] = {t.name: t for t in TABLES}
SOURCE_SUFFIX = "_source"
