"""Synthetic gradient sources and round contexts shared by the DSC tests."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from edgefl.compress.base import RoundContext


def non_iid_grads(K: int, P: int, rounds: int, seed: int = 0) -> Iterator[np.ndarray]:
    """Gradients with a persistent per-worker bias (non-IID shards): g = m_p + b_kp + noise."""
    rng = np.random.default_rng(seed)
    mean, bias = rng.normal(0, 0.7, P), rng.normal(0, 1.0, (K, P))
    for _ in range(rounds):
        yield mean[None] + bias + rng.normal(0, 0.6, (K, P))


def ctx(r: int, fidelity: str) -> RoundContext:
    """Round r's context (its own seeded generator) at the given fidelity."""
    return RoundContext(round=r, rng=np.random.default_rng(r), fidelity=fidelity)


def bsc_ladder(n: int, p: float, start_rate: float, seed: int, frames: int = 24):
    """``frames`` frames of n bits through the zoned LDPCA ladder from ``start_rate`` on a BSC(p) with exact
    LLRs, decoded (sum-product) and predicted by the failure model: (the decode result, the bits each frame
    sent when decoded, the bits the model predicts)."""
    from edgefl.coding.ldpca_model import sw_predict_adaptive
    from edgefl.coding.slepian_wolf import sw_decode_adaptive

    rng = np.random.default_rng(seed)
    bits = (rng.random((frames, n)) < p).astype(np.uint8)
    llr = np.full((frames, n), np.log((1 - p) / p))
    kw = dict(step=1, max_retries=60, hash_bits=16, family="ldpca-zoned", algorithm="sum-product")
    real, sent_real, _ = sw_decode_adaptive(bits, llr, start_rate, **kw)
    _, sent_pred, _ = sw_predict_adaptive(bits, llr, start_rate, **kw)
    return real, sent_real, sent_pred
