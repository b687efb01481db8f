"""Fault injection for sweep tests, kept out of the production worker: a subclass of the sweep's actor body
that fails on purpose, made per test with :func:`faulty` (its settings travel with the class to Ray)."""

from __future__ import annotations

import os
import sys
import time

import ray.cloudpickle

from optimizer.sweep.slices import case_slice
from optimizer.sweep.worker import SweepWorker

ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # Ray workers need not import this file


class FaultyWorker(SweepWorker):
    crash_case: str | None = None  # the worker process exits when it reaches this case (like a crash)
    stall_case: str | None = None  # ... stops answering at this case (like a hung solver)
    # the first worker to commit a batch exits before answering (a lost acknowledgement); the marker file,
    # created exclusively, makes that happen once
    die_after_commit: str | None = None

    def run_batch(self, batch: tuple[int, int]) -> dict:
        names = {case.name for _, case in case_slice(self.context.sweep, *batch)}
        if self.crash_case in names:
            os._exit(70)
        if self.stall_case in names:
            while True:
                time.sleep(3600)
        answer = super().run_batch(batch)
        if self.die_after_commit:
            try:
                os.close(os.open(self.die_after_commit, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                return answer
            os._exit(71)
        return answer


def faulty(**faults: str) -> type:
    """A :class:`FaultyWorker` with the given faults set (crash_case, stall_case, die_after_commit)."""
    return type("FaultyWorker", (FaultyWorker,), dict(faults))
