"""The round-timing core: phases 3-5 of a round (DSC paper Fig. 5, Sec. IV-D/E, as the SimPy
engine plays them) as array code over the round's rows (participants), without SimPy.

* :func:`sim_clock` - the ready times as SimPy's clock holds them (t0 + (ready - t0));
* :func:`single_attempts` - one error-free attempt per upload (the base
  :class:`~edgefl.radio.link.LinkModel`): start times from the access scheme's queue
  (:meth:`~edgefl.radio.access.AccessScheme.serve`, TDMA: s_i = max(asked_i, end_{i-1});
  FDMA: s_i = asked_i), air time b_i / (B_i SE(SNR_i)); when the SNR depends on the start time
  (Gauss-Markov fading, a channel trace) or a deadline decides whether an attempt draws at all,
  attempt by attempt in queue order, each SNR read at its start as the SimPy process reads it;
* :func:`link_uploads` - links with their own upload process (NR HARQ passes, RLC retries,
  uploads given up on): the link's own generator driven by a minimal event loop (a clock with
  ``now``/``timeout`` and a first-come-first-served band with ``request``/``release``), so the
  link's arithmetic is its own and the times are SimPy's (``now + delay``);
  :func:`batched_link_uploads` - the same by the link's batched kernel where it has one (NR:
  :meth:`edgefl.radio.nr_link.NRLink.upload_batch`, one compiled event loop over the round's
  uploads, the radio's SNR arithmetic and the uploads' keyed draws handed over), same numbers;
* :func:`cut_at_deadline` - late uploads cut at the round deadline (what went out is charged);
* :func:`server_pass` / :func:`one_decode_pass` - the server's successive decoding in decoding
  order with the deadline and aggregation, the same waits as
  :func:`edgefl.sim.air.play_air_and_decode`'s server;
* :func:`feedback_round` / :func:`feedback_round_with_deadline` - a round with DSC feedback on the
  air: the server process (feedback message, retry upload on the band, decodes; under a deadline
  racing it) on the same event loop as the uploads.

Random draws of the links are keyed by (round, worker, upload) (:func:`keyed_link_rng`), not
by event order, so the SimPy path and this core consume the same numbers.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit

from edgefl.compress.base import DecodeStep
from edgefl.radio.access import AccessScheme, run_sequential
from edgefl.radio.link import LinkModel, UploadArrays, UploadOutcome
from edgefl.sim.participation import clip_at_deadline
from edgefl.sim.timing import transfer_seconds

#: linear SNR of upload attempts starting after the round deadline (never charged: such an
#: attempt is played only to close the upload, without touching the radio's fading state)
PAST_DEADLINE_SNR = 1e3


class _LazyRng:
    """A :class:`numpy.random.Generator` made on first use from a seed and a spawn key (links
    that never draw cost nothing)."""

    __slots__ = ("_entropy", "_key", "_rng")

    def __init__(self, entropy: Any, key: tuple[int, ...]) -> None:
        self._entropy, self._key, self._rng = entropy, key, None

    def __getattr__(self, name: str) -> Any:
        if self._rng is None:
            self._rng = np.random.default_rng(np.random.SeedSequence(self._entropy, spawn_key=self._key))
        return getattr(self._rng, name)


def keyed_link_rng(link_seed: np.random.SeedSequence, round: int, worker: int, upload: int) -> Any:
    """The link's random stream for upload number ``upload`` (0: the first, then DSC retries) of
    ``worker`` in ``round``: a child of ``link_seed`` keyed by the three, so that draws do not
    depend on the order in which uploads happen."""
    return _LazyRng(link_seed.entropy, (*link_seed.spawn_key, int(round), int(worker), int(upload)))


def sim_clock(t0: float, ready: np.ndarray) -> np.ndarray:
    """Ready times as SimPy's clock holds them after ``timeout(ready - t0)`` from ``t0``."""
    return t0 + (np.asarray(ready, dtype=float) - t0)


def snr_reader(uplink_snr: Callable[[int, float, int, float], float], worker: int, round: int,
               bandwidth_hz: float, deadline: float | None) -> Callable[[float], float]:
    """SNR of an attempt of ``worker`` starting at t (an attempt starting at or after the deadline
    gets :data:`PAST_DEADLINE_SNR` and leaves the radio alone)."""
    def snr_at(t: float) -> float:
        if deadline is not None and t >= deadline:
            return PAST_DEADLINE_SNR
        return uplink_snr(worker, t, round, bandwidth_hz)
    return snr_at


@dataclass(frozen=True)
class Uploads(UploadArrays):
    """Phase 3 of a round, per row (the fields of :class:`~edgefl.radio.link.UploadArrays`): when
    each upload ended (its process returned), its air time, whether the link delivered it, and its
    attempts on the air as flat arrays, rows ascending and each row's attempts in time order
    (single attempts: one per row)."""

    @property
    def single(self) -> bool:
        """One attempt per row, row i being attempt i."""
        return self.attempt_row.size == self.end.size and bool(np.all(self.attempt_row == np.arange(self.end.size)))


def single_attempts(access: AccessScheme, link: LinkModel, requested: np.ndarray, order: np.ndarray,
                    bits: np.ndarray, bandwidth_hz: np.ndarray, snr_at: Sequence[Callable[[float], float]] | None,
                    snrs: Callable[[np.ndarray], Sequence[float]] | None) -> Uploads:
    """One attempt per upload (:meth:`LinkModel.transmit`): air time = ``link.airtime_s`` at the
    SNR of the attempt's start (no bits: no SNR read, zero air time). ``snrs(rows)`` gives the SNRs
    of the listed rows at once when they do not depend on the start time; otherwise
    ``snr_at[row](start)`` is read attempt by attempt in queue order."""
    k = bits.size
    airtime = np.zeros(k)
    airtime_s = link.airtime_s
    if snrs is not None:
        senders = np.flatnonzero(bits > 0)
        for w, b, bw, snr in zip(senders.tolist(), bits[senders].tolist(), bandwidth_hz[senders].tolist(),
                                 snrs(senders)):
            airtime[w] = airtime_s(b, bw, snr)
        start = access.serve(requested, airtime, order)
    else:
        assert snr_at is not None
        if access.capacity not in (None, 1):
            raise ValueError(f"access {access.name!r}: attempt-by-attempt timing knows bands of capacity 1 or none")
        seq = order if access.capacity is not None else np.arange(k)
        start = np.empty(k)
        free_at = -np.inf
        queued = access.capacity is not None
        for w in seq.tolist():
            s = float(requested[w])
            if queued and free_at > s:
                s = free_at
            start[w] = s
            b = float(bits[w])
            dur = airtime_s(b, float(bandwidth_hz[w]), snr_at[w](s)) if b > 0 else 0.0
            airtime[w] = dur
            free_at = s + dur
    end = start + airtime
    return Uploads(end, airtime, np.ones(k, dtype=bool), np.arange(k), start, end, np.asarray(bits, dtype=float))


# ---------------------------------------------------------------- links with their own upload process
class _Timeout:
    __slots__ = ("delay",)

    def __init__(self, delay: float) -> None:
        self.delay = delay


class _Request:
    __slots__ = ("row",)

    def __init__(self, row: int) -> None:
        self.row = row


class _Clock:
    """The part of :class:`simpy.Environment` a link's upload process uses: ``now`` and ``timeout``."""

    def __init__(self, now: float) -> None:
        self.now = now

    def timeout(self, delay: float) -> _Timeout:
        return _Timeout(delay)


class _Band:
    """A first-come-first-served band of ``capacity`` (the part of :class:`simpy.Resource` a
    link's upload process uses: ``request`` and ``release``)."""

    def __init__(self, capacity: int, grant: Callable[[int], None]) -> None:
        self.capacity, self.users, self.queue = capacity, 0, []
        self._grant = grant
        self.row = -1  # the row whose process is running (set by the driver)
        self.holders: set[int] = set()

    def _give(self, row: int) -> None:
        self.users += 1
        self.holders.add(row)
        self._grant(row)

    def request(self) -> _Request:
        req = _Request(self.row)
        if self.users < self.capacity:
            self._give(req.row)
        else:
            self.queue.append(req.row)
        return req

    def release(self, req: _Request) -> None:
        self.users -= 1
        self.holders.discard(req.row)
        if self.queue:
            self._give(self.queue.pop(0))


class _Wait:
    """The server waits for row ``row``'s upload to end (SimPy: ``yield upload_done[row]``)."""

    __slots__ = ("row",)

    def __init__(self, row: int) -> None:
        self.row = row


def _uploads_of(outcomes: Sequence[UploadOutcome]) -> Uploads:
    attempts = [(w, a) for w, o in enumerate(outcomes)
                for a in (o.intervals if o.intervals or o.attempts == 0 else ((o.start, o.end, o.bits_on_air),))]
    return Uploads(np.array([o.end for o in outcomes]), np.array([o.airtime_s for o in outcomes]),
                   np.array([o.delivered for o in outcomes], dtype=bool),
                   np.array([w for w, _ in attempts], dtype=np.int64),
                   np.array([a[0] for _, a in attempts]), np.array([a[1] for _, a in attempts]),
                   np.array([a[2] for _, a in attempts], dtype=float))


def _event_loop(access: AccessScheme, link: LinkModel, requested: np.ndarray, order: np.ndarray,
                bits: np.ndarray, bandwidth_hz: np.ndarray, snr_at: Sequence[Callable[[float], float]],
                rngs: Sequence[Any], server: Callable[[_Clock, Any, list], Generator] | None = None,
                t0: float = -np.inf, deadline: float | None = None) -> list[UploadOutcome]:
    """Every row's ``link.upload`` process (and the ``server`` process from ``t0``, if given) played
    to its end: the band of ``access`` served first come, first served, events at equal times in
    the order they were scheduled; rows ask for the band at ``requested`` (ties in ``order``).

    With a ``deadline`` (absolute) an upload whose first attempt would start after it (or at it,
    carrying bits) is not played: it is late whatever happens, none of its air time is charged, and
    what the link would do then is nobody's business (outcome: no attempt, ``end`` infinite)."""
    k = bits.size
    clock = _Clock(-np.inf)
    heap: list[tuple[float, int, int]] = []
    seq = 0

    def push(t: float, row: int) -> None:
        nonlocal seq
        heapq.heappush(heap, (t, seq, row))
        seq += 1

    band = _Band(access.capacity, lambda row: push(clock.now, row)) if access.capacity is not None else None
    procs: list[Generator[Any, Any, Any] | None] = [None] * (k + 1)
    outcomes: list[UploadOutcome | None] = [None] * k
    waiting: set[int] = set()
    started = [False] * k  # the row's process has begun its first attempt
    if server is not None:
        clock.now = t0
        procs[k] = server(clock, band, outcomes)
        push(t0, k)
    for w in np.asarray(order).tolist():
        push(float(requested[w]), w)
    while heap:
        t, _, w = heapq.heappop(heap)
        clock.now = t
        proc = procs[w]
        if proc is None:
            proc = procs[w] = link.upload(clock, band, float(bits[w]), float(bandwidth_hz[w]), snr_at[w], rngs[w])
        if band is not None:
            band.row = w
        if w < k and not started[w] and deadline is not None and (t > deadline or (t == deadline and bits[w] > 0)):
            proc.close()
            if band is not None and w in band.holders:
                band.release(_Request(w))
            outcomes[w] = UploadOutcome(t, np.inf, 0.0, 0, 0.0, (), delivered=True)
            if w in waiting:
                waiting.discard(w)
                push(t, k)
            continue
        try:
            ev = next(proc)
            while isinstance(ev, _Wait) and outcomes[ev.row] is not None:  # already ended: go on at once
                ev = next(proc)
        except StopIteration as stop:
            if w < k:
                outcomes[w] = stop.value
                if w in waiting:
                    waiting.discard(w)
                    push(t, k)
            continue
        if isinstance(ev, _Timeout):
            if w < k:
                started[w] = True
            push(t + ev.delay, w)
        elif isinstance(ev, _Wait):
            waiting.add(ev.row)
        elif not isinstance(ev, _Request):
            raise TypeError(f"link {link.name!r}: its upload process yielded {ev!r}; the round-timing core "
                            "knows env.timeout and band request/release only")
        # a request: granted now (pushed by the band) or later at a release
    done = [o for o in outcomes if o is not None]
    assert len(done) == k
    return done


#: rows from which links with their own upload process are played by the link's batched kernel
#: (:meth:`LinkModel.upload_batch`, compiled) instead of one process per upload; below, the kernel's
#: first call in a process (loading it) costs more than the processes
BATCHED_FROM_ROWS = 64


def batched_link_uploads(access: AccessScheme, link: LinkModel, requested: np.ndarray, order: np.ndarray,
                         bits: np.ndarray, bandwidth_hz: np.ndarray, snr_batch: Callable[[int], Any] | None,
                         draws: Callable[[], Any] | None, deadline: float | None) -> Uploads | None:
    """:func:`link_uploads` by the link's batched kernel, same numbers: None when the round is small
    (:data:`BATCHED_FROM_ROWS`), the band is neither one upload at a time nor absent, the radio
    cannot hand over the SNRs (``snr_batch(reads)`` None) or the link has no batched form."""
    if bits.size < BATCHED_FROM_ROWS or access.capacity not in (None, 1) or snr_batch is None or draws is None:
        return None
    if type(link).upload_batch is LinkModel.upload_batch:
        return None
    keyed = draws()
    if keyed is None:
        return None
    snr = snr_batch(link.max_reads_per_upload)
    if snr is None:
        return None
    out = link.upload_batch(access.capacity == 1, requested, order, bits, bandwidth_hz, snr, keyed, deadline)
    if out is None:
        return None
    return Uploads(out.end, out.airtime, out.delivered, out.attempt_row, out.attempt_start, out.attempt_end,
                   out.attempt_bits)


def link_uploads(access: AccessScheme, link: LinkModel, requested: np.ndarray, order: np.ndarray,
                 bits: np.ndarray, bandwidth_hz: np.ndarray, snr_at: Sequence[Callable[[float], float]],
                 rngs: Sequence[Any], deadline: float | None = None) -> Uploads:
    """Every row's ``link.upload`` process played to its end on a minimal event loop: the band of
    ``access`` served first come, first served (a request at the time a pass ends queues as in
    SimPy), events at equal times in the order they were scheduled. Rows ask for the band at
    ``requested`` (ties in ``order``); uploads that cannot start before the ``deadline`` are not
    played (:func:`_event_loop`)."""
    return _uploads_of(_event_loop(access, link, requested, order, bits, bandwidth_hz, snr_at, rngs,
                                   deadline=deadline))


@dataclass
class FeedbackRound:
    """Phases 3-5 of a round with DSC feedback on the air (no deadline): the first uploads, the
    retry uploads (row, start, end, bits), the feedback messages on the downlink (start, end,
    bits) with each row's receive time, air time and delivery over all of a row's uploads, and
    the server's pass."""

    uploads: Uploads
    retries: list[tuple[int, float, float, float]]
    feedback: list[tuple[float, float, float]]
    feedback_s: np.ndarray
    airtime: np.ndarray
    delivered: np.ndarray
    server: ServerPass
    #: per row, seconds the server spent on retry exchanges and the decodes they asked for
    retry_s: np.ndarray | None = None


def feedback_round(access: AccessScheme, link: LinkModel, t0: float, requested: np.ndarray, order: np.ndarray,
                   bits: np.ndarray, bandwidth_hz: np.ndarray, snr_at: Sequence[Callable[[float], float]],
                   rng: Callable[[int, int], Any], schedule: Sequence[Sequence[DecodeStep]],
                   downlink_rate: Callable[[float], float], decoder_bps: float, reference_iterations: float | None,
                   successive: bool, aggregate_s: float) -> FeedbackRound:
    """The air phase of :func:`edgefl.sim.air.play_air_and_decode` for a round whose decode schedule
    asks for retries, without a deadline: the server process (decoding order, DSC paper Sec. IV-B
    rate-adaptive requests: a feedback message of one bit per frame asking on the downlink, then
    the worker's increment as an upload that queues on the band like any other) on the same event
    loop as the first uploads. ``bits`` are the first uploads' (without the retry bits)."""
    k = bits.size
    retry_bits = [sum(st.bits for st in steps if st.kind == "retry") for steps in schedule]
    first = bits - np.array(retry_bits)
    retries: list[tuple[int, float, float, float]] = []
    feedback: list[tuple[float, float, float]] = []
    feedback_s = np.zeros(k)
    retry_s = np.zeros(k)
    extra_air = [[] for _ in range(k)]
    delivered = np.ones(k, dtype=bool)
    decodes: list[tuple[int, float, float, float]] = []
    kept: list[int] = []
    agg: list[float] = []

    def server(clock: _Clock, band: Any, outcomes: list) -> Generator[Any, Any, None]:
        gap = False
        for i in np.asarray(order).tolist():
            yield _Wait(i)
            delivered[i] = outcomes[i].delivered
            if not delivered[i] or (gap and successive):
                gap = True
                continue
            n_up = 1
            retried = False
            for st in schedule[i]:
                s0 = clock.now
                if st.kind == "retry":
                    s = clock.now
                    yield _Timeout(float(transfer_seconds(float(st.count), downlink_rate(s))))
                    e = clock.now
                    if e > s:
                        feedback_s[i] += e - s
                        feedback.append((s, e, float(st.count) * (e - s) / (clock.now - s)))
                    elif s == clock.now:
                        feedback.append((s, e, float(st.count)))
                    out = yield from link.upload(clock, band, st.bits, float(bandwidth_hz[i]), snr_at[i], rng(i, n_up))
                    n_up += 1
                    retries.extend((i, a, b, c) for a, b, c in out.intervals)
                    extra_air[i].append(out.airtime_s)
                    delivered[i] &= out.delivered
                elif st.bits > 0:
                    s = clock.now
                    yield _Timeout(decode_seconds(st, decoder_bps, reference_iterations))
                    decodes.append((i, s, clock.now, st.bits))
                if st.kind == "retry" or retried:  # the exchange, and the decode it asked for
                    retry_s[i] += clock.now - s0
                retried = st.kind == "retry"
            if delivered[i]:
                kept.append(i)
            else:
                gap = True
        agg.append(clock.now)
        yield _Timeout(aggregate_s)
        agg.append(clock.now)

    outcomes = _event_loop(access, link, requested, order, first, bandwidth_hz, snr_at,
                           [rng(i, 0) for i in range(k)], server, t0)
    up = _uploads_of(outcomes)
    airtime = up.airtime.copy()
    for i, extra in enumerate(extra_air):
        for a in extra:
            airtime[i] += a
    return FeedbackRound(up, retries, feedback, feedback_s, airtime, delivered,
                         ServerPass(decodes, np.asarray(kept, dtype=np.int64), agg[0], agg[1]), retry_s)


@dataclass(frozen=True)
class CutUploads:
    """The uploads against the round deadline: air time charged per row, late rows (ended after
    the deadline), the bits each row put on the air by the deadline (all of them when on time),
    and the attempts kept (flat arrays as :class:`Uploads`; a late upload's attempt spanning the
    deadline ends there with its bits pro rata, later ones are dropped)."""

    airtime: np.ndarray
    late: np.ndarray
    late_bits: np.ndarray
    attempt_row: np.ndarray
    attempt_start: np.ndarray
    attempt_end: np.ndarray
    attempt_bits: np.ndarray


def cut_at_deadline(up: Uploads, deadline: float | None) -> CutUploads:
    """:func:`edgefl.sim.participation.clip_at_deadline` applied to every late upload (None: no
    deadline, nothing cut), with the sums SimPy's air phase takes."""
    k = up.end.size
    if deadline is None:
        return CutUploads(up.airtime, np.zeros(k, dtype=bool), np.zeros(k), up.attempt_row, up.attempt_start,
                          up.attempt_end, up.attempt_bits)
    late = up.end > deadline
    airtime = up.airtime.copy()
    s, e, b = up.attempt_start.copy(), up.attempt_end.copy(), up.attempt_bits.copy()
    keep = np.ones(s.size, dtype=bool)
    if up.single:
        span = late & (s < deadline)
        b[span] = b[span] * (deadline - s[span]) / (e[span] - s[span])
        e[span] = deadline
        airtime[late] = np.where(span[late], e[late] - s[late], 0.0)
        keep = ~late | span
        late_bits = np.where(keep, b, 0.0)
        return CutUploads(airtime, late, late_bits, up.attempt_row[keep], s[keep], e[keep], b[keep])
    rows = up.attempt_row
    args = (rows, s, e, b, late, float(deadline))
    if rows.size >= 4 * BATCHED_FROM_ROWS:  # a batched link's round: compiled code is loaded already
        keep, e, b, air_late, late_bits = _cut_rows(*args)
    else:
        keep, e, b, air_late, late_bits = run_sequential(_cut_rows, rows.size, *args)
    keep = np.asarray(keep, dtype=bool)
    e, b = np.asarray(e, dtype=float), np.asarray(b, dtype=float)
    airtime[late] = np.asarray(air_late, dtype=float)[late]
    return CutUploads(airtime, late, np.asarray(late_bits, dtype=float), rows[keep], s[keep], e[keep], b[keep])


@njit(cache=True)
def _cut_rows(rows, s, e, b, late, deadline):
    """:func:`edgefl.sim.participation.clip_at_deadline` of every late row's attempts (rows ascending,
    each row's attempts in time order), with its sums: kept mask, ends and bits after the cut, air
    time of each late row and bits of each row on the air by the deadline (sums in attempt order)."""
    n = len(rows)
    k = len(late)
    keep = np.ones(n, dtype=np.bool_)
    air = np.zeros(k)
    bits = np.zeros(k)
    for i in range(n):
        w = rows[i]
        if late[w]:
            if e[i] <= deadline:
                pass
            elif s[i] < deadline:
                b[i] = b[i] * (deadline - s[i]) / (e[i] - s[i])
                e[i] = deadline
            else:
                keep[i] = False
                continue
            air[w] += e[i] - s[i]
        bits[w] += b[i]
    return keep, e, b, air, bits


@dataclass(frozen=True)
class ServerPass:
    """Phases 4-5: the decodes (row, start, end, bits), the rows aggregated in decoding order,
    when aggregation starts and when the round ends."""

    decodes: list[tuple[int, float, float, float]]
    kept: np.ndarray
    aggregate_start: float
    end: float


def decode_seconds(step: DecodeStep, decoder_bps: float, reference_iterations: float | None) -> float:
    """Decode time of one step: coded bits / decoder throughput, scaled by the BP iterations run per
    pass against the reference at which the throughput holds (DSC paper Sec. IV-E)."""
    if reference_iterations is None or step.iterations < 0 or step.count == 0:
        return step.bits / decoder_bps
    return step.bits / decoder_bps * (step.iterations / step.count) / reference_iterations


def server_pass(t0: float, order: np.ndarray, end: np.ndarray, late: np.ndarray, delivered: np.ndarray,
                decode_s: Sequence[Sequence[tuple[float, float]]], successive: bool, deadline: float | None,
                aggregate_s: float) -> ServerPass:
    """The server process of :func:`edgefl.sim.air.play_air_and_decode` without feedback retries:
    it waits for upload ``order[i]`` (until the deadline, whose process fires at t0 + (dl - t0)),
    stops waiting at the first late or missing one, decodes the delivered uploads (successive
    decoding: only the prefix before the first gap) for ``decode_s[row]`` = (bits, seconds) per
    decode step, then aggregates for ``aggregate_s``."""
    stop = None if deadline is None else t0 + (deadline - t0)
    now = t0
    cut = gap = False
    kept: list[int] = []
    decodes: list[tuple[int, float, float, float]] = []
    for i in np.asarray(order).tolist():
        e = end[i]
        if not cut:
            if stop is None or e <= stop:
                if e > now:
                    now = float(e)
            elif stop > now:
                now = stop
            cut = not e <= now or bool(late[i])
        if cut and (successive or not e <= now or late[i]):
            continue
        if not delivered[i] or (gap and successive):
            gap = True
            continue
        kept.append(i)
        for dbits, sec in decode_s[i]:
            s = now
            now = now + sec
            decodes.append((i, s, now, dbits))
    return ServerPass(decodes, np.asarray(kept, dtype=np.int64), now, now + aggregate_s)


@njit(cache=True)
def _one_decode_pass(t0: float, stop: float, has_stop: bool, order: np.ndarray, end: np.ndarray, late: np.ndarray,
                     delivered: np.ndarray, decode_s: np.ndarray, successive: bool):
    now = t0
    cut = False
    gap = False
    kept = np.empty(len(order), dtype=np.int64)
    dec_start = np.full(len(end), np.nan)
    dec_end = np.full(len(end), np.nan)
    n = 0
    for i in order:
        e = end[i]
        if not cut:
            if not has_stop or e <= stop:
                if e > now:
                    now = e
            elif stop > now:
                now = stop
            cut = not e <= now or late[i]
        if cut and (successive or not e <= now or late[i]):
            continue
        if not delivered[i] or (gap and successive):
            gap = True
            continue
        kept[n] = i
        n += 1
        if decode_s[i] > 0:
            dec_start[i] = now
            now = now + decode_s[i]
            dec_end[i] = now
    return kept[:n], dec_start, dec_end, now


def one_decode_pass(t0: float, order: np.ndarray, end: np.ndarray, late: np.ndarray, delivered: np.ndarray,
                    decode_bits: np.ndarray, decoder_bps: float, successive: bool, deadline: float | None,
                    aggregate_s: float, list_decodes: bool = True) -> ServerPass:
    """:func:`server_pass` when every upload is decoded once, for ``decode_bits / decoder_bps``
    seconds (no bits: no decode), compiled (the loop over the decoding order is sequential);
    ``list_decodes`` False leaves :attr:`ServerPass.decodes` empty."""
    dbits = np.asarray(decode_bits, dtype=float)
    dec = np.where(dbits > 0, dbits / decoder_bps, 0.0)
    stop = 0.0 if deadline is None else t0 + (deadline - t0)
    args = (float(t0), stop, deadline is not None, np.asarray(order, dtype=np.int64), np.asarray(end, dtype=float),
            np.asarray(late, dtype=np.bool_), np.asarray(delivered, dtype=np.bool_), dec, bool(successive))
    kept, ds, de, now = run_sequential(_one_decode_pass, dec.size, *args)
    decodes = []
    if list_decodes:
        rows = kept[~np.isnan(ds[kept])]  # decoded in decoding order
        decodes = list(zip(rows.tolist(), ds[rows].tolist(), de[rows].tolist(), dbits[rows].tolist()))
    return ServerPass(decodes, kept, now, now + aggregate_s)


class _AnyOf:
    """Wait until the first of: row ``row``'s upload ended, process ``proc`` ended, the deadline
    (SimPy: ``yield upload_done[row] | stop`` / ``yield retry | stop``)."""

    __slots__ = ("proc", "row")

    def __init__(self, row: int = -1, proc: int = -1) -> None:
        self.row, self.proc = row, proc


class _Spawn:
    """Start a process now (SimPy: ``env.process(gen)``); the loop sends back its id."""

    __slots__ = ("gen",)

    def __init__(self, gen: Generator) -> None:
        self.gen = gen


def feedback_round_with_deadline(access: AccessScheme, link: LinkModel, t0: float, deadline: float,
                                 requested: np.ndarray, order: np.ndarray, bits: np.ndarray,
                                 bandwidth_hz: np.ndarray, snr_at: Sequence[Callable[[float], float]],
                                 rng: Callable[[int, int], Any], schedule: Sequence[Sequence[DecodeStep]],
                                 downlink_rate: Callable[[float], float], decoder_bps: float,
                                 reference_iterations: float | None, successive: bool,
                                 aggregate_s: float) -> tuple[FeedbackRound, np.ndarray, np.ndarray,
                                                              list[tuple[int, float, float, float]]]:
    """:func:`feedback_round` under a round deadline (absolute): the server waits for each upload
    and each retry only until the deadline (its process fires at t0 + (deadline - t0), two events
    later), retries still on the air then go on and are cut there. Events at one time in SimPy's
    order: an upload's end is seen one event after it, the deadline three events after its timer,
    a wait on either one event after that. Returns the round, the late rows, the bits each row put
    on the air by the deadline and the first uploads' attempts as kept (row, start, end, bits)."""
    k = bits.size
    first = bits - np.array([sum(st.bits for st in steps if st.kind == "retry") for steps in schedule])
    clock = _Clock(t0)
    heap: list[tuple[float, int, str, int]] = []
    seq = 0

    def push(t: float, kind: str, pid: int) -> None:
        nonlocal seq
        heapq.heappush(heap, (t, seq, kind, pid))
        seq += 1

    band = _Band(access.capacity, lambda pid: push(clock.now, "run", pid)) if access.capacity is not None else None
    procs: dict[int, Generator] = {}
    proc_ended: set[int] = set()  # triggered (the generator returned)
    proc_seen: set[int] = set()  # its end event processed
    outcomes: list[UploadOutcome | None] = [None] * k
    done_seen = [False] * k
    late = np.zeros(k, dtype=bool)
    late_bits = np.zeros(k)
    airtime = np.zeros(k)
    delivered = np.ones(k, dtype=bool)
    feedback_s = np.zeros(k)
    retry_s = np.zeros(k)
    feedback: list[tuple[float, float, float]] = []
    retries: list[tuple[int, float, float, float]] = []
    firsts: list[tuple[int, float, float, float]] = []
    decodes: list[tuple[int, float, float, float]] = []
    kept: list[int] = []
    agg: list[float] = []
    stop_seen = [False]
    waiter: dict[str, Any] = {}  # the server's pending _AnyOf
    server_id, next_id = k, [k + 1]

    def send_done(i: int, out: UploadOutcome) -> list[tuple[float, float, float]]:
        ivs, air = list(out.intervals), out.airtime_s
        if out.end > deadline:
            late[i] = True
            ivs, air, _ = clip_at_deadline(ivs, deadline)
        late_bits[i] += sum(b for _, _, b in ivs)
        airtime[i] += air
        return ivs

    def retry_proc(i: int, st: DecodeStep, n_up: int) -> Generator:
        s = clock.now
        yield _Timeout(float(transfer_seconds(float(st.count), downlink_rate(s))))
        e = min(clock.now, deadline)
        if e > s:
            feedback_s[i] += e - s
            feedback.append((s, e, float(st.count) * (e - s) / (clock.now - s)))
        elif s == clock.now:
            feedback.append((s, e, float(st.count)))
        out = yield from link.upload(clock, band, st.bits, float(bandwidth_hz[i]), snr_at[i], rng(i, n_up))
        retries.extend((i, a, b, c) for a, b, c in send_done(i, out))
        delivered[i] &= out.delivered

    def server() -> Generator:
        cut = gap = False
        for i in np.asarray(order).tolist():
            if not cut:
                yield _AnyOf(row=i)
                cut = outcomes[i] is None or bool(late[i])
            if cut and (successive or outcomes[i] is None or late[i]):
                continue
            if not delivered[i] or (gap and successive):
                gap = True
                continue
            n_up = 1
            retried = False
            for st in schedule[i]:
                s0 = clock.now
                if st.kind == "retry":
                    pid = yield _Spawn(retry_proc(i, st, n_up))
                    n_up += 1
                    yield _AnyOf(proc=pid)
                    if pid not in proc_ended or late[i]:
                        late[i] = cut = True
                        retry_s[i] += clock.now - s0
                        break
                elif st.bits > 0:
                    s = clock.now
                    yield _Timeout(decode_seconds(st, decoder_bps, reference_iterations))
                    decodes.append((i, s, clock.now, st.bits))
                if st.kind == "retry" or retried:  # the exchange, and the decode it asked for
                    retry_s[i] += clock.now - s0
                retried = st.kind == "retry"
            if not late[i] and delivered[i]:
                kept.append(i)
            elif not delivered[i]:
                gap = True
        agg.append(clock.now)
        yield _Timeout(aggregate_s)
        agg.append(clock.now)

    def wake_if(cond: bool) -> None:
        if waiter and cond:
            waiter.clear()
            push(clock.now, "run", server_id)  # the condition event, then the server

    procs[server_id] = server()
    push(t0, "run", server_id)
    push(t0 + (deadline - t0), "stop0", -1)
    for w in np.asarray(order).tolist():
        push(float(requested[w]), "run", w)
    while heap:
        t, _, kind, pid = heapq.heappop(heap)
        clock.now = t
        if kind == "stop0":
            push(t, "stop1", -1)  # timeout(0)
            continue
        if kind == "stop1":
            push(t, "stop2", -1)  # the deadline process's end event
            continue
        if kind == "stop2":
            stop_seen[0] = True
            wake_if(True)
            continue
        if kind == "done":
            done_seen[pid] = True
            wake_if(waiter.get("row") == pid)
            continue
        if kind == "ended":
            proc_seen.add(pid)
            wake_if(waiter.get("proc") == pid)
            continue
        if pid < k and pid not in procs:
            procs[pid] = link.upload(clock, band, float(first[pid]), float(bandwidth_hz[pid]), snr_at[pid],
                                     rng(pid, 0))
        proc = procs[pid]
        if band is not None:
            band.row = pid
        value = None
        while True:
            try:
                ev = proc.send(value)
            except StopIteration as end:
                if pid < k:
                    outcomes[pid] = end.value
                    firsts.extend((pid, a, b, c) for a, b, c in send_done(pid, end.value))
                    delivered[pid] = end.value.delivered
                    push(t, "done", pid)
                elif pid != server_id:
                    proc_ended.add(pid)
                    push(t, "ended", pid)
                break
            value = None
            if isinstance(ev, _Timeout):
                push(t + ev.delay, "run", pid)
            elif isinstance(ev, _Spawn):
                value = next_id[0]
                next_id[0] += 1
                procs[value] = ev.gen
                push(t, "run", value)
                continue
            elif isinstance(ev, _AnyOf):
                ready = stop_seen[0] or (ev.row >= 0 and done_seen[ev.row]) or (ev.proc >= 0 and ev.proc in proc_seen)
                if ready:
                    push(t, "run", server_id)
                else:
                    waiter.update(row=ev.row, proc=ev.proc)
            elif not isinstance(ev, _Request):
                raise TypeError(f"link {link.name!r}: its upload process yielded {ev!r}")
            break
    up = _uploads_of([o for o in outcomes if o is not None])
    fr = FeedbackRound(up, retries, feedback, feedback_s, airtime, delivered,
                       ServerPass(decodes, np.asarray(kept, dtype=np.int64), agg[0], agg[1]), retry_s)
    return fr, late, late_bits, sorted(firsts, key=lambda a: a[0])
