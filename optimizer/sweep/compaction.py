"""``optimizer compact``: merge a finished sweep's many small parts into fewer, larger ones.

Optional (readers read parts as they are) and safe to stop at any moment: each group of adjacent batches
is merged into one new part and committed by one record covering the group's range, and only then are the
group's records and parts removed (see :mod:`.dataset`). Groups are independent: with ``--workers`` or
``--address`` they are merged on Ray workers, each reading and writing the results location itself.
"""

from __future__ import annotations

import os

from ..location import resolve
from ..ray_pool import ActorPool, connect, disconnect, import_ray
from .dataset import compact_group, compaction_groups, tidy
from .store import META, Lock, StoreError


class Compactor:
    """Body of a Ray actor that merges groups of one results location."""

    def __init__(self, target: str):
        self.target = target

    def pid(self) -> int:
        return os.getpid()

    def merge(self, records: list[dict]) -> dict:
        return compact_group(self.target, records)


def compact(target: str, group: int = 64, address: str | None = None, workers: int | None = None) -> list[dict]:
    """Merge the parts of ``target`` in groups of up to ``group`` batches; a summary of each merge."""
    loc = resolve(target)
    if not loc.is_file(META):
        raise FileNotFoundError(f"{loc.uri} holds no {META}: not a sweep result folder")
    lock = Lock(loc)
    lock.acquire()  # no sweep may write while its batches are merged
    try:
        tidy(loc)
        groups = compaction_groups(loc, group)
        merged: list[dict] = []
        if groups and (address or workers):
            ray = import_ray(address)
            started = connect(address, workers)
            try:
                pool = ActorPool(ray, Compactor, (loc.uri if not loc.local else loc.root,),
                                 min(len(groups), workers or len(groups)))

                def lost(item, reason, died):
                    raise StoreError(f"a compaction worker failed ({reason}); the folder is intact: run it again")

                pool.run(iter(groups), "merge", lambda _g, answer: merged.append(answer), lost)
                pool.shutdown()
            finally:
                disconnect(started)
        else:
            merged = [compact_group(loc.uri if not loc.local else loc.root, g) for g in groups]
        tidy(loc)
        return merged
    finally:
        lock.release()
