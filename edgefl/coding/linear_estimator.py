"""Linear estimator of the global gradient from the K reconstructed local gradients.

DSC paper eq. (37) (and eq. 25 in the achievability proof):
``x_hat = sum_k a_k u_k`` with ``a_k = (sigma_N^2 + sigma_Wk^2)^-1 / sum_i (sigma_N^2 + sigma_Wi^2)^-1``;
its distortion is ``(sum_k 1 / (sigma_N^2 + sigma_Wk^2))^-1``.
"""

from __future__ import annotations

import numpy as np


def linear_estimator_weights(sigma_n2: float, sigma_w2: np.ndarray | float, num_workers: int) -> np.ndarray:
    """Weights ``a_k`` of eq. (37); they sum to one (unbiased, eq. 26-29)."""
    if num_workers < 1:
        raise ValueError(f"num_workers must be >= 1, got {num_workers}")
    if not np.isfinite(sigma_n2) or sigma_n2 < 0:
        raise ValueError(f"sigma_n2 must be a finite number >= 0, got {sigma_n2!r}")
    sw = np.broadcast_to(np.asarray(sigma_w2, dtype=np.float64), (num_workers,))
    if np.any(~np.isfinite(sw)) or np.any(sw < 0):
        raise ValueError(f"sigma_w2 must be finite and >= 0, got {sigma_w2!r}")
    total = sigma_n2 + sw
    if np.any(total <= 0):
        # noiseless, unquantised workers: any of them is the exact answer; average them
        return np.full(num_workers, 1.0 / num_workers)
    inv = 1.0 / total
    return inv / inv.sum()


def linear_estimate(u: np.ndarray, sigma_n2: float, sigma_w2: np.ndarray | float = 0.0) -> np.ndarray:
    """``x_hat`` of eq. (37) from the (K, P) reconstructed local gradients ``u``."""
    u = np.asarray(u, dtype=np.float64)
    if u.ndim != 2 or u.shape[0] < 1:
        raise ValueError(f"u must be a (K, P) array with K >= 1, got shape {u.shape}")
    return linear_estimator_weights(sigma_n2, sigma_w2, u.shape[0]) @ u


def linear_estimator_distortion(sigma_n2: float, sigma_w2: np.ndarray | float, num_workers: int) -> float:
    """MSE of eq. (37): ``(sum_k 1/(sigma_N^2 + sigma_Wk^2))^-1`` (eq. 30)."""
    sw = np.broadcast_to(np.asarray(sigma_w2, dtype=np.float64), (num_workers,))
    if np.any(sigma_n2 + sw <= 0):
        return 0.0
    return float(1.0 / np.sum(1.0 / (sigma_n2 + sw)))
