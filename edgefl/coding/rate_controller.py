"""Rate controller: per-worker, per-bit-plane Slepian-Wolf rates.

DSC paper Section IV-A/B. Worker at position k of the successive Wyner-Ziv order sends
bit-plane i at rate ``H(B_{k,i} | B_{k,1..i-1}, U_1..U_{k-1})`` (eq. 34, eq. 45). The
conditional probabilities come from the semi-analytical Monte Carlo method (eq. 44):
given a sample x^l of the global gradient the quantised local gradients are independent
(eq. 43), so ``Pr(U_1..U_{k-1}, J_k | x^l)`` is a product of analytic cell probabilities.

Because all workers use the same quantiser, ``prod_j q(u_j | x)`` depends on the side
information only through the histogram ``c`` of the k-1 side indices, so the sum over
``u_1..u_{k-1}`` in eq. (45) is a sum over histograms weighted by multinomial
coefficients (exact, ``C(k-2+M, M-1)`` terms instead of ``M^(k-1)``). When even that is too
many, the outer sum is sampled (configurations drawn from the model, the inner
conditional probability still semi-analytical). ``traditional_mc_rates`` is the plain
Monte Carlo estimator of eq. (42) the paper compares against (Fig. 7).
"""

from __future__ import annotations

import itertools
from functools import lru_cache

import numpy as np
from scipy.special import gammaln

from edgefl.coding.quantizer import UniformQuantizer
from edgefl.coding.statistics import GradientStatistics, x_nodes


def binary_entropy(p: np.ndarray) -> np.ndarray:
    """``H(p) = p log2(1/p) + (1-p) log2(1/(1-p))``, DSC paper eq. (46)."""
    p = np.clip(np.asarray(p, dtype=np.float64), 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -(p * np.log2(p) + (1 - p) * np.log2(1 - p))
    return np.nan_to_num(h, nan=0.0)


def _entropy_bits(p: np.ndarray) -> float:
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


def _histogram_count(num_side: int, levels: int) -> int:
    return int(round(np.exp(gammaln(num_side + levels) - gammaln(num_side + 1) - gammaln(levels))))


@lru_cache(maxsize=64)
def histograms(num_side: int, levels: int) -> tuple[np.ndarray, np.ndarray]:
    """All histograms of ``num_side`` indices over ``levels`` cells and their log multinomial coefficients."""
    if num_side == 0:
        return np.zeros((1, levels)), np.zeros(1)
    if levels == 2:
        ones = np.arange(num_side + 1, dtype=np.float64)
        counts = np.stack([num_side - ones, ones], axis=1)
    else:
        counts = np.array(
            [np.bincount(c, minlength=levels)
             for c in itertools.combinations_with_replacement(range(levels), num_side)],
            dtype=np.float64,
        )
    logm = gammaln(num_side + 1) - gammaln(counts + 1).sum(axis=1)
    counts.setflags(write=False)
    logm.setflags(write=False)
    return counts, logm


def bitplane_entropies(joint: np.ndarray, bits: int) -> np.ndarray:
    """Chain rule of eq. (34)-(35): ``H(B_i | B_<i, C) = H(C, J mod 2^i) - H(C, J mod 2^(i-1))``.

    ``joint`` is ``Pr(C = c, J = j)`` shaped (num_configurations, 2^bits), summing to one.
    """
    n = joint.shape[0]
    h = [_entropy_bits(joint.sum(axis=1))]
    for i in range(1, bits + 1):
        low = joint.reshape(n, -1, 1 << i).sum(axis=1)  # j = high * 2^i + low
        h.append(_entropy_bits(low.ravel()))
    return np.maximum(np.diff(h), 0.0)


def _semi_analytic_joint(q: np.ndarray, w: np.ndarray, num_side: int) -> np.ndarray:
    """``Pr(C = c, J_k = j) = sum_l w_l Pr(c | x^l) q(j | x^l)`` (eq. 44, numerator and denominator)."""
    counts, logm = histograms(num_side, q.shape[1])
    logq = np.log(np.maximum(q, 1e-300))
    pc = np.exp(logm[:, None] + counts @ logq.T)  # (C, L)
    return (pc * w[None, :]) @ q


def _sampled_side_entropies(
    q: np.ndarray, w: np.ndarray, num_side: int, bits: int, stats: GradientStatistics, quantizer: UniformQuantizer,
    outer: int, rng: np.random.Generator,
) -> np.ndarray:
    """Outer Monte Carlo over the side information for very many histograms: draw
    (x, u_1..u_{k-1}) from the model, compute ``Pr(J_k | u)`` semi-analytically, average
    the conditional entropies of eq. (45)."""
    x = rng.normal(0.0, np.sqrt(stats.sigma_x2), outer)
    y = x[:, None] + rng.normal(0.0, np.sqrt(stats.sigma_n2), (outer, num_side))
    idx = quantizer.quantize(y, 1.0)
    logq = np.log(np.maximum(q, 1e-300))
    logpc = logq.T[idx].sum(axis=1)  # (outer, L): sum_j log q(u_j | x^l)
    logpc -= logpc.max(axis=1, keepdims=True)
    post = (np.exp(logpc) * w[None, :]) @ q
    post /= post.sum(axis=1, keepdims=True)
    h = np.zeros(bits + 1)
    for i in range(1, bits + 1):
        low = post.reshape(outer, -1, 1 << i).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            h[i] = np.nanmean(-np.sum(np.where(low > 0, low * np.log2(low), 0.0), axis=1))
    return np.maximum(np.diff(h), 0.0)


def semi_analytic_rates(
    stats: GradientStatistics,
    num_workers: int,
    quantizer: UniformQuantizer,
    method: str = "grid",
    samples: int | None = None,
    rng: np.random.Generator | None = None,
    positions: np.ndarray | None = None,
    max_configurations: int = 50000,
    outer_samples: int = 4000,
) -> np.ndarray:
    """Ideal rates ``R[k, i] = H(B_{k,i} | B_{k,<i}, U_1..U_{k-1})`` for positions k = 1..K,
    DSC paper eq. (45) with the semi-analytical Monte Carlo probabilities of eq. (44).

    The quantiser scale is sigma_Y (the rates depend on the ratio only). Row k-1 is
    position k; position 1 has no side information (entropy-coding rate, eq. 35).
    ``method="mc"`` uses ``samples`` random x^l (the paper's estimator), ``"grid"`` a
    deterministic quadrature. ``positions`` (1-based) restricts the rows computed
    (others are NaN).
    """
    if num_workers < 1:
        raise ValueError(f"num_workers must be >= 1, got {num_workers}")
    total = stats.total
    std = GradientStatistics(stats.sigma_x2 / total, stats.sigma_n2 / total)
    x, w = x_nodes(std.sigma_x2, std.sigma_n2, method=method, size=samples, rng=rng)
    q = quantizer.cell_probabilities(x, np.sqrt(std.sigma_n2), 1.0)
    pos = np.arange(1, num_workers + 1) if positions is None else np.asarray(positions)
    if np.any(pos < 1) or np.any(pos > num_workers):
        raise ValueError(f"positions must lie in [1, {num_workers}], got {positions!r}")
    out = np.full((num_workers, quantizer.bits), np.nan)
    for k in pos:
        s = int(k) - 1
        if _histogram_count(s, quantizer.levels_count) <= max_configurations:
            out[k - 1] = bitplane_entropies(_semi_analytic_joint(q, w, s), quantizer.bits)
        else:
            r = rng if rng is not None else np.random.default_rng(12345 + s)
            out[k - 1] = _sampled_side_entropies(q, w, s, quantizer.bits, std, quantizer, outer_samples, r)
    return out


def traditional_mc_rates(
    stats: GradientStatistics,
    num_workers: int,
    quantizer: UniformQuantizer,
    samples: int,
    rng: np.random.Generator,
    positions: np.ndarray | None = None,
) -> np.ndarray:
    """Plug-in rates from ``samples`` joint draws of (X, Y_1..Y_K), DSC paper eq. (42).

    Conditional probabilities are empirical frequencies over the full side-information
    configuration ``(u_1..u_{k-1})``; biased low when ``samples`` is small against the
    number of configurations (Fig. 7).
    """
    if samples < 1:
        raise ValueError(f"samples must be >= 1, got {samples}")
    x = rng.normal(0.0, np.sqrt(stats.sigma_x2), samples)
    y = x[:, None] + rng.normal(0.0, np.sqrt(stats.sigma_n2), (samples, num_workers))
    idx = quantizer.quantize(y, np.sqrt(stats.total))
    pos = np.arange(1, num_workers + 1) if positions is None else np.asarray(positions)
    out = np.full((num_workers, quantizer.bits), np.nan)
    for k in pos:
        s = int(k) - 1
        side = np.unique(idx[:, :s], axis=0, return_inverse=True)[1].reshape(-1) if s else np.zeros(samples, np.int64)
        h = []
        for i in range(quantizer.bits + 1):
            key = side * (1 << i) + (idx[:, s] & ((1 << i) - 1))
            h.append(_entropy_bits(np.unique(key, return_counts=True)[1] / samples))
        out[k - 1] = np.maximum(np.diff(h), 0.0)
    return out


class RateController:
    """Rates the server announces each round (Algorithm 1 line 5), DSC paper eq. (45).

    * ``margin`` + ``margin_slope`` x rate: safety margin added to every bit-plane rate
      (bits per source bit), covering the gap of finite-length LDPC codes to the
      Slepian-Wolf limit, which grows with the rate for the LDPCA codes at n = 2400
      (about 0.02 at rate 0.04, 0.08 at 0.5, 0.15 at 0.85; see studies/table1.py).
    * ``top_k``: the complexity section's top-K approximation: only positions 1..top_k get
      their own rates, positions beyond reuse the rate of position top_k (conservative,
      since rates fall with k).
    Results are cached per (log-ratio rounded to ``cache_decimals``, K).
    """

    def __init__(
        self,
        quantizer: UniformQuantizer,
        margin: float = 0.0,
        top_k: int | None = None,
        margin_slope: float = 0.0,
        method: str = "grid",
        samples: int | None = None,
        seed: int = 0,
        cache_decimals: int = 2,
    ) -> None:
        if not (np.isfinite(margin) and 0 <= margin <= 1):
            raise ValueError(f"margin must be in [0, 1], got {margin!r}")
        if not (np.isfinite(margin_slope) and 0 <= margin_slope <= 1):
            raise ValueError(f"margin_slope must be in [0, 1], got {margin_slope!r}")
        if top_k is not None and top_k < 1:
            raise ValueError(f"top_k must be >= 1 or None, got {top_k!r}")
        if method not in ("grid", "mc"):
            raise ValueError(f"method must be 'grid' or 'mc', got {method!r}")
        if method == "mc" and not samples:
            raise ValueError("samples is required with method='mc'")
        self.quantizer, self.margin, self.top_k = quantizer, float(margin), top_k
        self.margin_slope = float(margin_slope)
        self.method, self.samples, self.seed, self.cache_decimals = method, samples, seed, cache_decimals
        self._cache: dict[tuple[float, int], np.ndarray] = {}

    def ideal_rates(self, stats: GradientStatistics, num_workers: int) -> np.ndarray:
        """(K, m) rates without margin, position-indexed, with the top-K approximation."""
        lr = round(float(np.log(stats.ratio)), self.cache_decimals)
        key = (lr, num_workers)
        if key not in self._cache:
            r = np.exp(lr)
            rounded = GradientStatistics(r / (1 + r), 1 / (1 + r))
            kt = num_workers if self.top_k is None else min(self.top_k, num_workers)
            rates = semi_analytic_rates(
                rounded, num_workers, self.quantizer, method=self.method, samples=self.samples,
                rng=np.random.default_rng(self.seed), positions=np.arange(1, kt + 1),
            )
            rates[kt:] = rates[kt - 1]
            rates.setflags(write=False)
            self._cache[key] = rates
        return self._cache[key]

    def rates(self, stats: GradientStatistics, num_workers: int) -> np.ndarray:
        """Announced rates: ideal x (1 + margin_slope) + margin, capped at 1 bit per source bit."""
        ideal = self.ideal_rates(stats, num_workers)
        return np.minimum(ideal * (1 + self.margin_slope) + self.margin, 1.0)
