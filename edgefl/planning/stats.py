"""Percentiles of round-latency samples and their 95 % confidence intervals.

**Point estimate.** The q-th percentile of n samples: numpy's linear interpolation between
order statistics (Hyndman & Fan 1996, definition 7), as ``edgefl run``'s tables use.

**Independent samples: distribution-free order-statistic interval.** For n i.i.d. samples of a
continuous distribution with q-quantile xi_q and order statistics X_(1) <= ... <= X_(n), the
number of samples below xi_q is Binomial(n, q), so (David & Nagaraja, *Order Statistics*,
3rd ed., 2003, Sec. 7.1, eq. 7.1.1; Conover, *Practical Nonparametric Statistics*, 3rd ed.,
1999, Sec. 3.2)

    P(X_(l) <= xi_q <= X_(u)) >= sum_{i=l}^{u-1} C(n, i) q^i (1 - q)^(n-i).

The interval [X_(l), X_(u)] is equal-tailed: l is the largest rank with
P(Bin(n, q) <= l - 1) <= alpha/2 and u the smallest with P(Bin(n, q) <= u - 1) >= 1 - alpha/2,
so each side misses with probability <= alpha/2 whatever the distribution. With too few
samples a side has no rank (l < 1 or u > n): that bound is unknown (None) rather than guessed.

**Dependent samples: cluster bootstrap.** Rounds that share a placement (``--over placements``
with several rounds per placement) or follow each other under time-correlated fading or
traces are not independent; there the interval is the percentile bootstrap (Efron &
Tibshirani, *An Introduction to the Bootstrap*, 1993, Sec. 13.3) resampling whole clusters
(placements, or blocks of consecutive rounds: the non-overlapping block bootstrap of Carlstein
1986), seeded, so the same samples give the same interval.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import bdtr

LEVEL = 0.95
BOOTSTRAP_RESAMPLES = 1000


@dataclass(frozen=True)
class Interval:
    """A two-sided confidence interval; a side is None where the samples cannot bound it."""

    low: float | None
    high: float | None

    def contains(self, x: float) -> bool:
        return (self.low is None or self.low <= x) and (self.high is None or x <= self.high)

    def width(self) -> float:
        return np.inf if self.low is None or self.high is None else self.high - self.low

    def as_list(self) -> list[float | None]:
        return [self.low, self.high]


def percentile(samples: np.ndarray, q: float) -> float:
    """The ``q``-th percentile (0-100) of ``samples`` (numpy linear interpolation)."""
    return float(np.percentile(np.asarray(samples, dtype=float), q))


def order_statistic_ranks(n: int, q: float, level: float = LEVEL) -> tuple[int | None, int | None]:
    """1-based ranks (l, u) of the equal-tailed distribution-free interval for the ``q``-quantile
    (q in (0, 1)) of n i.i.d. samples (module docstring); None where no rank qualifies."""
    if n < 1 or not 0.0 < q < 1.0:
        raise ValueError(f"need n >= 1 and 0 < q < 1, got n={n}, q={q}")
    a = (1.0 - level) / 2.0
    j = np.arange(n + 1)
    cdf = bdtr(j, n, q)  # P(Bin(n, q) <= j)
    low_ok = np.flatnonzero(cdf <= a)  # l - 1 in these
    lo = int(low_ok[-1]) + 1 if low_ok.size else None
    high_ok = np.flatnonzero(cdf >= 1.0 - a)  # u - 1 in these
    hi = int(high_ok[0]) + 1 if high_ok.size else None
    if hi is not None and hi > n:
        hi = None
    return lo, hi


def order_statistic_ci(samples: np.ndarray, q: float, level: float = LEVEL) -> Interval:
    """Distribution-free ``level`` interval of the ``q``-th percentile (0-100) of i.i.d. ``samples``."""
    x = np.sort(np.asarray(samples, dtype=float))
    lo, hi = order_statistic_ranks(x.size, q / 100.0, level)
    return Interval(None if lo is None else float(x[lo - 1]), None if hi is None else float(x[hi - 1]))


def cluster_bootstrap_ci(samples: np.ndarray, q: float, cluster_size: int, seed: int = 0,
                         level: float = LEVEL, resamples: int = BOOTSTRAP_RESAMPLES) -> Interval:
    """Percentile-bootstrap ``level`` interval of the ``q``-th percentile, resampling whole clusters of
    ``cluster_size`` consecutive samples (a last partial cluster is dropped from the resampling)."""
    x = np.asarray(samples, dtype=float)
    m = max(1, int(cluster_size))
    c = x.size // m
    if c < 2:
        return Interval(None, None)
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0xB007,)))
    stats = np.empty(resamples)
    step = max(1, (1 << 22) // (c * m))  # bounded temporaries
    pooled = PooledResamples(x[: c * m], m, q)
    for i in range(0, resamples, step):
        b = min(step, resamples - i)
        stats[i:i + b] = pooled.percentiles(rng.integers(0, c, size=(b, c)))
    a = (1.0 - level) / 2.0
    lo, hi = np.quantile(stats, [a, 1.0 - a])
    return Interval(float(lo), float(hi))


class PooledResamples:
    """The ``q``-th percentile of resamples of whole clusters, each given by the clusters it draws
    (with repetition), without building the resamples: the samples are sorted once, a resample
    weighs each sorted sample by how often its cluster was drawn, and the order statistics the
    percentile needs are read off the cumulative weights. The numbers of ``np.percentile`` over the
    pooled resample (linear interpolation between the two order statistics around the virtual
    index (N - 1) q / 100, as numpy computes it; ``tests/test_plan_stats.py`` checks equality)."""

    def __init__(self, samples: np.ndarray, cluster_size: int, q: float, spread: float = 8.0) -> None:
        x = np.asarray(samples, dtype=float)
        self.m = int(cluster_size)
        self.c = x.size // self.m
        n = self.c * self.m
        by_value = np.argsort(x[:n], kind="stable")
        self.sorted = x[by_value]
        self.cluster_of = by_value // self.m
        h = (n - 1) * np.true_divide(q, 100)  # numpy's virtual index of the linear method
        below = np.floor(h)
        self.lo, self.hi = (n - 1, n - 1) if h >= n - 1 else (int(below), int(below) + 1)
        self.gamma = np.asarray(h - below)
        # sorted positions where a resample's order statistics lie but for a far-fetched draw (``spread``
        # standard deviations of a cluster sample's count below the quantile); resamples reaching outside:
        # the cumulative weights over every position (the same numbers, at a higher cost)
        p = min(max(self.lo / max(n - 1, 1), 0.0), 1.0)
        half = int(max(spread * self.m, spread * np.sqrt(p * (1.0 - p) * n * self.m)))
        self.window = (max(0, self.lo - half), min(n, self.hi + 1 + half))
        self.before = np.bincount(self.cluster_of[: self.window[0]], minlength=self.c)

    def _positions(self, counts: np.ndarray, start: int, stop: int, base: np.ndarray) -> tuple[np.ndarray, ...]:
        """Sorted positions of ranks lo and hi of each resample, from its cluster ``counts``, reading the
        cumulative weights over positions start..stop-1 only (``base``: the weight before ``start``);
        and which resamples have both ranks in that range."""
        cum = base[:, None] + np.cumsum(counts[:, self.cluster_of[start:stop]], axis=1)
        inside = (base <= self.lo) & (cum[:, -1] > self.hi)
        return (start + np.count_nonzero(cum <= self.lo, axis=1), start + np.count_nonzero(cum <= self.hi, axis=1),
                inside)

    def percentiles(self, picks: np.ndarray) -> np.ndarray:
        """Percentile of each resample; ``picks`` (b, c): the clusters each resample draws."""
        b = picks.shape[0]
        counts = np.bincount((picks + self.c * np.arange(b)[:, None]).ravel(), minlength=b * self.c).reshape(b, self.c)
        start, stop = self.window
        i_lo, i_hi, inside = self._positions(counts, start, stop, counts @ self.before)
        if not inside.all():
            out = ~inside
            full = self._positions(counts[out], 0, self.c * self.m, np.zeros(int(out.sum()), dtype=np.int64))
            i_lo[out], i_hi[out] = full[0], full[1]
        a, z = self.sorted[i_lo], self.sorted[i_hi]
        diff = z - a
        out = np.add(a, diff * self.gamma)
        np.subtract(z, diff * (1 - self.gamma), out=out, where=self.gamma >= 0.5)
        return out


def confidence_interval(samples: np.ndarray, q: float, cluster_size: int = 1, seed: int = 0) -> Interval:
    """The 95 % interval of the ``q``-th percentile: order statistics for independent samples
    (``cluster_size`` 1), else the cluster bootstrap."""
    if cluster_size <= 1:
        return order_statistic_ci(samples, q)
    return cluster_bootstrap_ci(samples, q, cluster_size, seed)


def ci_method(cluster_size: int) -> str:
    """What :func:`confidence_interval` does for this cluster size, in words."""
    if cluster_size <= 1:
        return "distribution-free order-statistic interval (binomial; David & Nagaraja 2003, Sec. 7.1)"
    return (f"cluster bootstrap ({BOOTSTRAP_RESAMPLES} resamples of clusters of {cluster_size} dependent "
            "samples; Efron & Tibshirani 1993, Sec. 13.3)")


def min_bounded_samples(q: float, level: float = LEVEL) -> int:
    """Fewest i.i.d. samples whose order-statistic interval of the ``q``-th percentile (0-100) is bounded
    on both sides: (q/100)^n <= alpha/2 and (1 - q/100)^n <= alpha/2."""
    a = (1.0 - level) / 2.0
    p = min(q, 100.0 - q) / 100.0
    return int(np.ceil(np.log(a) / np.log(1.0 - p)))
