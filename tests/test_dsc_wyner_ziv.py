"""Successive Wyner-Ziv pipeline (DSC paper Algorithm 1) details: order, padding, bit accounting, inputs."""

import numpy as np
import pytest

from edgefl.coding.quantizer import UniformQuantizer
from edgefl.coding.rate_controller import RateController
from edgefl.coding.statistics import GradientStatistics
from edgefl.coding.wyner_ziv import successive_wyner_ziv
from edgefl.coding.wyner_ziv_options import WynerZivOptions

STATS = GradientStatistics(10.0, 1.0)


def signs(K, P, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(0, np.sqrt(10.0), P)
    return (x[None] + rng.normal(0, 1.0, (K, P)) >= 0).astype(np.int64)


def test_padding_and_order_bit_true():
    """P not a multiple of n: the partial last frame is padded with known zeros and coded when
    its syndrome is cheaper than its bits; the first uploader (whichever worker it is) goes
    uncoded, the others pay frames x (syndrome + hash)."""
    q = UniformQuantizer(1)
    idx = signs(4, 4400, 1)
    rates = RateController(q, margin=0.2).rates(STATS, 4)
    order = np.array([2, 0, 3, 1])
    res = successive_wyner_ziv(idx, order, q, rates, STATS, options=WynerZivOptions(block_length=2400))
    np.testing.assert_array_equal(res.index, idx)
    assert res.upload_bits[2] == 4400 and res.decode_bits[2] == 0
    for w in (0, 3, 1):
        assert res.decode_bits[w] == 2 * 2400
        assert res.upload_bits[w] < 4400
    assert res.upload_bits[1] <= res.upload_bits[0]  # later in the order, more side information
    assert [p["worker"] for p in res.planes] == order.tolist()


def test_partial_frame_sent_uncoded_when_cheaper():
    q = UniformQuantizer(1)
    idx = signs(2, 3000, 4)
    rates = np.array([[1.0], [0.8]])  # syndrome of a frame: 1920 + 16 bits > the 600 tail bits
    res = successive_wyner_ziv(idx, np.arange(2), q, rates, STATS)
    np.testing.assert_array_equal(res.index, idx)
    assert res.retries == 0 and res.upload_bits[1] == 1920 + 16 + 600 and res.decode_bits[1] == 2400


def test_analytic_mode_skips_decoding_but_counts_the_same_bits():
    q = UniformQuantizer(2)
    rng = np.random.default_rng(2)
    idx = rng.integers(0, 4, (3, 2400))
    rates = np.array([[1.0, 1.0], [0.5, 0.3], [0.4, 0.2]])
    res = successive_wyner_ziv(idx, np.arange(3), q, rates, STATS, mode="analytic",
                               options=WynerZivOptions(check_bits=8))
    np.testing.assert_array_equal(res.index, idx)
    assert res.upload_bits.tolist() == [2 * 2400, 1200 + 8 + 720 + 8, 960 + 8 + 480 + 8]
    assert res.decode_bits.tolist() == [0, 2 * 2400, 2 * 2400]
    assert res.decode_failures == res.retries == 0


@pytest.mark.parametrize(
    "kw,match",
    [
        (dict(order=np.array([0, 0])), "order"),
        (dict(rates=np.ones((2, 2))), "rates"),
        (dict(mode="exact"), "mode"),
    ],
)
def test_bad_inputs(kw, match):
    args = dict(index=np.zeros((2, 100), np.int64), order=np.arange(2), quantizer=UniformQuantizer(1),
                rates=np.ones((2, 1)), stats=STATS)
    args.update(kw)
    with pytest.raises(ValueError, match=match):
        successive_wyner_ziv(**args)


@pytest.mark.parametrize(
    "kw,match",
    [
        (dict(failure="drop"), "failure"),
        (dict(check_bits=-1), "check_bits\n.*greater than or equal to 0"),
        (dict(check_bits=65), "check_bits\n.*less than or equal to 64"),
        (dict(retry_step=0.0), "retry_step\n.*greater than 0"),
        (dict(block_length=2399), "block_length=2399"),
    ],
)
def test_bad_options_rejected_once_at_construction(kw, match):
    with pytest.raises(ValueError, match=match):
        WynerZivOptions(**kw)
    opt = WynerZivOptions()
    with pytest.raises(ValueError, match="frozen"):
        opt.check_bits = 3  # type: ignore[misc]


def test_augmented_bp_passes_count_as_decoder_work():
    """Rates without margin: many first decodes fail.  Plain BP runs one pass per syndrome
    request; augmented BP (guesses) saves retries but every pinned-bit pass is decoder work."""
    q = UniformQuantizer(1)
    idx = signs(3, 4 * 2400, 5)
    rates = RateController(q, margin=0.0).rates(STATS, 3)
    plain = successive_wyner_ziv(idx, np.arange(3), q, rates, STATS)
    aug = successive_wyner_ziv(idx, np.arange(3), q, rates, STATS, options=WynerZivOptions(guesses=4))
    for res in (plain, aug):
        np.testing.assert_array_equal(res.index, idx)
        assert res.undetected_errors == 0
    coded = 2 * 4  # workers 2 and 3, four frames each
    assert plain.decode_failures > 0 and plain.uncoded_frames == 0
    assert plain.decode_bits.sum() == 2400 * (coded + plain.retries)
    assert aug.retries < plain.retries
    assert aug.decode_bits.sum() > 2400 * (coded + aug.retries)


@pytest.mark.parametrize("ladder, algorithm, family", [("single", "sum-product", "ldpca"),
                                                       ("zoned", "sum-product", "ldpca-zoned"),
                                                       ("zoned", "min-sum", "ldpca-zoned-ms")])
def test_ldpca_ladder_option_picks_the_family_and_decodes_exactly(monkeypatch, ladder, algorithm, family):
    """Rates without margin (retries happen): every ladder decodes every frame exactly, and the
    retries climb the ladder of the option's family (zoned: fitted for the decoder's algorithm)."""
    import edgefl.coding.wyner_ziv as wz

    seen = []
    real = wz.sw_decode_adaptive

    def spy(*args, **kwargs):
        seen.append(kwargs["family"])
        return real(*args, **kwargs)

    monkeypatch.setattr(wz, "sw_decode_adaptive", spy)
    q = UniformQuantizer(1)
    idx = signs(3, 3 * 2400, 8)
    rates = RateController(q, margin=0.0).rates(STATS, 3)
    opt = WynerZivOptions(ldpca_ladder=ladder, algorithm=algorithm)
    res = successive_wyner_ziv(idx, np.arange(3), q, rates, STATS, options=opt)
    np.testing.assert_array_equal(res.index, idx)
    assert res.undetected_errors == 0 and res.retries > 0
    assert seen and set(seen) == {family}
