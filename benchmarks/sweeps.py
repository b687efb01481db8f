"""Sweeps of the base case on Ray: persistent workers (one model per worker, parameters pushed into
HiGHS) against workers that rebuild the model for every scenario, at 1 and 2 workers.

Per run: scenarios per second (wall time of ``run_sweep``, Ray start-up included, and from the first to
the last result, without it), the median over scenarios of the worker's wall time per scenario and of
HiGHS's own time, and the resident memory of the workers after 20 scenarios and at the end.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import pandas as pd
import psutil
import yaml

from optimizer.errors import InputError
from optimizer.sweep.runner import run_sweep
from optimizer.yamlfile import read_yaml

ROOT = Path(__file__).resolve().parents[1]
MONTE_CARLO = ROOT / "scenarios" / "sweeps" / "monte_carlo.yaml"
EARLY = 20  # scenarios after which worker memory is first read


def monte_carlo_file(folder: Path, count: int, seed: int = 20261121, base: Path | None = None) -> Path:
    """The Monte Carlo sweep of the base case cut to ``count`` samples, written into ``folder``; ``base``
    replaces the shipped base case (e.g. an older commit's, which both an old and a new runner read)."""
    spec, problems = read_yaml(MONTE_CARLO)
    if problems or not isinstance(spec, dict):
        raise InputError(problems)
    spec["base"] = str(base.resolve() if base is not None else (MONTE_CARLO.parent / spec["base"]).resolve())
    spec["name"] = f"monte_carlo_{count}"
    spec["samples"]["count"] = count
    spec["samples"]["seed"] = seed
    path = folder / f"monte_carlo_{count}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


class MemoryProbe:
    """``on_progress`` hook of :func:`run_sweep`: the workers' RSS (MB) once ``EARLY`` scenarios are
    done and at the last call, the driver's RSS over time, and when the first result came in."""

    def __init__(self) -> None:
        self.pids: set[int] = set()
        self.early_mb: float | None = None
        self.last_mb: float | None = None
        self.first_result: float | None = None
        self.last_result: float | None = None
        self.driver: list[tuple[float, int, float]] = []  # (seconds, scenarios done, driver RSS MB)
        self.t0 = time.perf_counter()
        self._done = 0

    def workers_mb(self) -> float | None:
        sizes = []
        for pid in self.pids:
            try:
                sizes.append(psutil.Process(pid).memory_info().rss / 2**20)
            except psutil.Error:
                continue
        return max(sizes) if sizes else None

    def __call__(self, progress) -> None:
        if not self.pids or len(self.pids) < 2:
            self.pids.update(worker_pids())
        done = sum(progress.counts.values())
        now = time.perf_counter() - self.t0
        if done and self.first_result is None:
            self.first_result = now
        if done > self._done:
            self.last_result = now
            self._done = done
            self.driver.append((now, done, psutil.Process().memory_info().rss / 2**20))
            mb = self.workers_mb()
            if mb is not None:
                self.last_mb = mb
                if self.early_mb is None and done >= EARLY:
                    self.early_mb = mb


def worker_pids() -> set[int]:
    """The sweep's solver actors on this machine (their process title names the actor class)."""
    found = set()
    for p in psutil.process_iter(["cmdline"]):
        try:
            if any("SweepWorker" in part for part in (p.info["cmdline"] or [])):
                found.add(p.pid)
        except psutil.Error:
            continue
    return found


def run_one(sweep_file: Path, workers: int, rebuild: bool) -> dict[str, object]:
    """One sweep run and its row of the sweep table."""
    probe = MemoryProbe()
    with tempfile.TemporaryDirectory() as tmp:
        run = run_sweep(sweep_file, Path(tmp) / "out", workers=workers, rebuild=rebuild, on_progress=probe)
        summary = pd.read_parquet(Path(tmp) / "out" / "summary.parquet")
    ok = summary[summary["status"].isin(["optimal", "feasible"])]
    steady = (probe.last_result or run.wall_seconds) - (probe.first_result or 0.0)
    ratio = (ok["wall_seconds"] / ok["solve_seconds"]).median() if len(ok) else None
    return {
        "mode": "rebuild" if rebuild else "persistent",
        "workers": workers,
        "scenarios": run.solved,
        "statuses": ";".join(f"{k}={v}" for k, v in sorted(run.counts.items())),
        "wall_s": run.wall_seconds,
        "scen_per_s": run.solved / run.wall_seconds,
        "steady_scen_per_s": (run.solved - 1) / steady if steady > 0 else None,
        "median_case_wall_s": float(ok["wall_seconds"].median()) if len(ok) else None,
        "median_highs_s": float(ok["solve_seconds"].median()) if len(ok) else None,
        "median_wall_over_highs": float(ratio) if ratio is not None else None,
        "wall_over_highs_of_medians": (float(ok["wall_seconds"].median() / ok["solve_seconds"].median())
                                       if len(ok) else None),
        "rebuilds": run.rebuilds,
        "worker_mb_after_20": probe.early_mb,
        "worker_mb_at_end": probe.last_mb,
    }


def sweep_table(count: int, worker_counts: tuple[int, ...] = (1, 2)) -> pd.DataFrame:
    """Every (mode, workers) run on the same ``count`` Monte Carlo scenarios, with the derived ratios:
    parallel efficiency = rate(n) / (n rate(1)) and speed-up = rate(persistent) / rate(rebuild), both on
    the steady rate (first to last result)."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        sweep_file = monte_carlo_file(Path(tmp), count)
        for rebuild in (False, True):
            for n in worker_counts:
                rows.append(run_one(sweep_file, n, rebuild))
    table = pd.DataFrame(rows)
    rate = {(r["mode"], r["workers"]): r["steady_scen_per_s"] for r in rows}
    table["parallel_efficiency"] = [rate[m, w] / (w * rate[m, 1]) if (m, 1) in rate else None
                                    for m, w in zip(table["mode"], table["workers"])]
    table["speedup_vs_rebuild"] = [rate[m, w] / rate["rebuild", w] if ("rebuild", w) in rate else None
                                   for m, w in zip(table["mode"], table["workers"])]
    table["memory_growth"] = table["worker_mb_at_end"] / table["worker_mb_after_20"]
    return table


def case_breakdown(count: int = 40) -> pd.DataFrame:
    """Where a persistent worker's time per scenario goes (median ms over ``count`` Monte Carlo cases, one
    process, no Ray): resolving the case's changes, its scenario id, the derived model data, the structure
    check, the parameter push, HiGHS (as it reports), the rest of the re-solve, and result extraction."""
    import itertools

    from optimizer.io import load_scenario
    from optimizer.model.params import structure_key
    from optimizer.results import extract_tables
    from optimizer.solver import SolveOptions
    from optimizer.sweep.apply import apply_changes
    from optimizer.sweep.cases import scenario_id, scenario_id_of
    from optimizer.sweep.spec import load_sweep
    from optimizer.sweep.worker import CaseSolver

    sweep = load_sweep(MONTE_CARLO)
    base = load_scenario(sweep.base_path)
    options = SolveOptions(time_limit=120, rel_gap=float(dict(sweep.options).get("rel_gap", 1e-4)), threads=1)
    worker = CaseSolver(base, options, str(sweep.path))
    cases = list(itertools.islice(sweep.cases(), count + 1))
    worker.solve("first", cases[0])  # the one build
    parts: dict[str, list[float]] = {k: [] for k in ("resolve changes", "scenario id", "model data",
                                                     "structure check", "parameter push", "HiGHS",
                                                     "re-solve call - HiGHS", "extraction")}

    def timed(name: str, fn):
        t = time.perf_counter()
        out = fn()
        parts[name].append(1000 * (time.perf_counter() - t))
        return out

    for case in cases[1:]:
        # as the worker does it: on arrays (optimizer.sweep.arrays) when the case allows, else on tables
        resolved = timed("resolve changes", lambda c=case: worker.arrays.resolve(c.changes) if worker.arrays else None)
        if resolved is not None:
            timed("scenario id", lambda r=resolved: scenario_id_of(r.inputs_sha256, options.as_dict()))
            scenario = timed("model data", resolved.scenario)
            parts["structure check"].append(0.0)  # parameter changes only: the base's structure
        else:
            tried = parts["resolve changes"].pop()  # the array path's try counts with the pandas path
            scenario = timed("resolve changes", lambda c=case: apply_changes(base, c.changes, masks=worker.masks))
            parts["resolve changes"][-1] += tried
            timed("scenario id", lambda s=scenario: scenario_id(s, options.as_dict()))
            timed("model data", lambda s=scenario: s.data)
            timed("structure check", lambda s=scenario: structure_key(s))
        timed("parameter push", lambda s=scenario, r=resolved: worker._update(s, r))
        outcome = timed("re-solve call - HiGHS", worker.push.solve)
        parts["HiGHS"].append(1000 * outcome.solve_seconds)
        parts["re-solve call - HiGHS"][-1] -= 1000 * outcome.solve_seconds
        timed("extraction", lambda o=outcome: extract_tables(worker.model, o, {}, None))
    rows = [{"step": k, "median_ms": float(pd.Series(v).median())} for k, v in parts.items()]
    total = sum(r["median_ms"] for r in rows)
    highs = next(r["median_ms"] for r in rows if r["step"] == "HiGHS")
    rows.append({"step": "sum (wall / HiGHS = %.2f)" % (total / highs), "median_ms": total})
    return pd.DataFrame(rows)
