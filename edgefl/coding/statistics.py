"""Gradient statistics: the x-samples of the semi-analytical Monte Carlo method and the
offline / online estimators of sigma_X^2 and sigma_N^2.

DSC paper Section IV-A (eq. 43-44) and IV-C (eq. 48-62). The online estimator is the
maximum-likelihood problem the DSC paper calls P1 (eq. 62); here it is the
*statistics ML problem* (``online_ml_estimate``) so it is not confused with the RD
paper's rate-allocation problem P1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import logsumexp

from edgefl.coding.quantizer import UniformQuantizer


@dataclass(frozen=True)
class GradientStatistics:
    """Global gradient variance sigma_X^2 and gradient noise variance sigma_N^2 (eq. 4)."""

    sigma_x2: float
    sigma_n2: float

    def __post_init__(self) -> None:
        for name in ("sigma_x2", "sigma_n2"):
            v = getattr(self, name)
            if not np.isfinite(v) or v <= 0:
                raise ValueError(f"{name} must be a positive finite number, got {v!r}")

    @property
    def ratio(self) -> float:
        return self.sigma_x2 / self.sigma_n2

    @property
    def total(self) -> float:
        return self.sigma_x2 + self.sigma_n2


def x_nodes(
    sigma_x2: float,
    sigma_n2: float,
    method: str = "grid",
    size: int | None = None,
    rng: np.random.Generator | None = None,
    points_per_sigma_n: float = 6.0,
    extent: float = 8.0,
    max_nodes: int = 20000,
) -> tuple[np.ndarray, np.ndarray]:
    """Samples ``x^l`` of the global gradient and their weights (summing to one).

    ``method="mc"`` draws ``size`` samples of X ~ N(0, sigma_X^2) with weights 1/L, the
    semi-analytical Monte Carlo method of DSC paper eq. (44). ``method="grid"`` is the
    same sum over a deterministic grid with Gaussian weights (a quadrature of eq. 40-41)
    spaced ``sigma_N / points_per_sigma_n`` over ``+-extent sigma_X``: no sampling noise,
    used as ground truth and in the hot path.
    """
    if not (np.isfinite(sigma_x2) and sigma_x2 > 0):
        raise ValueError(f"sigma_x2 must be positive and finite, got {sigma_x2!r}")
    if not (np.isfinite(sigma_n2) and sigma_n2 > 0):
        raise ValueError(f"sigma_n2 must be positive and finite, got {sigma_n2!r}")
    sx, sn = np.sqrt(sigma_x2), np.sqrt(sigma_n2)
    if method == "mc":
        if size is None or size < 1:
            raise ValueError(f"size must be a positive integer for method='mc', got {size!r}")
        if rng is None:
            raise ValueError("rng is required for method='mc'")
        x = rng.normal(0.0, sx, size)
        return x, np.full(size, 1.0 / size)
    if method != "grid":
        raise ValueError(f"method must be 'grid' or 'mc', got {method!r}")
    if size is None:
        size = int(np.ceil(2 * extent * sx / sn * points_per_sigma_n)) + 1
        size = int(np.clip(size, 33, max_nodes))
    x = np.linspace(-extent * sx, extent * sx, size)
    w = np.exp(-0.5 * (x / sx) ** 2)
    return x, w / w.sum()


# ---------------------------------------------------------------- offline (eq. 48-56)


def offline_estimate(grads: np.ndarray) -> GradientStatistics:
    """Offline estimator from the perfect (K, P) local gradients, DSC paper eq. (48)-(56).

    sigma_N^2: average over p of the unbiased across-worker variance (eq. 48-49);
    sigma_X^2 + sigma_N^2: mean of squares (eq. 55); sigma_X^2 by difference (eq. 56),
    floored at a tiny positive value so the result stays a valid statistics pair.
    """
    g = np.asarray(grads, dtype=np.float64)
    if g.ndim != 2 or g.shape[0] < 2 or g.shape[1] < 1:
        raise ValueError(f"grads must be a (K, P) array with K >= 2, got shape {g.shape}")
    sn2 = float(np.mean(np.var(g, axis=0, ddof=1)))
    total = float(np.mean(g * g))
    floor = 1e-12 * max(total, 1e-300)
    return GradientStatistics(max(total - sn2, floor), max(sn2, floor))


def worker_power(grads: np.ndarray) -> np.ndarray:
    """Each worker's scalar ``sigma_{X+N,k}^2 = mean_p g_{k,p}^2`` (DSC paper eq. 57)."""
    g = np.asarray(grads, dtype=np.float64)
    if g.ndim != 2:
        raise ValueError(f"grads must be a (K, P) array, got shape {g.shape}")
    return np.mean(g * g, axis=1)


# ---------------------------------------------------------------- online ML (eq. 57-62)


def quantized_log_likelihood(
    index: np.ndarray,
    quantizer: UniformQuantizer,
    scales: np.ndarray,
    stats: GradientStatistics,
    max_nodes: int = 512,
) -> float:
    """``log L(sigma_X^2, sigma_N^2 | u_1..u_K)`` of DSC paper eq. (59)-(61).

    ``index`` (K, P) are the quantisation indices, ``scales`` (K,) each worker's
    quantiser scale. Each factor ``Pr(U_1 = u_1p, ..., U_K = u_Kp)`` is the integral over
    x of ``prod_k q_k(u_kp | x)`` evaluated on the x-grid of :func:`x_nodes` (eq. 44 form).
    """
    index = np.asarray(index)
    if index.ndim != 2:
        raise ValueError(f"index must be a (K, P) array, got shape {index.shape}")
    scales = np.broadcast_to(np.asarray(scales, dtype=np.float64), (index.shape[0],))
    hist = _unique_histograms(index, quantizer.levels_count) if np.all(scales == scales[0]) else None
    return _log_likelihood(index, hist, quantizer, scales, stats, max_nodes)


def _log_likelihood(index, hist, quantizer, scales, stats, max_nodes) -> float:
    x, w = x_nodes(stats.sigma_x2, stats.sigma_n2, points_per_sigma_n=2.0, extent=6.0, max_nodes=max_nodes)
    sn = np.sqrt(stats.sigma_n2)
    logw = np.log(w)
    if hist is not None:
        # identical quantisers: the factor depends on the per-coordinate histogram only
        counts, mult = hist
        logq = np.log(np.maximum(quantizer.cell_probabilities(x, sn, scales[0]), 1e-300))  # (L, M)
        return float(mult @ logsumexp(counts @ logq.T + logw[None, :], axis=1))
    acc = np.zeros((index.shape[1], x.size))
    for k in range(index.shape[0]):
        logq = np.log(np.maximum(quantizer.cell_probabilities(x, sn, scales[k]), 1e-300))
        acc += logq.T[index[k]]
    return float(np.sum(logsumexp(acc + logw[None, :], axis=1)))


def _unique_histograms(index: np.ndarray, levels: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct per-coordinate histograms of the K indices and how often each occurs."""
    K, P = index.shape
    counts = np.zeros((P, levels), dtype=np.float64)
    np.add.at(counts, (np.broadcast_to(np.arange(P), (K, P)), index), 1.0)
    uniq, mult = np.unique(counts, axis=0, return_counts=True)
    return uniq, mult.astype(np.float64)


def online_ml_estimate(
    index: np.ndarray,
    quantizer: UniformQuantizer,
    scales: np.ndarray,
    total_variance: float,
    ratio_bounds: tuple[float, float] = (1e-3, 1e4),
    max_coords: int = 20000,
    rng: np.random.Generator | None = None,
    max_nodes: int = 512,
) -> GradientStatistics:
    """Statistics ML problem (DSC paper eq. 62, "P1" there): maximise the likelihood of
    the quantised gradients (eq. 59-61) subject to ``sigma_X^2 + sigma_N^2 = total``
    (eq. 62b, ``total`` from the workers' scalars, eq. 58).

    One-dimensional search over ``log(sigma_X^2 / sigma_N^2)`` within ``ratio_bounds``.
    ``max_coords`` caps the coordinates used (a random subset, seeded by ``rng``) for speed;
    with per-worker quantiser scales (m > 1) it is cut to a quarter, since every
    coordinate then costs a K x L sum instead of one shared histogram.
    """
    if not (np.isfinite(total_variance) and total_variance > 0):
        raise ValueError(f"total_variance must be positive and finite, got {total_variance!r}")
    lo, hi = ratio_bounds
    if not (0 < lo < hi):
        raise ValueError(f"ratio_bounds must satisfy 0 < low < high, got {ratio_bounds!r}")
    index = np.asarray(index)
    if index.ndim != 2 or index.shape[0] < 2:
        raise ValueError(f"index must be a (K, P) array with K >= 2, got shape {index.shape}")
    scales = np.broadcast_to(np.asarray(scales, dtype=np.float64), (index.shape[0],))
    same = bool(np.all(scales == scales[0])) or quantizer.bits == 1  # sign: scale-free
    cap = max_coords if same else max(1, max_coords // 4)
    if index.shape[1] > cap:
        rng = rng if rng is not None else np.random.default_rng(0)
        index = index[:, rng.choice(index.shape[1], cap, replace=False)]
    if same:
        scales = np.full(index.shape[0], scales[0])
    hist = _unique_histograms(index, quantizer.levels_count) if same else None

    def stats_at(log_ratio: float) -> GradientStatistics:
        r = np.exp(log_ratio)
        return GradientStatistics(total_variance * r / (1 + r), total_variance / (1 + r))

    def neg_ll(log_ratio: float) -> float:
        return -_log_likelihood(index, hist, quantizer, scales, stats_at(log_ratio), max_nodes)

    res = minimize_scalar(neg_ll, bounds=(np.log(lo), np.log(hi)), method="bounded", options={"xatol": 1e-3})
    return stats_at(float(res.x))
