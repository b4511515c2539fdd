"""The ``dsc`` scheme end to end on Gaussian-CEO gradients (DSC paper Algorithm 1)."""

import numpy as np
import pytest
from pydantic import ValidationError

from edgefl.coding.ldpc import get_code
from edgefl.compress.base import RoundContext
from edgefl.compress.dsc import DSCCompressor, DSCConfig
from edgefl.compress.simple import SignSGD


def ceo_rounds(K, P, rounds, ratio=10.0, seed=0):
    rng = np.random.default_rng(seed)
    for _ in range(rounds):
        x = rng.normal(0, np.sqrt(ratio), P)
        yield x[None] + rng.normal(0, 1.0, (K, P))


def ctx(r, fidelity="bit-true"):
    return RoundContext(round=r, rng=np.random.default_rng(r), fidelity=fidelity)


def run_signsgd_comparison(K, P, rounds, **kw):
    dsc, sign = DSCCompressor(**kw), SignSGD()
    dsc_bits = sign_bits = 0.0
    undetected = failures = 0
    order = np.arange(K)[::-1]  # any upload order
    for r, g in enumerate(ceo_rounds(K, P, rounds)):
        res = dsc.compress(g, order, ctx(r))
        ref = sign.compress(g, order, ctx(r))
        undetected += res.undetected_errors
        failures += res.decode_failures
        if res.undetected_errors == 0:
            # every frame was decoded right or resent: the aggregate is the uncoded one
            np.testing.assert_array_equal(res.aggregate, ref.aggregate)
        dsc_bits += res.upload_bits.sum()
        sign_bits += K * P  # uncoded signSGD: P bits per worker
    return dsc_bits / sign_bits, undetected, failures, dsc


def test_dsc_signsgd_saves_30_percent_bit_true():
    saving_ratio, undetected, failures, dsc = run_signsgd_comparison(10, 12000, 6)
    assert saving_ratio <= 0.70
    assert undetected == 0
    assert dsc.stats.ratio == pytest.approx(10.0, rel=0.25)  # online ML estimate (eq. 62)


@pytest.mark.slow
def test_dsc_signsgd_saves_30_percent_bit_true_full():
    saving_ratio, undetected, failures, _ = run_signsgd_comparison(10, 48000, 20)
    assert saving_ratio <= 0.70
    assert undetected == 0


def test_analytic_matches_bit_true_bit_counts_without_retries():
    g = next(ceo_rounds(6, 4800, 1, seed=3))
    kw = dict(estimator="oracle", sigma_x2=10.0, sigma_n2=1.0, rate_margin=0.2)
    bt = DSCCompressor(**kw).compress(g, np.arange(6), ctx(0))
    an = DSCCompressor(**kw).compress(g, np.arange(6), ctx(0, "analytic"))
    assert bt.retries == 0 and bt.decode_failures == 0  # generous margin
    np.testing.assert_array_equal(an.upload_bits, bt.upload_bits)
    np.testing.assert_array_equal(an.decode_bits, bt.decode_bits)
    np.testing.assert_array_equal(an.aggregate, bt.aggregate)
    # first uploader: one-bit entropy rate is 1 -> uncoded P bits + two 32-bit scalars, no decoding
    assert bt.upload_bits[0] == 4800 + 64 and bt.decode_bits[0] == 0
    # the others: 2 frames, each the syndrome of the grid code above the announced rate + 16 hash bits
    rates = DSCCompressor(**kw).rate_controller.rates(DSCCompressor(**kw).stats, 6)
    for pos in range(1, 6):
        m = get_code(rates[pos, 0], family="ldpca").m  # the pipeline codes with LDPCA
        assert bt.upload_bits[pos] == 2 * (m + 16) + 64
        assert bt.decode_bits[pos] == 2 * 2400


@pytest.mark.parametrize("failure", ["retry", "uncoded"])
def test_failures_are_detected_and_resolved(failure):
    """Zero margin forces failures; both handlings still deliver the exact sign aggregate."""
    g = next(ceo_rounds(4, 4800, 1, seed=4))
    dsc = DSCCompressor(estimator="oracle", sigma_x2=10.0, sigma_n2=1.0, rate_margin=0.0,
                        rate_margin_slope=0.0, failure=failure)
    res = dsc.compress(g, np.arange(4), ctx(0))
    ref = SignSGD().compress(g, np.arange(4), ctx(0))
    assert res.decode_failures > 0
    assert (res.retries > 0) == (failure == "retry")
    assert res.undetected_errors == 0
    np.testing.assert_array_equal(res.aggregate, ref.aggregate)
    analytic = DSCCompressor(**dsc.cfg.model_dump()).compress(g, np.arange(4), ctx(0, "analytic"))
    assert np.all(res.upload_bits >= analytic.upload_bits) and res.upload_bits.sum() > analytic.upload_bits.sum()


def test_multibit_bit_true_equals_quantised_aggregate():
    g = next(ceo_rounds(3, 4800, 1, seed=5))
    kw = dict(bits=3, estimator="oracle", sigma_x2=10.0, sigma_n2=1.0)
    bt = DSCCompressor(**kw).compress(g, np.array([2, 0, 1]), ctx(0))
    an = DSCCompressor(**kw).compress(g, np.array([2, 0, 1]), ctx(0, "analytic"))
    assert bt.undetected_errors == 0
    np.testing.assert_allclose(bt.aggregate, an.aggregate)
    assert np.all(bt.upload_bits < 3 * 4800)  # below the uncoded 3 bits per parameter
    assert bt.upload_bits[1] < bt.upload_bits[2]  # workers later in the order pay less
    assert np.mean((an.aggregate - g.mean(0)) ** 2) < 0.2


def test_offline_estimator_and_top_k_in_analytic_mode():
    """Offline genie statistics (eq. 48-56) drive this round's rates; top-K caps distinct rates."""
    g = next(ceo_rounds(8, 4800, 1, seed=7))
    res = DSCCompressor(estimator="offline", top_k=3).compress(g, np.arange(8), ctx(0, "analytic"))
    assert res.info["ratio_used"] == pytest.approx(10.0, rel=0.1)
    assert res.info["ratio_estimate"] is None
    assert res.decode_failures == res.retries == 0
    assert res.upload_bits[2] == res.upload_bits[3] == res.upload_bits[7]  # positions >= top_k share a rate
    assert res.upload_bits[0] > res.upload_bits[1] > res.upload_bits[2]


def test_deterministic():
    g = next(ceo_rounds(4, 4800, 1, seed=6))
    kw = dict(rate_margin=0.0, rate_margin_slope=0.0, estimator="oracle", sigma_x2=10.0, sigma_n2=1.0)
    a = DSCCompressor(**kw).compress(g, np.arange(4), ctx(0))
    b = DSCCompressor(**kw).compress(g, np.arange(4), ctx(0))
    np.testing.assert_array_equal(a.upload_bits, b.upload_bits)
    assert a.retries == b.retries > 0


@pytest.mark.parametrize(
    "kw,match",
    [
        (dict(bits=0), r"bits\n.*greater than or equal to 1"),
        (dict(bits=11), r"bits\n.*less than or equal to 10"),
        (dict(block_length=2399), "block_length=2399"),
        (dict(rate_margin=-0.1), "rate_margin"),
        (dict(guesses=-1), r"guesses\n.*greater than or equal to 0"),
        (dict(guesses=65), r"guesses\n.*less than or equal to 64"),
        (dict(rate_margin_slope=2.0), "rate_margin_slope"),
        (dict(failure="ignore"), "failure"),
        (dict(sigma_x2=0.0), r"sigma_x2\n.*greater than 0"),
        (dict(sigma_x2=float("inf")), r"sigma_x2\n.*finite"),
        (dict(top_k=0), r"top_k\n.*greater than 0"),
        (dict(colour="red"), "colour"),
    ],
)
def test_config_validation(kw, match):
    with pytest.raises(ValidationError, match=match):
        DSCConfig(**kw)


def test_bad_compress_inputs():
    dsc = DSCCompressor()
    with pytest.raises(ValueError, match="order"):
        dsc.compress(np.zeros((3, 10)), np.array([0, 0, 1]), ctx(0))
    with pytest.raises(ValueError, match="fidelity"):
        dsc.compress(np.zeros((3, 10)), np.arange(3), ctx(0, "exact"))
    with pytest.raises(ValueError, match="NaN"):
        dsc.compress(np.full((3, 10), np.nan), np.arange(3), ctx(0))


def test_registry_builds_dsc():
    from edgefl.compress.registry import SCHEMES, make_compressor

    assert "dsc" in SCHEMES
    comp = make_compressor(DSCConfig(bits=2, top_k=3))
    assert isinstance(comp, DSCCompressor) and comp.rate_controller.top_k == 3
