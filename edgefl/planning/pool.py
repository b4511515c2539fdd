"""Plan points sampled concurrently in a local process pool (``edgefl plan --jobs N``).

A plan is a few monotone searches (:mod:`edgefl.planning.questions`) over points, each point a
scenario variant whose round-latency samples grow on demand (:mod:`edgefl.planning.samples`).
Points are independent of each other, so their samples can be drawn in other processes; a point
itself cannot be split: ``--over fading`` samples are the consecutive rounds of one live
simulation (Gauss-Markov fading, batteries and traces carry over from round to round), so all
of a point's rounds are played, in order, by one simulation.

Hence the pool's one rule: **a point lives in one slot**. A slot is a single-process
:class:`~concurrent.futures.ProcessPoolExecutor` whose child keeps a local
:class:`~edgefl.planning.questions.Sampler` (its live simulations, by point); a point is given a
slot at its first request (an idle one if any) and every later request for it goes there, so each
simulation just continues. The parent keeps, per point, the longest prefix of samples returned
(:class:`RemoteSamples`); a request for n samples returns the child's ``take(n)``, which is by
construction the same array a serial run computes, whichever slot, whenever, and however many
samples were asked for before. The searches take the same decisions from the same numbers as
with ``--jobs 1``; only the moment the numbers are computed changes (prefetch, questions run in
threads: :func:`edgefl.planning.api.plan`).

Plain :mod:`concurrent.futures` is enough: the points of one plan are few (tens), coarse (a
build and hundreds of rounds each) and live on one machine; Dask (``edgefl sweep --engine
dask``, :mod:`edgefl.sweep.engines`) is not needed here. Children come from a fork server that
imported edgefl once (cheap to start, never forked from a parent with threads running); numba
functions load from their on-disk cache; each uses one BLAS thread. Children ignore SIGINT: on Ctrl-C (or any error) the
parent terminates them (:meth:`PointPool.close`); a child that dies raises :class:`PoolError`
naming the point.
"""

from __future__ import annotations

import copyreg
import logging
import os
import pickle
import resource
import signal
import threading
import time
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edgefl.pool_server import main_not_imported, start_server
from edgefl.scenario import ScenarioError

log = logging.getLogger(__name__)


class PoolError(RuntimeError):
    """A pool process died (or the pool was closed) while sampling a point (message names it)."""


def _reduce_scenario_error(exc: ScenarioError):
    return ScenarioError, (exc.source, exc.problems)


copyreg.pickle(ScenarioError, _reduce_scenario_error)  # a child's ScenarioError reaches the CLI as one


# ---------------------------------------------------------------- child side
_CHILD: dict[str, Any] = {}


def _start_child(args: dict[str, Any]) -> None:
    """Pool initializer: a local Sampler with the parent's options (its live simulations, by point)."""
    from edgefl.planning.questions import Sampler

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops the children on Ctrl-C
    try:  # one BLAS thread per child: N children with N BLAS threads each would oversubscribe N CPUs
        from threadpoolctl import threadpool_limits  # scikit-learn's dependency
    except ImportError:  # pragma: no cover
        pass
    else:
        _CHILD["blas"] = threadpool_limits(1)
    _CHILD["sampler"] = Sampler(**args)


def _ready() -> int:
    return os.getpid()


@dataclass
class Reply:
    """A child's answer to a request: the first n samples of a point and its bookkeeping."""

    x: np.ndarray
    paths: list[str]  # fading: the simulation's engine path; placements: one per placement drawn
    placed: list[int] = field(default_factory=list)
    out: list[np.ndarray] = field(default_factory=list)
    distances: list[np.ndarray] = field(default_factory=list)
    error: BaseException | None = None
    cpu_s: float = 0.0  # CPU time of the child so far (time.process_time)
    max_rss_mb: float = 0.0  # the child's peak resident memory so far


def _take(over: str, overrides: tuple[str, ...], n: int) -> Reply:
    """Child: the first n samples of a point (its Samples object built at the first request)."""
    from edgefl.planning.samples import PlacementSamples

    try:
        s = _CHILD["sampler"].points(overrides, over)
        x = s.take(n)
    except Exception as exc:  # noqa: BLE001 - raised in the parent where a serial run raises it
        try:
            pickle.loads(pickle.dumps(exc))
        except Exception:  # noqa: BLE001 - an exception that cannot cross the pipe: its text does
            exc = RuntimeError(f"{type(exc).__name__}: {exc}")
        return Reply(np.zeros(0), [], error=exc, **_usage())
    if isinstance(s, PlacementSamples):
        return Reply(x, list(s.path_list), list(s.placed), list(s.out), list(s.distances), **_usage())
    return Reply(x, sorted(s.engine_paths), **_usage())


def _usage() -> dict[str, float]:
    """The child's CPU time and peak memory so far (Linux reports ru_maxrss in KiB)."""
    return {"cpu_s": time.process_time(), "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


# ---------------------------------------------------------------- parent side
class PointPool:
    """``jobs`` single-process slots; each point is sampled in the slot it was first given."""

    def __init__(self, sampler_args: dict[str, Any], jobs: int) -> None:
        if jobs < 1:
            raise ValueError(f"jobs must be >= 1, got {jobs}")
        ctx = start_server()
        self.jobs = int(jobs)
        self._slots = [ProcessPoolExecutor(1, mp_context=ctx, initializer=_start_child, initargs=(sampler_args,))
                       for _ in range(self.jobs)]
        self._next = 0
        self._lock = threading.Lock()
        self._closed = False
        self.stopped: list = []  # the children close() terminated
        self.cpu_s = [0.0] * self.jobs  # CPU time of each slot's child, as last reported
        self.max_rss_mb = [0.0] * self.jobs  # peak memory of each slot's child, as last reported
        self._queued = [0] * self.jobs  # requests queued or running, by slot
        with main_not_imported():  # a user's script without a __main__ guard must not rerun in the children
            for ex in self._slots:  # start the children now: they import and set up while the parent goes on
                ex.submit(_ready)

    def slot(self) -> int:
        """The slot of a new point: one with the fewest requests queued or running, the next in round
        robin order among those (only where the samples are computed depends on it, never their values)."""
        with self._lock:
            order = [(self._next + j) % self.jobs for j in range(self.jobs)]
            i = min(order, key=lambda j: self._queued[j])
            self._next = (i + 1) % self.jobs
            return i

    def submit(self, slot: int, over: str, overrides: tuple[str, ...], n: int) -> Future:
        if self._closed:
            raise PoolError("the plan's process pool is closed")
        fut = self._slots[slot].submit(_take, over, overrides, int(n))
        with self._lock:
            self._queued[slot] += 1
        fut.add_done_callback(lambda _f: self._done(slot))
        return fut

    def _done(self, slot: int) -> None:
        with self._lock:
            self._queued[slot] -= 1

    def close(self) -> None:
        """Stop every child now (queued and running requests are dropped)."""
        self._closed = True
        for ex in self._slots:
            procs = list((getattr(ex, "_processes", None) or {}).values())  # not public: terminate, not wait
            self.stopped += procs
            ex.shutdown(wait=False, cancel_futures=True)
            for p in procs:
                if p.is_alive():
                    p.terminate()
        for p in self.stopped:
            p.join(timeout=5)

    def __enter__(self) -> PointPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class RemoteSamples:
    """A point's samples drawn in a pool slot (the :class:`~edgefl.planning.samples.Samples`
    protocol): the parent's copy of the longest prefix returned so far; :meth:`request` asks for
    more without waiting, :meth:`take` waits. Coverage bookkeeping (placements) is reported for
    the samples taken, as the serial :class:`~edgefl.planning.samples.PlacementSamples` would."""

    def __init__(self, pool: PointPool, over: str, overrides: tuple[str, ...], series: bool, m: int) -> None:
        self.pool, self.over, self.overrides, self.series, self.m = pool, over, tuple(overrides), series, int(m)
        self.slot = pool.slot()
        self._reply: Reply | None = None
        self._pending: list[tuple[int, Future]] = []
        self._asked = 0  # most samples taken (not merely requested)
        self._lock = threading.Lock()

    def cluster_size(self, n: int) -> int:
        return self.m

    @property
    def have(self) -> int:
        return 0 if self._reply is None else int(self._reply.x.size)

    @property
    def drawn(self) -> int:
        """Rounds returned by the slot so far (drawn there; counted when they arrive)."""
        return self.have

    def available(self, n: int) -> np.ndarray | None:
        """The first n samples if already here (no wait), else None."""
        with self._lock:
            self._collect()
            return self._reply.x[:n] if self._reply is not None and self._reply.x.size >= n else None

    def request(self, n: int) -> None:
        """Ask the slot for the first n samples, unless they are here or asked for already."""
        with self._lock:
            self._collect()
            if n <= self.have or any(k >= n for k, _ in self._pending):
                return
            try:
                fut = self.pool.submit(self.slot, self.over, self.overrides, n)
            except RuntimeError as exc:  # BrokenProcessPool, or submitted after shutdown
                raise self._died(exc) from None
            self._pending.append((n, fut))

    def _collect(self) -> None:
        """Keep the replies of finished requests (lock held)."""
        done = [(k, f) for k, f in self._pending if f.done()]
        for k, f in done:
            self._pending.remove((k, f))
            self._keep(f)

    def _keep(self, fut: Future) -> None:
        try:
            rep = fut.result()
        except (BrokenProcessPool, CancelledError, RuntimeError) as exc:
            raise self._died(exc) from None
        spent = rep.cpu_s - self.pool.cpu_s[self.slot]
        self.pool.cpu_s[self.slot] = max(self.pool.cpu_s[self.slot], rep.cpu_s)
        self.pool.max_rss_mb[self.slot] = max(self.pool.max_rss_mb[self.slot], rep.max_rss_mb)
        log.debug("plan pool: slot %d sampled %s (over %s) to %d samples, %.2f s CPU", self.slot,
                  ", ".join(self.overrides) or "the scenario", self.over, rep.x.size, spent)
        if rep.error is not None:
            raise rep.error
        if self._reply is None or rep.x.size > self._reply.x.size:
            self._reply = rep

    def move(self, slot: int) -> bool:
        """Sample this point in ``slot`` from now on (a new simulation there replays its rounds from the
        first: the same numbers); refused (False) while a request is pending."""
        with self._lock:
            self._collect()
            if self._pending:
                return False
            self.slot = int(slot)
            return True

    def _died(self, exc: BaseException) -> PoolError:
        what = ", ".join(self.overrides) or "the scenario itself"
        return PoolError(f"plan: the process sampling the point {what} (over {self.over}) died or was stopped "
                         f"({type(exc).__name__}: {exc}); rerun with --jobs 1 to sample it in-process")

    def take(self, n: int) -> np.ndarray:
        self.request(n)
        while True:
            with self._lock:
                self._collect()
                if self.have >= n:
                    self._asked = max(self._asked, n)
                    return self._reply.x[:n]
                fut = next(f for k, f in self._pending if k >= n)
            try:
                fut.exception()  # wait (outside the lock); errors are raised by _collect
            except Exception:  # noqa: BLE001 - cancelled: _collect raises PoolError
                pass

    def _drawn(self) -> int:
        """Placements drawn by the serial sampler for the samples taken (placements only)."""
        return -(-self._asked // self.m)

    @property
    def engine_paths(self) -> set[str]:
        if self._reply is None:
            return set()
        return set(self._reply.paths[:self._drawn()] if self.over == "placements" else self._reply.paths)

    @property
    def placed(self) -> list[int]:
        return [] if self._reply is None else self._reply.placed[:self._drawn()]

    @property
    def out(self) -> list[np.ndarray]:
        return [] if self._reply is None else self._reply.out[:self._drawn()]

    @property
    def distances(self) -> list[np.ndarray]:
        return [] if self._reply is None else self._reply.distances[:self._drawn()]

    def out_of_coverage_share(self) -> float:
        placed = sum(self.placed)
        return float(sum(o.size for o in self.out) / placed) if placed else float("nan")
