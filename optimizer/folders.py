"""Which results a folder holds, so that no command writes over results it did not write.

``optimizer solve --out DIR`` writes into an empty or new folder, or over an earlier solve; a sweep's
folder is replaced only with ``--overwrite``, and a folder holding files neither command writes is refused
(nothing foreign is ever removed). ``optimizer sweep`` applies the same rule (:func:`.sweep.store.open_folder`).
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa

from .location import Location, resolve
from .results import TABLE_NAMES, SolveResult
from .solver import Status
from .sweep.store import OWN_NAMES, folder_kind, foreign_names, remove_sweep

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


def claim_solve_location(loc: Location, inputs_sha256: str, overwrite: bool = False) -> None:
    """The same rule as :func:`claim_solve_folder` for an object-store URI (``s3://bucket/prefix``): refuse
    foreign files always, a sweep's results or another scenario's unless ``overwrite``."""
    kind, _ = folder_kind(loc)
    foreign = [n for n in foreign_names(loc) if n not in SOLVE_NAMES]
    if foreign:
        shown = ", ".join(foreign[:5]) + (" ..." if len(foreign) > 5 else "")
        raise FolderError(f"{loc.uri} holds files `optimizer solve` did not write ({shown}): give an empty or new "
                          "location with --out (nothing there is removed, even with --overwrite)")
    if kind in ("sweep", "old-sweep") and not overwrite:
        raise FolderError(f"{loc.uri} holds the results of a sweep: write elsewhere with --out, or replace them with "
                          "--overwrite")
    if kind == "solve" and not overwrite:
        try:
            held = json.loads(loc.read_text("manifest.json"))
        except ValueError:
            held = {}
        if held.get("inputs_sha256") != inputs_sha256:
            raise FolderError(f"{loc.uri} holds the results of another scenario named '{held.get('scenario')}': give "
                              "another --out, or --overwrite to replace them")
    if overwrite and kind in ("sweep", "old-sweep"):
        remove_sweep(loc)


def write_solve(result: SolveResult, loc: Location) -> str:
    """A solve's tables and manifest.json written to ``loc`` as :meth:`SolveResult.write` writes a folder: every
    table first, each upload visible only once complete, the manifest last (a location with a manifest is
    complete)."""
    for name in TABLE_NAMES:
        loc.write_parquet(pa.Table.from_pandas(result.tables[name], preserve_index=False), f"{name}.parquet")
    loc.write_text(json.dumps(result.manifest, indent=2, default=str), "manifest.json")
    return loc.uri


def read_solve(loc: Location) -> SolveResult:
    """A solve's results read back from any location (:meth:`SolveResult.read` reads a local folder)."""
    if not loc.is_file("manifest.json"):
        raise FileNotFoundError(f"{loc.uri} holds no manifest.json or sweep.json: not a result location")
    manifest = json.loads(loc.read_text("manifest.json"))
    tables = {name: loc.read_parquet(f"{name}.parquet").to_pandas() for name in TABLE_NAMES}
    return SolveResult(manifest["scenario"], Status(manifest["status"]), manifest.get("objective"),
                       manifest.get("bound"), manifest.get("gap"), tables, manifest)
