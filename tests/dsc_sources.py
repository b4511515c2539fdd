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
