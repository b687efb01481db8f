"""The command line: ``optimizer solve | sweep | robust | report | validate | export | audit``.

Exit codes: 0 a solution was found (or the input is valid), 2 bad input or usage, 3 no solution
(infeasible, unbounded, or none found in time).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from .api import PACKAGED_BASE, default_scenario
from .api import solve as solve_scenario
from .audit import audit_result
from .audit_sweep import audit_sweep, resolve_source
from .cli_print import err, number, out, print_summary, print_warnings
from .errors import InputError
from .export import export_results
from .folders import FolderError, claim_solve_folder, claim_solve_location, write_solve
from .io import load_scenario, write_scenario
from .location import is_uri, resolve
from .outpath import check_output_file, check_output_folder
from .overrides import other_scenario_in, override_scenario
from .ray_pool import ClusterError
from .report import write_report
from .results import SolveResult
from .robust.run import run_robust
from .solver import SolveOptions
from .sweep.compaction import compact as compact_sweep
from .sweep.runner import run_sweep
from .sweep.spec import load_sweep
from .sweep.store import StoreError

EXIT_OK, EXIT_INPUT, EXIT_NO_SOLUTION = 0, 2, 3
SOLVE_TIME_LIMIT = 600.0
"""Default time limit of a single solve (s): the base case takes well under a second; a scenario that runs
longer stops with its best plan as status ``feasible`` and its gap (docs/results.md)."""

app = typer.Typer(
    name="optimizer",
    help="Battery-cell sourcing and capacity optimisation (Pyomo + HiGHS).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help texts are plain: "[default: ...]" must not be read as markup
)


def _fail_input(exc: InputError) -> None:
    err.print("error:", style="bold red", end=" ")
    err.print(exc.render(), markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(EXIT_INPUT)


def _fail_usage(exc: Exception) -> None:
    err.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(EXIT_INPUT) from None


@app.command()
def solve(
    scenario: Annotated[Path | None, typer.Argument(
        help="Scenario folder or .xlsx workbook [default: scenarios/base if the current folder has one, else the "
             "base case packaged with the tool].", show_default=False)] = None,
    out_dir: Annotated[str | None, typer.Option("--out", help="Result folder or s3:// / gs:// URI [default: "
                                                "results/<scenario>].")] = None,
    time_limit: Annotated[float, typer.Option(help="HiGHS time limit in seconds; a solve stopped by it keeps its "
                                                   "best plan as status 'feasible'.", min=0)] = SOLVE_TIME_LIMIT,
    gap: Annotated[float, typer.Option(help="Relative MIP gap at which to stop.", min=0)] = 1e-4,
    threads: Annotated[int | None, typer.Option(help="HiGHS threads [default: all cores].", min=1)] = None,
    seed: Annotated[int, typer.Option(help="HiGHS random seed.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print manifest.json instead of the summary.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show HiGHS's log as it solves (on stderr).")]
    = False,
    log: Annotated[Path | None, typer.Option("--log", help="Write HiGHS's log to this file [default: no log].")]
    = None,
    write_mps: Annotated[Path | None, typer.Option("--write-mps", help="Also export the model as MPS.")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", metavar="KEY=VALUE", show_default=False,
                                                   help="Override a setting of scenario.yaml (repeatable), e.g. "
                                                        "--set total_budget_musd=3000 --set fx.JPY=1.1.")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace the results of another scenario (or a "
                                                                "sweep) that the result folder holds.")] = False,
) -> None:
    """Solve one scenario and write its result tables (parquet) and manifest.json."""
    try:
        check_output_file(log, "--log")
        options = SolveOptions(time_limit=time_limit, rel_gap=gap, threads=threads, seed=seed,
                               extra=highs_log_options(verbose, log))
        loaded, overrides = override_scenario(load_scenario(scenario or default_scenario()), set_ or [])
        remote = resolve(out_dir) if out_dir is not None and is_uri(out_dir) else None
        target = Path(out_dir) if out_dir is not None else Path("results") / loaded.name
        if remote is None:
            check_output_folder(target)  # before the solve: a wrong --out is found at once
        check_output_file(write_mps, "--write-mps")
    except InputError as exc:
        _fail_input(exc)
    if remote is not None:
        _solve_to_location(loaded, options, overrides, remote, overwrite, write_mps, as_json)
    try:  # before the solve: a sweep's folder, or one with foreign files, is refused at once
        claim_solve_folder(target, overwrite)
    except FolderError as exc:
        _fail_usage(exc)
    clash = None if overwrite else other_scenario_in(target, loaded)
    if clash:
        err.print(f"error: {clash}: give another --out, or --overwrite to replace them", markup=False,
                  highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_INPUT)
    print_warnings(loaded)
    result = solve_scenario(loaded, options, mps_path=write_mps)
    result.manifest["overrides"] = overrides
    target = result.write(target)
    if as_json:
        sys.stdout.write(json.dumps(result.manifest, indent=2, default=str) + "\n")
    else:
        print_summary(result, target)
    raise typer.Exit(EXIT_OK if result.status.has_solution else EXIT_NO_SOLUTION)


def _version(value: bool) -> None:
    if value:
        from importlib import metadata

        out.print(f"optimizer {metadata.version('battery-sourcing-optimizer')}", highlight=False)
        raise typer.Exit(EXIT_OK)


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Battery-cell sourcing and capacity optimisation (Pyomo + HiGHS)."""


def _solve_to_location(loaded, options: SolveOptions, overrides, loc, overwrite: bool, write_mps: Path | None,
                       as_json: bool) -> None:
    """``optimizer solve --out s3://...``: the location claimed before the solve (as a folder is), the tables
    and manifest.json written there (the manifest last)."""
    try:
        claim_solve_location(loc, loaded.inputs_sha256, overwrite)
    except (FolderError, OSError) as exc:
        _fail_usage(exc)
    print_warnings(loaded)
    result = solve_scenario(loaded, options, mps_path=write_mps)
    result.manifest["overrides"] = overrides
    write_solve(result, loc)
    if as_json:
        sys.stdout.write(json.dumps(result.manifest, indent=2, default=str) + "\n")
    else:
        print_summary(result, loc.uri)
    raise typer.Exit(EXIT_OK if result.status.has_solution else EXIT_NO_SOLUTION)


@app.command()
def init(
    target: Annotated[Path, typer.Argument(help="A new (or empty) folder to create the scenario in.")],
) -> None:
    """Copy the packaged base case into TARGET as a starting point for a scenario of your own."""
    import shutil

    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        err.print(f"error: {target} already exists and is not an empty folder: give a new folder",
                  markup=False, highlight=False)
        raise typer.Exit(EXIT_INPUT)
    target.mkdir(parents=True, exist_ok=True)
    for f in sorted(PACKAGED_BASE.iterdir()):
        if f.suffix in (".csv", ".yaml"):
            shutil.copyfile(f, target / f.name)
    out.print(f"wrote the base case to {target}: edit its CSV files and scenario.yaml, then "
              f"`optimizer validate {target}` and `optimizer solve {target}`", highlight=False)


@app.command()
def sweep(
    sweep_file: Annotated[Path, typer.Argument(help="A sweep file, e.g. scenarios/sweeps/tariffs.yaml.")],
    out_dir: Annotated[str | None, typer.Option("--out", help="Result folder, shared path or s3:// / gs:// URI "
                                                "[default: results/<sweep>].")] = None,
    address: Annotated[str | None, typer.Option(help="Ray cluster address [default: RAY_ADDRESS, else local].")]
    = None,
    workers: Annotated[int | None, typer.Option(help="Solver workers [default: all CPUs, at most one per scenario].",
                                                min=1)] = None,
    time_limit: Annotated[float | None, typer.Option(help="HiGHS time limit per scenario (s).", min=0)] = None,
    batch_size: Annotated[int | None, typer.Option(help="Scenarios per batch [default: adapted to the measured "
                                                        "time per scenario].", min=1)] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace the results of another sweep or solve "
                                            "in the --out folder.")] = False,
    repair: Annotated[bool, typer.Option("--repair", help="Drop batches whose files are missing or truncated and "
                                         "solve their scenarios again.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", help="Show Ray's own log lines.")] = False,
) -> None:
    """Solve every scenario of a sweep on Ray; re-running solves only what is missing."""
    import rich.progress as rp

    progress = rp.Progress(rp.TextColumn("[bold]{task.description}"), rp.BarColumn(), rp.MofNCompleteColumn(),
                           rp.TextColumn("{task.fields[counts]}"), rp.TimeElapsedColumn(), rp.TextColumn("ETA"),
                           rp.TimeRemainingColumn(), console=err, disable=quiet)
    task = progress.add_task(sweep_file.stem, total=None, counts="")

    def on_progress(state) -> None:
        counts = " ".join(f"{k} {v}" for k, v in sorted(state.counts.items()))
        progress.update(task, total=state.total, completed=state.done, counts=counts)

    try:
        spec = load_sweep(sweep_file)  # a bad sweep file is refused before any progress bar is drawn
        with progress:
            run = run_sweep(spec, out_dir, address=address, workers=workers, time_limit=time_limit,
                            batch_size=batch_size, on_progress=on_progress, overwrite=overwrite, repair=repair,
                            verbose=verbose)
    except InputError as exc:
        _fail_input(exc)
    except (ClusterError, StoreError) as exc:  # a cluster or a results folder that cannot be used as asked
        _fail_usage(exc)
    rate = run.solved / run.wall_seconds if run.wall_seconds > 0 else 0.0
    counts = ", ".join(f"{v} {k}" for k, v in sorted(run.counts.items())) or "nothing new"
    out.print(f"{run.total} scenarios: {run.skipped} already done, {run.solved} solved ({counts}) on {run.workers} "
              f"workers in {run.wall_seconds:.1f} s ({rate:.2f}/s); results: {run.out}", markup=False,
              highlight=False, soft_wrap=True)
    raise typer.Exit(EXIT_OK)


@app.command()
def compact(
    results: Annotated[str, typer.Argument(help="A sweep's result folder or URI.")],
    address: Annotated[str | None, typer.Option(help="Ray cluster address; with it (or --workers) the groups are "
                                                     "merged on Ray workers.")] = None,
    workers: Annotated[int | None, typer.Option(help="Merge on this many Ray workers [default: in this process].",
                                                min=1)] = None,
    group: Annotated[int, typer.Option(help="Batches merged into one part.", min=2)] = 64,
) -> None:
    """Merge a sweep's small parts into fewer, larger ones (optional; safe to interrupt at any point)."""
    try:
        merged = compact_sweep(results, group=group, address=address, workers=workers)
    except (ClusterError, StoreError, FileNotFoundError) as exc:
        _fail_usage(exc)
    out.print(f"merged {sum(m['merged'] for m in merged)} batches into {len(merged)} in {results}", markup=False)


@app.command()
def validate(scenario: Annotated[Path, typer.Argument(help="Scenario folder or .xlsx workbook.")]) -> None:
    """Check a scenario and list every problem (file, row, column, rule)."""
    try:
        loaded = load_scenario(scenario)
    except InputError as exc:
        _fail_input(exc)
    d = loaded.data
    out.print(f"[green]valid[/]: {loaded.name} ({loaded.origin}): {len(d.plants)} cell plants, "
              f"{len(d.assemblies)} assembly plants, {len(d.models)} models, years {d.years[0]}-{d.years[-1]}, "
              f"{len(d.arcs)} supply arcs")
    print_warnings(loaded)


@app.command()
def export(
    source: Annotated[Path, typer.Argument(help="A scenario (folder or .xlsx workbook), or a result folder of "
                                                "`optimizer solve` or `optimizer sweep`.")],
    target: Annotated[Path, typer.Argument(help="An .xlsx file, or a folder for CSV files.")],
) -> None:
    """Write a scenario, or a result's tables, as one .xlsx workbook or a folder of CSV files."""
    if (source / "manifest.json").is_file() or (source / "sweep.json").is_file():
        try:
            written = export_results(source, target)
        except ValueError as exc:
            err.print(f"error: {exc}", markup=False, highlight=False)
            raise typer.Exit(EXIT_INPUT) from None
        out.print(f"wrote {written}", highlight=False)
        return
    try:
        loaded = load_scenario(source)
    except InputError as exc:
        _fail_input(exc)
    print_warnings(loaded)
    out.print(f"wrote {write_scenario(loaded, target)}", highlight=False)


@app.command()
def audit(
    results_dir: Annotated[Path, typer.Argument(help="A result folder written by `optimizer solve` or `optimizer "
                                                     "sweep`.")],
    scenario: Annotated[Path | None, typer.Argument(help="The scenario solved [default: from the manifest].")] = None,
) -> None:
    """Recompute every constraint family from the written tables (every scenario of a sweep); exit 1 if any
    is violated."""
    if (results_dir / "sweep.json").is_file():
        _audit_sweep(results_dir, scenario)
    try:
        result = SolveResult.read(results_dir)  # a sweep folder is audited above
    except FileNotFoundError as exc:
        err.print(f"error: {exc}", markup=False, highlight=False)
        raise typer.Exit(EXIT_INPUT) from None
    if not isinstance(result, SolveResult):  # a sweep folder is audited above
        raise typer.Exit(EXIT_INPUT)
    try:
        loaded = load_scenario(scenario or _recorded_source(result.manifest, results_dir))
    except InputError as exc:
        _fail_input(exc)
    report = audit_result(loaded, result)
    table = Table("family", "checked", "violations", "worst relative")
    for row in report.itertuples(index=False):
        table.add_row(row.family, str(row.checked), str(row.violations), f"{row.worst:.2e}")
    out.print(table)
    raise typer.Exit(0 if int(report["violations"].sum()) == 0 else 1)


def _recorded_source(manifest: dict, results_dir: Path) -> Path:
    return resolve_source(str(manifest.get("source_path") or manifest["source"]), results_dir)


def _audit_sweep(results_dir: Path, scenario: Path | None) -> None:
    """Audit every scenario of a sweep folder; one line per case, then the families with violations."""
    if scenario is not None:
        err.print("error: a sweep folder is audited against its own sweep file: give no SCENARIO",
                  markup=False, highlight=False)
        raise typer.Exit(EXIT_INPUT)
    try:
        result = audit_sweep(results_dir)
    except InputError as exc:
        _fail_input(exc)
    fam = result.families
    table = Table("case", "families", "rows checked", "violations", "worst relative", title="Audit of the sweep")
    for case, rows in fam.groupby("case", sort=False):
        table.add_row(str(case), str(len(rows)), str(int(rows["checked"].sum())), str(int(rows["violations"].sum())),
                      f"{rows['worst'].max():.2e}")
    out.print(table)
    for row in fam[fam["violations"] > 0].itertuples(index=False):
        out.print(f"violated: {row.case}: {row.family} ({row.violations} rows, worst {row.worst:.2e})",
                  markup=False, highlight=False)
    for case, why in result.skipped.items():
        out.print(f"not audited: {case}: {why}", markup=False, highlight=False)
    out.print(f"{result.audited} scenarios audited, {result.violations} violations")
    raise typer.Exit(0 if result.violations == 0 else 1)


@app.command()
def robust(
    sweep_file: Annotated[Path, typer.Argument(help="A sweep file whose scenarios are the futures to plan for.")],
    out_dir: Annotated[Path | None, typer.Option("--out", help="Result folder [default: results/<sweep>].")] = None,
    address: Annotated[str | None, typer.Option(help="Ray cluster address [default: RAY_ADDRESS, else local].")]
    = None,
    workers: Annotated[int | None, typer.Option(help="Ray workers [default: all CPUs].", min=1)] = None,
    time_limit: Annotated[float | None, typer.Option(help="HiGHS time limit per scenario (s).", min=0)] = None,
    regret: Annotated[bool, typer.Option("--regret/--no-regret", help="Cross-evaluate every plan.")] = True,
    stochastic: Annotated[bool, typer.Option("--stochastic/--no-stochastic",
                                             help="Solve the two-stage extensive form.")] = True,
    decision_year: Annotated[int | None, typer.Option(help="Share only builds started up to this year "
                                                           "[default: every year].")] = None,
    cvar_weight: Annotated[float, typer.Option(help="Weight lambda of CVaR in the stochastic objective.", min=0)]
    = 0.0,
    cvar_alpha: Annotated[float, typer.Option(help="CVaR level alpha (the worst 1 - alpha of outcomes).", min=0,
                                              max=0.999)] = 0.95,
    ef_time_limit: Annotated[float, typer.Option(help="HiGHS time limit of the extensive form (s).", min=0)]
    = 1800.0,
    threads: Annotated[int | None, typer.Option(help="HiGHS threads for the extensive form.", min=1)] = None,
    method: Annotated[str, typer.Option(help="extensive (one HiGHS solve) or benders (subproblems on Ray, every "
                                             "build shared, LP recourse).")] = "extensive",
    weights: Annotated[Path | None, typer.Option(help="CSV of scenario,weight: each case's probability "
                                                      "[default: equal].")] = None,
) -> None:
    """One build plan for many futures: the regret matrix of a sweep's plans and a two-stage stochastic plan."""
    try:
        SolveOptions(time_limit=ef_time_limit, threads=threads)  # range-checked before the sweep runs
        run = run_robust(sweep_file, out_dir, address=address, workers=workers, time_limit=time_limit, regret=regret,
                         stochastic=stochastic, decision_year=decision_year, cvar_weight=cvar_weight,
                         cvar_alpha=cvar_alpha, ef_time_limit=ef_time_limit, ef_threads=threads, method=method,
                         weights_file=weights)
    except InputError as exc:
        _fail_input(exc)
    except ValueError as exc:  # an option that does not fit the futures (--method benders with a decision year)
        err.print(f"error: {exc}", markup=False, highlight=False)
        raise typer.Exit(EXIT_INPUT) from None
    out.print(f"{len(run.scenarios)} scenarios, {run.plans['plan'].nunique()} distinct plans"
              + (f"; left out (no solution): {', '.join(run.left_out)}" if run.left_out else ""))
    if len(run.plan_summary):
        table = Table(title="Plans across the scenarios ($M, discounted)")
        for col in ("plan", "expected cost", "max regret", "optimal in", "worst scenario", "pick"):
            table.add_column(col, justify="left" if col in ("plan", "worst scenario", "pick") else "right")
        ranked = run.plan_summary.sort_values("expected_cost_musd")
        for r in ranked.itertuples():
            pick = ", ".join(name for name, flag in (("least max regret", r.least_max_regret),
                                                     ("least expected cost", r.least_expected_cost)) if flag)
            table.add_row(r.plan, number(r.expected_cost_musd), number(r.max_regret_musd), str(r.optimal_in),
                          str(r.worst_scenario), pick)
        out.print(table)
        for r in ranked.itertuples():
            out.print(f"  {r.plan}: {r.label}", highlight=False)
    if run.stochastic is not None:
        st = run.stochastic
        f = st.figures
        out.print(f"stochastic plan ({st.status.value}): {st.plan.label()}")
        out.print("  " + "  ".join(f"{k} {number(v)}" for k in ("RP", "EEV", "VSS", "WS", "EVPI")
                                   if (v := f.get(k)) is not None))
    out.print(f"results: {run.out / 'robust'}")
    solved = run.stochastic is None or run.stochastic.status.has_solution
    raise typer.Exit(EXIT_OK if run.scenarios and solved else EXIT_NO_SOLUTION)


@app.command()
def report(
    results_dir: Annotated[str, typer.Argument(help="A result folder (or URI) of `optimizer solve` or "
                                                    "`optimizer sweep`.")],
    out_file: Annotated[Path | None, typer.Option("--out", help="HTML file [default: DIR/report.html].")] = None,
    compare: Annotated[Path | None, typer.Option("--compare", help="A second result folder to set side by side "
                                                                   "[default: none].")] = None,
    baseline: Annotated[str | None, typer.Option("--baseline", help="For a sweep: the case the single-plan "
                                                                    "sections show [default: base].")] = None,
) -> None:
    """Write one self-contained HTML report that opens with no network: overview (status, gap, settings),
    KPIs, demand against capacity, build plan, sourcing, costs, utilisation, marginal value of capacity,
    landed cost; for a sweep also distributions, build frequency and the tornado."""
    for folder in (results_dir, compare):
        loc = resolve(str(folder)) if folder is not None else None
        if loc is not None and not loc.is_file("manifest.json") and not loc.is_file("sweep.json"):
            err.print(f"error: {folder} is not a result folder (no manifest.json or sweep.json): give a folder "
                      "written by `optimizer solve` or `optimizer sweep`", markup=False, highlight=False,
                      soft_wrap=True)
            raise typer.Exit(EXIT_INPUT)
    try:
        written = write_report(results_dir, out_file, compare=compare, baseline=baseline)
    except (ValueError, StoreError) as exc:
        _fail_usage(exc)
    out.print(f"wrote {written}", highlight=False)


def highs_log_options(verbose: bool, log: Path | None) -> dict[str, object]:
    """HiGHS options that show its log on the console (``verbose``) and/or write it to ``log``."""
    if not verbose and log is None:
        return {}
    opts: dict[str, object] = {"output_flag": True, "log_to_console": verbose}
    if log is not None:
        opts["log_file"] = str(log)
    return opts


def main() -> None:
    app()


if __name__ == "__main__":
    main()
