"""Command-line overrides of a scenario's settings (``optimizer solve --set total_budget_musd=3000 --set
fx.JPY=1.1``), and the check that a solve does not overwrite another scenario's results.

Each ``KEY=VALUE`` names a setting of ``scenario.yaml`` (a dotted key reaches into ``fx`` or ``sources``);
the value is read as YAML (``3000``, ``1.1``, ``hard``, ``null``). The overridden scenario is validated
like a file; its problems are reported against ``--set`` and the key. The result is named after the
scenario and its overrides (``base__total_budget_musd-3000__fx.JPY-1.1``) unless ``name`` itself is set.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from .config import ScenarioConfig
from .errors import InputError, Problem, did_you_mean
from .scenario import Scenario
from .yamlfile import parse_yaml

SOURCE = "--set"
DICT_SETTINGS = {"fx", "sources"}
MAX_NAME = 80


def override_scenario(scenario: Scenario, items: list[str]) -> tuple[Scenario, dict[str, Any]]:
    """``scenario`` with the ``KEY=VALUE`` items applied, and the overrides as parsed; raise InputError with
    every problem (items that do not parse, and values the overridden scenario rejects)."""
    parsed, problems = parse_overrides(items)
    try:
        scenario = apply_overrides(scenario, parsed)
    except InputError as exc:
        problems += exc.problems
    if problems:
        raise InputError(problems)
    return scenario, parsed


def parse_overrides(items: list[str]) -> tuple[dict[str, Any], list[Problem]]:
    """``["a=1", "fx.JPY=1.1"]`` -> ``{"a": 1, "fx.JPY": 1.1}``, and a problem for every bad item."""
    parsed: dict[str, Any] = {}
    problems = []
    known = list(ScenarioConfig.model_fields)
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        top = key.split(".")[0]
        if not sep or not key:
            problems.append(Problem(SOURCE, None, None, "usage", f"'{item}' is not KEY=VALUE"))
            continue
        if top not in known or (top in DICT_SETTINGS) != ("." in key) or key.count(".") > 1:
            hint = "" if top in known else did_you_mean(top, known)
            what = (f"'{key}': give {top}.<code>, e.g. fx.JPY=1.1" if top in DICT_SETTINGS
                    else f"'{key}' is not a setting of scenario.yaml{hint}")
            problems.append(Problem(SOURCE, None, key, "unknown-key", what))
            continue
        value, read = parse_yaml(text, SOURCE) if text.strip() else (None, [])
        if read:
            shown = repr(text) if len(text) <= 60 else repr(text[:57]) + "..."
            message = f"cannot read value {shown}" if read[0].rule == "yaml" else read[0].message
            problems.append(Problem(SOURCE, None, key, read[0].rule, message))
            continue
        if key in parsed:
            problems.append(Problem(SOURCE, None, key, "duplicate-key", f"'{key}' is set more than once"))
        parsed[key] = value
    return parsed, problems


def apply_overrides(scenario: Scenario, overrides: dict[str, Any]) -> Scenario:
    """``scenario`` with its settings overridden and re-validated, named after the overrides."""
    if not overrides:
        return scenario
    config = scenario.config.model_dump()
    for key, value in overrides.items():
        top, _, sub = key.partition(".")
        if sub:
            config[top] = {**config[top], sub: value}
        else:
            config[top] = value
    if "name" not in overrides:
        config["name"] = override_name(scenario.name, overrides)
    settings = {k: v for k, v in config.items() if v != getattr(scenario.config, k)}
    try:
        return scenario.derive(**settings)
    except InputError as exc:
        raise InputError([_against_set(p, overrides) for p in exc.problems]) from None


def _against_set(p: Problem, overrides: dict[str, Any]) -> Problem:
    """A settings problem of the overridden scenario, told against the ``--set`` item that caused it."""
    if not p.file.endswith("scenario") or p.column is None:
        return p
    key = next((k for k in overrides if k == p.column or k.startswith(p.column + ".")), None)
    if key is None:
        return p
    return Problem(SOURCE, None, key, p.rule, f"{key}={overrides[key]!r}: {p.message}")


def override_name(name: str, overrides: dict[str, Any]) -> str:
    """``base`` + {total_budget_musd: 3000} -> ``base__total_budget_musd-3000`` (a usable folder name; a long
    one is cut and ends in a hash of the overrides)."""
    parts = [name] + [f"{k}-{v}" for k, v in overrides.items()]
    text = re.sub(r"[^A-Za-z0-9_.\-]", "-", "__".join(parts))
    if len(text) > MAX_NAME:
        digest = hashlib.sha256(json.dumps(overrides, sort_keys=True, default=str).encode()).hexdigest()[:8]
        text = text[: MAX_NAME - 10] + "__" + digest
    return text


def other_scenario_in(target: Path, scenario: Scenario) -> str | None:
    """Why ``target`` must not receive ``scenario``'s results: it holds those of a different scenario
    (another ``inputs_sha256`` in its manifest.json). ``None`` when it is free or holds this scenario's."""
    manifest_file = Path(target) / "manifest.json"
    if not manifest_file.is_file():
        return None
    try:
        manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return f"{manifest_file} cannot be read"
    if manifest.get("inputs_sha256") == scenario.inputs_sha256:
        return None
    return (f"{target} holds the results of another scenario named '{manifest.get('scenario')}' (from "
            f"{manifest.get('source')}, other inputs)")
