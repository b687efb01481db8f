"""The canonical form of a built model, to show that a change to the model's code leaves the model as it was.

:func:`canonical` reads a built model the way a solver sees it: every variable's domain and bounds, every
active constraint row as lower <= sum_j a_j x_j <= upper (the body's constant moved into the bounds, zero
coefficients dropped), and the objective's constant and coefficients, all keyed by Pyomo names and evaluated
with ``generate_standard_repn``. So two builds that write the same rows in a different order, as different
expression trees or with the constant on the other side, have the same canonical form; a changed coefficient,
bound, row or variable does not.

:func:`text` writes it as sorted lines with 9 significant digits (its sha256 is what the larger references
store); :func:`differences` compares two forms with a relative tolerance and names what differs.

``python -m tests.model_canonical`` (re)writes the references in ``tests/data/canonical/``: run it only on
the code whose model is the reference. They were written once, on main at ac606a8, before the build was sped
up, when the form also held each ``cost[k,t]`` Expression (nominal cost by category and year, which the model
no longer builds: the result tables compute those costs from the solution). That part was then dropped
mechanically, not rewritten from newer code: its ``costs`` entries deleted from the whole references (the
``.json.gz`` files, every other entry kept as written at ac606a8), and the sha256 of each summary recomputed
by this module without the cost lines from a build by main at 15b7ac5, whose model (variables, rows, objective)
equals the references' (its tests/test_build_canonical.py passed against them).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyomo.environ as pyo
import yaml
from pyomo.repn import generate_standard_repn

from benchmarks.synthetic import synthetic_scenario
from optimizer.io import load_scenario
from optimizer.model import build_model

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "canonical"
BASE = ROOT / "scenarios" / "base"

Terms = dict[str, float]
Canonical = dict[str, dict]


def _linear(expr) -> tuple[float, Terms]:
    repn = generate_standard_repn(expr, compute_values=True, quadratic=False)
    if not repn.is_linear():
        raise ValueError(f"not linear: {expr}")
    terms: Terms = {}
    for v, c in zip(repn.linear_vars, repn.linear_coefs):
        terms[v.name] = terms.get(v.name, 0.0) + float(c)
    return float(pyo.value(repn.constant)), {k: c for k, c in terms.items() if c != 0.0}


def _bound(x) -> float | None:
    return None if x is None else float(pyo.value(x))


def canonical(m: pyo.ConcreteModel) -> Canonical:
    """The model as a solver sees it (see the module docstring)."""
    out: Canonical = {"vars": {}, "rows": {}, "objective": {}}
    for v in m.component_data_objects(pyo.Var, descend_into=True):
        kind = "B" if v.is_binary() else "I" if v.is_integer() else "C"
        out["vars"][v.name] = [kind, _bound(v.lb), _bound(v.ub)]
    for c in m.component_data_objects(pyo.Constraint, active=True, descend_into=True):
        const, terms = _linear(c.body)
        lo = None if c.lower is None else float(pyo.value(c.lower)) - const
        up = None if c.upper is None else float(pyo.value(c.upper)) - const
        out["rows"][c.name] = [lo, up, terms]
    (obj,) = m.component_data_objects(pyo.Objective, active=True, descend_into=True)
    const, terms = _linear(obj.expr)
    out["objective"] = {"sense": int(obj.sense), "constant": const, "terms": terms}
    return out


def _num(x: float | None) -> str:
    return "None" if x is None else f"{x + 0.0:.9g}"


def text(form: Canonical) -> str:
    """Sorted lines, numbers to 9 significant digits."""
    lines = [f"var {n} {k} {_num(lo)} {_num(up)}" for n, (k, lo, up) in sorted(form["vars"].items())]
    for n, (lo, up, terms) in sorted(form["rows"].items()):
        lines.append(f"row {n} {_num(lo)} {_num(up)} " + " ".join(f"{v}:{_num(c)}" for v, c in sorted(terms.items())))
    obj = form["objective"]
    lines.append(f"objective {obj['sense']} {_num(obj['constant'])} "
                 + " ".join(f"{v}:{_num(c)}" for v, c in sorted(obj["terms"].items())))
    return "\n".join(lines) + "\n"


def summary(form: Canonical) -> dict:
    """Counts and the sha256 of :func:`text`."""
    return {"vars": len(form["vars"]), "rows": len(form["rows"]),
            "nonzeros": sum(len(t) for _, _, t in form["rows"].values()),
            "objective_terms": len(form["objective"]["terms"]),
            "sha256": hashlib.sha256(text(form).encode()).hexdigest()}


def _close(a: float | None, b: float | None, rel: float) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=rel, abs_tol=rel)


def _terms_diff(where: str, a: Terms, b: Terms, rel: float) -> list[str]:
    out = [f"{where}: {v} only in the reference" for v in sorted(set(a) - set(b))]
    out += [f"{where}: {v} only in the new model" for v in sorted(set(b) - set(a))]
    out += [f"{where}: {v} {a[v]!r} -> {b[v]!r}" for v in sorted(set(a) & set(b)) if not _close(a[v], b[v], rel)]
    return out


def differences(ref: Canonical, new: Canonical, rel: float = 1e-12) -> list[str]:
    """What differs between two canonical forms (empty when they agree within ``rel``)."""
    out: list[str] = []
    for part in ("vars", "rows"):
        a, b = ref[part], new[part]
        out += [f"{part}: {n} only in the reference" for n in sorted(set(a) - set(b))]
        out += [f"{part}: {n} only in the new model" for n in sorted(set(b) - set(a))]
        for n in sorted(set(a) & set(b)):
            if part == "vars":
                if a[n][0] != b[n][0] or not all(_close(x, y, rel) for x, y in zip(a[n][1:], b[n][1:])):
                    out.append(f"vars: {n} {a[n]} -> {b[n]}")
            else:
                if not (_close(a[n][0], b[n][0], rel) and _close(a[n][1], b[n][1], rel)):
                    out.append(f"rows: {n} bounds {a[n][:2]} -> {b[n][:2]}")
                out += _terms_diff(f"rows: {n}", a[n][2], b[n][2], rel)
    oa, ob = ref["objective"], new["objective"]
    if oa["sense"] != ob["sense"] or not _close(oa["constant"], ob["constant"], rel):
        out.append(f"objective: sense/constant {oa['sense']} {oa['constant']!r} -> {ob['sense']} {ob['constant']!r}")
    out += _terms_diff("objective", oa["terms"], ob["terms"], rel)
    return out


def all_families_tables(folder: Path) -> Path:
    """A copy of the base case in ``folder`` with every family the base case leaves empty switched on:
    single sourcing, supplier-share caps, a CO2 cap, closures of an expandable plant (``closed_steps``); and the
    other settings: upfront investment, hard demand."""
    shutil.copytree(BASE, folder, dirs_exist_ok=True)
    assembly = pd.read_csv(folder / "assembly.csv")
    assembly["max_supplier_share"] = [0.7 if i % 2 == 0 else 1.0 for i in range(len(assembly))]
    assembly.to_csv(folder / "assembly.csv", index=False)
    years = pd.read_csv(folder / "years.csv")
    years["co2_cap_kt"] = [float("nan") if i % 3 == 0 else 400_000.0 - 1_000.0 * i for i in range(len(years))]
    years.to_csv(folder / "years.csv", index=False)
    plants = pd.read_csv(folder / "plants.csv", dtype=str, keep_default_na=False)
    expandable = plants.index[(plants["status"] == "existing") & (plants["max_steps"] != "")
                              & (plants["may_close"] != "yes")]
    for i in expandable[:2]:
        plants.loc[i, ["may_close", "closure_cost_musd", "closure_cost_musd_source"]] = ["yes", "40", "estimate"]
    plants.to_csv(folder / "plants.csv", index=False)
    config = yaml.safe_load((folder / "scenario.yaml").read_text())
    config.update(single_sourcing=True, investment_cost="upfront", demand="hard")
    (folder / "scenario.yaml").write_text(yaml.safe_dump(config))
    return folder


def instances() -> dict[str, Callable[[], object]]:
    """name -> a function giving the scenario. The synthetic ones come from benchmarks/synthetic.py."""
    def all_families():
        return load_scenario(all_families_tables(Path(tempfile.mkdtemp(prefix="all-families-"))))

    return {
        "base": lambda: load_scenario(BASE),
        "all_families": all_families,
        "synthetic_5x10x3x5": lambda: synthetic_scenario(5, 10, 3, 5, seed=0),
        "synthetic_10x20x4x6": lambda: synthetic_scenario(10, 20, 4, 6, seed=0),
        "synthetic_20x40x5x12": lambda: synthetic_scenario(20, 40, 5, 12, seed=0),
    }


FULL = ("base", "all_families", "synthetic_5x10x3x5")
"""Instances whose whole canonical form is stored (gzip JSON); the others store :func:`summary` only."""


def write_references() -> None:
    DATA.mkdir(parents=True, exist_ok=True)
    for name, make in instances().items():
        form = canonical(build_model(make()))
        if name in FULL:
            with gzip.open(DATA / f"{name}.json.gz", "wt", compresslevel=9) as f:
                json.dump(form, f, sort_keys=True, separators=(",", ":"))
        (DATA / f"{name}.summary.json").write_text(json.dumps(summary(form), indent=1) + "\n")
        print(name, summary(form))


def reference(name: str) -> Canonical:
    with gzip.open(DATA / f"{name}.json.gz", "rt") as f:
        return json.load(f)


if __name__ == "__main__":
    write_references()
