"""Generated documentation: the input column reference (``docs/data.md``).

The reference is rendered from the same declarations the validator enforces
(:data:`optimizer.schema.TABLES` and :class:`optimizer.config.ScenarioConfig`), so it cannot drift from
what is checked; ``tests/test_docs.py`` fails when the committed file differs from what this module
renders. Regenerate it with::

    python -m optimizer.docs > docs/data.md
"""

from __future__ import annotations

import sys
import typing
from types import NoneType, UnionType

from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from .config import FX_MAX, ScenarioConfig
from .io import CONFIG_FILE, CONFIG_SHEET
from .lint import WARNING_CHECKS
from .schema import MAGNITUDE, SOURCE_SUFFIX, TABLES, Column, Table

REGENERATE = "python -m optimizer.docs > docs/data.md"

KIND_TEXT: dict[str, str] = {
    "str": "text",
    "float": "number",
    "int": "integer",
    "list": "list",
    "ramp": "ramp",
}

KIND_RULES: tuple[tuple[str, str], ...] = (
    ("text", "an identifier or label (a required text column must not be blank); surrounding spaces are stripped"),
    ("number", f"a finite real number (`nan`, `inf` are rejected) of magnitude at most {MAGNITUDE:g} in the "
     "column's unit (rule `magnitude`: larger numbers overflow the model's coefficients)"),
    ("integer", "a whole number (`2027` and `2027.0` are both accepted)"),
    ("list", "names separated by `;` (`NMC;LFP`); at least one name"),
    ("ramp", "fractions in [0, 1] separated by `;` (`0.5;0.8`); blank means no ramp-up (full nameplate at once)"),
)

# Descriptions of the scenario.yaml settings (the pydantic fields carry none of their own; a
# ``Field(description=...)`` set in optimizer/config.py takes precedence over this mapping).
CONFIG_DESCRIPTIONS: dict[str, str] = {
    "name": "Name of the scenario; names the default result folder `results/<name>/`.",
    "description": "Free text describing the scenario.",
    "start_year": "First horizon year t0 (the year costs are discounted to).",
    "end_year": "Last horizon year tN (at least `start_year`, at most 100 years after it).",
    "discount_rate": "Discount rate r: a cost in year t counts as cost x (1 + r)^-(t - t0); also the rate of the "
    "capital recovery factor.",
    "investment_cost": "`annualised`: a build's cash amount x CRF(r, economic_life_years) is charged in every year "
    "it delivers (from start + lead time, for at most economic_life_years years, up to end_year); "
    "`upfront`: the cash amount is charged in its start year.",
    "economic_life_years": "Economic life n of the capital recovery factor CRF = r(1+r)^n / ((1+r)^n - 1) "
    "(1/n when r = 0); used only with `investment_cost: annualised`.",
    "demand": "`soft`: demand may be left unserved at `unserved_penalty_usd_per_kwh`; "
    "`hard`: all demand must be served (the model is infeasible otherwise).",
    "unserved_penalty_usd_per_kwh": "Penalty per kWh of demand left unserved (soft demand only).",
    "total_budget_musd": "Most cash for openings and steps over the whole horizon, counted in their start years "
    "(null: no limit).",
    "single_sourcing": "When true, each (assembly plant, model) takes all its cells from one cell plant over "
    "the whole horizon.",
    "fx": "Currency index per currency code (`JPY: 1.1`): multiplies the opening and step costs, the fixed O&M "
    "and the cell cost of every plant whose `currency` it is (freight and credits are not converted). "
    "Currencies not listed have index 1.",
    "sources": "Where the settings come from: setting name -> URL or `estimate`. Carried with the scenario "
    "(and its input hash), not used by the model.",
}

CONFIG_RULES: tuple[str, ...] = (
    "Unknown keys are rejected (rule `unknown-key`, with the closest known key suggested); a missing required "
    "key is rule `missing-key`; any other failure is rule `value`.",
    "`end_year` must not be before `start_year`, and the horizon may span at most 100 years.",
    f"Every `fx` index must be a number > 0 and at most {FX_MAX:g}.",
)

CROSS_CHECKS: tuple[tuple[str, str], ...] = (
    ("reference", "`plant_years.plant`, `lanes.plant` and the names in `rules.plants` must be plants of `plants`; "
     "`assembly_years.assembly`, `demand.assembly`, `lanes.assembly` and `rules.assemblies` assembly plants of "
     "`assembly`; `demand.model` a model of `models`."),
    ("coverage", "tables marked per-year need a row for every horizon year (see each table)."),
    ("horizon", "every `year` column value must lie within `start_year` .. `end_year`."),
    ("duplicate-key", "no two rows may share the table's key."),
    ("order", "`rules.to_year` must not be before `rules.from_year`."),
    ("candidate-capacity", "a candidate plant has no capacity before it is opened: its `plant_years.capacity_gwh` "
     "must be 0."),
    ("reference (lane_years)", "each `lane_years` row's (plant, assembly) must be a lane of `lanes`."),
    ("closure-candidate", "only an existing plant may have `may_close` = `yes`."),
    ("unservable", "with hard demand, every positive demand needs a lane from a plant that makes the model's cell "
     "type (with soft demand it is a warning and the demand goes unserved at the penalty)."),
    ("empty-table", "a required table needs at least one row; an optional table with a header and no rows reads "
     "as absent (none)."),
    ("unknown-table, unknown-column", "files, sheets and columns the schema does not know are rejected "
     "(with the closest name suggested), except `<column>_source` columns."),
)


# ------------------------------------------------------------------------------------------ helpers


def _cell(text: object) -> str:
    """Text safe inside a Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def _num(x: float) -> str:
    return f"{x:g}"


def _default_text(col: Column) -> str:
    if col.required and col.blank_means is None:
        return "-"
    if col.blank_means is not None:
        return f"blank: {col.blank_means}"
    default = col.default
    if col.kind == "ramp" and not default:
        return "blank: no ramp-up (1 from the first production year)"
    if col.kind == "list" and not default:
        return "blank: empty list"
    if isinstance(default, str):
        return f"`{default}`" if default else "empty text"
    if isinstance(default, float):
        return _num(default)
    return str(default)


def _range_text(col: Column) -> str:
    parts = []
    if col.minimum is not None and col.maximum is not None:
        parts.append(f"{_num(col.minimum)} .. {_num(col.maximum)}")
    elif col.minimum is not None:
        parts.append(f">= {_num(col.minimum)}")
    elif col.maximum is not None:
        parts.append(f"<= {_num(col.maximum)}")
    if col.choices:
        parts.append("one of " + ", ".join(f"`{c}`" for c in col.choices))
    if col.name == "year":
        parts.append("start_year .. end_year")
    return "; ".join(parts) if parts else "-"


def _entity_table(name: str) -> Table | None:
    for t in TABLES:
        if t.key == (name,):
            return t
    return None


def _coverage_text(table: Table) -> str:
    if not table.per_year:
        if any(c.name == "year" for c in table.columns):
            return "not per year (rows may be left out); `year` must lie within `start_year` .. `end_year`."
        return "not per year."
    entities = [k for k in table.key if k != "year"]
    if not entities:
        return ("one row for every horizon year `start_year` .. `end_year` (a missing year is rule `coverage`)"
                + (" when the table is given." if not table.required else "."))
    parts = []
    for k in entities:
        ref = _entity_table(k)
        parts.append(f"every `{k}` of `{ref.name}`" if ref else f"every `{k}`")
    return (f"one row for {' and '.join(parts)} and every horizon year `start_year` .. `end_year` "
            "(a missing pair is rule `coverage`).")


def render_table(table: Table) -> str:
    """The reference of one input table: description, key, requirement, coverage and its columns."""
    lines = [
        f"### `{table.name}`",
        "",
        table.description,
        "",
        f"- File: `{table.file}` (or sheet `{table.name}` of a workbook).",
        f"- Required: {'yes' if table.required else 'no (optional table)'}.",
        f"- Key (unique per row): {', '.join(f'`{k}`' for k in table.key)}.",
        f"- Per-year coverage: {_coverage_text(table)}",
    ]
    lines += [f"- {note}" for note in table.notes]
    lines += [
        "",
        "| column | type | unit | required | default / blank means | range / choices | description |",
        "|---|---|---|---|---|---|---|",
    ]
    for col in table.columns:
        lines.append(
            "| " + " | ".join([
                f"`{col.name}`",
                KIND_TEXT.get(col.kind, col.kind),
                _cell(col.unit),
                "yes" if col.required else "no",
                _cell(_default_text(col)),
                _cell(_range_text(col)),
                _cell(col.description),
            ]) + " |"
        )
    return "\n".join(lines)


def _type_text(annotation: object) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return "one of " + ", ".join(f"`{a}`" for a in args)
    if origin in (typing.Union, UnionType):
        inner = [a for a in args if a is not NoneType]
        text = " or ".join(_type_text(a) for a in inner)
        return text + " or null" if len(inner) < len(args) else text
    if origin is dict:
        key, value = args
        return f"mapping {_type_text(key)} -> {_type_text(value)}"
    if origin is list:
        return f"list of {_type_text(args[0])}"
    names = {str: "text", int: "integer", float: "number", bool: "true/false"}
    return names.get(annotation, getattr(annotation, "__name__", str(annotation)))  # type: ignore[call-overload]


def _field_default(info: FieldInfo) -> str:
    if info.default_factory is not None:
        value = info.default_factory()  # type: ignore[call-arg]
        return "empty" if not value else f"`{value}`"
    if info.default is PydanticUndefined:
        return "required"
    if info.default is None:
        return "null"
    if isinstance(info.default, str):
        return f"`{info.default}`" if info.default else "empty text"
    if isinstance(info.default, bool):
        return "true" if info.default else "false"
    return f"`{info.default}`"


def _field_constraints(info: FieldInfo) -> str:
    parts = []
    for meta in info.metadata:
        for attr, fmt in (("ge", ">= {}"), ("gt", "> {}"), ("le", "<= {}"), ("lt", "< {}"),
                          ("min_length", "at least {} character(s)"), ("max_length", "at most {} character(s)"),
                          ("pattern", "matches `{}`")):
            value = getattr(meta, attr, None)
            if value is not None:
                parts.append(fmt.format(value))
        if getattr(meta, "allow_inf_nan", None) is False:
            parts.append("finite")
    return "; ".join(parts) if parts else "-"


def render_config() -> str:
    """The scenario.yaml settings: name, type, default, constraints, description."""
    lines = [
        "| setting | type | default | constraints | description |",
        "|---|---|---|---|---|",
    ]
    for name, info in ScenarioConfig.model_fields.items():
        description = info.description or CONFIG_DESCRIPTIONS.get(name, "(undocumented)")
        lines.append("| " + " | ".join([
            f"`{name}`", _cell(_type_text(info.annotation)), _cell(_field_default(info)),
            _cell(_field_constraints(info)), _cell(description),
        ]) + " |")
    lines += ["", "Rules across settings:", ""]
    lines += [f"- {rule}" for rule in CONFIG_RULES]
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------ the page


def _warning_checks() -> list:
    return list(WARNING_CHECKS)


def render_data_reference() -> str:
    """The whole input reference (``docs/data.md``) as Markdown."""
    out: list[str] = [
        "# Input data reference",
        "",
        "<!-- Generated from optimizer/schema.py and optimizer/config.py by optimizer/docs.py; do not edit by hand.",
        f"     Regenerate with: {REGENERATE} -->",
        "",
        "A scenario is a set of input tables plus a few settings. The validator (`optimizer validate SCENARIO`)",
        "checks everything on this page and lists every problem at once, each with file, row, column and rule.",
        "The mathematics that uses these numbers is in [formulation.md](formulation.md); the outputs are in",
        "[results.md](results.md).",
        "",
        "Units: energy in GWh, money in $M, unit costs in $/kWh (so $/kWh x GWh = $M), vehicles in units,",
        "CO2 in kg/kWh, t and kt.",
        "",
        "## Two file layouts",
        "",
        f"1. **A folder**: one CSV file per table (`plants.csv`, `plant_years.csv`, ...) plus `{CONFIG_FILE}`",
        "   holding the settings. CSV files are UTF-8 with a header row; cells are read as text and typed by the",
        "   schema below. Row numbers in error messages count the header as row 1, so the first data row is row 2.",
        "2. **An .xlsx workbook**: one sheet per table, named like the table (`plants`, `plant_years`, ...), plus a",
        f"   sheet `{CONFIG_SHEET}` whose first two columns are `key` and `value`, one setting per row. Nested",
        "   settings use dotted keys: the row `fx.JPY | 1.1` is `fx: {JPY: 1.1}` in YAML. Text values are read",
        "   as YAML (`true`, `2030`, `null`), an empty value is null. `optimizer export SCENARIO TARGET`",
        "   converts between the two layouts.",
        "",
        f"`{CONFIG_FILE}` (like a sweep file and every YAML value of the `{CONFIG_SHEET}` sheet) is read with a safe",
        "loader. A key written twice in one mapping is an error (`duplicate-key`, with its line); merge keys",
        "(`<<: *defaults`) are refused (`yaml-merge`): write the keys out. A document over 1,000,000 bytes, or one",
        "holding more than 100,000 values with every alias (`*name`) counted as written out, is refused",
        "(`yaml-limit`); the environment variables `OPTIMIZER_YAML_MAX_BYTES` and `OPTIMIZER_YAML_MAX_NODES` raise",
        "the limits.",
        "",
        "A table absent from the folder (or workbook) is an error when it is required; optional tables may be",
        "left out. Optional columns may be left out or left blank: the column's default applies.",
        "",
        "### Cell types",
        "",
        "| type | what a cell may hold |",
        "|---|---|",
    ]
    out += [f"| {kind} | {text} |" for kind, text in KIND_RULES]
    out += [
        "",
        "### Source columns",
        "",
        f"Any column `<col>` of a table may be accompanied, in the same table, by a text column `<col>{SOURCE_SUFFIX}`",
        f"(e.g. `cell_cost_usd_per_kwh{SOURCE_SUFFIX}` in `plant_years`) holding the URL or `estimate` the number",
        "comes from. Source columns are carried through untouched (blank cells become empty text) and never used by",
        "the model; any other unknown column is an error.",
        "",
        "## Tables",
        "",
        "In the column tables below, *required* means the column must be present and its cells filled (unless a",
        "blank meaning is given); *default / blank means* is the value used when an optional column is left out or",
        "a cell is left blank (`-`: none, the cell must be filled); *range / choices* are the allowed values.",
        "",
        "| table | required | key | per year | description |",
        "|---|---|---|---|---|",
    ]
    for t in TABLES:
        out.append("| " + " | ".join([
            f"[`{t.name}`](#{t.name})", "yes" if t.required else "no", ", ".join(t.key),
            "yes" if t.per_year else "no", _cell(t.description),
        ]) + " |")
    out.append("")
    for t in TABLES:
        out += [render_table(t), ""]
    out += [
        "## Checks across tables",
        "",
        "Besides the type, range and choice checks of each column, the validator applies these rules (the rule",
        "name appears in the error):",
        "",
    ]
    out += [f"- `{rule}`: {text}" for rule, text in CROSS_CHECKS]
    out += ["", "## Warnings", "",
            "Values that are legal but likely mistakes are warnings: `optimizer validate` and `optimizer solve` print",
            "them (on stderr) and carry on, and a solve records them in `manifest.json` under `warnings`. The checks:",
            ""]
    out += [f"- {', '.join(f'`{r}`' for r in rules)}: {' '.join((check.__doc__ or '').split())}"
            for rules, check in _warning_checks()]
    out += [
        "",
        f"## Settings (`{CONFIG_FILE}` or the `{CONFIG_SHEET}` sheet)",
        "",
        render_config(),
        "",
        "Example:",
        "",
        "```yaml",
        "name: base",
        "description: Nissan / AESC base case",
        "start_year: 2026",
        "end_year: 2035",
        "discount_rate: 0.08",
        "investment_cost: annualised",
        "economic_life_years: 15",
        "demand: soft",
        "unserved_penalty_usd_per_kwh: 1000",
        "single_sourcing: false",
        "fx:",
        "  JPY: 1.0",
        "sources:",
        "  discount_rate: estimate",
        "```",
        "",
    ]
    return "\n".join(out)


def main() -> None:
    """Print the input reference: ``python -m optimizer.docs > docs/data.md``."""
    sys.stdout.write(render_data_reference())


if __name__ == "__main__":
    main()
