"""Crash-safe results: rounds.csv, timeline.csv and wall_times.csv grow by one round at a time.

A run used to write its results only at the end, so a SIGKILL lost every finished round.
The journal appends each finished round to the CSV files and flushes them to the
operating system at once (a killed process then loses at most the round in flight),
fsyncs them at most every :data:`FSYNC_EVERY_S` seconds (a machine crash loses a few
seconds), and keeps summary.json current with ``"complete": false`` until the end.

Resuming (:class:`RunJournal` with ``resume_rows``) replays the finished rounds, checks
that each replayed row equals the one on disk byte for byte (the same scenario and seed
give the same numbers, so any difference means the scenario, its files or edgefl changed),
rewrites the files from the replay (dropping a half-written last line) and goes on
appending: the final files equal those of an uninterrupted run. Replay is used instead
of checkpoints because a run's state (onnxruntime sessions, fading processes, compressor
memories, numba-compiled coders) has no portable serialised form; an analytic round
replays in milliseconds, a model round costs what it cost the first time.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

from edgefl.results.outputs import TIMELINE_COLUMNS, split_wall, write_rounds, write_timeline
from edgefl.results.records import RoundRecord
from edgefl.results.writer import csv_text

#: fsync the growing CSV files at most this often (a flush to the OS happens every round)
FSYNC_EVERY_S = 2.0


class ResumeMismatch(RuntimeError):
    """A replayed round differs from the one on disk: the run cannot be continued."""


def _rounds_lines(records: Sequence[RoundRecord], cols: list[str]) -> list[str]:
    return csv_text(cols, ([rec.get(c, math.nan) for c in cols] for rec in records)).splitlines()[1:]


def read_finished_rows(path: Path) -> tuple[list[str], list[str]]:
    """Header and complete data lines of a rounds.csv left by a killed run (a last line
    without its newline was being written when the process died and is dropped)."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if not text:
        return [], []
    lines = text.split("\n")
    complete = lines[:-1]  # the piece after the last newline is '' or a torn line
    if not complete:
        return [], []
    return complete[0].split(","), complete[1:]


class _Appender:
    """One CSV file opened for appending, rewritten whole when its header changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.header: list[str] | None = None
        self._fh: IO[str] | None = None

    def rewrite(self, write: Callable[[], None], header: list[str]) -> None:
        self.close()
        write()  # atomic full write
        self.header = header
        self.reopen()

    def reopen(self) -> None:
        """Open the file for appending (kept open across rounds)."""
        self._fh = open(self.path, "a", newline="", encoding="utf-8")  # noqa: SIM115

    def append(self, lines: Sequence[str]) -> None:
        assert self._fh is not None
        if lines:
            self._fh.write("\n".join(lines) + "\n")
        self._fh.flush()

    def fsync(self) -> None:
        if self._fh is not None:
            os.fsync(self._fh.fileno())

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def move_to(self, directory: Path) -> None:
        """Follow a rename of the results directory (the open descriptor stays valid)."""
        self.path = directory / self.path.name


class RunJournal:
    """Per-round persistence of one run into ``out_dir``.

    ``resume_rows``: the finished rounds.csv lines of the run being resumed (replayed rounds
    are checked against them instead of written). ``on_first_round`` is called once, after
    the first newly written round is on disk (``--overwrite`` swaps directories there).
    """

    def __init__(self, out_dir: Path, timeline: bool, write_summary: Callable[[Path, Sequence[RoundRecord]], None],
                 resume_rows: Sequence[str] = (), on_first_round: Callable[[], Path] | None = None,
                 resume_header: Sequence[str] = ()) -> None:
        self.out_dir = Path(out_dir)
        self.timeline = timeline
        self._write_summary = write_summary
        self._resume = list(resume_rows)
        self._resume_header = list(resume_header)  # columns of the file on disk (a later round may add some)
        self._on_first_round = on_first_round
        self._rounds = _Appender(self.out_dir / "rounds.csv")
        self._wall = _Appender(self.out_dir / "wall_times.csv")
        self._tl = _Appender(self.out_dir / "timeline.csv")
        self._events_written = 0
        self._last_sync = time.monotonic()
        self._written_any = False

    @property
    def replaying(self) -> int:
        """Number of finished rounds to replay before writing resumes."""
        return len(self._resume)

    def start(self, records: Sequence[RoundRecord]) -> None:
        """Write empty files and a first summary (nothing replayed, nothing run yet)."""
        if self._resume:
            return
        self._rewrite_all(records, [])
        self._write_summary(self.out_dir, records)

    def round_done(self, records: Sequence[RoundRecord], events: Sequence[Any]) -> None:
        """Persist the newest record of ``records`` and the events added since the last call."""
        r = len(records) - 1
        if r < len(self._resume):
            self._check_replay(records, r)
            if r == len(self._resume) - 1:  # replay complete: files from the replay, then append
                self._rewrite_all(records, events)
                self._events_written = len(events)
            return
        if self.timeline:  # first: a row of rounds.csv marks its round as complete on disk
            new = events[self._events_written:]
            self._tl.append(csv_text(TIMELINE_COLUMNS, ((e.round, e.actor, e.phase, e.start, e.end, e.bits)
                                                       for e in new)).splitlines()[1:])
        cols, wall = split_wall(records)
        if self._rounds.header != cols or (wall and self._wall.header != ["round", *wall]):
            self._rewrite_all(records, events)  # a new metric column appeared
        else:
            self._rounds.append(_rounds_lines(records[-1:], cols))
            if wall:
                self._wall.append(csv_text(["round", *wall], [[records[-1].round,
                                           *(records[-1].get(c, math.nan) for c in wall)]]).splitlines()[1:])
        self._events_written = len(events)
        now = time.monotonic()
        if now - self._last_sync >= FSYNC_EVERY_S or not self._written_any:
            for f in (self._rounds, self._wall, self._tl):
                f.fsync()
            self._last_sync = now
            self._write_summary(self.out_dir, records)
        if not self._written_any:
            self._written_any = True
            if self._on_first_round is not None:
                self.close()
                self.out_dir = self._on_first_round()
                for f in (self._rounds, self._wall, self._tl):
                    f.move_to(self.out_dir)
                self._reopen()

    def _check_replay(self, records: Sequence[RoundRecord], r: int) -> None:
        cols = self._resume_header or split_wall(records)[0]
        got = _rounds_lines(records[-1:], cols)[0]
        if got != self._resume[r]:
            raise ResumeMismatch(
                f"round {r} replays differently from {self.out_dir / 'rounds.csv'} (scenario files, "
                f"data or edgefl changed since the run was started):\n  on disk: {self._resume[r][:200]}\n"
                f"  replay:  {got[:200]}")

    def _rewrite_all(self, records: Sequence[RoundRecord], events: Sequence[Any]) -> None:
        cols, wall = split_wall(records)
        self._rounds.rewrite(lambda: write_rounds(self.out_dir, records), cols)
        if wall:
            self._wall.rewrite(lambda: None, ["round", *wall])  # write_rounds wrote it
        if self.timeline:
            self._tl.rewrite(lambda: write_timeline(self.out_dir, events), list(TIMELINE_COLUMNS))

    def _reopen(self) -> None:
        for f in (self._rounds, self._wall, self._tl):
            if f.header is not None:
                f.reopen()

    def close(self) -> None:
        """Flush, fsync and close the files (the final rewrite is the caller's)."""
        for f in (self._rounds, self._wall, self._tl):
            f.fsync()
            f.close()
