"""The fork server the plan's process pool starts its children from (:mod:`edgefl.planning.pool`).

Standard library only, so that ``edgefl plan`` can start the server before it imports anything
heavy: the server imports :data:`PRELOAD` (numba, scipy and the engine, ~1 s) in its own process
while the CLI process does the same imports and reads the scenario, instead of after them.
"""

from __future__ import annotations

import multiprocessing
from multiprocessing.context import BaseContext

START_METHOD = "forkserver"  # as edgefl.sweep.engines: no fork of a parent whose threads run
#: modules the fork server imports once, so that every child starts with them loaded
PRELOAD = ["edgefl.planning.pool", "edgefl.planning.questions", "edgefl.sim.build"]


def start_server() -> BaseContext:
    """The pool's multiprocessing context, its fork server started now (idempotent; the server's
    imports run in its own process, this call does not wait for them)."""
    ctx = multiprocessing.get_context(START_METHOD)
    if START_METHOD == "forkserver":
        from multiprocessing import forkserver

        ctx.set_forkserver_preload(PRELOAD)
        forkserver.ensure_running()
    return ctx
