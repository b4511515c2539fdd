"""Partial participation and the round deadline: who takes part in a round, whose upload counts.

Sampling (DSC paper Sec. V-A, RD paper Sec. VI: a population of N workers of which K take part
in each iteration; FedAvg-style client sampling): K of the N workers drawn without replacement,
uniformly or with probabilities proportional to per-worker availability weights (numpy's
sequential weighted draw without replacement: the first pick has probability w_i / sum w,
the next ones are drawn the same way from the workers left).

Round deadline (the straggler policy of deployed FL, e.g. Bonawitz et al., "Towards federated
learning at scale", MLSys 2019, Sec. 2.2: the server ends the reporting phase at a timeout and
ignores late reports): an upload that has not ended ``deadline`` seconds after the round start
is dropped. The worker stops transmitting at the deadline; what it put on the air before the
deadline (its air time up to the deadline, bits pro rata of each attempt's air time) is
charged. An upload ending exactly at the deadline is on time.

Successive (Wyner-Ziv) decoding needs every earlier worker of the decoding order as side
information: the syndrome rate of the i-th worker was announced for side information from
workers 1..i-1 (DSC paper eq. 45; RD paper Lemma 1's corner point), so without worker j a
later worker's syndrome is short of bits and cannot be decoded. A real server therefore keeps
the longest on-time prefix of the decoding order and discards the on-time uploads after the
first late one. Schemes without side information keep every on-time upload.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numba import njit


def sample_workers(rng: np.random.Generator, population: int, per_round: int,
                   weights: np.ndarray | None = None) -> np.ndarray:
    """Sorted ids of ``per_round`` workers out of ``population``, without replacement: uniform, or
    sequentially proportional to ``weights`` (>= 0). ``per_round == population`` takes everyone
    without drawing from ``rng``."""
    if not 1 <= per_round <= population:
        raise ValueError(f"per_round must be in 1..{population}, got {per_round}")
    if per_round == population:
        return np.arange(population)
    if weights is None:
        return np.sort(rng.choice(population, size=per_round, replace=False))
    w = np.asarray(weights, dtype=float)
    if w.shape != (population,) or np.any(~np.isfinite(w)) or np.any(w < 0) or (w > 0).sum() < per_round:
        raise ValueError(f"weights must be {population} finite values >= 0 with at least {per_round} > 0")
    return np.sort(weighted_choice(rng, w / w.sum(), per_round))


def weighted_choice(rng: np.random.Generator, p: np.ndarray, size: int) -> np.ndarray:
    """``rng.choice(p.size, size=size, replace=False, p=p)`` (``p`` valid probabilities with at least ``size``
    of them > 0), the same workers in the same order from the same numbers: numpy's algorithm
    (numpy/random/_generator.pyx, ``Generator.choice``): draw ``size - found`` uniforms with ``rng.random``,
    map each through the normalised cumulative sum of ``p`` with the found workers' probabilities set to
    0 (``searchsorted(side='right')``), keep the new workers in the order of their first appearance,
    repeat until ``size`` are found. The loop over the uniforms is compiled (:func:`_choice_pass`)."""
    p = np.array(p, dtype=float)  # the draw zeroes the found workers' probabilities: its own copy
    found = np.zeros(size, dtype=np.int64)
    cdf, norm = np.empty(p.size), np.empty(p.size)
    n, valid = 0, 0
    while n < size:
        n, valid = _choice_pass(p, rng.random((size - n,)), found, n, cdf, norm, valid)
    return found


@njit(cache=True)
def _choice_pass(p, x, found, n, cdf, norm, valid):
    """One pass of numpy's weighted draw without replacement (:func:`weighted_choice`), the found workers'
    ``p`` already 0: cdf = cumsum(p) (a sequential sum, as ``np.cumsum``; entries before ``valid`` are
    those of the previous pass, the sum up to there unchanged), each uniform of ``x`` to the first index
    whose cdf / cdf[-1] exceeds it (``searchsorted(side='right')`` on numpy's normalised cdf, each
    quotient the one numpy stores), new indices appended to ``found`` in order of first appearance (the
    order of ``np.unique(return_index=True)`` with the indices sorted) and their ``p`` set to 0 (an
    index drawn has p > 0: a second draw of it in this pass is a repeat). Returns the count found and
    the first index whose cdf the next pass must sum again."""
    m = p.size
    if valid == 0:
        cdf[0] = p[0]
        valid = 1
    acc = cdf[valid - 1]
    for i in range(valid, m):
        acc += p[i]
        cdf[i] = acc
    last = cdf[m - 1]
    again = m
    whole = 16 * x.size > m  # many uniforms: every quotient once (a vectorised loop), else where the search looks
    if whole:
        for i in range(m):
            norm[i] = cdf[i] / last
    for j in range(x.size):
        lo = 0
        hi = m
        v = x[j]
        while lo < hi:
            mid = (lo + hi) >> 1
            if (norm[mid] if whole else cdf[mid] / last) <= v:
                lo = mid + 1
            else:
                hi = mid
        if p[lo] != 0.0:
            p[lo] = 0.0
            found[n] = lo
            n += 1
            if lo < again:
                again = lo
    return n, again


class DrawMemo:
    """The participants of every round drawn so far by each sampling stream, shared by the simulations
    of one process that opt in (the planner: its scenario variants that differ only in, e.g., the
    bandwidth draw the same participants round by round). A simulation whose stream (seed sequence,
    population, per_round, weights) has been drawn to round r by another reads rounds <= r here and
    draws the later ones from its own generator, first set to the state the stream had after round
    r, so every simulation gets exactly the participants it would draw alone. Keeps the streams of
    the last ``keep`` keys (a simulation of a stream dropped draws on from its own generator)."""

    def __init__(self, keep: int = 4) -> None:
        self.keep = int(keep)
        self._streams: dict[tuple, tuple[list[np.ndarray], list[dict]]] = {}

    def draw(self, key: tuple, index: int, rng: np.random.Generator, behind: dict | None, population: int,
             per_round: int, weights: np.ndarray | None) -> tuple[np.ndarray, dict | None]:
        """Participants of draw ``index`` of stream ``key``, for a simulation whose generator ``rng`` has made
        ``index`` draws (``behind`` None) or fewer (``behind``: the stream's state after draw index - 1).
        Returns them (its own array) and what ``behind`` is for the next draw."""
        arrays, states = self._streams.setdefault(key, ([], []))
        while len(self._streams) > self.keep:
            self._streams.pop(next(iter(self._streams)))
        if index < len(arrays):
            return arrays[index].astype(np.int64), states[index]
        if behind is not None:
            rng.bit_generator.state = behind
        ids = sample_workers(rng, population, per_round, weights)
        if index == len(arrays):
            arrays.append(ids.astype(np.int32 if population < 2**31 else np.int64))  # kept small
            states.append(rng.bit_generator.state)
        return ids, None


def clip_at_deadline(intervals: Sequence[tuple[float, float, float]], deadline: float
                     ) -> tuple[list[tuple[float, float, float]], float, float]:
    """The attempts (start, end, bits) of an upload cut at ``deadline`` (absolute time): intervals
    ending by the deadline whole, the one spanning it up to the deadline with bits pro rata of
    its air time (constant rate within an attempt), later ones dropped. Returns the kept
    intervals, their air time and their bits."""
    kept = []
    for s, e, b in intervals:
        if e <= deadline:
            kept.append((s, e, b))
        elif s < deadline:
            kept.append((s, deadline, b * (deadline - s) / (e - s)))
    return kept, float(sum(e - s for s, e, _ in kept)), float(sum(b for _, _, b in kept))
