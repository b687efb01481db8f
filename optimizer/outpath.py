"""Checks that a results folder (or an exported file) can be written, made before any solve, so that a
wrong ``--out`` is a message and exit 2 at once rather than a traceback after the whole run."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import InputError, Problem


def is_uri(path: str | Path) -> bool:
    """An object-store or remote location (``s3://bucket/prefix``): written by the store, not checked here."""
    return "://" in str(path)


def check_output_folder(path: str | Path, option: str = "--out") -> None:
    """Raise :class:`InputError` unless ``path`` is a folder that can be written, or can be created:
    not an existing file or device (``/dev/null``), not below a file, and its nearest existing folder
    writable (a read-only folder or file system is refused; so is a name the file system cannot hold)."""
    if is_uri(path):
        return
    problem = _folder_problem(Path(path))
    if problem:
        raise InputError([Problem(str(path), None, None, "output", f"{option}: {problem}")])


def check_output_file(path: str | Path | None, option: str) -> None:
    """Raise :class:`InputError` unless a file can be written at ``path`` (an existing file is replaced);
    nothing to check when ``path`` is None (the option was not given)."""
    if path is None:
        return
    path = Path(path)
    try:
        if path.is_dir():
            raise InputError([Problem(str(path), None, None, "output", f"{option}: is a folder, not a file")])
    except OSError as exc:
        raise InputError([Problem(str(path), None, None, "output", f"{option}: {exc.strerror}")]) from None
    problem = _folder_problem(path.parent)
    if problem:
        raise InputError([Problem(str(path), None, None, "output", f"{option}: its folder {path.parent}: {problem}")])


def _folder_problem(path: Path) -> str | None:
    try:
        if path.is_symlink() and not path.exists():
            return "is a broken symbolic link"
        if path.exists() and not path.is_dir():
            kind = "file" if path.is_file() else "device or special file"
            return f"is a {kind}, not a folder: give a folder for the results"
        existing = path
        while not existing.exists():
            if existing.parent == existing:
                return "no part of the path exists"
            existing = existing.parent
        if not existing.is_dir():
            return f"cannot be created: {existing} is a file, not a folder"
        if not os.access(existing, os.W_OK | os.X_OK) or os.statvfs(existing).f_flag & os.ST_RDONLY:
            return f"cannot be written: {existing} is read-only for this user"
        try:  # what writing needs first: a new entry in that folder
            os.rmdir(tempfile.mkdtemp(prefix=".write-probe-", dir=existing))
        except OSError as exc:
            return f"cannot be written: nothing can be created in {existing} ({exc.strerror or exc})"
    except OSError as exc:  # a name too long for the file system, a loop of links ...
        return f"cannot be used: {exc.strerror or exc}"
    return None
