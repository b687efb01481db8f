"""Where results live: a local folder, a shared file-system path, or an object-store URI (``s3://bucket/prefix``,
``gs://bucket/prefix``), all through pyarrow's file systems.

Credentials come from the environment the way the cloud SDKs read them (``AWS_ACCESS_KEY_ID`` ...,
``~/.aws/credentials``, instance metadata; ``GOOGLE_APPLICATION_CREDENTIALS`` ...). An S3-compatible server
other than AWS is named by ``AWS_ENDPOINT_URL_S3`` or ``AWS_ENDPOINT_URL`` (``http://host:port``), or in the
URI itself (``s3://bucket/prefix?endpoint_override=host:port&scheme=http``).

Object stores have no atomic rename: a file written with :meth:`Location.write_bytes` appears whole or not
at all (an upload becomes visible when it completes); on a local file system the same holds through a
temporary name and a rename.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from .errors import InputError, Problem


def is_uri(target: str | Path) -> bool:
    return isinstance(target, str) and "://" in target and not target.startswith("file://")


def _s3(uri: str) -> tuple[pafs.FileSystem, str]:
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint and "endpoint_override" not in uri:
        parsed = urlparse(endpoint)
        fs = pafs.S3FileSystem(endpoint_override=parsed.netloc or parsed.path, scheme=parsed.scheme or "https",
                               region=os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION"))
        u = urlparse(uri)
        return fs, f"{u.netloc}{u.path}".rstrip("/")
    fs, path = pafs.FileSystem.from_uri(uri)
    return fs, path.rstrip("/")


@dataclass(frozen=True)
class Location:
    """A folder on some file system: ``fs`` and the folder's ``root`` path in it; ``uri`` as given."""

    fs: pafs.FileSystem
    root: str
    uri: str

    @property
    def local(self) -> bool:
        return isinstance(self.fs, pafs.LocalFileSystem)

    def path(self, *parts: str) -> str:
        return "/".join([self.root, *parts])

    def child(self, *parts: str) -> Location:
        return Location(self.fs, self.path(*parts), "/".join([self.uri.rstrip("/"), *parts]))

    def exists(self, *parts: str) -> bool:
        return self.fs.get_file_info(self.path(*parts)).type != pafs.FileType.NotFound

    def is_file(self, *parts: str) -> bool:
        return self.fs.get_file_info(self.path(*parts)).type == pafs.FileType.File

    def names(self, *parts: str) -> list[str]:
        """The names directly inside the folder ``parts`` (none if it does not exist)."""
        sel = pafs.FileSelector(self.path(*parts), allow_not_found=True, recursive=False)
        return sorted(info.base_name for info in self.fs.get_file_info(sel))

    def read_bytes(self, *parts: str) -> bytes:
        with self.fs.open_input_stream(self.path(*parts)) as f:
            return f.read()

    def read_text(self, *parts: str) -> str:
        return self.read_bytes(*parts).decode("utf-8")

    def _atomic(self, target: str, write) -> None:
        if not self.local:  # an upload is visible only once complete
            write(target)
            return
        parent, name = target.rsplit("/", 1)
        self.fs.create_dir(parent, recursive=True)
        tmp = f"{parent}/.{name}.tmp-{uuid.uuid4().hex[:8]}"
        try:
            write(tmp)
            self.fs.move(tmp, target)
        finally:
            if self.fs.get_file_info(tmp).type != pafs.FileType.NotFound:
                self.fs.delete_file(tmp)

    def write_bytes(self, data: bytes, *parts: str) -> None:
        def write(path: str) -> None:
            with self.fs.open_output_stream(path) as f:
                f.write(data)

        self._atomic(self.path(*parts), write)

    def write_text(self, text: str, *parts: str) -> None:
        self.write_bytes(text.encode("utf-8"), *parts)

    def write_parquet(self, table: pa.Table, *parts: str) -> None:
        self._atomic(self.path(*parts), lambda p: pq.write_table(table, p, filesystem=self.fs))

    def read_parquet(self, *parts: str, columns: list[str] | None = None) -> pa.Table:
        return pq.read_table(self.path(*parts), filesystem=self.fs, columns=columns)

    def delete(self, *parts: str) -> None:
        try:
            self.fs.delete_file(self.path(*parts))
        except FileNotFoundError:
            pass

    def delete_dir(self, *parts: str) -> None:
        try:
            self.fs.delete_dir(self.path(*parts))
        except FileNotFoundError:
            pass

    def mkdir(self, *parts: str) -> None:
        if self.local:
            self.fs.create_dir(self.path(*parts), recursive=True)

    def __str__(self) -> str:
        return self.uri


def resolve(target: str | Path) -> Location:
    """The :class:`Location` of a folder path or a URI; :class:`InputError` for a URI pyarrow cannot open (an
    unknown scheme such as ``ftp://``, or an S3 bucket whose region cannot be looked up)."""
    text = str(target)
    if is_uri(text):
        scheme = text.split("://", 1)[0].lower()
        try:
            if scheme == "s3":
                fs, root = _s3(text)
            else:
                fs, root = pafs.FileSystem.from_uri(text)
                root = root.rstrip("/")
        except (pa.ArrowInvalid, OSError) as exc:  # an unknown scheme, a bucket that cannot be reached
            raise InputError([Problem(text.split("?", 1)[0], None, None, "results location",
                                      f"cannot be opened ({scheme}:// through pyarrow's file systems): {exc}")]
                             ) from None
        return Location(fs, root, text.split("?", 1)[0])
    if text.startswith("file://"):
        text = text[len("file://"):]
    path = Path(text).expanduser().absolute()
    return Location(pafs.LocalFileSystem(), path.as_posix(), str(target))
