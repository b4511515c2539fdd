"""Quantiser, bit-planes (DSC paper eq. 33-35 context) and the linear estimator (eq. 37)."""

import numpy as np
import pytest

from edgefl.coding.linear_estimator import linear_estimate, linear_estimator_distortion, linear_estimator_weights
from edgefl.coding.quantizer import UniformQuantizer, from_bitplanes, to_bitplanes


@pytest.mark.parametrize("bits", [1, 3, 6])
def test_bitplanes_roundtrip_and_lsb_first(bits):
    rng = np.random.default_rng(1)
    idx = rng.integers(0, 1 << bits, size=(4, 37))
    planes = to_bitplanes(idx, bits)
    assert planes.shape == (bits, 4, 37) and planes.dtype == np.uint8
    np.testing.assert_array_equal(from_bitplanes(planes), idx)
    np.testing.assert_array_equal(planes[0], idx & 1)  # B_1 is the least significant bit


@pytest.mark.parametrize("bits", [1, 2, 5])
def test_quantize_is_nearest_level(bits):
    rng = np.random.default_rng(2)
    q = UniformQuantizer(bits)
    y = rng.normal(0, 1.5, 5000)
    idx = q.quantize(y, scale=1.3)
    brute = np.argmin(np.abs(y[:, None] - q.levels(1.3)[None, :]), axis=1)
    np.testing.assert_array_equal(idx, brute)


def test_one_bit_is_sign():
    y = np.array([-2.0, -1e-9, 0.0, 3.0])
    np.testing.assert_array_equal(UniformQuantizer(1).quantize(y), [0, 0, 1, 1])


def test_cell_probabilities_match_sampling():
    rng = np.random.default_rng(3)
    q = UniformQuantizer(3)
    x = np.array([-1.0, 0.2, 2.5])
    probs = q.cell_probabilities(x, sigma_n=0.7, scale=1.0)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-12)
    n = 200_000
    for row, xv in zip(probs, x):
        emp = np.bincount(q.quantize(xv + rng.normal(0, 0.7, n)), minlength=8) / n
        np.testing.assert_allclose(emp, row, atol=4e-3)


@pytest.mark.parametrize(
    "kwargs",
    [dict(bits=0), dict(bits=17), dict(bits=2, clip=-1.0), dict(bits=2, clip=float("nan"))],
)
def test_bad_quantizer_raises(kwargs):
    with pytest.raises(ValueError, match="bits|clip"):
        UniformQuantizer(**kwargs)


def test_bad_inputs_raise():
    q = UniformQuantizer(2)
    with pytest.raises(ValueError, match="scale"):
        q.quantize(np.zeros(3), scale=0.0)
    with pytest.raises(ValueError, match="finite"):
        q.quantize(np.array([np.nan]))
    with pytest.raises(ValueError, match="index"):
        q.dequantize(np.array([4]))
    with pytest.raises(ValueError, match="index"):
        to_bitplanes(np.array([8]), 3)


def test_linear_estimator_weights_and_unbiased_distortion():
    """eq. (37): weights proportional to 1/(sigma_N^2+sigma_W^2); unbiased; MSE of eq. (30)."""
    sn2, sw2 = 0.5, np.array([0.1, 0.4, 1.5])
    w = linear_estimator_weights(sn2, sw2, 3)
    assert w.sum() == pytest.approx(1.0)
    assert w[0] > w[1] > w[2]
    rng = np.random.default_rng(4)
    P = 400_000
    x = rng.normal(0, 2.0, P)
    u = x[None] + rng.normal(0, np.sqrt(sn2 + sw2)[:, None], (3, P))
    est = linear_estimate(u, sn2, sw2)
    assert np.mean(est - x) == pytest.approx(0.0, abs=5e-3)
    assert np.mean((est - x) ** 2) == pytest.approx(linear_estimator_distortion(sn2, sw2, 3), rel=0.02)
    # equal quantisers: the plain mean of Algorithm 1 line 16
    np.testing.assert_allclose(linear_estimate(u, sn2, 0.3), u.mean(axis=0))


def test_linear_estimator_bad_input():
    with pytest.raises(ValueError, match="sigma_n2"):
        linear_estimator_weights(-1.0, 0.0, 2)
    with pytest.raises(ValueError, match="u must"):
        linear_estimate(np.zeros(5), 1.0)
