"""``edgefl.run``: one scenario simulated, its results as DataFrames and figures.

The run goes through :func:`edgefl.runner.run_scenario`, the code behind ``edgefl run``: without
``out`` into a temporary directory whose files are kept in memory (and the directory removed), so
:meth:`RunResult.save` writes the very bytes ``edgefl run -o DIR`` writes.
"""

from __future__ import annotations

import functools
import io
import json
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgefl.api.scenario import Overrides, Scenario, as_scenario

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from edgefl.runner import RunOutcome

#: files of a results directory that are not results (the claim marker of the output directory)
_NOT_RESULTS = (".edgefl-run",)


class RunError(RuntimeError):
    """A run stopped by an error after it started; ``result`` holds the rounds finished before it."""

    def __init__(self, message: str, result: RunResult) -> None:
        super().__init__(message)
        self.result = result


class RunResult:
    """The results of one run: DataFrames with the columns of the CSV files, ``summary`` (the
    content of summary.json), figures, and :meth:`save`.

    >>> import edgefl
    >>> r = edgefl.run("scenarios/quickstart.yaml", set=["rounds=3"])
    >>> r.rounds.shape[0], bool(r.rounds["latency_s"].mean() > 0)
    (3, True)
    >>> fig = r.plot_round(0)        # a matplotlib Figure (no pyplot state); fig.savefig("round0.png")
    """

    def __init__(self, scenario: Scenario, outcome: RunOutcome, files: Mapping[str, bytes] | None = None,
                 plots_pending: bool = False) -> None:
        self.scenario = scenario
        self.outcome = outcome
        self._files = dict(files) if files is not None else None  # None: read from outcome.out_dir
        self._plots_pending = plots_pending

    # -- what the run did -------------------------------------------------------------------------------
    @property
    def complete(self) -> bool:
        """True when every requested round ran."""
        return self.outcome.complete

    @property
    def rounds_done(self) -> int:
        """Rounds finished."""
        return self.outcome.rounds_done

    @property
    def error(self) -> str | None:
        """What stopped an incomplete run (None: complete, or interrupted by Ctrl-C)."""
        return self.outcome.error

    @property
    def out_dir(self) -> Path | None:
        """The results directory when ``out`` was given, else None (the results are in memory)."""
        return None if self._files is not None else self.outcome.out_dir

    # -- files ------------------------------------------------------------------------------------------
    def files(self) -> dict[str, bytes]:
        """The results files by name, as ``edgefl run -o`` writes them (PNGs only when ``out`` was given)."""
        if self._files is not None:
            return dict(self._files)
        return _read_dir(self.outcome.out_dir)

    def _bytes(self, name: str) -> bytes | None:
        if self._files is not None:
            return self._files.get(name)
        path = self.outcome.out_dir / name
        return path.read_bytes() if path.is_file() else None

    def _text_rows(self, name: str) -> list[dict[str, str]]:
        import csv

        data = self._bytes(name)
        if data is None:
            raise ValueError(f"this run wrote no {name} (output.timeline off?)")
        return list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))

    def _frame(self, name: str, columns: tuple[str, ...] = ()) -> pd.DataFrame:
        import pandas as pd

        data = self._bytes(name)
        if data is None:
            return pd.DataFrame(columns=list(columns))
        return pd.read_csv(io.BytesIO(data))

    # -- tables -----------------------------------------------------------------------------------------
    @functools.cached_property
    def summary(self) -> dict[str, Any]:
        """summary.json: totals, engine path, versions, the scenario as run, device profiles."""
        data = self._bytes("summary.json")
        return json.loads(data) if data is not None else dict(self.outcome.summary)

    @functools.cached_property
    def rounds(self) -> pd.DataFrame:
        """rounds.csv: one row per round (latency_s, bits_total, worker_energy_j, test_accuracy, ...)."""
        return self._frame("rounds.csv")

    @functools.cached_property
    def timeline(self) -> pd.DataFrame:
        """timeline.csv: one row per interval of the timing diagram (round, actor, phase, start, end, bits)."""
        from edgefl.results.outputs import TIMELINE_COLUMNS

        return self._frame("timeline.csv", tuple(TIMELINE_COLUMNS))

    @functools.cached_property
    def workers(self) -> pd.DataFrame:
        """workers.csv: one row per worker (position, distance, LOS state, indoor flag, ...)."""
        return self._frame("workers.csv")

    @functools.cached_property
    def wall_times(self) -> pd.DataFrame:
        """wall_times.csv: measured wall-clock columns (machine noise; empty when the run measured none)."""
        return self._frame("wall_times.csv")

    # -- figures ----------------------------------------------------------------------------------------
    def plot_round(self, n: int | None = None, max_workers: int = 40) -> Figure:
        """Gantt chart of round ``n`` (default: the last) as a matplotlib Figure (no pyplot state;
        in a notebook it shows as the cell's value; ``fig.savefig(path)`` writes it)."""
        from edgefl.results.plots import timing_figure

        fig, _ = timing_figure(self._text_rows("timeline.csv"), self.scenario.name, n, max_workers, "this run")
        return fig

    def plot(self) -> Figure:
        """Per-round latency, bits and (when evaluated) test accuracy as a matplotlib Figure."""
        from edgefl.results.plots import curves_figure

        rows = self._text_rows("rounds.csv")
        if not rows:
            raise ValueError("this run has no finished rounds to plot")
        return curves_figure(rows, self.scenario.name)

    # -- saving -----------------------------------------------------------------------------------------
    def save(self, directory: str | Path, *, overwrite: bool = False) -> Path:
        """Write the results into ``directory`` exactly as ``edgefl run -o directory`` writes them, and
        return the directory written. Like the CLI, an existing results directory is not overwritten
        (the results go to ``directory-1``, ...) unless ``overwrite``."""
        from edgefl.results.plots import plot_results
        from edgefl.results.writer import write_atomic
        from edgefl.runner import _swap_in, prepare_output_dir

        final, write_dir = prepare_output_dir(Path(directory), overwrite)
        for name, data in self.files().items():
            write_atomic(write_dir / name, data)
        if self._plots_pending:
            plot_results(write_dir)
        return _swap_in(write_dir, final) if write_dir != final else final

    def __repr__(self) -> str:
        state = "complete" if self.complete else f"stopped: {self.error}" if self.error else "interrupted"
        where = f" in {self.out_dir}" if self.out_dir else ""
        return f"<edgefl.RunResult {self.scenario.name!r}: {self.rounds_done} rounds, {state}{where}>"

    def _repr_html_(self) -> str:  # notebooks: the totals as a table
        from html import escape

        cells = "".join(f"<tr><td>{escape(k)}</td><td>{v:.6g}</td></tr>" if isinstance(v, float) else
                        f"<tr><td>{escape(k)}</td><td>{escape(str(v))}</td></tr>"
                        for k, v in self.summary.get("totals", {}).items())
        return f"<p>{escape(repr(self))}</p><table>{cells}</table>"


def _read_dir(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(Path(directory).iterdir())
            if p.is_file() and p.name not in _NOT_RESULTS}


def execute(scenario: Scenario, out: str | Path | None = None, *, progress: bool | None = False,
            overwrite: bool = False, resume: bool = False, engine: str = "auto") -> RunResult:
    """Run ``scenario`` (the body shared by :func:`run` and ``edgefl run``); an error after the run
    started is in ``result.error``, not raised. Without ``out`` the results stay in memory."""
    from edgefl.runner import run_scenario, wants_plots

    rs = scenario.resolved
    if out is not None:
        outcome = run_scenario(rs, Path(out), overwrite=overwrite, progress=progress, resume=resume, engine=engine)
        return RunResult(scenario, outcome)
    with tempfile.TemporaryDirectory(prefix="edgefl-run-") as tmp:
        outcome = run_scenario(rs, Path(tmp) / rs.scenario.name, progress=progress, engine=engine, draw_plots=False)
        files = _read_dir(outcome.out_dir)
    pending = wants_plots(rs.scenario, outcome.rounds_done)
    return RunResult(scenario, outcome, files, plots_pending=pending)


def run(scenario: str | Path | Mapping[str, Any] | Scenario, *, set: Overrides = None,
        out: str | Path | None = None, progress: bool = False, overwrite: bool = False,
        engine: str = "auto") -> RunResult:
    """Simulate a scenario (a path, YAML text, a dict or a :class:`~edgefl.Scenario`) and return its results.

    Writes no files unless ``out`` is given (then exactly what ``edgefl run -o out`` writes, with the
    same choice of a fresh ``out-1`` when ``out`` holds results and not ``overwrite``). ``set``: as
    for :func:`edgefl.load`. ``engine``: "auto", "simpy" or "fast", as ``edgefl run --engine``.
    A run stopped by an error raises :class:`RunError` (its ``result`` has the finished rounds);
    Ctrl-C returns the finished rounds with ``complete`` False.

    >>> import edgefl
    >>> r = edgefl.run("scenarios/quickstart.yaml", set=["rounds=3"])
    >>> list(r.rounds.columns[:4])
    ['round', 'start_s', 'end_s', 'latency_s']
    """
    from edgefl.sim.build import ENGINE_PATHS

    if engine not in ENGINE_PATHS:
        raise ValueError(f"engine = {engine!r}: use one of {', '.join(ENGINE_PATHS)}")
    result = execute(as_scenario(scenario, set), out, progress=progress, overwrite=overwrite, engine=engine)
    if result.error:
        raise RunError(f"{result.scenario.source}: run stopped after {result.rounds_done} rounds: {result.error}",
                       result)
    return result
