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

**Clustered samples: cluster bootstrap.** Rounds that share a placement (``--over placements``
with several rounds per placement) are not independent, but the placements are; there the
interval is the percentile bootstrap (Efron & Tibshirani, *An Introduction to the Bootstrap*,
1993, Sec. 13.3) resampling whole clusters (placements), seeded, so the same samples give the
same interval.

**A time series: batch means.** Consecutive rounds of one run under time-correlated fading
(Gauss-Markov), channel or device traces or batteries are a stationary series dependent at
short lags (``--over fading``). The interval inverts the empirical CDF (Woodruff, JASA 47, 1952):
with p = q/100 and F_n(xi_q) asymptotically N(p, sigma^2 / n), where sigma^2 is the long-run
variance of the indicator series 1{X_t <= xi_q} (p (1 - p) for independent samples),

    [x_(p - h), x_(p + h)],   h = t_{c-1, 0.975} sigma_BM / sqrt(n),

x_(r) the 100 r-th percentile of the samples (as the point estimate; a side beyond 0 or 1 is
None) and sigma_BM^2 = m / (c - 1) sum_j (I_j - I)^2 the batch-means estimate from c batches of
m consecutive rounds (I_j: batch j's share of rounds <= the estimated percentile; Flegal &
Jones, Ann. Statist. 38, 2010, eqs. 5-6, with the t quantile of c - 1 degrees of freedom).
Batch length: m = min(n // 3, max(ceil(sqrt(n)), ceil(5 tau))), tau the integrated
autocorrelation time of the series' ranks with Sokal's automatic window (smallest W >= 5 tau(W);
Sokal, *Monte Carlo Methods in Statistical Mechanics*, 1997, Sec. 3): batches span several
correlation times, so their means are nearly independent, and there are at least 3 of them
(few batches widen the interval through the t quantile: 4.3 for 3 batches, 2.26 for 10).
Coverage of the p95 of AR(1) latency series (``python benchmarks/plan_ci_coverage.py --reps
1000``; ``tests/test_plan_stats.py`` asserts it): lag-1 correlation 0.5, 0.9, 0.98 with 400
rounds: 94.6 %, 92.5 %, 93.0 % (1600 rounds: 94.5 %, 92.8 %, 92.6 %), where a block bootstrap
with blocks of sqrt(n) rounds (this module's earlier rule) covered 89.4 %, 80.9 %, 44.8 % (93.6 %,
90.1 %, 70.7 %) and no block length brought it to 95 % (the percentile bootstrap of a tail
quantile from few blocks is too narrow).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import bdtr, stdtrit
from scipy.stats import rankdata

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


def autocorrelation_time(samples: np.ndarray, window: float = 5.0) -> float:
    """Integrated autocorrelation time tau = 1 + 2 sum_{k=1}^{W} rho_k of a series (1: uncorrelated),
    with Sokal's automatic window W: the smallest W >= ``window`` tau(W) (module docstring); at
    least 1."""
    x = np.asarray(samples, dtype=float)
    n = x.size
    if n < 3 or np.ptp(x) == 0.0:  # too short, or constant (e.g. every round capped at the deadline)
        return 1.0
    d = x - x.mean()
    f = np.fft.rfft(d, 2 * n)
    acov = np.fft.irfft(f * np.conj(f), 2 * n)[:n]
    taus = 1.0 + 2.0 * np.cumsum(acov[1:] / acov[0])
    ok = np.flatnonzero(np.arange(1, n) >= window * taus)
    return max(1.0, float(taus[ok[0] if ok.size else n - 2]))


def batch_length(samples: np.ndarray) -> int:
    """Rounds per batch of :func:`series_ci`: min(n // 3, max(ceil(sqrt(n)), ceil(5 tau))), tau the
    autocorrelation time of the samples' ranks (percentiles do not change under monotone maps, and
    a heavy tail, one round of seconds in a deep fade, hides the dependence from the raw values)."""
    x = np.asarray(samples, dtype=float)
    n = x.size
    tau = autocorrelation_time(rankdata(x))  # ties (rounds capped at a deadline) share their mean rank
    return int(min(n // 3, max(math.ceil(math.sqrt(n)), math.ceil(5.0 * tau))))


def series_ci(samples: np.ndarray, q: float, level: float = LEVEL) -> Interval:
    """``level`` interval of the ``q``-th percentile of a stationary series of dependent samples
    (consecutive rounds): the inverted empirical CDF with a batch-means variance (module
    docstring); unbounded with fewer than 20 samples."""
    x = np.asarray(samples, dtype=float)
    n = x.size
    if n < 20:
        return Interval(None, None)
    m = batch_length(x)
    c = n // m
    p = q / 100.0
    below = (x[: c * m] <= np.percentile(x, q)).reshape(c, m).mean(axis=1)
    sigma2 = m * float(np.var(below, ddof=1))
    h = float(stdtrit(c - 1, 0.5 + level / 2.0)) * math.sqrt(sigma2 / n)
    return Interval(percentile(x, 100.0 * (p - h)) if p - h >= 0.0 else None,
                    percentile(x, 100.0 * (p + h)) if p + h <= 1.0 else None)


def confidence_interval(samples: np.ndarray, q: float, cluster_size: int = 1, seed: int = 0,
                        series: bool = False) -> Interval:
    """The 95 % interval of the ``q``-th percentile: batch means for a dependent ``series``, order
    statistics for independent samples (``cluster_size`` 1), else the cluster bootstrap."""
    if series:
        return series_ci(samples, q)
    if cluster_size <= 1:
        return order_statistic_ci(samples, q)
    return cluster_bootstrap_ci(samples, q, cluster_size, seed)


def ci_method(cluster_size: int, series: bool = False) -> str:
    """What :func:`confidence_interval` does for these samples, in words."""
    if series:
        return ("batch means over consecutive rounds (inverted empirical CDF with a batch-means variance, "
                "batches of max(sqrt(n), 5 autocorrelation times), at least 3; Woodruff 1952, Flegal & Jones 2010)")
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
