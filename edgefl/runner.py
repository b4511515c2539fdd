"""Run one resolved scenario end to end: simulate, show progress, write results.

Ctrl-C (or SIGTERM) stops after the current round is dropped: the rounds done so
far are written and summary.json says ``"complete": false``.
"""

from __future__ import annotations

import os
import signal
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from edgefl.results.outputs import package_versions, totals, write_rounds, write_summary, write_timeline
from edgefl.results.records import RoundRecord
from edgefl.results.writer import fresh_output_dir
from edgefl.scenario import ResolvedScenario
from edgefl.sim.build import build_simulation


@dataclass(frozen=True)
class RunOutcome:
    """Where a run wrote its results and whether it finished."""

    out_dir: Path
    complete: bool
    rounds_done: int
    summary: dict[str, Any]
    error: str | None = None  # what stopped an incomplete run other than Ctrl-C


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


RESULT_FILES = ("timeline.csv", "rounds.csv", "wall_times.csv", "summary.json", "rounds.png")


def prepare_output_dir(requested: Path, overwrite: bool) -> Path:
    """Choose (see :func:`fresh_output_dir`), create and check the results directory before
    any simulation work; with ``overwrite`` remove the previous run's result files."""
    target = fresh_output_dir(requested, overwrite)
    if target.exists() and not target.is_dir():
        raise OSError(f"{target}: exists and is not a directory")
    target.mkdir(parents=True, exist_ok=True)
    if not os.access(target, os.W_OK):
        raise OSError(f"{target}: directory is not writable")
    if overwrite:
        for old in [*RESULT_FILES, *(p.name for p in target.glob("timing_round*.png"))]:
            (target / old).unlink(missing_ok=True)
    return target


def default_output_dir(rs: ResolvedScenario) -> Path:
    """``output.dir`` of the scenario, else ``results/<name>``."""
    return Path(rs.scenario.output.dir) if rs.scenario.output.dir else Path("results") / rs.scenario.name


def run_scenario(rs: ResolvedScenario, out_dir: Path | None = None, *, overwrite: bool = False,
                 progress: bool | None = None) -> RunOutcome:
    """Simulate ``rs`` and write timeline.csv, rounds.csv, summary.json (and plots if asked)."""
    scn = rs.scenario
    sim = build_simulation(rs)
    target = prepare_output_dir(out_dir or default_output_dir(rs), overwrite)
    wall0 = time.perf_counter()
    complete = True
    error: str | None = None
    bar = tqdm(total=scn.rounds, desc=scn.name, unit="round", disable=None if progress is None else not progress)

    def on_round(r: int, row: RoundRecord) -> None:
        bar.update(1)
        bar.set_postfix(latency=f"{row['latency_s']:.3g}s", refresh=False)

    try:
        with _sigterm_as_interrupt():
            sim.run(on_round)
    except KeyboardInterrupt:
        complete = False
    except Exception as exc:  # noqa: BLE001 - keep the finished rounds, then report
        complete = False
        error = f"{type(exc).__name__}: {exc}"
    finally:
        bar.close()
    wall = time.perf_counter() - wall0

    if scn.output.timeline:
        write_timeline(target, sim.events)
    write_rounds(target, sim.rounds)
    summary = {
        "name": scn.name,
        "source": rs.source,
        "seed": scn.seed,
        "complete": complete,
        "error": error,
        "rounds_requested": scn.rounds,
        "totals": totals(sim.rounds),
        "wall_time_s": wall,
        "versions": package_versions(),
        "scenario": scn.model_dump(mode="json"),
        "devices": {
            "workers": list({d.name: d.model_dump(mode="json") for d in rs.worker_devices}.values()),
            "server": rs.server_profile.model_dump(mode="json"),
        },
    }
    write_summary(target, summary)
    if scn.output.plots and sim.rounds and scn.output.timeline:
        from edgefl.results.plots import plot_results

        plot_results(target)
    return RunOutcome(target, complete, len(sim.rounds), summary, error)
