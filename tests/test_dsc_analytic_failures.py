"""Analytic failure model of the LDPCA ladder (edgefl.coding.ldpca_model) against bit-true decoding."""

import numpy as np
import pytest

from edgefl.coding.ldpca_model import frame_cross_entropy, ladder_rate, needed_rate, sw_predict_adaptive
from edgefl.compress.dsc import DSCCompressor
from dsc_sources import bsc_ladder, ctx, non_iid_grads


def test_cross_entropy_is_the_binary_entropy_on_a_bsc():
    """Bits flipped with probability p against LLRs log((1-p)/p) of the all-zero guess: h -> H(p)."""
    rng = np.random.default_rng(1)
    p, n = 0.11, 200_000
    bits = (rng.random((1, n)) < p).astype(np.uint8)
    llr = np.full((1, n), np.log((1 - p) / p))
    assert frame_cross_entropy(bits, llr)[0] == pytest.approx(-p * np.log2(p) - (1 - p) * np.log2(1 - p), abs=0.005)
    # the zoned sum-product table of benchmarks/ldpca_gap.py at its points and between them: zone 0
    # (announced below 0.55) goes uncoded at H = 0.8, zone 3 (announced from 0.88) still decodes at 0.9
    np.testing.assert_allclose(ladder_rate([0.05, 0.1, 0.35, 0.8, 0.9], "ldpca-zoned", "sum-product", 0.3),
                               [0.096, 0.146, 0.3955, 1.2, 1.2])
    np.testing.assert_allclose(ladder_rate([0.8, 0.9, 1.2], "ldpca-zoned", "sum-product", 0.95),
                               [0.858, 0.967, 1.267])
    with pytest.raises(ValueError, match="no measured LDPCA gap"):
        ladder_rate(0.5, "peg", "sum-product")


def test_prediction_climbs_the_ladder_like_the_decoder_accounts():
    """Hand-checked ladder: announced 0.30, need ~0.5 + gap, retry step 0.02 -> the first grid step at or
    above the need; bits = hash + syndrome of that step; a need above 1 climbs to the cap, then uncoded."""
    rng = np.random.default_rng(2)
    n, p = 2400, 0.11
    bits = (rng.random((2, n)) < p).astype(np.uint8)
    llr = np.full((2, n), np.log((1 - p) / p))
    llr[1] = 0.0  # no side information: 1 bit per bit needed
    need = needed_rate(bits, llr, "ldpca-zoned", "sum-product")
    out, sent, final = sw_predict_adaptive(bits, llr, 0.30, step=2, max_retries=30, hash_bits=16,
                                           family="ldpca-zoned", algorithm="sum-product")
    k = 30 + 2 * int(np.ceil((need[0] * 100 - 30) / 2 - 1e-9))
    assert final[0] == pytest.approx(k / 100) and out.attempts[0] == 1 + (k - 30) // 2
    assert sent[0] == 16 + k * n // 100 and not out.uncoded[0]
    assert out.uncoded[1] and out.attempts[1] == 31 and sent[1] == 16 + n * 90 // 100 + n
    # the exchanges add up to the bits sent
    assert sum(e[0] for e in out.exchanges) == sent.sum()
    np.testing.assert_array_equal(out.bits, bits)


def test_prediction_matches_the_bit_true_ladder_on_a_bsc():
    """Frames at a fixed H: the predicted mean rate is the measured decoder's within the gap table's noise."""
    real, sent_real, sent_pred = bsc_ladder(2400, 0.0417, 0.2, seed=3)  # H(p) = 0.25
    assert not real.undetected.any()
    assert sent_pred.mean() == pytest.approx(sent_real.mean(), rel=0.03)


@pytest.mark.parametrize("kw", [
    dict(side_information="history", rate_policy="none", frame_order="entropy"),
    dict(side_information="history", rate_policy="adaptive"),
    dict(side_information="history", rate_policy="none", algorithm="min-sum", ldpca_ladder="single"),
    dict(side_information="history", rate_policy="none", failure="uncoded"),
    dict(side_information="history", rate_policy="none", frame_order="entropy", ladder_fallback="complete",
         uncoded_above=0.95, uncoded_rule="realised"),
    dict(side_information="history", rate_policy="none", frame_order="entropy", ladder_fallback="complete",
         uncoded_above=0.9, ladder_zone="calibrated"),
])
def test_analytic_failures_predict_bit_true_bits_and_retries(kw):
    """Retry policies on a persistent sign source (both BP algorithms, both ladders, retries or the uncoded
    fallback, the completed fallback with the realised rule or the calibrated zone): analytic with the failure
    model sends bit-true's bits within 2 % (without it: the announced rates, > 2 % short) and predicts its
    retries and failed frames within 25 %; the adaptive policy's margin follows the predicted failures to
    bit-true's within 0.15."""
    K, P, rounds = 4, 9600, 7
    bt, an, off = (DSCCompressor(**kw), DSCCompressor(**kw), DSCCompressor(**kw, analytic_failures="off"))
    tot = np.zeros((3, 3))
    order = np.arange(K)[::-1]
    for r, g in enumerate(non_iid_grads(K, P, rounds)):
        res = [bt.compress(g, order, ctx(r, "bit-true")), an.compress(g, order, ctx(r, "analytic")),
               off.compress(g, order, ctx(r, "analytic"))]
        assert res[0].undetected_errors == 0
        for i, x in enumerate(res):
            tot[i] += (x.upload_bits.sum(), x.retries, x.decode_failures)
    assert tot[0, 2] > 10 and tot[2, 2] == 0
    assert tot[1, 0] == pytest.approx(tot[0, 0], rel=0.02)
    assert tot[2, 0] < 0.98 * tot[0, 0]
    assert tot[1, 1] == pytest.approx(tot[0, 1], rel=0.25)
    assert tot[1, 2] == pytest.approx(tot[0, 2], rel=0.25)
    assert an.margins.scale == pytest.approx(bt.margins.scale, abs=0.15)


def test_default_analytic_output_is_unchanged():
    """Gaussian model with the fixed margin: auto leaves the failure model off (the paper's analytic model)."""
    K, P = 3, 4800
    auto, off = DSCCompressor(), DSCCompressor(analytic_failures="off")
    assert not auto.cfg.failure_model and DSCCompressor(rate_policy="none").cfg.failure_model
    for r, g in enumerate(non_iid_grads(K, P, 3)):
        a, o = auto.compress(g, np.arange(K), ctx(r, "analytic")), off.compress(g, np.arange(K), ctx(r, "analytic"))
        np.testing.assert_array_equal(a.upload_bits, o.upload_bits)
        assert a.decode_schedule == o.decode_schedule
