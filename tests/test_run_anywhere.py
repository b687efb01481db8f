"""Run from anywhere: the base case ships with the package, `optimizer init` copies it, manifests record
sources that resolve from another folder, `optimizer --version`."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import metadata

import pytest
from test_cli import BASE, run


@pytest.mark.slow
def test_solve_outside_the_repository_uses_the_packaged_base_case(tmp_path):
    """`cd /tmp && optimizer solve`: no scenarios/base here, so the packaged copy is solved; the
    audit, run from yet another folder, finds the source the manifest records."""
    proc = run("solve", "--threads", "2", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((tmp_path / "results" / "base" / "manifest.json").read_text())
    assert manifest["status"] == "optimal"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    audit = run("audit", "../results/base", cwd=elsewhere)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert "objective" in audit.stdout


@pytest.mark.slow
def test_init_copies_the_base_case_and_refuses_a_used_folder(tmp_path):
    target = tmp_path / "mine"
    proc = run("init", str(target), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in target.iterdir()) == sorted(p.name for p in BASE.iterdir())
    assert run("validate", str(target)).returncode == 0
    again = run("init", str(target), cwd=tmp_path)
    assert again.returncode == 2 and "not an empty folder" in again.stderr


def test_version():
    proc = subprocess.run([sys.executable, "-m", "optimizer", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"optimizer {metadata.version('battery-sourcing-optimizer')}"


def test_the_main_command_needs_no_test_or_notebook_tools(tmp_path):
    """The package's own requirements hold no test or notebook tool, `dev` pulls both extras, and a solve
    through the CLI runs with those tools made unimportable."""
    tools = ("pytest", "hypothesis", "ruff", "playwright", "nbformat", "nbclient", "ipykernel")
    requires = metadata.requires("battery-sourcing-optimizer") or []
    core = [r for r in requires if "extra ==" not in r]
    assert not [r for r in core if r.split("[")[0].split("<")[0].split(">")[0].strip() in tools]
    assert any("extra == \"dev\"" in r and "test" in r and "notebook" in r for r in requires)
    blocked = "; ".join(f"sys.modules[{t!r}] = None" for t in tools)
    code = f"import sys; {blocked}; sys.argv = ['optimizer', 'solve', '--threads', '2']; " \
           "from optimizer.cli import main; main()"
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "results" / "base" / "manifest.json").is_file()
