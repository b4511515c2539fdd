"""Equal-finish FDMA split: all uploads end together, and no other split is faster."""

from __future__ import annotations

import numpy as np
import pytest

from edgefl.radio.rate import equal_finish_fdma_shares, spectral_efficiency


def finish(bits, snr, s, cap=None):
    return bits / (s * spectral_efficiency(snr / s, 0.0, cap))


@pytest.mark.parametrize("seed", range(5))
def test_equal_finish_is_optimal(seed: int) -> None:
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 30))
    bits = rng.uniform(1e3, 1e6, k)
    snr = 10 ** rng.uniform(-1, 3, k)
    cap = None if seed % 2 else 7.4
    s = equal_finish_fdma_shares(bits, snr, 0.0, cap)
    t = finish(bits, snr, s, cap)
    assert s.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.ptp(t) <= 1e-9 * t.max()
    for _ in range(200):  # random other splits are never faster (min-max optimality)
        other = rng.dirichlet(np.ones(k))
        assert finish(bits, snr, other, cap).max() >= t.max() * (1 - 1e-9)
    eq = np.full(k, 1.0 / k)
    assert finish(bits, snr, eq, cap).max() >= t.max()


def test_zero_bits_get_no_band_and_bad_input_raises() -> None:
    s = equal_finish_fdma_shares(np.array([0.0, 1e4, 2e4]), np.array([10.0, 10.0, 10.0]))
    assert s[0] == 0 and s[1:].sum() == pytest.approx(1.0)
    assert s[2] > s[1]
    with pytest.raises(ValueError):
        equal_finish_fdma_shares(np.array([1.0, 2.0]), np.array([1.0]))
    with pytest.raises(ValueError):
        equal_finish_fdma_shares(np.array([1.0]), np.array([-1.0]))
