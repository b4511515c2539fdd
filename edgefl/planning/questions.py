"""The planning questions, answered from the simulator's own round-latency samples.

A configuration *meets* a deadline T when the held percentile q (default p95) of its round
latency is <= T. Each question is a monotone search (:mod:`edgefl.planning.search`) over one
scenario field, each point of which is a variant of the scenario sampled by
:mod:`edgefl.planning.samples`:

* **largest worker count** K*: ``workers.count`` (or ``workers.per_round`` under partial
  participation), K = 1, 2, 4, ... then bisection, exact to one worker; assumes the percentile
  grows with K (TDMA queues one more upload, FDMA shrinks every share, the multicast rate is the
  weakest worker's);
* **smallest uplink bandwidth** B* for the scenario's workers: B within the schema's limits
  (:mod:`edgefl.planning.limits`); assumes the percentile falls with B. When the scenario's B
  misses T, the schema's highest B is evaluated first: if it misses T too, no B meets it
  (``min_uplink_bandwidth_hz`` null, with the reason, e.g. rounds that run to
  ``round_deadline_s`` whatever B) - two points instead of a walk through the range; if it meets
  T, the two are bisected in log space to a relative ``resolution`` (when the scenario's B meets
  T, the lowest B plays the highest's part);
* **largest cell radius** R* (``--coverage``, always ``--over placements``): the disc's
  ``radius_m`` or the annulus' ``r_max_m``, like B (the smallest radius evaluated first when the
  scenario's misses T); assumes the percentile grows with R.

Common random numbers: every point of a search is sampled with the same seed, so its draws
(fading, stragglers, participation, placements scaled with the radius) are shared between
points and the empirical percentile is a smooth function of the searched value. Over
placements, the radius search draws each placement once (unit-disc draws, shadowing, fading,
jitter) and rescales its distances for every radius it tries
(:class:`~edgefl.planning.placement_batch.PlacementBatch`, for the scenarios it covers; the
latencies are the per-placement simulations' own): each sample's latency, hence the percentile,
is then non-decreasing in R, and a bisection step costs one array pass instead of a simulation
per placement.

**Adding samples** (issue 20, item 4): a search runs with n samples per point (``samples``, the
initial n); at the answer's boundary points (the K* / K* + 1, and the two ends of the B or R
bracket) it checks the 95 % interval of the held percentile (:mod:`edgefl.planning.stats`).
It stops when the deadline is outside every boundary interval, or every interval is narrower
than ``resolution`` x T, or the answer is **settled to the resolution**, or n reached
``max_samples``; otherwise it doubles n and searches again (the points already sampled keep their
samples and only grow). Settled: a boundary point whose percentile equals T within its interval
can stay so for every n (rounds cut at ``round_deadline_s = T`` put an atom at T: the p95 sits on
it while the share of cut rounds is near 5 %), so more samples cannot decide it; the answer is
then decided by the search's own resolution when the deadline is outside the intervals one
resolution step beyond the boundary: for B and R at lo / (1 + resolution) and hi x (1 + resolution)
(missing T there, meeting it there: the change lies in a bracket of (1 + resolution)^3, the
reported value is the bracket's end as always); for K at K* - 1 (meets T) and K* + 2 (misses it),
the boundary estimates themselves deciding the other side (only one of K*, K* + 1 is within the
interval of T). A point beyond the boundary that settled() tested before, on m < n samples, is
grown to n for this test only when those m samples say it may pass: their interval, narrowed by
sqrt(n / m) about the estimate (intervals narrow about as 1 / sqrt(n)), already on the side the
test needs; otherwise the answer is not settled at n and the point keeps its m samples. Where
every point near the boundary holds T for many doublings (a flat percentile on the atom), this
keeps the search from growing, at every doubling, a third point that could not settle it; it
never makes a stop that the rule without it would not make. The answer reports n and why it
stopped.

**Points decided early** (the worker and bandwidth searches): a search asks of a point whether
its percentile of n samples meets T; it first looks at the point's first m = n0, 2 n0, ... < n
samples, and when the 95 % interval of m samples already excludes T that side is the answer (the
estimate of n samples lies on it but for the interval's 5 % miss). Points far from the boundary
thus cost n0 samples instead of n; the boundary estimates that decide when to stop are always of
n samples, and the worker answer equals a brute-force scan over K wherever that scan's intervals
are clear of T (``tests/test_plan_stats.py``).

**Sampled concurrently** (``jobs`` > 1, :mod:`edgefl.planning.pool`): the questions run in threads
of one process, each over its own view of one sample store (:meth:`Sampler.view`: an answer
reports the engine paths of its own points), and the points are sampled in a pool of processes.
A search still asks for its points one at a time and decides from the same numbers; before it
asks, it *prefetches* the points it is about to ask for: the first two points of a search, the
previous answer's boundary points at the doubled n (their estimates are always asked for), and
the points settled() asks for when the estimates of n / 2 samples say the search goes on (and
their own pre-test passes). A wrong guess costs CPU, never a different answer. Bisection steps
are not speculated on: with the few processes of a workstation the other questions keep them
busy meanwhile.

Percentiles alone grow the same way until the held percentile's interval is narrower than
``resolution`` x its value (or excludes the deadline, when one is given).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from edgefl.planning import limits
from edgefl.planning.answers import (
    CoverageAnswer,
    Estimate,
    MaxWorkersAnswer,
    MinBandwidthAnswer,
    PercentilesAnswer,
    Sampling,
)
from edgefl.planning.samples import PlacementSamples, RoundSamples, Samples, rounds_independent, variant
from edgefl.planning.search import boundary, largest_int, refine_boundary, refine_int
from edgefl.planning.stats import Interval, ci_method, confidence_interval, min_bounded_samples, percentile
from edgefl.scenario import FieldProblem, ResolvedScenario, ResourceError, ScenarioError

log = logging.getLogger(__name__)
REPORTED = (50.0, 95.0, 99.0)
STOP_DEADLINE = "deadline outside the CI"
STOP_RESOLUTION = "CI narrower than the resolution"
STOP_CAP = "sample cap"
STOP_SETTLED = "deadline outside the CIs one resolution step beyond the boundary"


@dataclass
class Sampler:
    """The planner's sample store: one growing :class:`Samples` per scenario variant (``--set`` list).

    With a :class:`~edgefl.planning.pool.PointPool` (``pool``) the points' samples are drawn in its
    processes (:class:`~edgefl.planning.pool.RemoteSamples`, the same numbers) and :meth:`prefetch`
    asks for samples a search is about to need; without one, in this process as they are asked
    for. :meth:`view` gives each question its own record of the points it asked (``sampling``)
    over the shared store, so a question's report does not depend on which questions ran first."""

    rs: ResolvedScenario
    method: str = "auto"
    over: str = "fading"
    max_samples: int = 6400
    per_placement: int = 10
    seed: int | None = None
    max_memory: float | None = None
    pool: object = None  # a PointPool, or None: sampled in this process
    _points: dict[tuple[str, ...], Samples] = field(default_factory=dict)
    _estimates: dict[tuple, Estimate] = field(default_factory=dict)
    _shared: dict[str, object] = field(default_factory=dict)  # "batch": the PlacementBatch of --over placements
    _asked: list[tuple[str, ...]] = field(default_factory=list)  # the points this view asked for, in order
    _lock: threading.RLock = field(default_factory=threading.RLock)

    @property
    def _batch(self) -> object:
        """The PlacementBatch of --over placements (False: the scenario needs simulations; None: not made yet)."""
        return self._shared.get("batch")

    def options(self) -> dict[str, object]:
        """The options a pool child builds its own Sampler from."""
        return {"rs": self.rs, "method": self.method, "over": self.over, "max_samples": self.max_samples,
                "per_placement": self.per_placement, "seed": self.seed, "max_memory": self.max_memory}

    def view(self) -> Sampler:
        """This store with an empty record of asked points (one per question)."""
        return dataclasses.replace(self, _asked=[])

    def points(self, overrides: tuple[str, ...] = (), over: str | None = None) -> Samples:
        key = ((over or self.over), *overrides)
        s = self._get(tuple(overrides), over or self.over)
        if key not in self._asked:
            self._asked.append(key)
        return s

    def _get(self, overrides: tuple[str, ...], over: str) -> Samples:
        """The point's Samples, made at the first call (not recorded as asked)."""
        key = (over, *overrides)
        with self._lock:
            if key not in self._points:
                self._points[key] = self._make(overrides, over)
            return self._points[key]

    def _make(self, overrides: tuple[str, ...], over: str) -> Samples:
        batched = self._batched(overrides) if over == "placements" else None
        if batched is not None:
            return batched
        rs = variant(self.rs, list(overrides), self.max_memory)
        if self.pool is not None:
            from edgefl.planning.pool import RemoteSamples

            series = over == "fading" and not rounds_independent(rs)
            return RemoteSamples(self.pool, over, overrides, series, 1 if over == "fading" else self.per_placement)
        if over == "fading":
            return RoundSamples(rs, self.method, self.max_samples)
        seed = self.rs.scenario.seed if self.seed is None else self.seed
        return PlacementSamples(rs, self.method, self.per_placement, seed)

    def _remote(self, overrides: tuple[str, ...], over: str | None = None) -> Samples | None:
        """The point's samples when a pool slot draws them (they take requests), else None."""
        if self.pool is None:
            return None
        try:
            s = self._get(tuple(overrides), over or self.over)
        except ValueError:  # not a scenario: the search meets the error where a serial run does
            return None
        return s if hasattr(s, "request") else None

    def prefetch(self, overrides: tuple[str, ...], n: int, over: str | None = None) -> None:
        """Have a pool slot start on the first n samples of a point a search will (likely) ask for;
        nothing without a pool. Only the time the samples are ready changes, never their values."""
        s = self._remote(overrides, over)
        if s is not None:
            s.request(min(int(n), self.max_samples))

    def spread(self, points: list[tuple[str, ...]], n: int, n0: int, over: str | None = None) -> None:
        """Put points that will grow together (a search's boundary points) in different pool slots:
        a point sharing its slot with an earlier one of ``points`` moves to a slot holding none of them
        (:meth:`~edgefl.planning.pool.RemoteSamples.move`) while it has at most 2 ``n0`` samples - its
        rounds are replayed there once, and every later doubling of n runs beside the other's."""
        if self.pool is None:
            return
        remote = [s for s in (self._points.get((over or self.over, *p)) for p in points) if hasattr(s, "move")]
        for i, s in enumerate(remote):
            taken = {r.slot for r in remote[:i]}
            free = [j for j in range(self.pool.jobs) if j not in {r.slot for r in remote}]
            if s.slot in taken and free and s.have <= 2 * max(1, n0) and s.have < n:
                s.move(free[0])

    def prefetch_meets(self, overrides: tuple[str, ...], n: int, q: float, deadline: float, n0: int) -> None:
        """:meth:`prefetch` what :meth:`meets` will take: nothing when a prefix already here decides
        the point, the first prefix not here yet, else n."""
        s = self._remote(overrides)
        if s is None:
            return
        m = max(1, int(n0))
        while m < n:
            e = self.peek(overrides, m, q)
            if e is None:
                s.request(m)
                return
            if _misses(e, deadline) or _meets(e, deadline):
                return
            m *= 2
        s.request(n)

    def peek(self, overrides: tuple[str, ...], n: int, q: float) -> Estimate | None:
        """The estimate of a pool point's first n samples when they are in this process already (no
        wait, not counted as taken), else None: what a prefetch decision may look at."""
        s = self._points.get((self.over, *overrides))
        x = s.available(n) if s is not None and hasattr(s, "available") and n >= 1 else None
        return None if x is None else self._estimate_of(s, overrides, n, q, self.over, x)

    def _batched(self, overrides: tuple[str, ...]) -> Samples | None:
        """``--over placements`` samples of the scenario at a radius (no override but the radius) from
        the shared :class:`~edgefl.planning.placement_batch.PlacementBatch`, when the scenario allows it
        (None: per-placement simulations)."""
        from edgefl.planning.placement_batch import BatchSamples, NotBatchable, PlacementBatch

        pl = self.rs.scenario.workers.placement
        name = limits.radius_field(pl.layout)
        if self.method == "simpy" or name is None:
            return None
        prefix = f"workers.placement.{name}="
        if not overrides:
            radius = float(getattr(pl, name))
        elif len(overrides) == 1 and overrides[0].startswith(prefix):
            radius = float(overrides[0][len(prefix):])
        else:
            return None
        if "batch" not in self._shared:
            seed = self.rs.scenario.seed if self.seed is None else self.seed
            try:
                self._shared["batch"] = PlacementBatch(self.rs, self.per_placement, seed, self.method)
            except NotBatchable as exc:
                log.debug("plan over placements: per-placement simulations (%s)", exc)
                self._shared["batch"] = False
        batch = self._shared["batch"]
        return BatchSamples(batch, radius) if batch else None

    def estimate(self, overrides: tuple[str, ...], n: int, q: float, over: str | None = None) -> Estimate:
        """The percentile of the first n samples of a point with its interval (kept: the same samples
        give the same estimate, and a search asks again for the points of its answer)."""
        return self._estimate_of(self.points(overrides, over), overrides, n, q, over or self.over)

    def _estimate_of(self, s: Samples, overrides: tuple[str, ...], n: int, q: float, over: str,
                     x: np.ndarray | None = None) -> Estimate:
        """The estimate of s's first n samples (kept), or of ``x``, those samples peeked at (not kept:
        a search asking for it later takes the samples, as a serial run does)."""
        key = (over, tuple(overrides), n, q)
        if key in self._estimates:
            return self._estimates[key]
        y = s.take(n) if x is None else x
        e = Estimate(q, percentile(y, q), confidence_interval(y, q, s.cluster_size(n), self._ci_seed(), s.series), n)
        if x is None:
            self._estimates[key] = e
        return e

    def value(self, overrides: tuple[str, ...], n: int, q: float, over: str | None = None) -> float:
        v = percentile(self.points(overrides, over).take(n), q)
        log.debug("plan point %s over %s: p%g of %d samples = %.6g s", overrides, over or self.over, q, n, v)
        return v

    def meets(self, overrides: tuple[str, ...], n: int, q: float, deadline: float, n0: int,
              over: str | None = None) -> bool:
        """Whether the percentile of the first n samples of a point is <= ``deadline``, decided early
        (module docstring, *sequential points*): at m = n0, 2 n0, ... < n samples, a 95 % interval
        that excludes the deadline decides the side; otherwise the estimate of n samples does."""
        m = max(1, int(n0))
        while m < n:
            e = self.estimate(overrides, m, q, over)
            if _misses(e, deadline):
                return False
            if _meets(e, deadline):
                return True
            m *= 2
        return self.value(overrides, n, q, over) <= deadline

    def _ci_seed(self) -> int:
        return self.rs.scenario.seed if self.seed is None else self.seed

    def sampling(self, n: int, stopped: str, over: str | None = None) -> Sampling:
        over = over or self.over
        mine = [self._points[k] for k in self._asked if k[0] == over and k in self._points]
        paths = sorted({p for s in mine for p in s.engine_paths})
        probe = mine[0] if mine else None
        cluster = probe.cluster_size(n) if probe is not None else 1
        return Sampling(over, n, stopped, ci_method(cluster, probe is not None and probe.series), paths)


def _stop(ests: list[Estimate], deadline: float | None, scale: float, resolution: float, n: int,
          max_samples: int) -> str | None:
    """Why to stop adding samples at these boundary estimates (None: keep going)."""
    if deadline is not None and ests and all(not e.ci95.contains(deadline) for e in ests):
        return STOP_DEADLINE
    if all(e.ci95.width() <= resolution * scale for e in ests):
        return STOP_RESOLUTION
    if n >= max_samples:
        return STOP_CAP
    return None


def grow(search: Callable[[int, object], tuple], deadline: float | None,
         resolution: float, n0: int, max_samples: int, scale: Callable[[list[Estimate]], float] | None = None
         ) -> tuple[object, int, str]:
    """Run ``search(n, previous answer)`` -> (answer, boundary estimates[, settled]) for n = n0, 2 n0, ...
    (capped) until :func:`_stop` says why to stop, or ``settled()`` says the answer is decided to the
    resolution (module docstring); each search after the first starts from the previous answer."""
    n = min(n0, max_samples)
    result: object = None
    while True:
        out = search(n, result)
        result, ests = out[0], out[1]
        s = deadline if deadline is not None else (scale(ests) if scale else 1.0)
        why = _stop(ests, deadline, s, resolution, n, max_samples)
        if why in (None, STOP_CAP) and len(out) > 2 and out[2]():  # asked only when the estimates do not decide
            why = STOP_SETTLED
        if why is not None:
            return result, n, why
        n = min(2 * n, max_samples)


def _misses(e: Estimate, deadline: float) -> bool:
    """The percentile is above the deadline with 95 % confidence."""
    return e.ci95.low is not None and e.ci95.low > deadline


def _meets(e: Estimate, deadline: float) -> bool:
    """The percentile is below the deadline with 95 % confidence."""
    return e.ci95.high is not None and e.ci95.high < deadline


def _narrowed(e: Estimate, factor: float) -> Estimate:
    """``e`` with its interval narrowed by ``factor`` about the estimate: about the interval of
    ``factor``^2 times the samples (intervals narrow as 1 / sqrt(n); an unbounded side stays so)."""
    lo, hi = e.ci95.low, e.ci95.high
    v = e.value_s
    return dataclasses.replace(e, ci95=Interval(None if lo is None else v - (v - lo) / factor,
                                                None if hi is None else v + (hi - v) / factor))


@dataclass
class _Beyond:
    """settled()'s tests of the points one resolution step beyond a search's boundary, with the sample
    count each point was last tested on (the search's own record: the same in every run)."""

    sp: Sampler
    q: float
    deadline: float
    tested: dict[tuple[str, ...], int] = field(default_factory=dict)

    def worth(self, point: tuple[str, ...], n: int, test: Callable[[Estimate, float], bool]) -> bool:
        """The pre-test (module docstring): True for a point not tested yet; else whether its last
        tested m samples, their interval narrowed by sqrt(n / m), pass ``test``."""
        m = self.tested.get(point)
        if m is None or m >= n:
            return True
        return test(_narrowed(self.sp.estimate(point, m, self.q), (n / m) ** 0.5), self.deadline)

    def __call__(self, point: tuple[str, ...], n: int, test: Callable[[Estimate, float], bool]) -> bool:
        """``test`` (:func:`_misses` or :func:`_meets`) of the point on n samples, False without
        sampling it further when the pre-test fails."""
        if not self.worth(point, n, test):
            return False
        self.tested[point] = n
        return test(self.sp.estimate(point, n, self.q), self.deadline)

    def prefetch(self, point: tuple[str, ...], n: int, test: Callable[[Estimate, float], bool]) -> bool:
        """Prefetch the n samples :meth:`__call__` will take, when its pre-test passes (returned)."""
        if not self.worth(point, n, test):
            return False
        self.sp.prefetch(point, n)
        return True


def percentiles(sp: Sampler, q: float, resolution: float, n0: int, deadline: float | None = None
                ) -> PercentilesAnswer:
    """p50/p95/p99 and the mean of the scenario's round latency, with 95 % intervals."""
    def search(n: int, _prev: object):
        e = sp.estimate((), n, q)
        return e, [e]

    qs = sorted({*REPORTED, q})
    probe = sp.points(())
    if probe.cluster_size(n0) == 1 and not probe.series:  # every reported interval bounded
        n0 = max(n0, *(min_bounded_samples(v) for v in qs))
    _, n, why = grow(search, deadline, resolution, n0, sp.max_samples, scale=lambda es: abs(es[0].value_s))
    s = sp.points(())
    x = s.take(n)
    lat = {f"p{v:g}": percentile(x, v) for v in qs}
    lat["mean"] = float(np.mean(x))
    lat["ci95"] = {f"p{v:g}": confidence_interval(x, v, s.cluster_size(n), sp._ci_seed(), s.series).as_list()
                 for v in qs}
    return PercentilesAnswer(lat, n, sp.sampling(n, why), sp.rs.scenario.workers.participants)


def worker_field(rs: ResolvedScenario) -> tuple[str, int]:
    """The field the worker search varies, and its upper limit."""
    w = rs.scenario.workers
    if w.per_round is not None:
        return "workers.per_round", w.count
    if w.groups is not None or w.overrides:
        raise ScenarioError(rs.source, [FieldProblem(
            "workers.groups" if w.groups is not None else "workers.overrides", "set",
            "the worker-count search needs one device for all workers and no per-worker overrides "
            "(or partial participation: it then searches workers.per_round)")])
    return "workers.count", limits.DEFAULT_WORKER_LIMIT


def _prefetch_workers(sp: Sampler, at: Callable[[int], tuple[str, ...]], n: int, q: float, deadline: float,
                      n0: int, start: int, cap: int, prev: object, resolution: float, beyond: _Beyond) -> None:
    """Prefetch the worker counts a search at n samples asks for: 1 and the scenario's count
    (:func:`~edgefl.planning.search.largest_int`'s first two), or the previous answer K and K + 1
    (the boundary estimates, always of n samples) and, when n / 2 samples say the search goes on,
    the count settled() asks for (K + 2 when K met T on n / 2 samples, K - 1 when K + 1 missed it)."""
    if sp.pool is None:
        return
    if prev is None:
        for k in (1, max(2, start)):
            if k <= cap:
                sp.prefetch_meets(at(k), n, q, deadline, n0)
        return
    k = int(prev)
    pair = [at(j) for j in (k, k + 1) if 1 <= j <= cap]
    sp.spread(pair, n, n0)
    for point in pair:
        sp.prefetch(point, n)
    if not _goes_on(sp, pair, n // 2, q, deadline, resolution):
        return
    for j, known, side, test in ((k + 2, k, _meets, _misses), (k - 1, k + 1, _misses, _meets)):
        if 1 <= j <= cap and 1 <= known <= cap and _known(sp, at(known), n // 2, q, side, deadline):
            beyond.prefetch(at(j), n, test)


def _known(sp: Sampler, overrides: tuple[str, ...], n: int, q: float, test: Callable[[Estimate, float], bool],
           deadline: float) -> bool:
    """``test`` on the point's estimate of n samples, when they are here already (False otherwise)."""
    e = sp.peek(overrides, n, q)
    return e is not None and test(e, deadline)


def _goes_on(sp: Sampler, points: list[tuple[str, ...]], half: int, q: float, deadline: float,
             resolution: float) -> bool:
    """Whether the search at 2 ``half`` samples will likely not stop on its boundary estimates (and so
    ask settled()): judged on the estimates of ``half`` samples already here - some interval holds T
    and is wider than sqrt(2) resolution x T (intervals narrow about as 1 / sqrt(n)). A guess that only
    decides what to prefetch."""
    ests = [sp.peek(p, half, q) for p in points]
    if any(e is None for e in ests):
        return True
    if all(not e.ci95.contains(deadline) for e in ests):
        return False
    return not all(e.ci95.width() <= 2 ** 0.5 * resolution * deadline for e in ests)


def _prefetch_bracket(sp: Sampler, at: Callable[[float], tuple[str, ...]], prev: tuple[float, float], n: int,
                      q: float, deadline: float, n0: int, resolution: float, lowest: float, highest: float,
                      beyond: _Beyond) -> None:
    """Prefetch the bandwidths a refined search at n samples asks for: the previous bracket's ends
    (the boundary estimates, always of n samples), then, when n / 2 samples say the search goes on,
    settled()'s point one resolution step below (and above, when the one below missed T on n / 2
    samples)."""
    if sp.pool is None:
        return
    ends = [at(b) for b in prev]
    sp.spread(ends, n, n0)
    for point in ends:
        sp.prefetch(point, n)
    if not _goes_on(sp, ends, n // 2, q, deadline, resolution):
        return
    below, above = max(prev[0] / (1.0 + resolution), lowest), min(prev[1] * (1.0 + resolution), highest)
    if beyond.prefetch(at(below), n, _misses) and _known(sp, at(below), n // 2, q, _misses, deadline):
        beyond.prefetch(at(above), n, _meets)


def memory_cap(sp: Sampler, at: Callable[[int], tuple[str, ...]], cap: int) -> tuple[int, str]:
    """The largest worker count <= ``cap`` whose variant fits the memory bound, and (when below
    ``cap``) why the next one does not: the bound is checked when a variant is resolved (ms each,
    nothing sampled), and grows with the count, so the search is a monotone one over resolutions."""
    refused: dict[int, str] = {}

    def fits(k: int) -> bool:
        try:
            variant(sp.rs, list(at(k)), sp.max_memory)
        except ResourceError as exc:
            refused[k] = "; ".join(p.message for p in exc.problems)
            return False
        return True

    if fits(cap):
        return cap, ""
    k = largest_int(fits, start=1, limit=cap)  # its walk ends on k + 1 refused (cap itself is)
    return k, f"{at(k + 1)[0]} {refused[k + 1]}"


def max_workers(sp: Sampler, deadline: float, q: float, resolution: float, n0: int,
                limit: int | None = None) -> MaxWorkersAnswer:
    """Largest worker count meeting ``deadline`` (module docstring), searched up to the search limit
    or the largest count whose variant fits the memory bound (:func:`memory_cap`), whichever is lower."""
    name, cap = worker_field(sp.rs)
    cap = min(cap, limit) if limit is not None else cap
    start = sp.rs.scenario.workers.participants
    beyond = _Beyond(sp, q, deadline)

    def at(k: int) -> tuple[str, ...]:
        return (f"{name}={k}",)

    cap, too_big = memory_cap(sp, at, cap)

    def search(n: int, prev: object):
        def ok(k: int) -> bool:
            return sp.meets(at(k), n, q, deadline, n0)

        _prefetch_workers(sp, at, n, q, deadline, n0, min(start, cap), cap, prev, resolution, beyond)
        k_star = (largest_int(ok, start=min(start, cap), limit=cap) if prev is None
                  else refine_int(ok, int(prev), cap))
        ests = [sp.estimate(at(k), n, q) for k in (k_star, k_star + 1) if 1 <= k <= cap]

        def settled() -> bool:  # only one of K*, K* + 1 within the CI of T (module docstring)
            if len(ests) < 2 or k_star < 1:
                return False
            here, nxt = ests
            if _meets(here, deadline) and k_star + 2 <= cap:
                return beyond(at(k_star + 2), n, _misses)
            if _misses(nxt, deadline):
                return k_star == 1 or beyond(at(k_star - 1), n, _meets)
            return False

        return k_star, ests, settled

    k_star, n, why = grow(search, deadline, resolution, n0, sp.max_samples)
    at_max = sp.estimate(at(k_star), n, q) if k_star >= 1 else None
    nxt = sp.estimate(at(k_star + 1), n, q) if k_star + 1 <= cap else None
    note = ("" if k_star < cap else f"met up to the search limit {cap}" if not too_big else
            f"met up to {cap}, the largest {name} within the memory bound: {too_big}")
    return MaxWorkersAnswer(k_star, name, cap, at_max, nxt, sp.sampling(n, why), note)


def min_bandwidth(sp: Sampler, deadline: float, q: float, resolution: float, n0: int) -> MinBandwidthAnswer:
    """Smallest uplink bandwidth meeting ``deadline`` for the scenario's workers (module docstring)."""
    b_lo, b_hi = limits.bandwidth_bounds()
    b0 = sp.rs.scenario.channel.uplink_bandwidth_hz
    beyond = _Beyond(sp, q, deadline)

    def at(b: float) -> tuple[str, ...]:  # 12 digits: the same point reached by two routes (lo x r, hi / r) is one
        return (f"channel.uplink_bandwidth_hz={float(f'{float(b):.12g}')!r}",)

    def search(n: int, prev: object):
        def ok(b: float) -> bool:
            return sp.meets(at(b), n, q, deadline, n0)

        if prev is None:  # boundary() asks for the scenario's B, then (when it misses T) the highest
            for b in (b0, b_hi):
                sp.prefetch_meets(at(b), n, q, deadline, n0)
        else:  # refine_boundary() asks for the bracket's ends, settled() for the B below (and above)
            _prefetch_bracket(sp, at, prev, n, q, deadline, n0, resolution, b_lo, b_hi, beyond)
        br = (boundary(ok, b0, b_lo, b_hi, resolution, ok_above=True) if prev is None
              else refine_boundary(ok, prev, False, b_lo, b_hi, resolution))
        if br is None:
            return None, [sp.estimate(at(b_hi), n, q)]

        def settled() -> bool:  # T outside the CIs one resolution step beyond the bracket (module docstring)
            below = max(br[0] / (1.0 + resolution), b_lo)
            above = min(br[1] * (1.0 + resolution), b_hi)
            return beyond(at(below), n, _misses) and beyond(at(above), n, _meets)

        return br, [sp.estimate(at(br[0]), n, q), sp.estimate(at(br[1]), n, q)], settled

    br, n, why = grow(search, deadline, resolution, n0, sp.max_samples)
    sampling = sp.sampling(n, why)
    if br is None:
        top = sp.estimate(at(b_hi), n, q)
        met = top.value_s <= deadline
        b = b_lo if met else None
        d = sp.rs.scenario.round_deadline_s
        why = (f"rounds still run to the round deadline round_deadline_s = {d:g} s there (uploads cut), p{q:g} = "
               f"{top.value_s:.6g} s" if d is not None and top.value_s >= d else
               f"broadcast, compute and aggregation alone take p{q:g} = {top.value_s:.6g} s")
        reason = (f"met down to the schema's lowest bandwidth {b_lo:g} Hz" if met else
                  f"not met even at the schema's highest bandwidth {b_hi:g} Hz: {why}")
        return MinBandwidthAnswer(b, None, [b_lo, b_hi], sp.estimate(at(b), n, q) if met else top, sampling,
                                  reason)
    lo, hi = br
    return MinBandwidthAnswer(hi, [lo, hi], [b_lo, b_hi], sp.estimate(at(hi), n, q), sampling)


def max_radius(sp: Sampler, deadline: float, q: float, resolution: float, n0: int) -> CoverageAnswer:
    """Largest cell radius whose percentile over placements and fading meets ``deadline``, and the
    share of workers placed out of coverage there (module docstring)."""
    pl = sp.rs.scenario.workers.placement
    name = limits.radius_field(pl.layout)
    if name is None:
        raise ScenarioError(sp.rs.source, [FieldProblem("workers.placement.layout", pl.layout,
                                                        "--coverage searches the cell radius of a disc or "
                                                        "annulus placement")])
    r_lo, r_hi = limits.radius_bounds(pl)
    r0 = float(getattr(pl, name))
    key = f"workers.placement.{name}"

    def at(r: float) -> tuple[str, ...]:
        return (f"{key}={float(r)!r}",)

    def value(r: float, n: int) -> float:
        return sp.value(at(r), n, q, over="placements")

    def search(n: int, prev: object):
        def ok(r: float) -> bool:
            return value(r, n) <= deadline

        if prev is not None:
            sp.spread([at(r) for r in prev], n, n0, over="placements")
        for r in ((r0, r_hi) if prev is None else prev):  # boundary() / refine_boundary() ask for these first
            sp.prefetch(at(r), n, over="placements")
        br = (boundary(ok, r0, r_lo, r_hi, resolution, ok_above=False) if prev is None
              else refine_boundary(ok, prev, True, r_lo, r_hi, resolution))
        if br is None:
            return None, [sp.estimate(at(r_lo), n, q, over="placements")]
        return br, [sp.estimate(at(r), n, q, over="placements") for r in br]

    br, n, why = grow(search, deadline, resolution, n0, sp.max_samples)
    sampling = sp.sampling(n, why, over="placements")
    if br is None:
        low = sp.estimate(at(r_lo), n, q, over="placements")
        if low.value_s > deadline:
            return CoverageAnswer(None, key, None, [r_lo, r_hi], low, None, None, None, [], sampling,
                                  f"not met even at radius {r_lo:g} m: p{q:g} = {low.value_s:.6g} s")
        r_star, bracket, reason = r_hi, None, f"met up to the schema's largest radius {r_hi:g} m"
    else:
        r_star, bracket, reason = br[0], [br[0], br[1]], ""
    pts = sp.points(at(r_star), over="placements")
    est = sp.estimate(at(r_star), n, q, over="placements")
    dists = [float(d) for ds in pts.distances for d in ds]
    return CoverageAnswer(r_star, key, bracket, [r_lo, r_hi], est, pts.out_of_coverage_share(),
                          sum(o.size for o in pts.out), sum(pts.placed), dists, sampling, reason)
