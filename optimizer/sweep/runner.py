"""Running a sweep: the driver hands out ranges of case numbers to a pool of solver actors and counts their
acknowledgements; the actors build their cases, solve them and write the results themselves where the
sweep's results live (:mod:`.worker`, :mod:`.store`). No scenario and no result table passes through the
driver, and it holds nothing per case: what is done is a list of merged ranges.

Batches adapt: the first one per worker holds one case; then each holds about :data:`TARGET_BATCH_SECONDS`
of work (from the measured time per case), at most :data:`MAX_BATCH` cases and at most a share of what is
left, so the last batches still spread over every worker.

A worker that dies mid-batch (its process or its node): if the batch's commit record exists (it committed,
then died before answering) the batch is done; otherwise its cases are tried again one by one, and a case
whose worker dies :data:`MAX_ATTEMPTS` times is recorded as ``error``. A worker silent for longer than
(time limit + ``stall_grace``) seconds per case of its batch is stopped and treated the same way.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..io import load_scenario
from ..location import resolve
from ..outpath import check_output_folder
from ..ray_pool import ActorPool, ClusterError, cluster_cpus, connect, disconnect, import_ray
from ..scenario import Scenario
from ..solver import SolveOptions, Status
from .cases import Sweep
from .dataset import tidy
from .slices import case_slice, parameter_types
from .spec import load_sweep
from .store import Ranges, done_ranges, forget_folder, open_folder, read_commit, sweep_identity
from .store import StoreError as StoreError
from .worker import CaseResult, CaseSolver, SweepContext, SweepWorker, case_key, failed_result, write_results

DEFAULT_TIME_LIMIT = 120.0  # seconds per scenario unless the sweep file or --time-limit says otherwise
MAX_ATTEMPTS = 3  # a case whose worker dies this many times is recorded as an error
STALL_GRACE = 60.0  # seconds beyond the solver time limit before a silent worker is killed
TARGET_BATCH_SECONDS = 2.0
MAX_BATCH = 500
MAX_WORKERS_PER_CPU = 4  # an embedded Ray: at most this many workers per core of this machine
MAX_WORKERS = 100_000


@dataclass
class SweepProgress:
    """What the driver knows while it runs (given to ``on_progress``)."""

    total: int
    skipped: int
    counts: Counter = field(default_factory=Counter)

    @property
    def done(self) -> int:
        return self.skipped + sum(self.counts.values())


@dataclass
class SweepRun:
    """The outcome of :func:`run_sweep`."""

    out: Path | str
    total: int
    skipped: int  # already complete before this run
    solved: int
    counts: dict[str, int]
    wall_seconds: float
    workers: int
    rebuilds: int = 0
    worker_restarts: int = 0
    extra: dict = field(default_factory=dict)


class BatchSizer:
    """How many cases the next batch gets (see the module docstring)."""

    def __init__(self, workers: int, fixed: int | None = None):
        self.workers = workers
        self.fixed = fixed
        self.per_case: float | None = None

    def observe(self, cases: int, seconds: float) -> None:
        if cases > 0 and seconds > 0:
            rate = seconds / cases
            self.per_case = rate if self.per_case is None else 0.7 * self.per_case + 0.3 * rate

    def size(self, remaining: int) -> int:
        if self.fixed:
            return self.fixed
        if self.per_case is None:
            return 1
        size = int(TARGET_BATCH_SECONDS / max(self.per_case, 1e-6))
        return max(1, min(size, MAX_BATCH, remaining // (2 * self.workers) or 1))


def batches(done: Ranges, total: int, sizer: BatchSizer) -> Iterator[tuple[int, int]]:
    """Ranges of cases not yet done, in sweep order, each as long as the sizer says when it is pulled."""
    remaining = total - done.count()
    for start, stop in done.gaps(total):
        at = start
        while at < stop:
            end = min(stop, at + sizer.size(remaining))
            yield at, end
            remaining -= end - at
            at = end


def sweep_options(sweep, time_limit: float | None) -> SolveOptions:
    opts = {"time_limit": DEFAULT_TIME_LIMIT, "rel_gap": 1e-4, **dict(sweep.options)}
    if time_limit is not None:
        opts["time_limit"] = time_limit
    return SolveOptions(time_limit=opts["time_limit"], rel_gap=opts["rel_gap"], threads=1, seed=0)


def _check_workers(workers: int | None, address: str | None) -> None:
    import os

    if workers is None:
        return
    cpus = os.cpu_count() or 1
    embedded = not (address or os.environ.get("RAY_ADDRESS"))
    limit = MAX_WORKERS_PER_CPU * cpus if embedded else MAX_WORKERS
    if workers > limit:
        where = f"this machine has {cpus} CPUs" if embedded else "a cluster run"
        raise ClusterError(f"--workers {workers} is more than {limit} ({where}; at most {MAX_WORKERS_PER_CPU} per CPU "
                           "for a local run): give fewer, or attach to a cluster with --address"
                           if embedded else f"--workers {workers} is more than {limit} ({where})")


def sweep_meta(sweep: Sweep, base: Scenario, options: SolveOptions) -> tuple[str, dict]:
    """The sweep's identity (base inputs, options and cases: a results folder belongs to one) and the
    ``sweep.json`` record of its folder, with absolute paths so that an audit from any folder finds them."""
    identity = sweep_identity(base.inputs_sha256, options.as_dict(),
                              repr((sweep.include_base, sweep.grid, sweep.named, sweep.samples)))
    return identity, {"format": "sweep-2", "identity": identity, "sweep": sweep.name,
                      "file": str(Path(sweep.path).resolve()), "base": str(Path(sweep.base_path).resolve()),
                      "options": options.as_dict(), "parameters": list(sweep.parameter_names),
                      "cases": sweep.count()}


def run_sweep(
    sweep_file: str | Path | Sweep,
    out: str | Path | None = None,
    *,
    address: str | None = None,
    workers: int | None = None,
    time_limit: float | None = None,
    batch_size: int | None = None,
    on_progress: Callable[[SweepProgress], None] | None = None,
    stall_grace: float = STALL_GRACE,
    rebuild: bool = False,
    overwrite: bool = False,
    repair: bool = False,
    verbose: bool = False,
    worker_class: type = SweepWorker,
) -> SweepRun:
    """Solve every case of a sweep not yet committed in ``out`` (a folder, shared path or URI); see the
    module docstring. ``rebuild`` makes every worker build a fresh model for every case (the benchmark's
    baseline); ``repair`` drops batches whose parts are missing or truncated (their cases are solved again);
    ``worker_class`` is the actor's body (tests give a subclass that injects faults). ``sweep_file`` may be
    a sweep already loaded (and so validated) by the caller, such as ``optimizer robust``."""
    t0 = time.perf_counter()
    _check_workers(workers, address)
    sweep = sweep_file if isinstance(sweep_file, Sweep) else load_sweep(sweep_file)
    base = sweep.load_base()
    options = sweep_options(sweep, time_limit)
    loc = resolve(str(out) if out is not None else Path("results") / sweep.name)
    if loc.local:
        check_output_folder(loc.root)  # before any solve: a wrong --out is found at once
    total = sweep.count()
    _, meta = sweep_meta(sweep, base, options)
    progress = SweepProgress(total, 0)
    ray = import_ray(address)
    existed = loc.exists()
    started = False
    lock = None
    pool = None
    stats: list[dict] = []
    n_workers = 0
    try:
        # the folder first (a second run on it is refused at once, without starting Ray), then Ray if there
        # is work; a refused connection leaves nothing behind in a folder this run created
        lock = open_folder(loc, meta, overwrite=overwrite)
        tidy(loc, repair=repair)
        done = done_ranges(loc)
        progress.skipped = done.count()
        todo = total - progress.skipped
        if todo:
            try:
                started = connect(address, min(workers, todo) if workers else None, verbose=verbose)
            except BaseException:
                lock.release()
                lock = None
                if not existed:
                    forget_folder(loc)
                raise
        n_workers = max(1, min(workers or cluster_cpus(ray), todo)) if todo else 0
        types = parameter_types(sweep)
        context = SweepContext(sweep, base, options.as_dict(), loc.uri if not loc.local else loc.root, types,
                               rebuild)
        sizer = BatchSizer(n_workers, batch_size)
        attempts: Counter = Counter()
        per_case = (options.time_limit or DEFAULT_TIME_LIMIT) + stall_grace

        def on_result(batch: tuple[int, int], answer: dict) -> None:
            done.add(*batch)
            progress.counts.update(answer["counts"])
            sizer.observe(batch[1] - batch[0], answer.get("seconds", 0.0))

        def record_error(i: int, message: str) -> None:
            (_, case), = case_slice(sweep, i, i + 1)
            result = failed_result(case_key(base.inputs_sha256, case, options.as_dict()), case, Status.ERROR, message)
            result.case_index = i
            on_result((i, i + 1), write_results(loc, i, i + 1, [result], sweep.parameter_names, types))

        def on_lost(batch: tuple[int, int], reason: str, died: bool) -> list[tuple[int, int]]:
            start, stop = batch
            record = read_commit(loc, start, stop)
            if record is not None:  # it committed, then its answer was lost: done
                on_result(batch, record)
                return []
            if not died:  # an exception escaped the worker's code: a result, not a retry
                for i in range(start, stop):
                    record_error(i, reason)
                return []
            retry = []
            for i in range(start, stop):
                attempts[i] += 1
                if attempts[i] >= MAX_ATTEMPTS:
                    record_error(i, f"{reason} ({attempts[i]} attempts)")
                    del attempts[i]
                else:
                    retry.append((i, i + 1))
            return retry

        def on_tick() -> None:
            lock.refresh()
            if on_progress:
                on_progress(progress)

        if todo:
            pool = ActorPool(ray, worker_class, (ray.put(context),), n_workers)
            pool.run(batches(done, total, sizer), "run_batch", on_result, on_lost,
                     deadline=lambda b: per_case * (b[1] - b[0]), on_tick=on_tick)
            stats = pool.gather("stats")
            tidy(loc)
    finally:
        if pool is not None:
            pool.shutdown()
        if lock is not None:
            lock.release()
        disconnect(started)
    if on_progress:
        on_progress(progress)
    return SweepRun(Path(loc.root) if loc.local else loc.uri, total, progress.skipped, sum(progress.counts.values()),
                    dict(progress.counts), time.perf_counter() - t0, n_workers,
                    rebuilds=sum(s["rebuilds"] for s in stats),
                    worker_restarts=pool.stats.restarts if pool is not None else 0)


def solve_in_process(sweep_file: str | Path, out: str | Path, *, options: SolveOptions | None = None,
                     batch_size: int = 8, overwrite: bool = False) -> Path | str:
    """Every case of a sweep solved in this process by one :class:`SweepWorker` (no Ray), written to ``out``
    exactly as a Ray run writes it."""
    sweep = load_sweep(sweep_file)
    base = sweep.load_base()
    options = options or sweep_options(sweep, None)
    loc = resolve(str(out))
    _, meta = sweep_meta(sweep, base, options)
    lock = open_folder(loc, meta, overwrite=overwrite)
    try:
        tidy(loc)
        context = SweepContext(sweep, base, options.as_dict(), loc.uri if not loc.local else loc.root,
                               parameter_types(sweep))
        worker = SweepWorker(context)
        for batch in batches(done_ranges(loc), sweep.count(), BatchSizer(1, batch_size)):
            worker.run_batch(batch)
    finally:
        lock.release()
    return Path(loc.root) if loc.local else loc.uri


def solve_in_loop(sweep_file: str | Path, limit: int | None = None, rebuild: bool = True) -> list[CaseResult]:
    """The plain loop, for comparison and tests: every case solved in this process, one after another,
    rebuilding the model each time (``rebuild``) or reusing it like a worker does."""
    sweep = load_sweep(sweep_file)
    base = load_scenario(sweep.base_path)
    options = sweep_options(sweep, None)
    solver = CaseSolver(base, options, str(sweep.path))
    results = []
    for i, case in enumerate(sweep.cases()):
        if limit is not None and i >= limit:
            break
        if rebuild:
            solver.key = None
        result = solver.solve(case_key(base.inputs_sha256, case, options.as_dict()), case)
        result.case_index = i
        results.append(result)
    return results
