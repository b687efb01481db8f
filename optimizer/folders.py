"""Which results a folder holds, so that no command writes over results it did not write.

``optimizer solve --out DIR`` writes into an empty or new folder, or over an earlier solve; a sweep's
folder is replaced only with ``--overwrite``, and a folder holding files neither command writes is refused
(nothing foreign is ever removed). ``optimizer sweep`` applies the same rule (:func:`.sweep.store.open_folder`).
"""

from __future__ import annotations

from pathlib import Path

from .location import resolve
from .results import TABLE_NAMES
from .sweep.store import OWN_NAMES, remove_sweep

SOLVE_NAMES = {"manifest.json", "report.html", *(f"{t}.parquet" for t in TABLE_NAMES)}


class FolderError(Exception):
    """The folder holds results this command may not replace; the message says what to do (exit 2)."""


def claim_solve_folder(out: Path, overwrite: bool = False) -> None:
    """Refuse ``out`` for a solve's results unless it is new, empty or an earlier solve's (see above)."""
    if not out.exists():
        return
    if not out.is_dir():
        raise FolderError(f"--out {out} is a file, not a folder")
    names = {p.name for p in out.iterdir() if not p.name.startswith(".")}
    foreign = sorted(names - SOLVE_NAMES - OWN_NAMES)
    if foreign:
        shown = ", ".join(foreign[:5]) + (" ..." if len(foreign) > 5 else "")
        raise FolderError(f"{out} holds files `optimizer solve` did not write ({shown}): give an empty or new folder "
                          "with --out (nothing there is removed, even with --overwrite)")
    if "sweep.json" in names or names & (OWN_NAMES - SOLVE_NAMES):
        if not overwrite:
            raise FolderError(f"{out} holds the results of a sweep: write elsewhere with --out, or replace them with "
                              "--overwrite")
        remove_sweep(resolve(out))
