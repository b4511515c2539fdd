"""The ``edgefl`` command."""

from __future__ import annotations

import json
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer

from edgefl.sweep.cli import sweep, whatif  # network-planning studies live with the sweep package

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_show_locals=False,
                  help="Emulate federated learning over wireless edge networks.")

_DEBUG = {"on": False}


@app.callback()
def _options(debug: bool = typer.Option(False, "--debug", help="show Python tracebacks of unexpected errors")) -> None:
    _DEBUG["on"] = debug


def _unexpected(exc: Exception, source: str) -> typer.Exit:
    """Report an error raised inside the radio/coding/learning code against the scenario fields
    that fed it (see :mod:`edgefl.scenario.blame`); the traceback only with --debug."""
    if _DEBUG["on"]:
        raise exc
    from edgefl.scenario.blame import explain

    typer.echo(f"error: {explain(exc, source)}", err=True)
    return typer.Exit(2)


SET_HELP = "Override a scenario field, e.g. --set workers.count=50 (repeatable; type-checked like the file)."


ESTIMATE_HELP = "Print the memory and wall-time estimate of the run (made before any work)."
MAX_MEMORY_HELP = "Refuse runs estimated above this much memory, e.g. 4G (default: the available memory)."


def _load(scenario: Path, overrides: list[str], max_memory: str | None = None, show_estimate: bool = False):
    """Load and resolve a scenario; the memory estimate is checked before anything is allocated."""
    return _load_scenario(scenario, overrides, max_memory, show_estimate).resolved


def _load_scenario(scenario: Path, overrides: list[str], max_memory: str | None = None, show_estimate: bool = False):
    """:func:`edgefl.load` of a scenario file; its errors printed, exit 2."""
    from edgefl.api.scenario import load
    from edgefl.estimate import parse_memory
    from edgefl.scenario import ResourceError, ScenarioError

    try:
        limit = None if max_memory is None else parse_memory(max_memory)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    try:
        loaded = load(scenario, set=overrides, max_memory=limit)
    except ResourceError as exc:
        typer.echo(f"error: {exc}", err=True)
        typer.echo("\n".join(exc.estimate.lines()), err=True)
        raise typer.Exit(2) from None
    except ScenarioError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    rs = loaded.resolved
    if show_estimate and rs.estimate is not None:
        typer.echo("\n".join(rs.estimate.lines()))
    return loaded


def _output_dir(text: str | None, what: str) -> Path | None:
    """The results directory (``-o`` or ``output.dir``) checked before any work (see
    :func:`edgefl.file_checks.check_output_dir`): not empty, not an existing file (a sibling
    ``name-1`` would be written without saying so), not under a file such as /dev/null."""
    from edgefl.file_checks import FileArgError, check_output_dir

    if text is None:
        return None
    try:
        return check_output_dir(text, what)
    except FileArgError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


STRICT_HELP = "treat scenario warnings (e.g. a step size outside a theorem's condition) as errors"


@contextmanager
def _strict_warnings(strict: bool) -> Iterator[None]:
    """With ``strict``, a :class:`edgefl.diagnostics.ScenarioWarning` stops the command (exit 2)."""
    if not strict:
        yield
        return
    from edgefl.diagnostics import ScenarioWarning

    with warnings.catch_warnings():
        warnings.simplefilter("error", ScenarioWarning)
        try:
            yield
        except ScenarioWarning as w:
            typer.echo(f"error (--strict): {w}", err=True)
            raise typer.Exit(2) from None


@app.command()
def run(
    scenario: Path = typer.Argument(..., help="scenario YAML file"),
    set_: list[str] = typer.Option([], "--set", help=SET_HELP),
    output: str | None = typer.Option(None, "--output", "-o", help="results directory (default results/<name>)"),
    overwrite: bool = typer.Option(False, help="replace the results in an existing directory (the old ones "
                                   "stay until the new run has finished its first round)"),
    resume: Path | None = typer.Option(None, "--resume", help="continue the killed or interrupted run in this "
                                       "results directory (same scenario and --set values)"),
    progress: bool | None = typer.Option(None, "--progress/--no-progress", help="progress bar (default: on a TTY)"),
    estimate: bool = typer.Option(False, "--estimate", help=ESTIMATE_HELP),
    max_memory: str | None = typer.Option(None, "--max-memory", help=MAX_MEMORY_HELP),
    strict: bool = typer.Option(False, "--strict", help=STRICT_HELP),
    engine: str = typer.Option("auto", "--engine", help="auto: the analytic fast path when the scenario qualifies, "
                               "else SimPy; simpy: force the SimPy reference engine; fast: require the fast path"),
) -> None:
    """Run one scenario; write timeline.csv, rounds.csv, summary.json and plots (round by round)."""
    try:
        with _strict_warnings(strict):
            _run(scenario, set_, output, overwrite, resume, progress, estimate, max_memory, engine)
    except KeyboardInterrupt:
        typer.echo("interrupted before the first round: nothing was simulated; no results written "
                   "(earlier results, if any, are untouched)", err=True)
        raise typer.Exit(130) from None


def _run(scenario: Path, set_: list[str], output: str | None, overwrite: bool, resume: Path | None,
         progress: bool | None, estimate: bool, max_memory: str | None, engine: str = "auto") -> None:
    from edgefl.api.run import execute
    from edgefl.results.journal import ResumeMismatch
    from edgefl.runner import ResumeError, default_output_dir
    from edgefl.scenario import ScenarioError
    from edgefl.sim.build import ENGINE_PATHS

    if engine not in ENGINE_PATHS:
        typer.echo(f"error: --engine = {engine!r}: use one of {', '.join(ENGINE_PATHS)}", err=True)
        raise typer.Exit(2)
    if resume is not None and (output is not None or overwrite):
        typer.echo("error: --resume DIR continues the run in DIR; do not combine it with -o or --overwrite", err=True)
        raise typer.Exit(2)
    out_dir = resume if resume is not None else _output_dir(output, "-o/--output")
    loaded = _load_scenario(scenario, set_, max_memory, estimate)
    rs = loaded.resolved
    if out_dir is None:
        _output_dir(rs.scenario.output.dir, f"{rs.source}: output.dir")
    try:
        outcome = execute(loaded, out_dir or default_output_dir(rs), overwrite=overwrite, progress=progress,
                          resume=resume is not None, engine=engine).outcome
    except (ScenarioError, ResumeError, ResumeMismatch) as exc:  # found before (or instead of) new work
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    except OSError as exc:  # output directory unusable: found before any simulation work
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    except Warning:  # a ScenarioWarning made an error by --strict: reported by _strict_warnings
        raise
    except Exception as exc:  # noqa: BLE001 - radio/coding/learning code rejecting what the scenario fed it
        raise _unexpected(exc, rs.source) from None
    if outcome.previous_kept:
        why = f"stopped by {outcome.error}" if outcome.error else "interrupted"
        typer.echo(f"{rs.scenario.name}: {why} before its first round; the previous results in "
                   f"{outcome.out_dir} are untouched")
        raise typer.Exit(1 if outcome.error else 130)
    t = outcome.summary["totals"]
    state = "complete" if outcome.complete else (
        f"STOPPED by {outcome.error} (partial results written)" if outcome.error
        else "INTERRUPTED (partial results written)")
    typer.echo(f"{rs.scenario.name}: {outcome.rounds_done}/{rs.scenario.rounds} rounds, {state}")
    if "engine_path" in outcome.summary:
        declined = outcome.summary.get("fast_path_declined") or []
        why = f" ({'; '.join(declined)})" if declined else ""
        typer.echo(f"  engine path: {outcome.summary['engine_path']}{why}")
    if outcome.rounds_done:
        dist = t.get("mean_distortion")  # None in a timing-only run
        typer.echo(f"  mean round latency {t['mean_round_latency_s']:.6g} s, {t['mean_bits_per_param']:.4g} "
                   f"bits/parameter, " + ("timing only (no gradients drawn)" if dist is None
                                          else f"mean distortion {dist:.4g}"))
    acc = t.get("final_test_accuracy")
    if isinstance(acc, float) and acc == acc:
        typer.echo(f"  final test accuracy {acc:.4f}")
    typer.echo(f"  results in {outcome.out_dir}")
    if not outcome.complete:
        raise typer.Exit(1 if outcome.error else 130)


@app.command()
def validate(
    scenario: Path = typer.Argument(..., help="scenario YAML file"),
    set_: list[str] = typer.Option([], "--set", help=SET_HELP),
    estimate: bool = typer.Option(False, "--estimate", help=ESTIMATE_HELP),
    max_memory: str | None = typer.Option(None, "--max-memory", help=MAX_MEMORY_HELP),
    strict: bool = typer.Option(False, "--strict", help=STRICT_HELP),
) -> None:
    """Check a scenario (schema, catalog names, model ops, memory estimate); run nothing."""
    with _strict_warnings(strict):
        _validate(scenario, set_, estimate, max_memory)


def _validate(scenario: Path, set_: list[str], estimate: bool, max_memory: str | None) -> None:
    rs = _load(scenario, set_, max_memory, estimate)
    from edgefl.estimate import VALIDATE_BUILD_S, build_seconds
    from edgefl.scenario import ScenarioError
    from edgefl.sim.build import build_simulation, gradient_source, layout

    note = ""
    try:
        if build_seconds(rs.scenario) <= VALIDATE_BUILD_S:
            build_simulation(rs)  # loads the ONNX model and data, places workers; simulates nothing
        else:  # keep validate fast: check placement and the model, not every worker's radio state
            layout(rs)
            if rs.scenario.model is not None:
                gradient_source(rs)
            note = f" (per-worker radio state not built: ~{build_seconds(rs.scenario):.0f} s; 'run' builds it)"
    except ScenarioError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    except Warning:  # a ScenarioWarning made an error by --strict: reported by _strict_warnings
        raise
    except Exception as exc:  # noqa: BLE001 - radio/coding/learning code rejecting what the scenario fed it
        raise _unexpected(exc, rs.source) from None
    s = rs.scenario
    typer.echo(f"{scenario}: ok ({s.name}: {s.workers.count} workers, {s.rounds} rounds, "
               f"compression {s.compression.scheme}, {s.channel.access}, fidelity {s.fidelity}){note}")


@app.command()
def schema() -> None:
    """Print the JSON Schema of a scenario file."""
    from edgefl.scenario import json_schema

    typer.echo(json.dumps(json_schema(), indent=2))


@app.command()
def plot(
    results_dir: Path = typer.Argument(..., help="a results directory written by 'edgefl run'"),
    round_: int | None = typer.Option(None, "--round", help="round of the timing diagram (default: last)"),
) -> None:
    """Draw the timing diagram (Gantt) of a round and the per-round curves as PNG."""
    from edgefl.results.plots import plot_results

    for needed in ("timeline.csv", "rounds.csv"):
        if not (results_dir / needed).is_file():
            typer.echo(f"error: {results_dir}: no {needed} (is this a results directory written with "
                       "output.timeline on?)", err=True)
            raise typer.Exit(2)
    try:
        paths = plot_results(results_dir, round_)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    for p in paths:
        typer.echo(str(p))


PLAN_DEADLINE_HELP = ("round-latency deadline T (s): the largest worker count and the smallest uplink bandwidth "
                      "whose --quantile percentile meets T")
PLAN_COVERAGE_HELP = ("with --deadline: the largest cell radius (disc / annulus placement) whose percentile over "
                      "placements and fading meets T, and the share of workers out of coverage there")
PLAN_PERCENTILES_HELP = "p50/p95/p99 round latency with 95 % confidence intervals"


@app.command()
def plan(
    scenario: Path = typer.Argument(..., help="scenario YAML file"),
    set_: list[str] = typer.Option([], "--set", help=SET_HELP),
    D: float | None = typer.Option(
        None, "--D", help="target distortion (default rate_allocation.target_distortion, else signSGD's distortion)"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
    deadline: float | None = typer.Option(None, "--deadline", help=PLAN_DEADLINE_HELP),
    coverage: bool = typer.Option(False, "--coverage", help=PLAN_COVERAGE_HELP),
    percentiles: bool = typer.Option(False, "--percentiles", help=PLAN_PERCENTILES_HELP),
    over: str = typer.Option("fading", "--over", help="fading: rounds of the scenario's own placement (what a long "
                             "'edgefl run' shows); placements: placement, shadowing, LOS and O2I redrawn per sample"),
    method: str = typer.Option("auto", "--method", help="engine path producing the latency samples: auto (as "
                               "'edgefl run'), fast (require the vectorised path), simpy (the reference)"),
    quantile: float = typer.Option(95.0, "--quantile", help="percentile held to the deadline (0-100)"),
    resolution: float = typer.Option(0.05, "--resolution", help="relative: samples are added until the deadline is "
                                     "outside the 95 % CI or the CI is narrower than this x T; also the relative "
                                     "resolution of the bandwidth and radius searches"),
    samples: int = typer.Option(200, "--samples", "--draws", help="initial latency samples per searched point "
                                "(doubled as needed)"),
    max_samples: int = typer.Option(6400, "--max-samples", help="most latency samples per searched point"),
    per_placement: int = typer.Option(10, "--rounds-per-placement", help="--over placements: rounds per placement"),
    seed: int | None = typer.Option(None, "--seed", help="--over placements: seed of the placement draws "
                                    "(default the scenario's)"),
    max_memory: str | None = typer.Option(None, "--max-memory", help=MAX_MEMORY_HELP),
    jobs: int | None = typer.Option(None, "--jobs", help="processes sampling the searched points concurrently "
                                    "(same answers for every value; default: every CPU, or 1 when the plan is "
                                    "estimated to take a few seconds)"),
    progress: bool | None = typer.Option(None, "--progress/--no-progress",
                                         help="rounds sampled so far, on stderr (default: on a TTY)"),
) -> None:
    """P1 bandwidth-optimal rates for a scenario (RD paper eq. 20); no training. With --percentiles /
    --deadline / --coverage: round-latency answers with 95 % confidence intervals, sampled from the
    simulator's own rounds (edgefl.planning.plan)."""
    from edgefl.scenario import ScenarioError

    if deadline is not None and jobs != 1:
        from edgefl.pool_server import start_server

        start_server()  # a pool is likely: its fork server imports while this process does (edgefl.pool_server)
    if deadline is None and not coverage and not percentiles:
        from edgefl.planning import format_plan, plan_scenario

        rs = _load(scenario, set_, max_memory)
        try:
            rep = plan_scenario(rs, D)
        except ScenarioError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        except Exception as exc:  # noqa: BLE001 - radio/theory code rejecting what the scenario fed it
            raise _unexpected(exc, rs.source) from None
        typer.echo(json.dumps(rep, indent=2) if as_json else format_plan(rep))
        return
    from edgefl.estimate import parse_memory
    from edgefl.planning import PlanError, check_options, format_report
    from edgefl.planning import plan as plan_answers
    from edgefl.planning.pool import PoolError

    try:
        check_options(deadline=deadline, coverage=coverage, over=over, method=method, quantile=quantile / 100.0,
                      resolution=resolution, samples=samples, max_samples=max_samples,
                      rounds_per_placement=per_placement, jobs=jobs)
    except PlanError as exc:  # every option problem before the scenario is even read
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    rs = _load(scenario, set_, max_memory)
    try:
        rep = plan_answers(rs, deadline=deadline, percentiles=percentiles, coverage=coverage, over=over,
                           method=method, quantile=quantile / 100.0, resolution=resolution, samples=samples,
                           max_samples=max_samples, rounds_per_placement=per_placement, seed=seed,
                           max_memory=None if max_memory is None else parse_memory(max_memory), jobs=jobs,
                           progress=progress)
    except (ScenarioError, PlanError, PoolError) as exc:  # PoolError: a pool process died (names the point)
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    except Exception as exc:  # noqa: BLE001 - radio/coding code rejecting what the scenario fed it
        raise _unexpected(exc, rs.source) from None
    typer.echo(json.dumps(rep.to_dict(), indent=2) if as_json else format_report(rep))


@app.command()
def bound(
    K: int = typer.Option(..., "--K", help="number of workers"),
    sigma_x2: float = typer.Option(..., "--sigma-x2", help="variance of the true gradient, sigma_X^2"),
    sigma_n2: float = typer.Option(..., "--sigma-n2", help="variance of each worker's noise, sigma_N^2"),
    D: float | None = typer.Option(
        None, "--D", help="target distortion per parameter (> sigma_N^2 / K; default: signSGD's distortion)"),
    params: int | None = typer.Option(None, "--params", help="P, to print totals"),
    A: float | None = typer.Option(None, "--A", help="eq. 23 constant A"),
    beta: float | None = typer.Option(None, "--beta", help="eq. 23 constant beta"),
    eps: float | None = typer.Option(None, "--eps", help="eq. 23 target accuracy epsilon"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """R_sum(D), R_in(D) (RD paper Corollary 2) and the eq. 23 iteration bound and total cost."""
    from edgefl.theory import bound_report

    try:
        rep = bound_report(K, sigma_x2, sigma_n2, D, params=params, A=A, beta=beta, eps=eps)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(rep, indent=2))
        return
    _print_flat(rep)


def _print_flat(rep: dict, prefix: str = "") -> None:
    for key, value in rep.items():
        if isinstance(value, dict):
            _print_flat(value, f"{prefix}{key}.")
        elif isinstance(value, float):
            typer.echo(f"{prefix + key:>40}: {value:.6g}")
        else:
            typer.echo(f"{prefix + key:>40}: {value}")


app.command()(sweep)
app.command()(whatif)


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
