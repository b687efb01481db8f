"""Running ``python -m optimizer`` as a real process in tests, with its wall time and peak memory."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PEAK_RSS = """import resource, subprocess, sys
proc = subprocess.run(sys.argv[1:], capture_output=True, text=True)
sys.stderr.write(proc.stderr)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)
sys.exit(proc.returncode)
"""


def run_cli(*args: str, env: dict | None = None, user: int | None = None) -> tuple[int, str, float, int]:
    """``python -m optimizer ARGS`` as a process: (exit code, stderr, wall seconds, peak RSS in MB). As another
    ``user`` the process runs directly (no peak RSS: 0)."""
    command = [sys.executable, "-c", PEAK_RSS, sys.executable, "-m", "optimizer", *args]
    if user is not None:
        command = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", sys.executable, "-m",
                   "optimizer", *args]
    t = time.perf_counter()
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})
    wall = time.perf_counter() - t
    rss = 0 if user is not None else int(proc.stdout.strip().splitlines()[-1])
    return proc.returncode, proc.stderr, wall, rss


def assert_refused(code: int, stderr: str, *fragments: str) -> None:
    assert code == 2, stderr
    assert "Traceback" not in stderr, stderr
    for fragment in fragments:
        assert fragment in stderr, stderr
