"""Measuring an older commit beside the working tree in one run: the old code checked out into a temporary git
worktree (removed afterwards), and a script run in a fresh process against either version's code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def code_versions(old_ref: str | None, folder: Path) -> Iterator[dict[str, Path]]:
    """``{"new": this tree}``, plus ``"old"``: ``old_ref`` checked out under ``folder`` while the block runs."""
    code = {"new": ROOT}
    if old_ref:
        code["old"] = folder / "old"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(code["old"]), old_ref],
                       check=True, capture_output=True)
    try:
        yield code
    finally:
        if "old" in code:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(code["old"])],
                           capture_output=True)


def run_fresh(code_root: Path, script: str, args: list[str], what: str) -> dict:
    """``python -c script ARGS`` in a fresh process importing the code at ``code_root``; the JSON object the
    script prints last."""
    proc = subprocess.run([sys.executable, "-c", script, *args], cwd=code_root, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(code_root)})
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed ({code_root}): {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])
