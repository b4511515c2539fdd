"""``edgefl.sweep``: a study (a grid of scenarios x seeds) run and returned as DataFrames and figures."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from edgefl.sweep.run import StudyReport
    from edgefl.sweep.study import Study


class StudyResult:
    """A finished (or partly finished) study: ``table`` (one row per point x seed), ``summary``
    (mean and 95 % CI over seeds per grid point), figures, and the study directory ``out_dir``.

    >>> import edgefl
    >>> res = edgefl.sweep("scenarios/studies/latency_energy_vs_radius.yaml", out="/tmp/radius")  # doctest: +SKIP
    >>> res.summary[["workers.placement.radius_m", "latency_p95_mean"]]  # doctest: +SKIP
    >>> res.plot("latency_p95", x="workers.placement.radius_m", lines="compression.scheme", logy=True)  # doctest: +SKIP
    """

    def __init__(self, study: Study, report: StudyReport | None = None) -> None:
        self.study = study
        self.report = report

    @property
    def out_dir(self) -> Path:
        """The study directory (points/, study.csv, study_summary.csv, study.parquet, plots/)."""
        return Path(self.study.output)

    @functools.cached_property
    def _rows(self) -> list[dict[str, Any]]:
        from edgefl.sweep.tables import study_rows

        return study_rows(self.study)

    @functools.cached_property
    def _summary_rows(self) -> list[dict[str, Any]]:
        from edgefl.sweep.tables import summary_rows

        return summary_rows(self.study, self._rows)

    @functools.cached_property
    def table(self) -> pd.DataFrame:
        """study.csv as a DataFrame: point, seed, one column per axis, the metrics, status, key, error."""
        import pandas as pd

        return pd.DataFrame(self._rows)

    @functools.cached_property
    def summary(self) -> pd.DataFrame:
        """study_summary.csv as a DataFrame: per grid point, ``<metric>_mean``, ``_ci95_low``, ``_ci95_high``."""
        import pandas as pd

        return pd.DataFrame(self._summary_rows)

    def plot(self, metric: str | int | None = None, x: str | None = None, *, lines: str | None = None,
             where: Mapping[str, Any] | None = None, logx: bool | None = None, logy: bool = False,
             minus: Mapping[str, Any] | None = None, heatmap: tuple[str, str] | None = None,
             threshold: float | None = None) -> Figure:
        """A study plot as a matplotlib Figure (no pyplot state). ``plot()`` or ``plot(i)``: the study
        file's plot number ``i`` (default the first); else ``metric`` vs axis ``x``, one line per value
        of ``lines`` (mean, 95 % CI band), or with ``heatmap=(x_axis, y_axis)`` a heat map."""
        from edgefl.sweep.plots import heatmap_figure, line_figure
        from edgefl.sweep.study import HeatMap, LinePlot, StudyError

        if metric is None or isinstance(metric, int):
            i = metric or 0
            if not self.study.plots or not -len(self.study.plots) <= i < len(self.study.plots):
                raise ValueError(f"the study has {len(self.study.plots)} plots; give metric= and x= (or heatmap=)")
            spec: LinePlot | HeatMap = self.study.plots[i]
        elif heatmap is not None:
            spec = HeatMap(metric=metric, heatmap=heatmap, threshold=threshold, where=dict(where or {}))
        else:
            if x is None:
                raise ValueError("give the x axis: plot(metric, x=...)")
            spec = LinePlot(metric=metric, x=x, lines=lines, where=dict(where or {}), logx=logx, logy=logy,
                            minus=dict(minus) if minus else None)
        names = [m.name for m in self.study.metrics]
        axes = [*([spec.x, *([spec.lines] if spec.lines else [])] if isinstance(spec, LinePlot) else spec.heatmap),
                *spec.where]
        bad = [a for a in axes if a not in self.study.axes]
        if spec.metric not in names or bad:
            raise StudyError(f"plot: metric must be one of {names} and axes one of {list(self.study.axes)} "
                             f"(unknown: {bad or spec.metric})")
        if isinstance(spec, HeatMap):
            return heatmap_figure(self.study, self._summary_rows, spec)
        return line_figure(self.study, self._summary_rows, spec, self._rows)

    def __repr__(self) -> str:
        st = self.study
        return (f"<edgefl.StudyResult {st.name!r}: {st.num_grid_points} points x {len(st.seeds)} seeds "
                f"in {self.out_dir}>")


def load_study_any(study: str | Path | Mapping[str, Any], out: str | Path | None = None) -> Study:
    """A study from a file or a dict (of the study YAML's structure; a relative ``base`` is then
    relative to the current directory); raises :class:`edgefl.sweep.study.StudyError`."""
    from pydantic import ValidationError

    from edgefl.sweep.study import StudyError, StudyFile, build_study, load_study

    if not isinstance(study, Mapping):
        return load_study(study, out)
    try:
        sf = StudyFile.model_validate(dict(study))
    except ValidationError as exc:
        raise StudyError("\n".join(f"<dict>: {'.'.join(map(str, e['loc'])) or '(top level)'}: {e['msg']}"
                                   for e in exc.errors(include_url=False))) from None
    return build_study(sf, Path.cwd() / "<dict>", out)


def sweep(study: str | Path | Mapping[str, Any], *, engine: str = "local", jobs: int | None = None,
          out: str | Path | None = None, progress: bool = False, retry_failed: bool = False, plots: bool = True,
          scheduler: str | None = None) -> StudyResult:
    """Run a study (a study YAML path or a dict of the same structure): every grid point x seed,
    skipping points finished before (a study is resumable), then write study.csv,
    study_summary.csv, study.parquet (with pyarrow) and the plots into ``out`` (default: the
    study's ``output``, else results/studies/<name>).

    ``engine``: "local" (process pool of ``jobs``) or "dask"; raises ``StudyError`` for a bad study
    (before anything runs) and ``EngineError`` for an engine that cannot start.

    >>> import edgefl
    >>> res = edgefl.sweep("scenarios/studies/latency_energy_vs_radius.yaml", jobs=2)  # doctest: +SKIP
    >>> res.summary.shape  # doctest: +SKIP
    (32, 20)
    """
    check_engine(engine, scheduler, jobs)
    return run_loaded(load_study_any(study, out), engine=engine, jobs=jobs, progress=progress,
                      retry_failed=retry_failed, plots=plots, scheduler=scheduler)


def check_engine(engine: str, scheduler: str | None = None, jobs: int | None = None) -> None:
    """An engine name edgefl knows, a scheduler only for dask, and a local process count
    (:func:`edgefl.pool_server.jobs_problem`); else ``EngineError``."""
    from edgefl.pool_server import jobs_problem
    from edgefl.sweep.engines import ENGINES, EngineError

    if engine not in ENGINES:
        raise EngineError(f"--engine {engine!r}: allowed: {', '.join(ENGINES)}")
    if scheduler and engine != "dask":
        raise EngineError("--scheduler needs --engine dask")
    if not scheduler and (why := jobs_problem(jobs)) is not None:  # local processes (a remote cluster has its own)
        raise EngineError(why)


def run_loaded(study: Study, *, engine: str = "local", jobs: int | None = None, progress: bool | None = False,
               retry_failed: bool = False, plots: bool = True, scheduler: str | None = None) -> StudyResult:
    """Run a loaded study (the body shared by :func:`sweep` and ``edgefl sweep``)."""
    from edgefl.sweep.run import run_study

    check_engine(engine, scheduler, jobs)
    return StudyResult(study, run_study(study, engine, jobs, scheduler, retry_failed, progress, plots=plots))
