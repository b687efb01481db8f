"""Running a sweep on Ray: long-lived solver actors, a bounded number of batches in flight, results
consumed in completion order and written in batches, failed workers replaced and their cases retried.

Ray is imported here only, so a single solve never starts it. With no address (and no RAY_ADDRESS) an
embedded local Ray is started with one CPU per worker and stopped at the end.
"""

from __future__ import annotations

import os
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..io import load_scenario
from ..outpath import check_output_folder
from ..solver import SolveOptions, Status
from .cases import Case
from .spec import load_sweep
from .store import SweepStore
from .worker import CaseResult, CaseSolver, case_key, failed_result

LOOPBACK_ONLY_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
DEFAULT_TIME_LIMIT = 120.0  # seconds per scenario unless the sweep file or --time-limit says otherwise
MAX_ATTEMPTS = 3  # a case whose worker dies this many times is recorded as an error
STALL_GRACE = 60.0  # seconds beyond the solver time limit before a silent worker is killed
START_TIMEOUT = 60.0  # seconds a replacement worker may take to start before its slot is given up
# fault injection for tests: a worker that reaches the case named in CRASH_CASE_ENV exits at once, like a
# crash; one that reaches the case named in STALL_CASE_ENV stops answering, like a hung solver
CRASH_CASE_ENV = "OPTIMIZER_FAULT_CRASH_CASE"
STALL_CASE_ENV = "OPTIMIZER_FAULT_STALL_CASE"
FAULT_ENVS = (CRASH_CASE_ENV, STALL_CASE_ENV)


@dataclass
class SweepRun:
    """The outcome of :func:`run_sweep`."""

    out: Path
    total: int
    skipped: int  # already complete before this run
    solved: int
    counts: dict[str, int]
    wall_seconds: float
    workers: int
    rebuilds: int = 0
    worker_restarts: int = 0
    extra: dict = field(default_factory=dict)


class _SolverActor:
    """Body of the Ray actor: one CaseSolver, kept for the whole sweep."""

    def __init__(self, base, options: dict, source: str, rebuild: bool = False):
        self.solver = CaseSolver(base, SolveOptions(**options), source, rebuild=rebuild)

    def pid(self) -> int:
        return os.getpid()

    def solve_batch(self, items: list[tuple[str, Case]]) -> list[CaseResult]:
        crash = os.environ.get(CRASH_CASE_ENV)
        if crash and any(case.name == crash for _, case in items):
            os._exit(70)
        stall = os.environ.get(STALL_CASE_ENV)
        if stall and any(case.name == stall for _, case in items):
            while True:  # never returns: the driver's stall backstop must stop this worker
                time.sleep(3600)
        return [self.solver.solve(key, case) for key, case in items]

    def stats(self) -> dict:
        return {"solved": self.solver.solved, "rebuilds": self.solver.rebuilds}


def _is_loopback(address: str) -> bool:
    host = address.split("://")[-1].rsplit(":", 1)[0].strip("[]")
    return host in ("127.0.0.1", "localhost", "::1")


def import_ray(address: str | None = None):
    """Import Ray, first keeping an embedded Ray (or a cluster on this machine's loopback) on 127.0.0.1:
    otherwise Ray rewrites loopback to the outward IP and listens on every interface. Ray reads this
    switch (its single-machine mode, the default on macOS and Windows) at import."""
    target = address or os.environ.get("RAY_ADDRESS")
    if (not target or _is_loopback(target)) and "ray" not in sys.modules:
        os.environ.setdefault(LOOPBACK_ONLY_ENV, "0")
    import ray

    return ray


def connect_ray(address: str | None = None, workers: int | None = None) -> bool:
    """Attach to the cluster at ``address`` (or ``RAY_ADDRESS``), or start an embedded Ray with one CPU
    per worker; nothing when Ray is already up in this process. True when this call started it (the
    caller then shuts it down)."""
    ray = import_ray(address)
    if ray.is_initialized():
        return False
    address = address or os.environ.get("RAY_ADDRESS")
    if address:
        ray.init(address=address, log_to_driver=False)
    else:
        ray.init(num_cpus=workers or os.cpu_count() or 1, include_dashboard=False, log_to_driver=False)
    return True


def _batches(items: Iterator[tuple[str, Case]], size: int) -> Iterator[list[tuple[str, Case]]]:
    batch: list[tuple[str, Case]] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def run_sweep(
    sweep_file: str | Path,
    out: str | Path | None = None,
    *,
    address: str | None = None,
    workers: int | None = None,
    time_limit: float | None = None,
    batch_size: int = 4,
    flush_every: int = 50,
    on_progress: Callable[[SweepStore, int, int], None] | None = None,
    stall_grace: float = STALL_GRACE,
    rebuild: bool = False,
) -> SweepRun:
    """Solve every case of a sweep not yet complete in ``out``; see the module docstring.

    A worker silent for longer than (time limit + ``stall_grace``) seconds per scenario of its batch is
    killed and its cases retried, each recorded as ``error`` after :data:`MAX_ATTEMPTS` tries.
    ``rebuild`` makes every worker build a fresh model for every case (the benchmark's baseline)."""
    t0 = time.perf_counter()
    sweep = load_sweep(sweep_file)  # a bad or oversized sweep file is refused before Ray is even imported
    ray = import_ray(address)
    from ray.exceptions import GetTimeoutError, RayActorError, RayTaskError

    base = load_scenario(sweep.base_path)
    opts = {"time_limit": DEFAULT_TIME_LIMIT, "rel_gap": 1e-4, **dict(sweep.options)}
    if time_limit is not None:
        opts["time_limit"] = time_limit
    options = SolveOptions(time_limit=opts["time_limit"], rel_gap=opts["rel_gap"], threads=1, seed=0)
    out = Path(out) if out is not None else Path("results") / sweep.name
    check_output_folder(out)  # before any solve: a wrong --out is found at once
    meta = {"sweep": sweep.name, "file": str(sweep.path), "base": str(sweep.base_path), "options": options.as_dict(),
            "parameters": list(sweep.parameter_names), "cases": sweep.count()}
    total = sweep.count()
    skipped = 0

    def todo() -> Iterator[tuple[str, Case]]:
        nonlocal skipped
        for case in sweep.cases():
            key = case_key(base.inputs_sha256, case, options.as_dict())
            if key in store.done:
                skipped += 1
                continue
            yield key, case

    started_here = connect_ray(address, workers)
    # the results folder is created only once Ray has accepted this driver: a refused connection
    # leaves nothing behind
    store = SweepStore(out, meta, sweep.parameter_names, flush_every=flush_every)
    n_workers = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
    actor_cls = ray.remote(num_cpus=1, max_restarts=0, max_task_retries=0)(_SolverActor)
    faults = {k: os.environ[k] for k in FAULT_ENVS if os.environ.get(k)}
    if faults:  # reach workers of a Ray started before the variables were set (tests on a shared Ray)
        actor_cls = actor_cls.options(runtime_env={"env_vars": faults})
    base_ref = ray.put(base)

    def new_actor():
        return actor_cls.remote(base_ref, {"time_limit": options.time_limit, "rel_gap": options.rel_gap,
                                           "threads": 1, "seed": options.seed}, str(sweep.path), rebuild)

    actors: list = [None] * n_workers
    idle: deque[int] = deque()
    starting: dict = {}  # ref of the actor's pid() call -> (slot, started_at): not given work until it answers
    inflight: dict = {}  # ref -> (slot, items, submitted_at)
    retry: deque[tuple[str, Case]] = deque()
    attempts: dict[str, int] = {}
    restarts = 0
    fresh = _batches(todo(), batch_size)
    exhausted = False
    per_case = (options.time_limit or DEFAULT_TIME_LIMIT) + stall_grace

    def start(slot: int) -> None:
        actors[slot] = new_actor()
        starting[actors[slot].pid.remote()] = (slot, time.monotonic())

    def lose(slot: int, reason: str) -> None:
        """The worker in ``slot`` is gone: retry its cases one by one (or record them as errors after
        MAX_ATTEMPTS) and start a replacement, which gets work once it answers."""
        nonlocal restarts
        for ref, (s, items, _) in list(inflight.items()):
            if s != slot:
                continue
            del inflight[ref]
            for key, case in items:
                attempts[key] = attempts.get(key, 0) + 1
                if attempts[key] >= MAX_ATTEMPTS:
                    store.add(failed_result(key, case, Status.ERROR, f"{reason} ({attempts[key]} attempts)"))
                else:
                    retry.append((key, case))
        restarts += 1
        start(slot)

    for slot in range(n_workers):
        start(slot)
    try:
        while True:
            while idle and (retry or not exhausted):
                if retry:
                    items = [retry.popleft()]
                else:
                    items = next(fresh, None)
                    if items is None:
                        exhausted = True
                        break
                slot = idle.popleft()
                inflight[actors[slot].solve_batch.remote(items)] = (slot, items, time.monotonic())
            if on_progress:
                on_progress(store, total, skipped)
            work_left = bool(retry) or not exhausted
            if not inflight and not work_left:
                break
            if not inflight and not starting and not idle:
                raise RuntimeError("no Ray worker could be started: are there CPUs left in the cluster?")
            ready, _ = ray.wait(list(inflight) + list(starting), num_returns=1, timeout=0.5)
            for ref in ready:
                if ref in starting:
                    slot, _ = starting.pop(ref)
                    try:
                        ray.get(ref)
                        idle.append(slot)
                    except RayActorError:  # died while starting (its node went away): try again
                        restarts += 1
                        start(slot)
                    continue
                slot, items, _ = inflight.pop(ref)
                try:
                    for result in ray.get(ref):
                        store.add(result)
                    idle.append(slot)
                except RayActorError:
                    inflight[ref] = (slot, items, 0.0)
                    lose(slot, "worker died")
                except RayTaskError as exc:  # an exception escaped CaseSolver: record, keep the worker
                    for key, case in items:
                        store.add(failed_result(key, case, Status.ERROR, str(exc).splitlines()[-1]))
                    idle.append(slot)
            now = time.monotonic()
            for ref, (slot, items, submitted) in list(inflight.items()):
                if submitted and now - submitted > per_case * len(items):
                    ray.kill(actors[slot], no_restart=True)
                    try:
                        ray.get(ref, timeout=5)
                    except (RayActorError, GetTimeoutError, RayTaskError):
                        pass
                    if ref in inflight:
                        lose(slot, f"worker stalled past {per_case:.0f} s per scenario and was stopped")
            for ref, (slot, since) in list(starting.items()):
                # a replacement that cannot be placed (the cluster lost its CPUs) is given up while other
                # workers carry on; the sweep goes on with fewer workers
                if now - since > START_TIMEOUT and (idle or inflight or len(starting) > 1):
                    del starting[ref]
                    ray.kill(actors[slot], no_restart=True)
                    actors[slot] = None
    finally:
        store.flush()
        if on_progress:
            on_progress(store, total, skipped)
        stats = []
        for actor in (a for a in actors if a is not None):
            try:
                stats.append(ray.get(actor.stats.remote(), timeout=10))
            except Exception:  # a dead or stalled actor has no stats to give
                pass
        store.compact()
        if started_here:
            ray.shutdown()
    solved = sum(store.counts.values())
    return SweepRun(out, total, skipped, solved, dict(store.counts), time.perf_counter() - t0, n_workers,
                    rebuilds=sum(s["rebuilds"] for s in stats), worker_restarts=restarts)


def solve_in_loop(sweep_file: str | Path, limit: int | None = None, rebuild: bool = True) -> list[CaseResult]:
    """The plain loop, for comparison and tests: every case solved in this process, one after another,
    rebuilding the model each time (``rebuild``) or reusing it like a worker does."""
    sweep = load_sweep(sweep_file)
    base = load_scenario(sweep.base_path)
    opts = {"time_limit": DEFAULT_TIME_LIMIT, "rel_gap": 1e-4, **dict(sweep.options)}
    options = SolveOptions(time_limit=opts["time_limit"], rel_gap=opts["rel_gap"], threads=1, seed=0)
    solver = CaseSolver(base, options, str(sweep.path))
    results = []
    for i, case in enumerate(sweep.cases()):
        if limit is not None and i >= limit:
            break
        if rebuild:
            solver.key = None
        results.append(solver.solve(case_key(base.inputs_sha256, case, options.as_dict()), case))
    return results
