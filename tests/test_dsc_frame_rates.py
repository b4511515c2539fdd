"""Per-frame announced rates of the successive Wyner-Ziv coder ((K, m, F) rates)."""

import numpy as np
import pytest

from edgefl.coding.quantizer import UniformQuantizer
from edgefl.coding.rate_controller import RateController
from edgefl.coding.statistics import GradientStatistics
from edgefl.coding.wyner_ziv import successive_wyner_ziv

STATS = GradientStatistics(10.0, 1.0)


def signs(K, P, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(0, np.sqrt(10.0), P)
    return (x[None] + rng.normal(0, 1.0, (K, P)) >= 0).astype(np.int64)


@pytest.mark.parametrize("mode", ["bit-true", "analytic"])
def test_equal_frame_rates_are_the_plane_rate(mode):
    """The other code path: one rate per plane broadcast over the frames gives the same bits,
    decoded signs, failures and decode schedule as the (K, m) rates."""
    q = UniformQuantizer(1)
    idx = signs(3, 6000, 5)
    rates = RateController(q).rates(STATS, 3)  # no margin: some frames fail and retry
    plane = successive_wyner_ziv(idx, np.arange(3), q, rates, STATS, mode=mode)
    frames = successive_wyner_ziv(idx, np.arange(3), q, np.repeat(rates[:, :, None], 3, axis=2), STATS, mode=mode)
    np.testing.assert_array_equal(frames.index, plane.index)
    np.testing.assert_array_equal(frames.upload_bits, plane.upload_bits)
    np.testing.assert_array_equal(frames.decode_bits, plane.decode_bits)
    assert (frames.retries, frames.decode_failures, frames.schedule) == (plane.retries, plane.decode_failures,
                                                                        plane.schedule)


def test_frames_at_their_own_rates():
    """Frame 0 of worker 1 uncoded (rate 1), frame 1 at a high rate, the partial tail at 0.8
    (its 1920 + 16 syndrome bits exceed its 1200 bits: uncoded); bits counted frame by frame,
    every sign decoded."""
    q = UniformQuantizer(1)
    idx = signs(2, 6000, 6)
    rates = np.array([[[1.0, 1.0, 1.0]], [[1.0, 0.9, 0.8]]])
    res = successive_wyner_ziv(idx, np.arange(2), q, rates, STATS)
    np.testing.assert_array_equal(res.index, idx)
    assert res.upload_bits[0] == 6000
    assert res.planes[1]["frames"] == 1 and res.decode_bits[1] == 2400
    m09 = round(0.9 * 2400)
    assert res.upload_bits[1] >= 2400 + m09 + 16 + 1200
    low = np.array([[[1.0, 1.0, 1.0]], [[0.05, 0.05, 0.9]]])
    res = successive_wyner_ziv(idx, np.arange(2), q, low, STATS)
    np.testing.assert_array_equal(res.index, idx)
    kinds = [st[0] for st in res.schedule[1]]
    assert kinds[0] == "decode" and "retry" in kinds
    with pytest.raises(ValueError, match="per frame"):
        successive_wyner_ziv(idx, np.arange(2), q, np.ones((2, 1, 2)), STATS)
