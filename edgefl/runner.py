"""Run one resolved scenario end to end: simulate, show progress, write results.

The result files are kept current during the run (:mod:`edgefl.results.journal`), so a
hard kill loses at most the last second of rounds and ``--resume`` can finish the run.
Ctrl-C (or SIGTERM) stops after the current round is dropped: the rounds done so
far are written and summary.json says ``"complete": false``. A round whose metrics are
not finite stops the run with an error naming the round, the quantity and the fields.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from edgefl.results.journal import Journal, result_files, scenario_hash
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
    kept_previous: bool = False  # stopped before its first (new) round: out_dir holds the earlier results


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


def prepare_output_dir(requested: Path, overwrite: bool) -> Path:
    """Choose (see :func:`fresh_output_dir`), create and check the results directory before
    any simulation work."""
    target = fresh_output_dir(requested, overwrite)
    if target.exists() and not target.is_dir():
        raise OSError(f"{target}: exists and is not a directory")
    target.mkdir(parents=True, exist_ok=True)
    if not os.access(target, os.W_OK):
        raise OSError(f"{target}: directory is not writable")
    return target


def default_output_dir(rs: ResolvedScenario) -> Path:
    """``output.dir`` of the scenario, else ``results/<name>``."""
    return Path(rs.scenario.output.dir) if rs.scenario.output.dir else Path("results") / rs.scenario.name


class NonFiniteMetric(ArithmeticError):
    """A round produced a metric that is NaN or infinite: the run stops instead of writing it."""


#: rounds.csv quantity -> the scenario fields that produce it (for the non-finite stop)
_FEEDS = {
    "latency": "channel.*, workers.placement, workers.compute_jitter, server.position and the device profiles",
    "bits": "compression.*, rate_allocation.*",
    "distortion": "compression.*, gradients.* / model.*",
    "loss": "model.lr, model.optimizer, model.momentum, model.*",
}
#: extras whose NaN means "not measured this round" (not evaluated, one worker), not a failure
_NAN_MEANS_MISSING = ("test_accuracy", "test_loss", "sigma_x2_est", "sigma_n2_est")


def check_finite(rec: RoundRecord) -> None:
    """Raise NonFiniteMetric naming the round, the quantity and the fields behind it."""
    for key in rec.keys():
        v = rec[key]
        if not isinstance(v, (int, float)) or math.isfinite(v) or (key in _NAN_MEANS_MISSING and math.isnan(v)):
            continue
        kind = next((k for k in ("bits", "distortion", "loss") if k in key), "latency")
        raise NonFiniteMetric(f"round {rec.round}: {key} = {v} is not finite; it is produced by {_FEEDS[kind]}")


class ResumeError(ValueError):
    """A results directory that cannot be resumed (named with the reason)."""


def _resumable(directory: Path, digest: str) -> int:
    """Rounds finished in ``directory`` by a killed run of the same scenario; ResumeError otherwise."""
    try:
        summary = json.loads((directory / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ResumeError(f"{directory}: no readable summary.json ({exc}); not a results directory") from None
    if summary.get("complete"):
        raise ResumeError(f"{directory}: the run there is complete; nothing to resume")
    if summary.get("scenario_hash") != digest:
        raise ResumeError(f"{directory}: written by a different scenario (or device profiles); resume needs "
                          "the same scenario, seed and profiles")
    with open(directory / "rounds.csv", encoding="utf-8") as fh:
        return max(sum(1 for _ in fh) - 1, 0)


@dataclass
class _Run:
    """State shared by the callbacks of one run."""

    rs: ResolvedScenario
    sim: Any
    wall0: float
    digest: str

    def summary(self, complete: bool, error: str | None) -> dict[str, Any]:
        scn, rs = self.rs.scenario, self.rs
        return {
            "name": scn.name,
            "source": rs.source,
            "seed": scn.seed,
            "complete": complete,
            "error": error,
            "rounds_requested": scn.rounds,
            "totals": totals(self.sim.rounds),
            "wall_time_s": time.perf_counter() - self.wall0,
            "versions": package_versions(),
            "scenario": scn.model_dump(mode="json"),
            "devices": _devices(rs),
            "scenario_hash": self.digest,
        }

    def write(self, directory: Path, complete: bool, error: str | None) -> None:
        if self.rs.scenario.output.timeline:
            write_timeline(directory, self.sim.events)
        write_rounds(directory, self.sim.rounds)
        write_summary(directory, self.summary(complete, error))


def _devices(rs: ResolvedScenario) -> dict[str, Any]:
    return {"workers": list({d.name: d.model_dump(mode="json") for d in rs.worker_devices}.values()),
            "server": rs.server_profile.model_dump(mode="json")}


def run_scenario(rs: ResolvedScenario, out_dir: Path | None = None, *, overwrite: bool = False,
                 progress: bool | None = None, resume: bool = False) -> RunOutcome:
    """Simulate ``rs`` and write timeline.csv, rounds.csv, summary.json (and plots if asked),
    keeping them current during the run (:mod:`edgefl.results.journal`).

    ``overwrite``: the run writes into a staging directory whose files replace the old results
    once the first round is done. ``resume``: ``out_dir`` holds a killed run of the same
    scenario; its finished rounds are replayed (same seed, so the same numbers; checked against
    the files) without being rewritten, then the run continues and appends."""
    scn = rs.scenario
    digest = scenario_hash(scn.model_dump(mode="json"), _devices(rs))
    requested = Path(out_dir or default_output_dir(rs))
    done_before, replace = 0, None
    if resume:
        done_before = _resumable(requested, digest)
    sim = build_simulation(rs)
    if resume:
        target = requested
    elif overwrite and requested.is_dir() and result_files(requested):
        if not os.access(requested, os.W_OK):
            raise OSError(f"{requested}: directory is not writable")
        replace = requested.absolute()
        target = fresh_output_dir(replace.with_name(f".{replace.name}.new"))
    else:
        target = prepare_output_dir(requested, overwrite)
    run = _Run(rs, sim, time.perf_counter(), digest)
    journal = Journal(target, run.write, replace)
    journal.enabled = done_before == 0
    complete = True
    error: str | None = None
    bar = tqdm(total=scn.rounds, desc=scn.name, unit="round", disable=None if progress is None else not progress)

    def on_round(_r: int, row: RoundRecord) -> None:
        check_finite(row)
        bar.update(1)
        bar.set_postfix(latency=f"{row['latency_s']:.3g}s", refresh=False)
        if not journal.enabled and len(sim.rounds) == done_before:
            _verify_replay(run, target)
            journal.enabled = True
        journal.round_done()

    try:
        with _sigterm_as_interrupt():
            sim.run(on_round)
    except KeyboardInterrupt:
        complete = False
    except NonFiniteMetric as exc:
        complete, error = False, f"{type(exc).__name__}: {exc}"
        bad = sim.rounds.pop().round  # never written: the finished rounds before it are kept
        sim.events[:] = [e for e in sim.events if e.round != bad]
    except ResumeError:
        raise
    except Exception as exc:  # noqa: BLE001 - keep the finished rounds, then report
        complete = False
        error = f"{type(exc).__name__}: {exc}"
    finally:
        bar.close()

    if not sim.rounds and replace is not None:  # stopped before its first round: the old results stay
        shutil.rmtree(target, ignore_errors=True)
        return RunOutcome(replace, False, 0, run.summary(False, error), error, kept_previous=True)
    if not journal.enabled:  # a resume stopped before reaching the killed run's last round
        return RunOutcome(target, False, len(sim.rounds), run.summary(False, error), error, kept_previous=True)
    journal.flush(complete, error)
    if scn.output.plots and sim.rounds and scn.output.timeline:
        from edgefl.results.plots import plot_results

        plot_results(journal.dir)
    return RunOutcome(journal.dir, complete, len(sim.rounds), run.summary(complete, error), error)


def _verify_replay(run: _Run, target: Path) -> None:
    """The replayed rounds must reproduce the killed run's rounds.csv exactly."""
    with tempfile.TemporaryDirectory() as tmp:
        write_rounds(Path(tmp), run.sim.rounds)
        same = (Path(tmp) / "rounds.csv").read_bytes() == (target / "rounds.csv").read_bytes()
    if not same:
        raise ResumeError(f"{target}: replaying the first {len(run.sim.rounds)} rounds does not reproduce its "
                          "rounds.csv (different edgefl or library versions?); start a new run instead")
