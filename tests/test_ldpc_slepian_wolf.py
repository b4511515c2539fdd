"""Slepian-Wolf encode/decode and rate-adaptive retries (edgefl.coding.slepian_wolf)."""

import numpy as np
import pytest

from edgefl.coding.ldpc import get_code, rate_grid, syndrome
from edgefl.coding.slepian_wolf import sw_decode, sw_decode_adaptive, sw_encode

N = 1200


def frames(p, count, seed):
    rng = np.random.default_rng(seed)
    b = rng.integers(0, 2, size=(count, N), dtype=np.uint8)
    x = b ^ (rng.random(b.shape) < p).astype(np.uint8)
    return b, np.log((1 - p) / p) * (1.0 - 2.0 * x)


def test_encode_decode_roundtrip():
    b, llr = frames(0.02, 8, seed=1)
    code, synd = sw_encode(b, 0.33)
    assert code is get_code(0.33, n=N)
    assert synd.shape == (8, code.m)
    res = sw_decode(code, synd, llr, algorithm="min-sum")
    assert res.success.all()
    np.testing.assert_array_equal(res.bits, b)


def test_adaptive_retries_send_only_increments_of_the_nested_ladder():
    b, llr = frames(0.05, 12, seed=2)  # H = 0.29, start far too low
    res, sent, final_rate = sw_decode_adaptive(b, llr, 0.1, step=3, hash_bits=16, algorithm="min-sum")
    assert res.success.all() and not res.uncoded.any() and not res.undetected.any()
    np.testing.assert_array_equal(res.bits, b)
    # nested codes: total upload = syndrome length of the final rate only, plus the hash
    np.testing.assert_array_equal(sent, np.round(final_rate * N).astype(int) + 16)
    assert (final_rate > 0.29).all() and (res.attempts > 1).all()
    steps = rate_grid(N, "ldpca").size
    np.testing.assert_allclose(final_rate, np.ceil(0.1 * steps - 1e-9) / steps + 3 * (res.attempts - 1) / steps)


def test_adaptive_with_per_rate_codes_pays_every_full_syndrome():
    b, llr = frames(0.05, 6, seed=5)
    res, sent, final_rate = sw_decode_adaptive(b, llr, 0.25, step=5, family="peg", algorithm="min-sum")
    assert res.success.all() and not res.undetected.any()
    steps = rate_grid(N, "peg").size
    k0 = round(0.25 * steps)
    for f in range(6):
        ks = k0 + 5 * np.arange(res.attempts[f])
        assert sent[f] == (ks * (N // steps)).sum()
        assert np.isclose(final_rate[f], ks[-1] / steps)


def test_adaptive_without_retries_falls_back_or_reports_failure():
    b, llr = frames(0.11, 4, seed=3)
    res, sent, rate = sw_decode_adaptive(b, llr, 0.2, max_retries=0, algorithm="min-sum", max_iter=30)
    assert res.uncoded.all() and res.success.all()
    np.testing.assert_array_equal(res.bits, b)
    np.testing.assert_array_equal(sent, int(round(rate[0] * N)) + N)
    res2, sent2, _ = sw_decode_adaptive(b, llr, 0.2, max_retries=0, fallback="none",
                                        algorithm="min-sum", max_iter=30)
    assert not res2.success.any() and not res2.uncoded.any()
    np.testing.assert_array_equal(sent2, sent - N)


@pytest.mark.parametrize(
    "kwargs, match",
    [(dict(step=0), "step"), (dict(max_retries=-1), "max_retries"), (dict(fallback="drop"), "fallback"),
     (dict(start_rate=1.5), "rate"), (dict(hash_bits=65), "hash_bits")],
)
def test_adaptive_rejects_bad_arguments(kwargs, match):
    b, llr = frames(0.05, 2, seed=4)
    args = dict(start_rate=0.5)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        sw_decode_adaptive(b, llr, **args)


@pytest.mark.parametrize("family", ["ldpca-zoned", "ldpca-zoned-ms"])
def test_zoned_retries_climb_the_ladder_of_the_first_rates_zone(family):
    # start at 0.3 (zone 0 of both tables); p = 0.11 (H = 0.5) needs about 0.55-0.62, in zone 1
    b, llr = frames(0.11, 8, seed=6)
    algorithm = "min-sum" if family.endswith("ms") else "sum-product"
    res, sent, final_rate = sw_decode_adaptive(b, llr, 0.3, step=2, hash_bits=16, family=family,
                                               algorithm=algorithm)
    assert res.success.all() and not res.undetected.any() and not res.uncoded.any()
    np.testing.assert_array_equal(res.bits, b)
    np.testing.assert_array_equal(sent, np.round(final_rate * N).astype(int) + 16)  # increments only
    # the same frames on the ladder of the announced rate's zone, decoded at their final rate,
    # succeed, while the zone picked by the final rate itself is another code
    above = np.flatnonzero(final_rate >= 0.55)
    assert above.size
    for f in above[:2]:
        code = get_code(final_rate[f], n=N, family=family, zone_rate=0.3)
        assert code.zone == 0 and get_code(final_rate[f], n=N, family=family).zone > 0
        out = sw_decode(code, syndrome(code, b[f:f + 1]), llr[f:f + 1], algorithm=algorithm)
        np.testing.assert_array_equal(out.bits[0], b[f])


def test_adaptive_success_is_verified_from_the_bits_not_the_decoders_flag(monkeypatch):
    """A decoder claiming success with bits that miss the syndrome (or the hash) gets a retry."""
    import edgefl.coding.slepian_wolf as sw

    b, llr = frames(0.02, 4, seed=7)
    real = sw.decode_syndrome
    calls = []

    def liar(code, synd, llr_, **kw):
        res = real(code, synd, llr_, **kw)
        calls.append(res.success.copy())
        if len(calls) == 1:  # first attempt: flip one bit of every frame, still claim success
            res.bits[:, 0] ^= 1
            res.success[:] = True
        return res

    monkeypatch.setattr(sw, "decode_syndrome", liar)
    res, _, _ = sw.sw_decode_adaptive(b, llr, 0.4, step=1, hash_bits=0, algorithm="min-sum")
    assert calls[0].all()  # the real decoder succeeded at the first rate...
    assert (res.attempts == 2).all() and not res.undetected.any()  # ...the tampered bits were caught
    np.testing.assert_array_equal(res.bits, b)
