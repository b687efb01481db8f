"""The constraint audit of every scenario of a sweep.

Each case of the sweep file is resolved again (the base scenario with the case's changes), checked to be
the very scenario that was solved (its scenario id, a hash of the resolved inputs and the solve options,
must equal the one in the summary), and audited with :func:`~optimizer.audit.audit_result` against its
rows of the long tables. Cases without a solution (infeasible, error, ...) have nothing to audit and are
listed as such.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .audit import audit_result
from .errors import InputError, Problem
from .results import COLUMNS, SolveResult
from .solver import Status
from .sweep.apply import apply_changes
from .sweep.cases import scenario_id
from .sweep.dataset import SweepResult
from .sweep.spec import load_sweep


@dataclass
class SweepAudit:
    """``families``: one row per (case, family) with rows checked, violated and the worst relative
    violation; ``skipped``: case name -> why it was not audited (no solution)."""

    families: pd.DataFrame
    skipped: dict[str, str]

    @property
    def audited(self) -> int:
        return int(self.families["case"].nunique()) if len(self.families) else 0

    @property
    def violations(self) -> int:
        return int(self.families["violations"].sum()) if len(self.families) else 0


def resolve_source(recorded: str, anchor: Path) -> Path:
    """A path recorded in a result folder: as written when it exists from here, else relative to the
    result folder ``anchor`` (for records written relative to the folder they were run from, the
    result folder's parent chain is tried)."""
    path = Path(recorded)
    if path.is_absolute() or path.exists():
        return path
    for root in (anchor, *anchor.resolve().parents):
        if (root / path).exists():
            return root / path
    return path


def _case_result(sweep, row: pd.Series) -> SolveResult:
    key = row["case_key"]
    tables = {}
    for name in ("flows", "builds", "capacity", "costs", "unmet"):
        t = sweep.tables.get(name, pd.DataFrame())
        part = t[t["case_key"] == key] if "case_key" in t.columns else t.iloc[0:0]
        cols = COLUMNS[name]
        tables[name] = part.reindex(columns=cols).reset_index(drop=True) if len(part) else pd.DataFrame(columns=cols)
    tables["kpis"] = pd.DataFrame(columns=COLUMNS["kpis"])
    objective = row.get("objective")
    return SolveResult(str(row["case"]), Status(row["status"]), None if pd.isna(objective) else float(objective),
                       row.get("bound"), row.get("gap"), tables, {})


def audit_sweep(sweep_dir: Path) -> SweepAudit:
    """Audit every solved scenario of the sweep folder ``sweep_dir``; raise :class:`InputError` when the
    sweep file or its base cannot be found, or when a case no longer resolves to the scenario solved."""
    sweep_dir = Path(sweep_dir)
    meta = json.loads((sweep_dir / "sweep.json").read_text(encoding="utf-8"))
    sweep_file = resolve_source(str(meta.get("file", "")), sweep_dir)
    if not sweep_file.is_file():
        raise InputError([Problem(str(sweep_dir / "sweep.json"), None, "file", "source-missing",
                                  f"the sweep file {meta.get('file')!r} it was run from is not found: run the "
                                  "audit from the folder the sweep was run in")])
    sweep = load_sweep(sweep_file)
    base = sweep.load_base()
    options = dict(meta.get("options") or {})
    result = SweepResult(sweep_dir)
    summary = result.summary
    by_name = {str(r["case"]): r for _, r in summary.iterrows()} if len(summary) else {}
    frames: list[pd.DataFrame] = []
    skipped: dict[str, str] = {}
    problems: list[Problem] = []
    for case in sweep.cases():
        row = by_name.get(case.name)
        if row is None:
            skipped[case.name] = "not solved yet"
            continue
        if not Status(row["status"]).has_solution:
            skipped[case.name] = f"no solution ({row['status']})"
            continue
        scenario = apply_changes(base, case.changes, source=str(sweep_file))
        if options and scenario_id(scenario, options) != row["scenario_id"]:
            problems.append(Problem(str(sweep_file), None, None, "inputs-changed",
                                    f"case {case.name!r} no longer resolves to the scenario solved (scenario id "
                                    f"{row['scenario_id']}): the sweep file or its base changed since the run"))
            continue
        report = audit_result(scenario, _case_result(result, row))
        report.insert(0, "case", case.name)
        frames.append(report)
    if problems:
        raise InputError(problems)
    families = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["case", "family", "checked", "violations", "worst"])
    return SweepAudit(families, skipped)
