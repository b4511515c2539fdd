"""Baseline schemes: bit counts and reconstructions."""

from __future__ import annotations

import numpy as np

from edgefl.compress.base import RoundContext
from edgefl.compress.simple import NoCompression, SignSGD, SignSGDConfig


def ctx() -> RoundContext:
    return RoundContext(round=0, rng=np.random.default_rng(0))


def test_none_is_exact_mean_at_32_bits() -> None:
    g = np.random.default_rng(1).standard_normal((4, 100))
    res = NoCompression().compress(g, np.arange(4), ctx())
    assert np.all(res.upload_bits == 3200) and np.all(res.decode_bits == 0)
    np.testing.assert_allclose(res.aggregate, g.mean(axis=0), rtol=0, atol=1e-6)  # float32 rounding


def test_signsgd_bits_and_estimate() -> None:
    g = np.array([[1.0, -2.0, 3.0], [-1.0, -1.0, 1.0]])
    res = SignSGD().compress(g, np.arange(2), ctx())
    assert np.all(res.upload_bits == 3 + 32)
    s = np.array([[2.0], [1.0]])  # mean |g_k|
    np.testing.assert_allclose(res.aggregate, (np.sign(g) * s).mean(axis=0), rtol=1e-7)
    plain = SignSGD(SignSGDConfig(scaled=False)).compress(g, np.arange(2), ctx())
    assert np.all(plain.upload_bits == 3)
    np.testing.assert_array_equal(plain.aggregate, [0.0, -1.0, 1.0])


def test_signsgd_unbiased_direction_on_ceo_source() -> None:
    """With Y_k = X + N_k, averaging K signs estimates X better than one worker's sign does."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal(20000) * np.sqrt(10)
    y = x + rng.standard_normal((10, 20000))
    agg = SignSGD().compress(y, np.arange(10), ctx()).aggregate
    one = SignSGD().compress(y[:1], np.arange(1), ctx()).aggregate
    assert np.corrcoef(agg, x)[0, 1] > np.corrcoef(one, x)[0, 1] + 0.05
    assert np.corrcoef(agg, x)[0, 1] > 0.8


def test_light_dsc_config_agrees_with_quantizer_cap() -> None:
    from edgefl.coding.quantizer import MAX_BITS
    from edgefl.compress import dsc_config

    assert dsc_config.MAX_BITS == MAX_BITS
