"""The planner's confidence intervals and searches against known distributions and functions."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.signal import lfilter
from scipy.special import ndtr, ndtri
from scipy.stats import rankdata

from edgefl.planning.search import boundary, largest_int, refine_boundary, refine_int
from edgefl.planning.stats import (
    autocorrelation_time,
    batch_length,
    cluster_bootstrap_ci,
    min_bounded_samples,
    order_statistic_ci,
    order_statistic_ranks,
    percentile,
    series_ci,
)


def _binomial_cover(n: int, q: float, lo: int, hi: int) -> float:
    """P(X_(lo) <= xi_q <= X_(hi)) = sum_{i=lo}^{hi-1} C(n, i) q^i (1-q)^(n-i), summed term by term."""
    return sum(math.comb(n, i) * q**i * (1 - q) ** (n - i) for i in range(lo, hi))


@pytest.mark.parametrize(("n", "q"), [(20, 0.5), (100, 0.95), (400, 0.99), (1000, 0.5)])
def test_ranks_are_the_textbook_equal_tailed_interval(n: int, q: float) -> None:
    lo, hi = order_statistic_ranks(n, q)
    assert lo is not None and hi is not None
    assert _binomial_cover(n, q, lo, hi) >= 0.95
    # equal tails: each side misses with probability <= 2.5 %, and no tighter rank would do
    assert _binomial_cover(n, q, 0, lo) <= 0.025 < _binomial_cover(n, q, 0, lo + 1)
    assert _binomial_cover(n, q, hi, n + 1) <= 0.025 < _binomial_cover(n, q, hi - 1, n + 1)


def test_too_few_samples_leave_a_side_unbounded() -> None:
    assert order_statistic_ranks(10, 0.95)[1] is None
    ci = order_statistic_ci(np.arange(10.0), 95.0)
    assert ci.high is None and ci.low is not None and ci.contains(1e9)
    for q in (50.0, 95.0, 99.0):
        n = min_bounded_samples(q)
        assert None not in order_statistic_ranks(n, q / 100) and None in order_statistic_ranks(n - 1, q / 100)


@pytest.mark.parametrize(("q", "n"), [(50.0, 100), (95.0, 200), (99.0, 400)])
def test_order_statistic_interval_covers_the_true_quantile(q: float, n: int) -> None:
    """Coverage by simulation: 4000 samples of n exponential variables, quantile -ln(1 - q)."""
    rng = np.random.default_rng(20)
    x = np.sort(rng.exponential(size=(4000, n)), axis=1)
    lo, hi = order_statistic_ranks(n, q / 100)
    true = -math.log(1 - q / 100)
    cover = np.mean((x[:, lo - 1] <= true) & (true <= x[:, hi - 1]))
    # exact coverage >= 95 % (discreteness makes it a little more); 4000 trials: s.e. 0.35 %
    assert 0.94 <= cover <= 0.99
    assert order_statistic_ci(x[0], q).as_list() == [x[0, lo - 1], x[0, hi - 1]]


def test_cluster_bootstrap_covers_with_dependent_samples() -> None:
    """Clusters share a random effect (like rounds of one placement): the cluster bootstrap keeps
    its coverage where the i.i.d. interval, too narrow, loses it."""
    rng = np.random.default_rng(7)
    m, c, q = 10, 60, 95.0
    # X = U + V, U ~ N(0, 1) per cluster, V ~ N(0, 1) per sample: X ~ N(0, 2)
    true = math.sqrt(2.0) * 1.6448536269514722
    hits_boot = hits_iid = 0
    trials = 150
    for t in range(trials):
        x = (rng.standard_normal((c, 1)) + rng.standard_normal((c, m))).ravel()
        hits_boot += cluster_bootstrap_ci(x, q, m, seed=t, resamples=400).contains(true)
        hits_iid += order_statistic_ci(x, q).contains(true)
    assert hits_boot / trials >= 0.88
    assert hits_iid / trials < hits_boot / trials


def _ar1(rng: np.random.Generator, n: int, phi: float) -> np.ndarray:
    """A stationary AR(1) series X_t = phi X_{t-1} + sqrt(1 - phi^2) e_t, X_t ~ N(0, 1) (lag-k
    correlation phi^k: consecutive rounds under time-correlated fading)."""
    e = rng.standard_normal(n)
    rest = lfilter([math.sqrt(1.0 - phi**2)], [1.0, -phi], e[1:], zi=[phi * e[0]])[0]
    return np.concatenate([e[:1], rest])


def _latency(x: np.ndarray) -> np.ndarray:
    """A skewed latency (s) from the N(0, 1) series; monotone, so its q-quantile is _latency(z_q)."""
    return 0.1 + 0.05 * np.exp(0.5 * x)


def _series_coverage(phi: float, n: int, q: float, reps: int, seed: int) -> tuple[float, float]:
    """Share of ``reps`` independent series of n rounds whose series interval / i.i.d. order-statistic
    interval contains the true q-th percentile (closed form: the AR(1) marginal is N(0, 1))."""
    true = float(_latency(np.array(ndtri(q / 100.0))))
    rng = np.random.default_rng(seed)
    hits = iid = 0
    for _ in range(reps):
        x = _latency(_ar1(rng, n, phi))
        hits += series_ci(x, q).contains(true)
        iid += order_statistic_ci(x, q).contains(true)
    return hits / reps, iid / reps


def test_autocorrelation_time_of_ar1_is_the_closed_form() -> None:
    """tau = 1 + 2 sum_k phi^k = (1 + phi) / (1 - phi); white noise: 1."""
    rng = np.random.default_rng(3)
    assert autocorrelation_time(_ar1(rng, 200_000, 0.8)) == pytest.approx(9.0, rel=0.1)
    assert autocorrelation_time(rng.standard_normal(20_000)) == pytest.approx(1.0, abs=0.1)
    assert autocorrelation_time(np.full(50, 0.3)) == 1.0
    # batches: at least sqrt(n), several correlation times, at least 3 of them
    assert batch_length(rng.standard_normal(1600)) == 40
    x = _ar1(rng, 1600, 0.9)
    assert batch_length(x) == math.ceil(5 * autocorrelation_time(rankdata(x))) > 40
    assert batch_length(_ar1(rng, 1600, 0.999)) == 533  # at least 3 batches
    # ranks: a heavy-tailed monotone image of the series (a deep fade's round of seconds) has the
    # same batches, though its raw autocorrelation nearly vanishes
    heavy = 1.0 / ndtr(-x) ** 2
    assert batch_length(heavy) == batch_length(x) and autocorrelation_time(heavy) < 0.5 * autocorrelation_time(x)


@pytest.mark.parametrize("phi", [0.5, 0.9])
def test_series_interval_covers_the_p95_of_correlated_rounds(phi: float) -> None:
    """Consecutive rounds under time-correlated fading: over 200 independent AR(1) series of 800
    rounds, the 95 % batch-means interval contains the true p95 in about 95 % of them, where the
    i.i.d. order-statistic interval, too narrow for dependent rounds, does not."""
    cover, iid = _series_coverage(phi, 800, 95.0, 200, seed=int(phi * 10))
    assert 0.90 <= cover <= 0.99, cover
    assert iid < cover - (0.05 if phi > 0.8 else 0.0)


_LONG = [(phi, n, q) for phi in (0.0, 0.5, 0.8, 0.9) for n in (400, 1600, 6400) for q in (50.0, 95.0, 99.0)]


@pytest.mark.slow
@pytest.mark.parametrize(("phi", "n", "q"), [*_LONG, *((0.95, n, q) for n in (400, 1600, 6400) for q in (50.0, 95.0))])
def test_series_interval_coverage_long(phi: float, n: int, q: float) -> None:
    """The coverage of the series interval over 1000 replications (s.e. 0.7 %), for several
    correlations, series lengths and percentiles. (Lag-1 correlation 0.95 and the p99: 89.6 % at
    n = 1600, about 16 rounds above the p99 in a handful of fades; the t interval of batch means
    of so few exceedances is a little short there, hence not asserted.)"""
    cover, _ = _series_coverage(phi, n, q, 1000, seed=int(phi * 10) + n + int(q))
    assert 0.90 <= cover <= 0.99, cover


def test_percentile_is_numpy_linear() -> None:
    x = np.array([3.0, 1.0, 2.0, 10.0])
    assert percentile(x, 50) == 2.5 and percentile(x, 100) == 10.0


def test_searches_on_known_functions() -> None:
    assert largest_int(lambda n: n <= 37) == 37
    assert largest_int(lambda n: n <= 0) == 0
    assert largest_int(lambda n: True, limit=100) == 100
    lo, hi = boundary(lambda x: x < 3.7, 1.0, 1e-3, 1e6, 1e-6)
    assert lo < 3.7 <= hi and hi / lo <= 1 + 1e-6
    lo, hi = boundary(lambda x: x >= 123.0, 1e4, 1.0, 1e9, 1e-4)
    assert lo < 123.0 <= hi
    assert boundary(lambda x: True, 1.0, 1.0, 10.0, 1e-3) is None


@pytest.mark.parametrize("hint", [0, 1, 5, 36, 37, 38, 50, 1000])
def test_refine_int_from_any_hint(hint: int) -> None:
    seen: list[int] = []

    def ok(n: int) -> bool:
        seen.append(n)
        return n <= 37

    assert refine_int(ok, hint, 1000) == 37
    assert refine_int(lambda n: True, hint, 100) == 100 and refine_int(lambda n: False, hint, 100) == 0
    if hint in (37, 38):
        assert len(seen) <= 3  # an answer that did not move costs two or three probes


@pytest.mark.parametrize("bracket", [(1.0, 2.0), (3.6, 3.7), (3.7, 3.8), (100.0, 200.0), (1e-3, 2e-3)])
def test_refine_boundary_from_any_bracket(bracket: tuple[float, float]) -> None:
    for low_value, ok in ((False, lambda x: x >= 3.7), (True, lambda x: x < 3.7)):
        lo, hi = refine_boundary(ok, bracket, low_value, 1e-3, 1e6, 1e-6)
        assert lo < 3.7 <= hi and hi / lo <= 1 + 1e-6
    assert refine_boundary(lambda x: True, bracket, True, 1e-3, 1e6, 1e-3) is None


def test_boundary_with_a_known_direction_walks_one_way() -> None:
    seen: list[float] = []

    def ok(x: float) -> bool:
        seen.append(x)
        return x >= 3.7

    lo, hi = boundary(ok, 100.0, 1e-3, 1e9, 1e-3, ok_above=True)
    assert lo < 3.7 <= hi and max(seen) == 100.0  # never above the start: the change is below
    seen.clear()
    lo, hi = boundary(lambda x: seen.append(x) or x < 3.7, 1.0, 1e-3, 1e9, 1e-3, ok_above=False)
    assert lo < 3.7 <= hi and min(seen) == 1.0
    assert boundary(lambda x: x < 1e12, 1.0, 1e-3, 1e9, 1e-3, ok_above=False) is None


@pytest.mark.parametrize("ok_above,start", [(True, 1.0), (True, 1e5), (False, 1.0), (False, 1e5)])
def test_boundary_decides_a_missing_change_from_the_far_end(ok_above: bool, start: float) -> None:
    """With a known direction, ok keeping its value to the far end (an unreachable deadline) is decided
    by two evaluations (the start and that end), not a walk; a change that is there is still found."""
    seen: list[float] = []

    def never(x: float) -> bool:  # ok never takes the value ok_above: no change in [1e-3, 1e9]
        seen.append(x)
        return not ok_above

    assert boundary(never, start, 1e-3, 1e9, 1e-3, ok_above=ok_above) is None
    assert seen == [start, 1e9]  # ok is the value below the change: the change would be above
    seen.clear()

    def always(x: float) -> bool:  # ok is ok_above everywhere: no change either
        seen.append(x)
        return ok_above

    assert boundary(always, start, 1e-3, 1e9, 1e-3, ok_above=ok_above) is None
    assert seen == [start, 1e-3]  # ok is the value above the change: the change would be below

    def step(x: float) -> bool:
        return (x >= 3.7) == ok_above

    lo, hi = boundary(step, start, 1e-3, 1e9, 1e-6, ok_above=ok_above)
    assert lo < 3.7 <= hi and hi / lo <= 1 + 1e-6
    walk = boundary(step, start, 1e-3, 1e9, 1e-6)  # the two-way walk holds the same change
    assert walk is not None and walk[0] < 3.7 <= walk[1]


@pytest.mark.parametrize("ok_above", [True, False])
@pytest.mark.parametrize("start", [1.0, 20e6, 3e9, 9.9e10])
@pytest.mark.parametrize("rel", [0.05, 0.01])
def test_boundary_bisects_to_the_brute_force_change(ok_above: bool, start: float, rel: float) -> None:
    """With a known direction and the far end evaluated, the bracket is found by bisecting between the
    start and that end: against a brute-force scan of a synthetic monotone problem (a p95 falling with B
    on a grid of ratio 1 + rel / 4), the bracket holds the scan's first point past the change, has
    hi / lo <= 1 + rel, and costs no more than ceil(log2(ln(range) / ln(1 + rel))) + 2 evaluations."""
    import math

    lowest, highest = 1.0, 1e11
    rng = np.random.default_rng(int(start) % 1000 + int(100 * rel))
    for b_star in np.exp(rng.uniform(math.log(2.0), math.log(highest / 2), size=20)):
        def latency(b: float) -> float:  # monotone: falls with the bandwidth, crosses T = 1 at b_star
            return (b_star / b) ** 0.3

        seen: list[float] = []

        def ok(b: float) -> bool:
            seen.append(b)
            meets = latency(b) <= 1.0
            return meets if ok_above else not meets

        grid = np.exp(np.arange(math.log(lowest), math.log(highest), math.log1p(rel / 4)))
        first = grid[np.argmax([latency(b) <= 1.0 for b in grid])]  # brute force: the first grid point meeting T
        br = boundary(ok, start, lowest, highest, rel, ok_above=ok_above)
        assert br is not None
        lo, hi = br
        assert hi / lo <= 1 + rel * (1 + 1e-12)
        assert lo < b_star <= hi and lo < first * (1 + rel / 4) and hi * (1 + rel / 4) > first
        span = max(highest / start, start / lowest)
        assert len(seen) <= math.ceil(math.log2(math.log(span) / math.log1p(rel))) + 2


def test_boundary_walks_when_the_far_end_cannot_be_evaluated() -> None:
    """An end of the range that is no scenario (ok raises, e.g. no worker in coverage at the
    schema's highest bandwidth) is skipped: the walk finds the change as without the probe."""
    from edgefl.planning.search import boundary

    def ok(x: float) -> bool:
        if x > 1e6:
            raise ValueError("every worker is out of coverage")
        return x >= 1000.0

    lo, hi = boundary(ok, 10.0, 1.0, 1e9, 0.01, ok_above=True)
    assert lo < 1000.0 <= hi and hi / lo <= 1.01


def test_pooled_resample_percentiles_are_numpys() -> None:
    """The cluster bootstrap's percentile of each resample, read off cumulative cluster weights, equals
    np.percentile of the resample built in full (ties, few clusters, extreme q included)."""
    from edgefl.planning.stats import PooledResamples

    rng = np.random.default_rng(0)
    for trial in range(300):
        c, m = int(rng.integers(2, 60)), int(rng.integers(1, 12))
        x = rng.exponential(size=c * m) if trial % 3 else np.round(rng.normal(size=c * m), 1)
        q = float(rng.choice([0.0, 0.1, 5.0, 37.3, 50.0, 95.0, 99.0, 99.9, 100.0]))
        picks = rng.integers(0, c, size=(9, c))
        want = np.percentile(x.reshape(c, m)[picks].reshape(9, c * m), q, axis=1)
        assert np.array_equal(PooledResamples(x, m, q).percentiles(picks), want)
        narrow = PooledResamples(x, m, q, spread=0.3)  # most resamples outside the window: read in full
        assert np.array_equal(narrow.percentiles(picks), want)


class _Synthetic:
    """i.i.d. round latencies of a synthetic point: exponential with mean ``scale``; counts samples drawn."""

    def __init__(self, scale: float, seed: int = 0) -> None:
        self.x = np.random.default_rng(seed).exponential(scale, size=6400)
        self.drawn = 0

    def cluster_size(self, n: int) -> int:
        return 1

    def take(self, n: int) -> np.ndarray:
        self.drawn = max(self.drawn, n)
        return self.x[:n]

    engine_paths = {"synthetic"}
    series = False  # independent rounds: order-statistic intervals


def test_points_decided_early_agree_with_a_brute_force_scan() -> None:
    """Sampler.meets (a smaller prefix's 95 % interval excluding T decides the point) against the
    brute-force rule (the percentile of all n samples <= T) on a synthetic monotone problem, p95 of
    point k = 0.01 k ln 20: every point whose brute-force interval at n is clear of T gets the
    brute-force answer, far points are decided on far fewer samples, and the largest k meeting T is
    the brute-force scan's."""
    from edgefl.planning.questions import Sampler, _meets, _misses

    T, n, n0, q = 1.0, 3200, 200, 95.0
    ks = range(1, 61)
    sp = Sampler(rs=None, seed=1)  # type: ignore[arg-type]  # synthetic points only: no scenario read
    for k in ks:
        sp._points[("fading", f"k={k}")] = _Synthetic(0.01 * k, seed=k)
    early = {k: sp.meets((f"k={k}",), n, q, T, n0) for k in ks}
    fresh = Sampler(rs=None, seed=1)  # type: ignore[arg-type]
    for k in ks:
        fresh._points[("fading", f"k={k}")] = _Synthetic(0.01 * k, seed=k)
    brute = {k: fresh.value((f"k={k}",), n, q) <= T for k in ks}
    clear = [k for k in ks if not fresh.estimate((f"k={k}",), n, q).ci95.contains(T)]
    assert len(clear) > 45
    assert all(early[k] == brute[k] for k in clear)
    drawn = {k: sp._points[("fading", f"k={k}")].drawn for k in ks}
    far = [k for k in ks if abs(0.01 * k * np.log(20) - T) > 0.4 * T]
    assert far and all(drawn[k] == n0 for k in far)
    assert max(k for k in ks if early[k]) == max(k for k in ks if brute[k])
    e = sp.estimate(("k=1",), n0, q)
    assert _meets(e, T) and not _misses(e, T)
