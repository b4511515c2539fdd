"""Where the points run: a local process pool (default) or Dask distributed.

Both engines call :func:`run_point` (which calls :func:`edgefl.runner.run_scenario`)
and yield :class:`PointResult` objects as points finish; the caller commits them. The
worker returns the files' bytes instead of writing into the study directory, so a Dask
cluster needs no shared filesystem and the study directory has one writer.
"""

from __future__ import annotations

import tempfile
import time
import traceback
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from edgefl.pool_server import forkserver_context, main_not_imported
from edgefl.scenario import ResolvedScenario
from edgefl.sweep.store import PointResult

ENGINES = ("local", "dask")
DASK_INSTALL = 'pip install -e ".[dask]"'


class EngineError(RuntimeError):
    """An engine that cannot start or lost its workers (message says what to do)."""


def run_point(key: str, rs: ResolvedScenario) -> PointResult:
    """Run one point in a temporary directory and return its files; errors are returned, not raised."""
    from edgefl.runner import run_scenario

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"edgefl-point-{key}-") as tmp:
        out = Path(tmp) / "run"
        try:
            outcome = run_scenario(rs, out, progress=False)
        except Exception as exc:  # noqa: BLE001 - a point that raises is recorded, the study goes on
            return PointResult(key, "error", {}, f"{type(exc).__name__}: {exc}", traceback.format_exc(),
                               time.perf_counter() - t0)
        files = ({p.name: p.read_bytes() for p in sorted(outcome.out_dir.iterdir()) if p.is_file()}
                 if outcome.out_dir.is_dir() else {})
        wall = time.perf_counter() - t0
        if outcome.complete:
            return PointResult(key, "ok", files, wall_s=wall)
        if outcome.error is None:  # Ctrl-C / SIGTERM: not a result, the point reruns next time
            return PointResult(key, "interrupted", wall_s=wall)
        return PointResult(key, "error", files, outcome.error, outcome.traceback or outcome.error, wall)


Task = tuple[str, ResolvedScenario]


def local_results(tasks: Sequence[Task], jobs: int) -> Iterator[PointResult]:
    """Run ``tasks`` on a process pool of ``jobs`` workers.

    Workers come from a fork server that imported edgefl once (cheap to start, and never
    forked from a parent whose numba threads are running)."""
    ctx = forkserver_context(["edgefl.sweep.engines", "edgefl.runner"])
    pool = ProcessPoolExecutor(max_workers=max(1, min(jobs, len(tasks))), mp_context=ctx)
    try:
        with main_not_imported():  # the children start with the first submits; see pool_server
            futures = [pool.submit(run_point, key, rs) for key, rs in tasks]
        for fut in as_completed(futures):
            try:
                yield fut.result()
            except BrokenProcessPool as exc:
                raise EngineError(f"a worker process died ({exc}); finished points are kept, "
                                  "rerun the study to run the rest") from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def dask_results(tasks: Sequence[Task], jobs: int, scheduler: str | None = None,
                 processes: bool = True) -> Iterator[PointResult]:
    """Run ``tasks`` through Dask distributed: on ``scheduler`` (``tcp://host:port``) if given,
    else on a LocalCluster of ``jobs`` single-threaded workers."""
    try:
        from distributed import Client, LocalCluster
        from distributed import as_completed as dask_as_completed
    except ImportError:
        raise EngineError(f"--engine dask needs dask.distributed, which is not installed: {DASK_INSTALL}") from None
    cluster = None
    if scheduler:
        try:
            client = Client(scheduler, timeout="10s")
        except OSError as exc:
            raise EngineError(f"--scheduler {scheduler}: cannot connect ({exc})") from None
    else:
        cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=processes,
                               dashboard_address=None, silence_logs=40)
        client = Client(cluster)
    try:
        futures = [client.submit(run_point, key, rs, key=f"edgefl-point-{key}", pure=False) for key, rs in tasks]
        for fut in dask_as_completed(futures):
            try:
                yield fut.result()
            except Exception as exc:  # noqa: BLE001 - e.g. KilledWorker: record it against this point
                key = str(fut.key).removeprefix("edgefl-point-")
                yield PointResult(key, "error", {}, f"{type(exc).__name__}: {exc}", traceback.format_exc())
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
