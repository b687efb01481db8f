"""File helpers shared by every writer of results: write through a temporary name, then rename."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


def atomic_write(path: Path, write: Callable[..., object]) -> None:
    """Write ``path`` through a temporary name in the same folder and rename it into place, so a reader
    never sees a half-written file. ``write(tmp)`` writes the temporary file."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
