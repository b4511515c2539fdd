"""Keep a run's result files current on disk while it runs, so a hard kill loses little.

After the first round and then every :data:`FLUSH_S` seconds (or ten times as long as a
write takes, so that writing stays a small share of the run), timeline.csv, rounds.csv,
wall_times.csv and summary.json (``"complete": false``) are rewritten atomically
(temporary file + fsync + rename, :func:`edgefl.results.writer.write_atomic`): at any
moment each file is a complete, parseable version, and SIGKILL loses at most the rounds
of the last second. The final write at the end of the run produces exactly the files an
uninterrupted run writes (the same writers, the same records).

With ``--overwrite`` the run writes into a staging directory next to the target and
:meth:`Journal.promote` moves its files over the old results only once the first round is
on disk, so a run killed during start-up leaves the previous results intact.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edgefl.results.writer import CLAIM_FILE

FLUSH_S = 1.0
RESULT_FILES = ("timeline.csv", "rounds.csv", "wall_times.csv", "summary.json", "rounds.png")


def result_files(directory: Path) -> list[Path]:
    """The files a run writes that exist in ``directory`` (plots included)."""
    return [p for p in (*(directory / f for f in RESULT_FILES), *directory.glob("timing_round*.png")) if p.exists()]


def scenario_hash(scenario: dict[str, Any], devices: dict[str, Any]) -> str:
    """sha256 of the resolved scenario and device profiles (what a resume must match)."""
    text = json.dumps({"scenario": scenario, "devices": devices}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


class Journal:
    """Writes a run's files through ``write(directory, complete, error)`` at round ends, throttled."""

    def __init__(self, directory: Path, write: Callable[[Path, bool, str | None], None],
                 replace: Path | None = None) -> None:
        self.dir = directory
        self._write = write
        self._replace = replace  # the old results directory this (staging) run replaces
        self._last = -float("inf")
        self._interval = FLUSH_S
        self.enabled = True

    def round_done(self) -> None:
        """Call after every finished round: writes if due (always after the first one)."""
        if not self.enabled or time.monotonic() - self._last < self._interval:
            return
        self.flush(False, None)

    def flush(self, complete: bool, error: str | None) -> None:
        t0 = time.monotonic()
        self._write(self.dir, complete, error)
        if self._replace is not None:
            self.promote()
        took = time.monotonic() - t0
        self._last = time.monotonic()
        self._interval = max(FLUSH_S, 10.0 * took)

    def promote(self) -> None:
        """Move the staging directory's files over the old results (each file atomically), drop
        old result files the new run does not write, remove the staging directory."""
        assert self._replace is not None
        old, new = self._replace, self.dir
        moved = set()
        for f in new.iterdir():
            if f.name != CLAIM_FILE:
                os.replace(f, old / f.name)
                moved.add(f.name)
        for f in result_files(old):
            if f.name not in moved:  # e.g. the old run's plots or wall_times.csv
                f.unlink(missing_ok=True)
        shutil.rmtree(new, ignore_errors=True)
        self.dir, self._replace = old, None
