"""Encode and server operation counts of the DSC scheme (edgefl.coding.op_counts)."""

from __future__ import annotations

import numpy as np
import pytest

from edgefl.coding import op_counts
from edgefl.coding.rate_controller import histograms
from edgefl.compress.base import RoundContext
from edgefl.compress.dsc import DSCCompressor


def grads(k: int = 4, p: int = 2400, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(0, 3, p)[None] + rng.normal(0, 1, (k, p))


def ctx(r: int) -> RoundContext:
    return RoundContext(round=r, rng=np.random.default_rng(r), fidelity="analytic")


def test_histogram_count_matches_enumeration() -> None:
    for s in range(5):
        for levels in (2, 4, 8):
            assert op_counts.histogram_count(s, levels) == histograms(s, levels)[0].shape[0]


def test_rate_controller_ops_affine_in_sample_size() -> None:
    """Every term is linear in L except the entropy passes: f(2L) - f(L) = f(L) - f(0)."""
    for positions, levels, bits in ((10, 2, 1), (5, 4, 2), (40, 2, 1)):
        f = [op_counts.rate_controller_ops(positions, levels, bits, n) for n in (0, 100, 200)]
        assert f[2] - f[1] == pytest.approx(f[1] - f[0], rel=1e-12)


def test_oracle_server_pays_rate_control_once_online_pays_estimation_every_round() -> None:
    g = grads()
    oracle = DSCCompressor(estimator="oracle", sigma_x2=9.0, sigma_n2=1.0)
    first = oracle.server_flops(4, 2400)
    assert first > 0
    oracle.compress(g, np.arange(4), ctx(0))
    assert oracle.server_flops(4, 2400) == 0.0  # same statistics: the rates are known

    online = DSCCompressor()
    rc0 = online.server_flops(4, 2400)  # round 0: rates for the initial statistics, no estimate yet
    assert rc0 == pytest.approx(op_counts.rate_controller_ops(4, 2, 1, 97))  # ratio 1: 97 grid nodes
    online.compress(g, np.arange(4), ctx(0))
    assert online.server_flops(4, 2400) > op_counts.ml_estimator_ops(4, 2400, 2, 33, True)

    offline = DSCCompressor(estimator="offline")
    assert offline.server_flops(4, 2400) >= op_counts.offline_estimator_ops(4, 2400) == 5 * 4 * 2400


def test_encode_ops_grow_with_bits_and_hash() -> None:
    one = DSCCompressor().encode_flops(1000)
    assert one == pytest.approx(1000 * (2 + 2 + 1 + (2 + 3.65 + 1 + 8)))
    two = DSCCompressor(bits=2).encode_flops(1000)
    assert two == pytest.approx(1000 * (2 + 2 + 2 * (2 + 3.65 + 1 + 8)))
    assert DSCCompressor(check_bits=0).encode_flops(1000) == pytest.approx(one - 1000 * 8)
