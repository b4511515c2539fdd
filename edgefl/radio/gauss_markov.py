"""Gauss-Markov (Jakes AR(1)) fading of K workers in arrays, advanced by compiled code.

The same process as K separate :class:`edgefl.radio.fading.FadingStream` objects with
``correlation.kind = gauss_markov`` (state h(t + dt) = rho h(t) + sqrt(1 - rho^2) w, w ~ CN(0, 1),
rho = J0(2 pi f_d dt): Clarke/Jakes, Goldsmith, *Wireless Communications*, Sec. 3.2.1; stationary
start h ~ CN(0, 1); a call at the time of the previous one leaves the state as it is), with the
same draws (worker k's CN(0, 1) values from its own generator in batches of ``_BATCH``) and the
same floating-point operations (CPython's complex arithmetic spelt out; scipy's J0,
:mod:`edgefl.radio.bessel_native`), so the gains are the streams' bit for bit. Kept in arrays,
the states of a round's workers advance in one compiled loop, and a compiled upload kernel
(:mod:`edgefl.radio.nr_batch`) advances them itself at each pass start (:meth:`lookahead` makes
sure the draws it may need are at hand).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numba import njit

from edgefl.radio.bessel_native import fma, j0
from edgefl.radio.config import CorrelationConfig, FadingConfig
from edgefl.radio.fading import _BATCH, complex_normal, power_gain_from_state, rician_los_and_scale
from edgefl.radio.prefetch import prefetch2

#: gain maps of the compiled path (power_gain_from_state); other fading models map in Python
GAIN_RAYLEIGH = 0
GAIN_RICIAN = 1
GAIN_PYTHON = -1
#: draws of a worker's current batch copied into its row of a bank at a time
_WINDOW = 32


# _nrt=False: no reference counting in this helper (it allocates nothing and only reads and writes arrays its
# caller holds); the kernels call it per pass, where counting each array argument in and out cost more
# than the arithmetic
@njit(cache=True, _nrt=False)
def gm_read(i, t, buf, pos, st_re, st_im, last_t, has_last, doppler):
    """Advance worker i's state to a transmission at t (FadingStream.raw, Gauss-Markov branch)."""
    if not has_last[i]:
        c = buf[i, pos[i]]
        pos[i] += 1
        st_re[i] = c.real
        st_im[i] = c.imag
    else:
        dt = t - last_t[i]
        if dt < 0:
            raise ValueError("t must not decrease on a fading stream")
        if dt > 0:
            rho = j0(2.0 * math.pi * doppler * dt)
            c = buf[i, pos[i]]
            pos[i] += 1
            s = math.sqrt(max(0.0, 1.0 - rho * rho))
            a = st_re[i]
            b = st_im[i]
            # rho * h + s * w with CPython's float * complex: (x + 0j)(a + bi)
            st_re[i] = (rho * a - 0.0 * b) + (s * c.real - 0.0 * c.imag)
            st_im[i] = (rho * b + 0.0 * a) + (s * c.imag + 0.0 * c.real)
    last_t[i] = t
    has_last[i] = True


@njit(cache=True, _nrt=False)
def np_cabs(a, b, fused):
    """|a + bi| as numpy's complex ``absolute`` loop computes it (numpy/_core/src/umath/
    loops_unary_complex.dispatch.c.src, finite values): L sqrt(r r + 1), L = max(|a|, |b|),
    r = min / L (0 when L = 0), r r + 1 fused when numpy's loop uses FMA (:func:`numpy_cabs_fused`)."""
    x = abs(a)
    y = abs(b)
    if not (math.isfinite(x) and math.isfinite(y)):
        return math.hypot(x, y)
    big = max(x, y)
    small = min(x, y)
    r = small / big if big != 0.0 else 0.0
    s = fma(r, r, 1.0) if fused else r * r + 1.0
    return math.sqrt(s) * big


@njit(cache=True, _nrt=False)
def gm_gain(i, st_re, st_im, gain_map, los, scale, fused, two):
    """Power gain of worker i's state as ``float(power_gain_from_state(fading, complex state))``:
    np.abs(h) ** 2 (Rayleigh) or np.abs(los + scale h) ** 2 (Rician), CPython's complex arithmetic
    spelt out, numpy's scalar power (libm pow, ``two`` = 2.0 passed at run time so that it stays pow)."""
    a = st_re[i]
    b = st_im[i]
    if gain_map == 1:
        ra = scale * a - 0.0 * b
        rb = scale * b + 0.0 * a
        a = los + ra
        b = 0.0 + rb
    return np_cabs(a, b, fused) ** two


@njit(cache=True)
def _advance(ids, t, buf, pos, st_re, st_im, last_t, has_last, doppler, gain_map, los, scale, fused, two, out):
    for j in range(ids.size):  # each worker's next draw, fetched side by side (a hint: no value changes)
        i = ids[j]
        if pos[i] < buf.shape[1]:
            prefetch2(buf, i, pos[i])
    for j in range(ids.size):
        gm_read(ids[j], t, buf, pos, st_re, st_im, last_t, has_last, doppler)
        if gain_map >= 0:
            out[j] = gm_gain(ids[j], st_re, st_im, gain_map, los, scale, fused, two)


@njit(cache=True)
def _short_rows(workers, filled, pos, m):
    """The distinct workers of ``workers`` with fewer than ``m`` draws at hand (filled - pos), sorted."""
    out = np.empty(workers.size, dtype=np.int64)
    n = 0
    for j in range(workers.size):
        w = workers[j]
        if filled[w] - pos[w] < m:
            out[n] = w
            n += 1
    out = np.sort(out[:n])
    u = 0
    for j in range(n):
        if u == 0 or out[j] != out[u - 1]:
            out[u] = out[j]
            u += 1
    return out[:u]


@njit(cache=True)
def _refill_window(short, m, buf, pos, filled, src_row, src_off, first, later, pool, taken, has_fam, has_first,
                   n_later):
    """Refill the rows of the workers ``short``: the draws left (filled - pos) moved to the front, then as many
    of the worker's current batch as the row holds (from ``src_off``; the batch is the memo's ``first[w]``
    when ``src_row`` is -1, its ``later[w, i - 1]`` when ``src_row`` is -(i + 2) <= -3, row ``src_row`` of
    ``pool`` when >= 0, none yet when -2). A batch used up is followed by the worker's next one where the
    memo holds it (``has_fam``: batch ``taken[w]`` is kept, first or later; ``taken`` counts it, as
    :meth:`GaussMarkovBank._next_batch` does). Returns the workers that still have fewer than ``m`` draws at
    hand: their next batch is not in the memo."""
    need = np.empty(short.size, dtype=np.int64)
    n = 0
    width = buf.shape[1]
    size = first.shape[1]
    for j in range(short.size):
        w = short[j]
        at = filled[w] - pos[w]
        p0 = pos[w]
        for c in range(at):
            buf[w, c] = buf[w, p0 + c]
        pos[w] = 0
        while True:
            r = src_row[w]
            if r != -2:
                off = src_off[w]
                take = min(width - at, size - off)
                if r == -1:
                    for c in range(take):
                        buf[w, at + c] = first[w, off + c]
                elif r <= -3:
                    b = -r - 3
                    for c in range(take):
                        buf[w, at + c] = later[w, b, off + c]
                else:
                    for c in range(take):
                        buf[w, at + c] = pool[r, off + c]
                src_off[w] = off + take
                at += take
            if at >= m or not has_fam:
                break
            i = taken[w]  # the batch is used up (or none yet): the next one, if the memo holds it
            if i == 0 and has_first[w]:
                src_row[w] = -1
            elif i >= 1 and i <= n_later[w]:
                src_row[w] = -(i + 2)
            else:
                break
            src_off[w] = 0
            taken[w] = i + 1
        filled[w] = at
        if at < m:
            need[n] = w
            n += 1
    return need[:n]


def _numpy_cabs_variant() -> bool | None:
    """Which :func:`np_cabs` variant reproduces numpy's complex absolute on this machine (True: fused),
    probed on values that tell them apart; None: neither (the compiled gains are then not used)."""
    rng = np.random.default_rng(20)
    a, b = rng.standard_normal(4096), rng.standard_normal(4096) * rng.choice([1e-3, 1.0, 1e3], 4096)
    z = np.empty(a.size, dtype=complex)
    z.real, z.imag = a, b
    ref = np.abs(z)
    ref_scalar = np.array([np.abs(complex(x, y)) for x, y in zip(a[:256].tolist(), b[:256].tolist())])
    if not np.array_equal(ref[:256], ref_scalar):
        return None
    for fused in (True, False):
        if np.array_equal(_cabs_many(a, b, fused), ref):
            return fused
    return None


@njit(cache=True)
def _cabs_many(a, b, fused):
    out = np.empty(a.size)
    for i in range(a.size):
        out[i] = np_cabs(a[i], b[i], fused)
    return out


_CABS_VARIANT: list[bool | None] = []


def numpy_cabs_fused() -> bool | None:
    """Whether numpy's complex absolute fuses r r + 1 on this machine (None: :func:`np_cabs` cannot
    reproduce it, so the compiled gains are not used); probed once per process, when first asked."""
    if not _CABS_VARIANT:
        _CABS_VARIANT.append(_numpy_cabs_variant())
    return _CABS_VARIANT[0]


class GaussMarkovBank:
    """Gauss-Markov fading streams of K workers (one link direction) in arrays; the interface of
    :class:`edgefl.radio.fading.FadingBank` (``gains``, ``gain``, ``raw``, ``returns_state``)."""

    vectorised = False
    returns_state = True

    def __init__(self, fading: FadingConfig, correlation: CorrelationConfig,
                 seeds: Sequence[np.random.SeedSequence], ahead: int = 1) -> None:
        if fading.model == "none" or correlation.kind != "gauss_markov":
            raise ValueError("GaussMarkovBank is for Gauss-Markov correlation with a fading model")
        self._fading, self._corr = fading, correlation
        k = len(seeds)
        self.size = k
        self._seeds = seeds
        self._rngs: list[np.random.Generator | None] = [None] * k
        self._taken = np.zeros(k, dtype=np.int64)  # batches of draws taken per worker
        self._rng_at = np.zeros(k, dtype=np.int64)  # batches drawn by each worker's own generator
        self._first = _first_batches(seeds)
        # draws at hand per worker (the kernels read buf[w, pos[w]:filled[w]]): up to _WINDOW of its current
        # batch plus up to ``ahead`` - 1 left from before (lookahead); a row is refilled from the batch, the
        # batch is the memo's first batch of the worker (read where it is) or the bank's copy in ``pool``:
        # a bank keeps a window per worker, not a batch, since the planner keeps dozens of banks alive
        self.ahead = max(1, int(ahead))
        self.buf = np.zeros((k, _WINDOW + self.ahead - 1), dtype=complex)
        self.pos = np.zeros(k, dtype=np.int64)
        self.filled = np.zeros(k, dtype=np.int64)
        self.src_row = np.full(k, -2, dtype=np.int64)  # -2 no batch yet, -1 the memo's first, >= 0 a pool row
        self.src_off = np.zeros(k, dtype=np.int64)  # draws of the current batch copied into the row
        self.slot = np.full(k, -1, dtype=np.int64)  # pool row of each worker (made when first needed)
        self.pool = np.empty((0, _BATCH), dtype=complex)
        self._pool_rows = 0
        self.state_re = np.zeros(k)
        self.state_im = np.zeros(k)
        self.last_t = np.zeros(k)
        self.has_last = np.zeros(k, dtype=np.bool_)
        self.doppler_hz = float(correlation.doppler_hz)
        self.los, self.scale = 0.0, 1.0
        self.fused = numpy_cabs_fused()
        if self.fused is None:
            self.gain_map = GAIN_PYTHON
        elif fading.model == "rayleigh":
            self.gain_map = GAIN_RAYLEIGH
        elif fading.model == "rician":
            self.gain_map = GAIN_RICIAN
            self.los, self.scale = rician_los_and_scale(fading.k_factor_db)
        else:
            self.gain_map = GAIN_PYTHON

    def lookahead(self, workers: np.ndarray, m: int) -> None:
        """Make sure each of ``workers`` has its next ``m`` <= :attr:`ahead` draws at hand (batches are
        drawn ahead in their order, so the sequence does not change)."""
        if m > self.ahead:
            raise ValueError(f"this bank keeps at most {self.ahead} draws ahead, asked for {m}")
        workers = np.asarray(workers, dtype=np.int64)
        # the workers short of draws, each once, in increasing order (compiled: a round asks for ~1,000)
        short = _short_rows(workers, self.filled, self.pos, int(m))
        if short.size == 0:
            return
        need = self._refill(short, int(m))
        while need.size:  # batches used up: each worker's next one, from the memo or its own stream
            for w in need.tolist():
                self._install(w, self._next_batch(w))
            need = self._refill(need, int(m))

    def _refill(self, rows: np.ndarray, m: int) -> np.ndarray:
        """:func:`_refill_window` of ``rows`` with this bank's sources; the rows that need a new batch."""
        fam = self._first
        if fam is None:
            return _refill_window(rows, m, self.buf, self.pos, self.filled, self.src_row, self.src_off, self.pool[:0],
                                  self.pool[:0, None], self.pool, self._taken, False, self.has_last, self._taken)
        return _refill_window(rows, m, self.buf, self.pos, self.filled, self.src_row, self.src_off, fam.first,
                              fam.later, self.pool, self._taken, True, fam.has_first, fam.n_later)

    def _install(self, w: int, batch: np.ndarray) -> None:
        """Make ``batch`` worker w's current batch: the memo's first batch where it is, else a copy in
        the worker's pool row."""
        fam = self._first
        i = int(self._taken[w]) - 1  # the batch's index in the worker's sequence
        if fam is not None and i == 0 and fam.has_first[w]:
            self.src_row[w] = -1
        elif fam is not None and 1 <= i <= fam.n_later[w]:
            self.src_row[w] = -(i + 2)  # fam.later[w, i - 1]
        else:
            if self.slot[w] < 0:
                if self._pool_rows == self.pool.shape[0]:
                    grown = np.empty((max(64, 2 * self.pool.shape[0]), _BATCH), dtype=complex)
                    grown[: self._pool_rows] = self.pool[: self._pool_rows]
                    self.pool = grown
                self.slot[w] = self._pool_rows
                self._pool_rows += 1
            self.pool[self.slot[w]] = batch
            self.src_row[w] = self.slot[w]
        self.src_off[w] = 0

    def _next_batch(self, w: int) -> np.ndarray:
        """Worker w's next ``_BATCH`` draws. The first :data:`MEMO_BATCHES` of them come from the
        process-wide memo when another bank of the same seeds drew them already (the planner's scenario
        variants share their seeds): drawing a generator and a batch costs more than a round's uploads.
        The worker's own generator, made when first needed, is moved past the batches taken from the
        memo before it draws, so the sequence is the one a bank alone draws."""
        i = int(self._taken[w])
        fam = self._first
        if fam is not None:
            kept = fam.batch(w, i)
            if kept is not None:
                self._taken[w] = i + 1
                return kept
        rng = self._rngs[w]
        if rng is None:
            rng = self._rngs[w] = np.random.default_rng(self._seeds[w])
        if fam is not None and self._rng_at[w] < i:  # the generator's state after the batches the memo holds
            after, state = fam.states.get(w, (0, None))
            if self._rng_at[w] < after <= i:
                rng.bit_generator.state = state
                self._rng_at[w] = after
        for _ in range(i - int(self._rng_at[w])):  # batches taken from the memo: the generator moves past them
            complex_normal(rng, _BATCH)
        batch = complex_normal(rng, _BATCH)
        self._rng_at[w] = i + 1
        if fam is not None and i < MEMO_BATCHES:
            fam.keep(w, i, batch)
            if fam.batch(w, i) is not None and fam.states.get(w, (0, None))[0] < i + 1:
                fam.states[w] = (i + 1, rng.bit_generator.state)
        self._taken[w] = i + 1
        return batch

    def _advance(self, workers: np.ndarray, t: float, with_gains: bool) -> np.ndarray:
        if not math.isfinite(t):
            raise ValueError(f"t must be finite, got {t}")
        self.lookahead(workers, 1)
        out = np.empty(workers.size)
        gain_map = self.gain_map if with_gains else GAIN_PYTHON
        _advance(workers, float(t), self.buf, self.pos, self.state_re, self.state_im, self.last_t, self.has_last,
                 self.doppler_hz, gain_map, self.los, self.scale, bool(self.fused), 2.0, out)
        if with_gains and self.gain_map == GAIN_PYTHON:
            out = np.array([float(power_gain_from_state(self._fading, complex(self.state_re[w], self.state_im[w])))
                            for w in workers.tolist()])
        return out

    def gains(self, workers: np.ndarray, t: float, round: int) -> np.ndarray:
        """Power gains of ``workers`` (distinct) for transmissions at ``t`` (FadingStream.gain each)."""
        return self._advance(np.asarray(workers, dtype=np.int64), t, True)

    def gain(self, k: int, t: float, round: int) -> float:
        """Power gain of worker ``k`` for a transmission at ``t``."""
        return float(self._advance(np.array([int(k)], dtype=np.int64), t, True)[0])

    def raw(self, t: float, round: int) -> np.ndarray:
        """Every worker's state advanced to ``t`` (complex; FadingStream.raw each)."""
        ids = np.arange(self.size, dtype=np.int64)
        self._advance(ids, t, False)
        out = np.empty(self.size, dtype=complex)
        out.real, out.imag = self.state_re, self.state_im
        return out


class _Family:
    """The memo of one seed family: every worker's first batch in one array, its later batches (up to
    :data:`MEMO_BATCHES` - 1) in another (filled as drawn; pages untouched till written)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.first = np.empty((n, _BATCH), dtype=complex)
        self.has_first = np.zeros(n, dtype=np.bool_)
        self.later = np.empty((n, 0, _BATCH), dtype=complex)  # batch i >= 1 of worker w: later[w, i - 1]
        self.n_later = np.zeros(n, dtype=np.int64)
        #: by worker: (j, the state of its generator after drawing its batches 0..j-1), the last batch kept,
        #: so that a bank needing batch j or later sets its generator there instead of drawing them again
        self.states: dict[int, tuple[int, dict]] = {}

    def batch(self, w: int, i: int) -> np.ndarray | None:
        """Batch i of worker w, if kept."""
        if i == 0:
            return self.first[w] if self.has_first[w] else None
        return self.later[w, i - 1] if i - 1 < self.n_later[w] else None

    def keep(self, w: int, i: int, batch: np.ndarray) -> None:
        """Keep batch i < :data:`MEMO_BATCHES` of worker w (drawn in order: kept only when batches 1..i-1 are)."""
        if i == 0:
            if not self.has_first[w]:
                self.first[w], self.has_first[w] = batch, True
            return
        if self.n_later[w] != i - 1:
            return
        if i - 1 >= self.later.shape[1]:  # the memo was asked to keep more batches since this array was made
            grown = np.empty((self.n, max(i, MEMO_BATCHES - 1), _BATCH), dtype=complex)
            grown[:, : self.later.shape[1]] = self.later
            self.later = grown
        self.later[w, i - 1] = batch
        self.n_later[w] = i


_FIRST_BATCHES: dict[tuple[int, int, int], _Family] = {}
_FIRST_BATCHES_KEPT = 4  # seed families remembered
#: batches per worker the memo keeps (1: the first, as a run needs; the planner, whose variants replay the
#: same draws, keeps more: :func:`memo_batches`)
MEMO_BATCHES = 1


def memo_batches(n: int) -> None:
    """Keep the first ``n`` batches of every worker's draws in the process-wide memo (memory: 16 x 256 bytes
    per batch and worker, per seed family, in one array per family whose pages are touched as batches are
    drawn; the numbers drawn do not change)."""
    global MEMO_BATCHES
    MEMO_BATCHES = max(1, int(n))


def _first_batches(seeds: Sequence[np.random.SeedSequence]) -> _Family | None:
    """The memo of first batches of a :class:`SeedList` family (None for other seed lists)."""
    if not isinstance(seeds, SeedList):
        return None
    key = (seeds.seed, seeds.key, seeds.n)
    if key not in _FIRST_BATCHES:
        while len(_FIRST_BATCHES) >= _FIRST_BATCHES_KEPT:
            _FIRST_BATCHES.pop(next(iter(_FIRST_BATCHES)))
        _FIRST_BATCHES[key] = _Family(seeds.n)
    return _FIRST_BATCHES[key]


class SeedList(Sequence):
    """``SeedSequence(seed, spawn_key=(key, i))`` for i < n, made when asked for."""

    def __init__(self, seed: int, key: int, n: int) -> None:
        self.seed, self.key, self.n = int(seed), int(key), int(n)

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self.n))]
        if not -self.n <= i < self.n:
            raise IndexError(i)
        return np.random.SeedSequence(self.seed, spawn_key=(self.key, int(i) % self.n))
