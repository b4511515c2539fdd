"""The fork server edgefl's local process pools start their children from (``edgefl plan --jobs``,
:mod:`edgefl.planning.pool`; ``edgefl sweep --engine local``, :mod:`edgefl.sweep.engines`), and how
many processes they use by default.

Standard library only, so that ``edgefl plan`` can start the server before it imports anything
heavy: the server imports :data:`PRELOAD` (numba, scipy and the engine, ~1 s) in its own process
while the CLI process does the same imports and reads the scenario, instead of after them.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.context import BaseContext

#: modules the plan's fork server imports once, so that every child starts with them loaded
PRELOAD = ["edgefl.planning.pool", "edgefl.planning.questions", "edgefl.sim.build"]


def default_jobs() -> int:
    """Processes when ``--jobs`` is not given: the CPUs this process may use (at least 1)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


#: local processes per CPU a pool may start (more only share the CPUs, each with its own simulations)
JOBS_PER_CPU = 4


def jobs_problem(jobs: object, option: str = "--jobs") -> str | None:
    """Why ``jobs`` cannot be a local pool's process count (None: it can, or is None = the default):
    a whole number in 1 .. :data:`JOBS_PER_CPU` x the CPUs this process may use; a pool of more
    would only share the CPUs and run out of memory or open files first."""
    if jobs is None:
        return None
    most = JOBS_PER_CPU * default_jobs()
    if isinstance(jobs, bool) or not isinstance(jobs, int) or not 1 <= jobs <= most:
        return (f"{option} = {jobs!r}: must be a whole number in 1..{most} ({JOBS_PER_CPU} processes per CPU; "
                f"this process may use {default_jobs()} CPUs)")
    return None


def forkserver_context(preload: list[str]) -> BaseContext:
    """A multiprocessing context whose children come from a fork server that imports ``preload`` once
    (cheap to start, and never forked from a parent whose numba threads are running)."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(preload)
    return ctx


def start_server() -> BaseContext:
    """The plan pool's context, its fork server started now (idempotent; the server's imports run in
    its own process, this call does not wait for them)."""
    from multiprocessing import forkserver

    ctx = forkserver_context(PRELOAD)
    forkserver.ensure_running()
    return ctx


@contextmanager
def main_not_imported() -> Iterator[None]:
    """Children started inside this block do not import the parent's ``__main__``.

    multiprocessing's forkserver and spawn children import the parent's main script (as
    ``__mp_main__``) so that functions defined there can be unpickled. edgefl's pool children run
    edgefl functions only, and a user's script that calls ``edgefl.plan`` or ``edgefl.sweep``
    without an ``if __name__ == "__main__":`` guard would run itself again in every child (which
    then fails to start). The children read which main to import when they are started
    (``multiprocessing.spawn.get_preparation_data``), so the pools start theirs in this block,
    with ``sys.modules["__main__"]`` a module that names no file for that moment."""
    main = sys.modules.get("__main__")
    if main is None or (getattr(main, "__file__", None) is None and getattr(main, "__spec__", None) is None):
        yield
        return
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main
