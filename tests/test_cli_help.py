"""CLI help and logs: every option shows its default and reads cleanly; `--verbose` and `--log FILE` show
HiGHS's log; single solves have a documented default time limit."""

from __future__ import annotations

import json

import click
import typer
from test_cli import BASE, run

from optimizer.cli import SOLVE_TIME_LIMIT, app


def test_every_option_states_its_default():
    """Each option of each command is a flag (off unless given), shows its default value, or says
    '[default: ...]' in its help (for defaults computed at run time, such as 'all cores')."""
    group = typer.main.get_command(app)
    missing = []
    for name, command in group.commands.items():
        for p in command.params:
            if not isinstance(p, click.Option) or p.name == "help" or p.is_flag:
                continue
            shown = p.default is not None and p.show_default is not False
            if not shown and "[default:" not in (p.help or ""):
                missing.append(f"{name} {p.opts[0]}")
    assert not missing, missing


def test_help_reads_cleanly():
    """Square brackets in help texts are shown, not swallowed as markup."""
    proc = run("solve", "--help")
    assert proc.returncode == 0
    text = " ".join(proc.stdout.split())
    assert "Result folder or s3:// / gs:// URI [default: results/<scenario>]." in text
    assert f"[default: {SOLVE_TIME_LIMIT:g}" in text.replace(".0;", ";").replace(".0]", "]")
    assert "--set KEY=VALUE" in text and "--verbose" in text and "--log" in text


def test_log_file_verbose_and_default_time_limit(tmp_path):
    log = tmp_path / "highs.log"
    proc = run("solve", str(BASE), "--out", str(tmp_path / "out"), "--threads", "2", "--json", "--verbose",
               "--log", str(log))
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads(proc.stdout)  # the log goes to stderr: stdout stays the manifest
    assert manifest["options"]["time_limit"] == SOLVE_TIME_LIMIT
    assert "Running HiGHS" in proc.stderr
    assert "MIP has" in log.read_text() and "Solving report" in log.read_text()
    quiet = run("solve", str(BASE), "--out", str(tmp_path / "quiet"), "--threads", "2", "--json")
    assert "Running HiGHS" not in quiet.stderr
