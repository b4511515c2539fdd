"""LLR computer (DSC paper eq. 47) against closed forms, quadrature and calibration."""

import numpy as np
import pytest
from scipy import integrate
from scipy.stats import norm

from edgefl.coding.llr import LLR_MAX, SideInformationPosterior, bitplane_llr
from edgefl.coding.quantizer import UniformQuantizer
from edgefl.coding.statistics import GradientStatistics


def test_one_bit_second_worker_llr_closed_form():
    """Given one side sign, the next sign differs w.p. arccos(rho)/pi."""
    stats = GradientStatistics(10.0, 1.0)
    q = UniformQuantizer(1)
    post = SideInformationPosterior(q, stats, 4)
    post.add(np.array([0, 1, 1, 0]))
    llr = bitplane_llr(post.posterior(), np.zeros(4, np.int64), 1)
    p = np.arccos(10 / 11) / np.pi
    expect = np.log((1 - p) / p)
    np.testing.assert_allclose(llr, [expect, -expect, -expect, expect], rtol=1e-3)


def test_multibit_posterior_matches_quadrature():
    stats = GradientStatistics(2.0, 0.5)
    q = UniformQuantizer(2)
    scales = [1.1, 0.9, 1.0]
    side = [np.array([0, 3]), np.array([1, 3])]
    post = SideInformationPosterior(q, stats, 2)
    for s, idx in zip(scales, side):
        post.add(idx, s)
    got = post.posterior(scales[2])
    sx, sn = np.sqrt(2.0), np.sqrt(0.5)

    def cell(j, x, s):
        e = q.edges(s)
        return norm.cdf((e[j + 1] - x) / sn) - norm.cdf((e[j] - x) / sn)

    for p in range(2):
        joint = [integrate.quad(lambda x: norm.pdf(x, 0, sx) * cell(side[0][p], x, scales[0])
                                * cell(side[1][p], x, scales[1]) * cell(j, x, scales[2]), -12, 12)[0]
                 for j in range(4)]
        np.testing.assert_allclose(got[p], np.array(joint) / sum(joint), atol=2e-3)


def test_bitplane_llr_by_hand():
    post = np.array([[0.1, 0.2, 0.3, 0.4]])  # J = 0..3, B1 = J & 1, B2 = J >> 1
    assert bitplane_llr(post, np.array([0]), 1)[0] == pytest.approx(np.log(0.4 / 0.6))
    assert bitplane_llr(post, np.array([1]), 2)[0] == pytest.approx(np.log(0.2 / 0.4))
    assert bitplane_llr(np.array([[1.0, 0.0]]), np.array([0]), 1)[0] == LLR_MAX == 30.0  # the decoders' clip
    with pytest.raises(ValueError, match="plane"):
        bitplane_llr(post, np.array([0]), 3)
    with pytest.raises(ValueError, match="lower"):
        bitplane_llr(post, np.array([2]), 2)


def test_llr_is_calibrated_on_model_samples():
    """Coordinates with LLR near L have B = 0 with frequency 1/(1+e^-L)."""
    rng = np.random.default_rng(9)
    stats = GradientStatistics(4.0, 1.0)
    q = UniformQuantizer(2)
    P = 60000
    x = rng.normal(0, 2.0, P)
    idx = [q.quantize(x + rng.normal(0, 1.0, P), np.sqrt(5.0)) for _ in range(3)]
    post = SideInformationPosterior(q, stats, P)
    for j in idx[:2]:
        post.add(j, np.sqrt(5.0))
    pst = post.posterior(np.sqrt(5.0))
    for plane, lower in ((1, np.zeros(P, np.int64)), (2, idx[2] & 1)):
        llr = bitplane_llr(pst, lower, plane)
        bit = (idx[2] >> (plane - 1)) & 1
        prob0 = 1 / (1 + np.exp(-llr))
        for lo, hi in ((0.05, 0.3), (0.3, 0.7), (0.7, 0.95)):
            sel = (prob0 > lo) & (prob0 <= hi)
            if sel.sum() > 2000:
                assert np.mean(bit[sel] == 0) == pytest.approx(prob0[sel].mean(), abs=0.03)
