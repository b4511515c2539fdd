"""Run one resolved scenario end to end: simulate, show progress, write results.

Results grow round by round (:mod:`edgefl.results.journal`): Ctrl-C (or SIGTERM) drops
the round in flight and keeps the finished ones with ``"complete": false`` in summary.json;
a SIGKILL loses at most the round in flight, and ``resume=True`` continues such a run.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import tempfile
import time
import traceback
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from edgefl.radio.worker_table import write_workers
from edgefl.sim.bits_only import NoGradients
from edgefl.results.finite import NonFiniteMetric, check_finite
from edgefl.results.journal import ResumeMismatch, RunJournal, read_finished_rows
from edgefl.results.outputs import package_versions, totals, write_rounds, write_summary
from edgefl.results.records import RoundRecord
from edgefl.results.writer import fresh_output_dir
from edgefl.scenario import ResolvedScenario
from edgefl.scenario.digest import input_digest
from edgefl.sim.build import build_simulation, radio_environment


@dataclass(frozen=True)
class RunOutcome:
    """Where a run wrote its results and whether it finished."""

    out_dir: Path
    complete: bool
    rounds_done: int
    summary: dict[str, Any]
    error: str | None = None  # what stopped an incomplete run other than Ctrl-C
    previous_kept: bool = False  # --overwrite stopped before its first round: old results untouched
    traceback: str | None = None  # of that error (for `edgefl sweep`'s per-point traceback file)


@contextmanager
def _sigterm_as_interrupt():
    def handler(signum, frame):  # noqa: ARG001
        raise KeyboardInterrupt
    try:
        old = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not in the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


log = logging.getLogger(__name__)

RESULT_FILES = ("timeline.csv", "rounds.csv", "wall_times.csv", "summary.json", "rounds.png", "workers.csv")


def _has_results(directory: Path) -> bool:
    return directory.is_dir() and any((directory / f).exists() for f in RESULT_FILES)


def prepare_output_dir(requested: Path, overwrite: bool) -> tuple[Path, Path]:
    """Choose (see :func:`fresh_output_dir`), create and check the results directory before any
    simulation work. Returns (final directory, directory written now): with ``overwrite`` and
    earlier results in ``requested`` the run writes into a fresh hidden sibling, which replaces
    the old results only once its first round is on disk (:func:`_swap_in`)."""
    requested = Path(requested).absolute()
    if requested.exists() and not requested.is_dir():
        raise OSError(f"{requested}: exists and is not a directory")
    if overwrite and _has_results(requested):
        if not os.access(requested.parent, os.W_OK):
            raise OSError(f"{requested.parent}: directory is not writable")
        staging = Path(tempfile.mkdtemp(prefix=f".{requested.name}.new-", dir=requested.parent))
        return requested, staging
    target = fresh_output_dir(requested, overwrite)
    target.mkdir(parents=True, exist_ok=True)
    if not os.access(target, os.W_OK):
        raise OSError(f"{target}: directory is not writable")
    return target, target


def _swap_in(staging: Path, final: Path) -> Path:
    """Replace the old results in ``final`` by the new run's files in ``staging`` (first round
    written); other files in ``final`` are left alone. Each file moves with an atomic rename."""
    for old in [*RESULT_FILES, *(p.name for p in final.glob("timing_round*.png"))]:
        (final / old).unlink(missing_ok=True)
    for f in staging.iterdir():
        os.replace(f, final / f.name)
    staging.rmdir()
    return final


def default_output_dir(rs: ResolvedScenario) -> Path:
    """``output.dir`` of the scenario, else ``results/<name>``."""
    return Path(rs.scenario.output.dir) if rs.scenario.output.dir else Path("results") / rs.scenario.name


def _devices(rs: ResolvedScenario) -> dict[str, Any]:
    return {"workers": list({d.name: d.model_dump(mode="json") for d in rs.worker_devices}.values()),
            "server": rs.server_profile.model_dump(mode="json")}


class ResumeError(ValueError):
    """A results directory that cannot be resumed with this scenario."""


def resumable_rows(out_dir: Path, rs: ResolvedScenario, digest: str) -> tuple[list[str], list[str]]:
    """The header and finished rounds.csv lines of the killed run in ``out_dir``, after checking that it was
    started from the same inputs (``digest``, :func:`edgefl.scenario.digest.input_digest`, against
    summary.json's ``scenario_hash``; replay then also checks every finished row) and did not complete."""
    summary_path = out_dir / "summary.json"
    try:
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ResumeError(f"{summary_path}: cannot resume, no readable summary.json ({exc})") from None
    if summary.get("scenario_hash") != digest:
        raise ResumeError(f"{out_dir}: was run from a different scenario (or device profiles, or edgefl "
                          f"version) than {rs.source} with these --set values; resume only the same inputs")
    if summary.get("complete"):
        raise ResumeError(f"{out_dir}: the run is complete; nothing to resume")
    header, rows = read_finished_rows(out_dir / "rounds.csv")
    return header, rows[: rs.scenario.rounds]


def wants_plots(scn: Any, rounds_done: int) -> bool:
    """Whether a run of ``scn`` with this many finished rounds writes its PNG plots."""
    return bool(scn.output.plots and rounds_done and scn.output.timeline)


def run_scenario(rs: ResolvedScenario, out_dir: Path | None = None, *, overwrite: bool = False,
                 progress: bool | None = None, resume: bool = False, engine: str = "auto",
                 draw_plots: bool = True) -> RunOutcome:
    """Simulate ``rs`` and write timeline.csv, rounds.csv, summary.json (and plots if asked),
    round by round (:mod:`edgefl.results.journal`): a killed run keeps its finished rounds and
    ``resume=True`` continues the run in ``out_dir`` from its last finished round. ``engine``:
    "auto", "simpy" or "fast" (see :func:`edgefl.sim.build.build_simulation`). ``draw_plots=False``
    leaves the PNGs the scenario asks for to the caller (:func:`wants_plots`; ``edgefl.run`` draws
    them on ``save``)."""
    scn = rs.scenario
    requested = Path(out_dir or default_output_dir(rs))
    digest = input_digest(rs)  # hashes the trace/model/data files: once per run
    if resume:
        final = write_dir = requested.absolute()
        header, rows = resumable_rows(final, rs, digest)
    else:
        header, rows = [], []
    sim = build_simulation(rs, engine)
    log.info("%s: engine path %s%s", scn.name, sim.engine_path,
             f" (fast path declined: {'; '.join(sim.fast_path_declined)})" if sim.fast_path_declined else "")
    if not resume:
        final, write_dir = prepare_output_dir(requested, overwrite)
    wall0 = time.perf_counter()
    state: dict[str, Any] = {"complete": False, "error": None}

    def summary_of(records: Sequence[RoundRecord]) -> dict[str, Any]:
        return {
            "name": scn.name,
            "source": rs.source,
            "seed": scn.seed,
            "complete": state["complete"],
            "error": state["error"],
            "rounds_requested": scn.rounds,
            "resumed_from_round": len(rows) if resume else None,
            "scenario_hash": digest,
            "totals": totals(records),
            "wall_time_s": time.perf_counter() - wall0,
            "engine_path": sim.engine_path,
            "fast_path_declined": sim.fast_path_declined,
            "rounds_on_simpy": sim.rounds_on_simpy,
            "coverage": sim.coverage.to_json(),
            "gradients_drawn": not isinstance(sim.source, NoGradients),  # output.timing_only took effect if False
            "versions": package_versions(),
            "scenario": scn.model_dump(mode="json"),
            "devices": _devices(rs),
        }

    swap = (lambda: _swap_in(write_dir, final)) if write_dir != final else None
    journal = RunJournal(write_dir, scn.output.timeline, lambda d, recs: write_summary(d, summary_of(recs)),
                         resume_rows=rows, resume_header=header, on_first_round=swap)
    journal.start(sim.rounds)
    bar = tqdm(total=scn.rounds, desc=scn.name, unit="round", disable=None if progress is None else not progress)

    def on_round(_r: int, row: RoundRecord) -> None:
        try:
            check_finite(row)
        except NonFiniteMetric:
            sim.rounds.pop()  # never written, never counted
            raise
        journal.round_done(sim.rounds, sim.events)
        bar.update(1)
        bar.set_postfix(latency=f"{row['latency_s']:.3g}s", refresh=False)

    try:
        with _sigterm_as_interrupt():
            sim.run(on_round)
        state["complete"] = True
    except KeyboardInterrupt:
        pass
    except ResumeMismatch:
        bar.close()
        journal.close()
        raise
    except Exception as exc:  # noqa: BLE001 - keep the finished rounds, then report
        state["error"] = f"{type(exc).__name__}: {exc}"
        state["traceback"] = traceback.format_exc()
    finally:
        bar.close()
    journal.close()
    if swap is not None and journal.out_dir != final:  # no round reached disk: old results stay
        shutil.rmtree(write_dir, ignore_errors=True)
        return RunOutcome(final, False, 0, summary_of([]), state["error"], previous_kept=True)
    target = journal.out_dir
    if len(sim.rounds) < len(rows):  # stopped while replaying: the files on disk are untouched
        return RunOutcome(target, False, len(rows), summary_of(sim.rounds), state["error"])
    write_rounds(target, sim.rounds)  # the appended file, rewritten whole and atomically
    # per-worker LOS state / indoor flag (issue 17), coverage (issue 20)
    write_workers(target, radio_environment(rs), sim.coverage.in_coverage)
    summary = summary_of(sim.rounds)
    write_summary(target, summary)
    if draw_plots and wants_plots(scn, len(sim.rounds)):
        from edgefl.results.plots import plot_results

        plot_results(target)
    return RunOutcome(target, state["complete"], len(sim.rounds), summary, state["error"],
                      traceback=state.get("traceback"))
