"""Run a study: skip finished points, run the rest on an engine, commit each, write tables and plots."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from edgefl.sweep.engines import (
    ENGINES,
    EngineError,
    Task,
    dask_results,
    local_results,
    run_point,
)
from edgefl.pool_server import default_jobs
from edgefl.sweep.store import PointResult, clean_stale, commit, read_status
from edgefl.sweep.study import Point, Study
from edgefl.sweep.tables import study_rows, summary_rows, write_tables


@dataclass(frozen=True)
class StudyReport:
    """What one ``run_study`` call did."""

    points: int  # grid points x seeds
    unique: int  # distinct result directories (equal resolved scenarios share one)
    already_done: int  # finished before this call (ok, plus failed ones not retried)
    ran: int  # run by this call
    failed: int  # failed in this call
    failed_total: int  # rows of study.csv with status error
    missing: int  # still not finished (interrupted)
    files: tuple[Path, ...]


def plan_work(study: Study, retry_failed: bool = False) -> tuple[list[Point], int]:
    """Points still to run (one per distinct key) and the count of distinct keys already finished."""
    todo: dict[str, Point] = {}
    for p in study.points:
        if p.key in todo:
            continue
        st = read_status(study.output, p.key)
        if st is None or (retry_failed and st.get("status") == "error"):
            todo[p.key] = p
    return list(todo.values()), len({p.key for p in study.points}) - len(todo)


def _results(tasks: list[Task], engine: str, jobs: int, scheduler: str | None,
             dask_processes: bool) -> Iterator[PointResult]:
    if engine == "local":
        return local_results(tasks, jobs)
    if engine == "dask":
        return dask_results(tasks, jobs, scheduler, dask_processes)
    raise EngineError(f"--engine {engine!r}: allowed: {', '.join(ENGINES)}")


def _meta(study: Study, keyed: list[Point]) -> dict:
    p = keyed[0]
    return {"study": study.name, "point": p.index, "seed": p.seed, "values": p.values,
            "also_points": [q.index for q in keyed[1:]]}


def run_study(study: Study, engine: str = "local", jobs: int | None = None, scheduler: str | None = None,
              retry_failed: bool = False, progress: bool | None = None, dask_processes: bool = True,
              plots: bool = True) -> StudyReport:
    """Run the unfinished points of ``study`` and write study.csv, study_summary.csv and plots.

    Interrupting (Ctrl-C, a killed process) loses only the points in flight; a rerun
    skips every committed point."""
    out = Path(study.output)
    out.mkdir(parents=True, exist_ok=True)
    clean_stale(out)
    if study.source.is_file():  # the study as run, next to its results
        shutil.copyfile(study.source, out / "study.yaml")
    todo, done = plan_work(study, retry_failed)
    by_key: dict[str, list[Point]] = {}
    for p in study.points:
        by_key.setdefault(p.key, []).append(p)
    ran = failed = 0
    if todo:
        jobs = jobs or default_jobs()
        tasks: list[Task] = [(p.key, p.scenario) for p in todo]
        bar = tqdm(total=len(tasks), desc=study.name, unit="point", disable=None if progress is None else not progress)
        try:
            for res in _results(tasks, engine, jobs, scheduler, dask_processes):
                if res.status == "interrupted":
                    continue
                commit(out, res, _meta(study, by_key[res.key]))
                ran += 1
                failed += res.status == "error"
                bar.update(1)
                if failed:
                    bar.set_postfix(failed=failed, refresh=False)
                if res.status == "error":
                    bar.write(f"point {by_key[res.key][0].index} seed {by_key[res.key][0].seed} failed: "
                              f"{res.error} (traceback in points/{res.key}/traceback.txt)")
        finally:
            bar.close()
    rows = study_rows(study)
    files: list[Path] = write_tables(study, rows, summary := summary_rows(study, rows))
    if plots and study.plots:
        from edgefl.sweep.plots import draw_plots

        files += draw_plots(study, summary, rows)
    return StudyReport(
        points=len(study.points), unique=len(by_key), already_done=done, ran=ran, failed=failed,
        failed_total=sum(r["status"] == "error" for r in rows),
        missing=sum(r["status"] == "missing" for r in rows), files=tuple(files))


@dataclass(frozen=True)
class DryRun:
    """Point count and a run-time estimate from one probe point."""

    points: int
    unique: int
    todo: int
    probe_s: float | None
    jobs: int
    estimate_s: float | None


def dry_run(study: Study, jobs: int | None = None, probe: bool = True, retry_failed: bool = False) -> DryRun:
    """Count the points still to run and time one of them here (results discarded): estimate =
    probe time x points to run / jobs (points differ in cost, so this is a rough guide)."""
    todo, _ = plan_work(study, retry_failed)
    jobs = jobs or default_jobs()
    probe_s = None
    if probe and todo:
        t0 = time.perf_counter()
        res = run_point(todo[0].key, todo[0].scenario)
        probe_s = time.perf_counter() - t0
        if res.status == "error":
            raise EngineError(f"the probe point {todo[0].index} (seed {todo[0].seed}) failed: {res.error}")
    est = None if probe_s is None else probe_s * len(todo) / min(jobs, max(1, len(todo)))
    return DryRun(len(study.points), len({p.key for p in study.points}), len(todo), probe_s, jobs, est)
