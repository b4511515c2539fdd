"""Bodies of ``edgefl sweep`` and ``edgefl whatif`` (registered on the app in :mod:`edgefl.cli`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer


def _fail(msg: str) -> typer.Exit:
    typer.echo(f"error: {msg}", err=True)
    return typer.Exit(2)


def sweep(
    study: Annotated[Path, typer.Argument(help="study YAML file (see scenarios/studies/)")],
    engine: Annotated[str, typer.Option("--engine", help="local (process pool) or dask (dask.distributed)")] = "local",
    jobs: Annotated[int | None, typer.Option(
        "--jobs", "-j", min=1, help="parallel points (default: CPU count)")] = None,
    scheduler: Annotated[str | None, typer.Option(
        "--scheduler", help="dask scheduler tcp://host:port (default: a LocalCluster of --jobs workers)")] = None,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="study directory (default: the study's output, else results/studies/<name>)")] = None,
    retry_failed: Annotated[bool, typer.Option("--retry-failed", help="rerun points that failed before")] = False,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="print the point count and a run-time estimate from one probe point; run nothing")] = False,
    plots: Annotated[bool, typer.Option("--plots/--no-plots", help="draw the study's plots")] = True,
    progress: Annotated[bool | None, typer.Option(
        "--progress/--no-progress", help="progress bar (default: on a TTY)")] = None,
    max_points: Annotated[int | None, typer.Option(
        "--max-points", min=1, help="refuse studies of more runs (grid points x seeds), counted before "
        "anything is expanded (default 20,000)")] = None,
) -> None:
    """Run a network-planning study: every point of a grid of scenarios, x seeds; resumable."""
    from edgefl.api.study import check_engine
    from edgefl.file_checks import FileArgError, check_output_dir
    from edgefl.sweep.engines import EngineError
    from edgefl.sweep.study import DEFAULT_MAX_POINTS, StudyError, load_study

    try:
        check_engine(engine, scheduler, jobs)
    except EngineError as exc:
        raise _fail(str(exc)) from None

    try:
        if output is not None:  # before the study is even read
            check_output_dir(output, "-o/--output")
    except FileArgError as exc:
        raise _fail(str(exc)) from None
    try:
        st = load_study(study, output, DEFAULT_MAX_POINTS if max_points is None else max_points)
    except StudyError as exc:
        raise _fail(str(exc)) from None
    except MemoryError:  # only with --max-points raised beyond what this machine holds
        raise _fail(f"{study}: out of memory while expanding the study; lower --max-points") from None
    try:  # the study's own output: or the default results/studies/<name>
        check_output_dir(st.output, "-o/--output" if output is not None else f"{study}: output")
    except FileArgError as exc:
        raise _fail(str(exc)) from None
    n_grid = st.num_grid_points
    from edgefl.sweep.run import dry_run as do_dry_run  # after the checks: it imports scipy.stats (seconds)
    from edgefl.sweep.run import run_study
    if dry_run:
        try:
            d = do_dry_run(st, jobs, retry_failed=retry_failed)
        except EngineError as exc:
            raise _fail(str(exc)) from None
        typer.echo(f"{st.name}: {n_grid} grid points x {len(st.seeds)} seeds = {d.points} runs "
                   f"({d.unique} distinct), {d.todo} still to run, in {st.output}")
        if d.probe_s is not None:
            typer.echo(f"  probe: one point took {d.probe_s:.3g} s here; estimate {d.estimate_s:.3g} s "
                       f"on {min(d.jobs, d.todo)} parallel jobs (plus engine start-up)")
        return
    try:
        rep = run_study(st, engine, jobs, scheduler, retry_failed, progress, plots=plots)
    except (EngineError, StudyError, ValueError) as exc:
        raise _fail(str(exc)) from None
    except OSError as exc:  # the study directory became unusable (full disk, removed, permissions)
        raise _fail(f"{st.output}: {exc.strerror or exc}") from None
    typer.echo(f"{st.name}: {rep.points} runs ({n_grid} points x {len(st.seeds)} seeds): {rep.ran} run now "
               f"({rep.failed} failed), {rep.already_done} done before; {rep.failed_total} failed in total"
               + (f", {rep.missing} missing" if rep.missing else ""))
    for f in rep.files:
        typer.echo(f"  {f}")
    if rep.failed_total:
        typer.echo("  failed points: error.txt and traceback.txt in their points/<key>/; "
                   "rerun them with --retry-failed")
    if rep.failed_total or rep.missing:
        raise typer.Exit(1)


def whatif(
    scenario: Annotated[Path, typer.Argument(help="scenario YAML file")],
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="the change, e.g. --set channel.uplink_bandwidth_hz=10e6 (repeatable)")] = None,
    base: Annotated[list[str] | None, typer.Option(
        "--base", help="override applied to both runs, e.g. --base rounds=5 (repeatable)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Baseline vs changed scenario at the same seed: change in round latency (broadcast, compute,
    upload, decode wait), bits, energy and accuracy."""
    from edgefl.api.answers import whatif as compare
    from edgefl.scenario import ScenarioError

    try:
        rep = compare(scenario, list(set_ or []), base=list(base or []))
    except (ScenarioError, ValueError, RuntimeError) as exc:
        raise _fail(str(exc)) from None
    typer.echo(json.dumps(rep.to_dict(), indent=2) if as_json else str(rep))
