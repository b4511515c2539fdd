"""Method-of-moments estimates of the Gaussian CEO gradient model of one round.

RD paper eq. (5) and Assumptions 1-2: local gradient Y_k = X + N_k, X ~ N(0, sigma_X^2),
N_k ~ N(0, sigma_N^2) independent of X and of each other, i.i.d. over the P coordinates
(per layer in the paper). With Ybar = (1/K) sum_k Y_k:

    E[ (1/(K-1)) sum_k (Y_k - Ybar)^2 ] = sigma_N^2
    E[ Ybar^2 ]                        = sigma_X^2 + sigma_N^2 / K

so sigma_N^2 ~ mean over coordinates of the unbiased across-worker variance, and
sigma_X^2 ~ mean(Ybar^2) - sigma_N^2 / K, clipped at 0.
"""

from __future__ import annotations

import numpy as np


def ceo_moments(grads: np.ndarray, blocks: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(sigma_X^2, sigma_N^2) estimates from the (K, P) local gradients of one round.

    With ``blocks`` (a (P,) integer block/layer id per coordinate) the estimates are
    per block (arrays of length max id + 1); otherwise arrays of length 1.
    """
    grads = np.asarray(grads, dtype=np.float64)
    if grads.ndim != 2 or grads.shape[0] < 2:
        raise ValueError(f"grads: need a (K, P) array with K >= 2 workers, got shape {grads.shape}")
    k, p = grads.shape
    ids = np.zeros(p, dtype=np.int64) if blocks is None else np.asarray(blocks)
    if ids.shape != (p,):
        raise ValueError(f"blocks: expected shape ({p},), got {ids.shape}")
    mean = grads.mean(axis=0)
    spread = ((grads - mean) ** 2).sum(axis=0) / (k - 1)
    counts = np.bincount(ids).astype(np.float64)
    sn2 = np.bincount(ids, spread) / counts
    sx2 = np.maximum(np.bincount(ids, mean * mean) / counts - sn2 / k, 0.0)
    return sx2, sn2
