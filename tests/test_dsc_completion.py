"""Completion of frames the LDPCA ladder could not decode (edgefl.coding.ldpca_completion) and the DSC
bit ledger (edgefl.coding.dsc_ledger)."""

import itertools

import numpy as np
import pytest

from edgefl.coding.ldpc import code_at_step, syndrome
from edgefl.coding.ldpca_completion import completion, completion_bits, completion_of
from edgefl.coding.ldpca_model import sw_predict_adaptive
from edgefl.coding.slepian_wolf import sw_decode_adaptive
from edgefl.compress.dsc import DSCCompressor
from dsc_sources import ctx, non_iid_grads


def _gf2_rank_brute(h: np.ndarray) -> int:
    """GF(2) rank by counting the distinct row combinations: 2^rank of them (small matrices only)."""
    rows = [int("".join(map(str, r)), 2) for r in h]
    span = {0}
    for r in rows:
        span |= {x ^ r for x in span}
    return int(np.log2(len(span)))


def test_completion_rank_and_solution_match_brute_force():
    """Random small GF(2) matrices, some rank-deficient: the rank is the brute-force one, and every
    source word is the unique word with its syndrome and its bits at the free columns (enumerated)."""
    rng = np.random.default_rng(0)
    for trial in range(6):
        m, n = 5, 8
        h = rng.integers(0, 2, (m, n)).astype(np.uint8)
        if trial % 2:
            h[3] = h[0] ^ h[1]  # rank-deficient
        comp = completion_of(h)
        assert comp.rank == _gf2_rank_brute(h)
        words = np.array(list(itertools.product([0, 1], repeat=n)), dtype=np.uint8)
        synd = (words.astype(np.int64) @ h.T.astype(np.int64)) % 2
        np.testing.assert_array_equal(comp.solve(synd, words[:, comp.free]), words)
        # uniqueness: (syndrome, free bits) tell all 2^n words apart
        keys = {tuple(s) + tuple(f) for s, f in zip(synd, words[:, comp.free])}
        assert len(keys) == 2 ** n


def test_ldpca_rungs_have_full_rank_and_complete_exactly():
    """The last rungs of the zoned ladders have full row rank: completion sends n - m bits, and solves exactly."""
    rng = np.random.default_rng(1)
    for k, zone_rate in ((99, 0.3), (98, 0.95)):
        code = code_at_step(k, 2400, 0, "ldpca-zoned", zone_rate)
        comp = completion(code)
        assert comp.rank == code.m and completion_bits(code) == code.n - code.m
        assert completion_bits(code, pad=100) == int((comp.free < 2300).sum())
        bits = rng.integers(0, 2, (3, 2400)).astype(np.uint8)
        np.testing.assert_array_equal(comp.solve(syndrome(code, bits), bits[:, comp.free]), bits)


def test_complete_fallback_costs_n_not_m_plus_n():
    """A frame with no side information (needs 1 bit per bit) climbs the whole ladder: the raw fallback costs
    hash + m + n, completion hash + m + (n - m) = hash + n; bits exact; the failure model charges the same."""
    rng = np.random.default_rng(2)
    bits = rng.integers(0, 2, (2, 2400)).astype(np.uint8)
    llr = np.zeros((2, 2400))
    kw = dict(step=2, max_retries=4, hash_bits=16, family="ldpca-zoned", algorithm="sum-product")
    raw, sent_raw, _ = sw_decode_adaptive(bits, llr, 0.9, fallback="uncoded", **kw)
    done, sent_done, _ = sw_decode_adaptive(bits, llr, 0.9, fallback="complete", **kw)
    pred, sent_pred, _ = sw_predict_adaptive(bits, llr, 0.9, fallback="complete", **kw)
    m_last = code_at_step(98, 2400, 0, "ldpca").m
    assert raw.uncoded.all() and done.uncoded.all() and pred.uncoded.all()
    np.testing.assert_array_equal(sent_raw, 16 + m_last + 2400)
    np.testing.assert_array_equal(sent_done, 16 + 2400)
    np.testing.assert_array_equal(sent_pred, sent_done)
    np.testing.assert_array_equal(done.bits, bits)
    assert not done.undetected.any()
    assert sum(e[0] for e in done.exchanges) == sent_done.sum() == sum(e[0] for e in pred.exchanges)


@pytest.mark.parametrize("fidelity", ["analytic", "bit-true"])
def test_ledger_adds_up_to_the_upload_and_completion_never_costs_more(fidelity):
    """The ledger's categories sum to the upload bits each round (property), its own rate is the history
    table's cross-entropy, and the complete fallback sends no more than the raw one, with exact signs."""
    cfg = dict(side_information="history", rate_policy="none", frame_order="entropy", uncoded_above=0.9)
    coders = {f: DSCCompressor(**cfg, ladder_fallback=f) for f in ("raw", "complete")}
    sent = dict.fromkeys(coders, 0.0)
    for r, g in enumerate(non_iid_grads(4, 7200, 6, seed=3)):
        for f, c in coders.items():
            res = c.compress(g, np.arange(4), ctx(r, fidelity if r >= 3 else "analytic"))
            led = res.info["ledger"]
            assert sum(v for k, v in led.items() if k.startswith("bits_")) == pytest.approx(res.upload_bits.sum())
            assert res.undetected_errors == 0
            np.testing.assert_array_equal(res.aggregate, np.where(g >= 0, 1.0, -1.0).T @ np.abs(g).mean(
                axis=1).astype(np.float32).astype(np.float64) / 4)
            if r >= 3:
                sent[f] += res.upload_bits.sum()
                own = res.info["history_rate_sum"]
                assert led["bits_own"] == pytest.approx(own * 7200, rel=1e-6)
    assert sent["complete"] <= sent["raw"]


def test_saving_guard_averages_per_class_like_a_hand_computation():
    """Two rounds, three classes: the moving averages are the hand-computed frame-weighted savings; a class
    with no saving goes raw, unseen classes follow the ceiling, NaN costs are ignored."""
    from edgefl.coding.saving_guard import SavingGuard

    g = SavingGuard(bins=4, decay=0.5)
    est = np.array([0.1, 0.15, 0.6, 0.9, 0.95])
    g.observe(est, [100.0, 300.0, 1000.0, np.nan, 2400.0], [1000.0, 1000.0, 1000.0, 1000.0, 2400.0])
    np.testing.assert_allclose(g.saving[[0, 2, 3]], [1 - 400 / 2000, 0.0, 0.0])
    assert not g.seen[1]
    g.observe([0.2, 0.7], [500.0, 400.0], [1000.0, 1000.0])
    np.testing.assert_allclose(g.saving[[0, 2]], [0.5 * 0.8 + 0.5 * 0.5, 0.5 * 0.0 + 0.5 * 0.6])
    np.testing.assert_array_equal(g.code([0.05, 0.3, 0.45, 0.6, 0.99], ceiling=0.4), [True, True, False, True, False])
    with pytest.raises(ValueError, match="decay"):
        SavingGuard(decay=0.0)


def test_saving_guard_never_codes_a_class_that_saves_nothing():
    """Property on a DSC run: after each round, every class the guard codes realised a positive average
    saving or was never observed, and it observed the coded and the probed raw frames."""
    cfg = dict(side_information="history", rate_policy="none", frame_order="entropy", uncoded_above=0.9,
               ladder_fallback="complete")
    guarded = DSCCompressor(**cfg, uncoded_rule="realised")
    for r, g in enumerate(non_iid_grads(4, 7200, 7, seed=5)):
        res = guarded.compress(g, np.arange(4), ctx(r, "analytic"))
        assert res.undetected_errors == 0
        est = np.linspace(0, 1, 41)
        coded = guarded.guard.code(est, 0.9)
        cls = guarded.guard.classes(est)
        assert np.all(~coded | ~guarded.guard.seen[cls] | (guarded.guard.saving[cls] > 0))
    assert guarded.guard.seen.any()
    with pytest.raises(ValueError, match="uncoded_rule 'realised'"):
        DSCCompressor(uncoded_rule="realised")


def test_calibrated_zone_offset_is_the_moving_average_of_the_decoded_frames_climb():
    """ladder_zone calibrated: after each round the offset moves halfway to the mean (last rate - first rate)
    over the decoded coded frames, recomputed here from the ledger's per-frame records (independent sum)."""
    from edgefl.coding import dsc_ledger
    from edgefl.compress.dsc import ZONE_DECAY

    climbs: list[np.ndarray] = []
    orig = dsc_ledger.FrameLedger.record_coded

    def spy(self, own, need, announced, final, attempts, uncoded, *rest):
        ok = ~np.asarray(uncoded, dtype=bool)
        climbs.append((np.asarray(final) - np.asarray(announced))[ok])
        return orig(self, own, need, announced, final, attempts, uncoded, *rest)

    c = DSCCompressor(side_information="history", rate_policy="none", frame_order="entropy", uncoded_above=0.9,
                      ladder_fallback="complete", ladder_zone="calibrated")
    dsc_ledger.FrameLedger.record_coded = spy
    try:
        expect = 0.0
        for r, g in enumerate(non_iid_grads(4, 7200, 6, seed=7)):
            climbs.clear()
            res = c.compress(g, np.arange(4), ctx(r, "analytic"))
            assert res.info["zone_offset"] == pytest.approx(expect)
            done = np.concatenate(climbs) if climbs else np.zeros(0)
            if done.size:
                expect = ZONE_DECAY * done.mean() + (1 - ZONE_DECAY) * expect
            assert c.zone_offset == pytest.approx(expect)
    finally:
        dsc_ledger.FrameLedger.record_coded = orig
    assert expect > 0
    from edgefl.coding.quantizer import UniformQuantizer
    from edgefl.coding.statistics import GradientStatistics
    from edgefl.coding.wyner_ziv import successive_wyner_ziv

    with pytest.raises(ValueError, match="zone_offset"):
        successive_wyner_ziv(np.zeros((2, 10), np.int64), np.arange(2), UniformQuantizer(1, 2.0), np.ones((2, 1)),
                             GradientStatistics(1.0, 1.0), zone_offset=1.5)


def test_ledger_categories_by_hand():
    """Three coded frames (first decode, retried, failed then completed) and one raw frame, n = 100, hash 16:
    the categories are the hand-computed differences and add up to every bit sent."""
    from edgefl.coding.dsc_ledger import FrameLedger

    led = FrameLedger()
    led.record_uncoded(np.array([90.0]), np.array([100]))
    own, need = np.array([20.0, 40.0, 95.0]), np.array([0.25, 0.50, 1.10])
    announced, final = np.array([0.30, 0.40, 0.50]), np.array([0.30, 0.52, 0.98])
    sent = np.array([16 + 30, 16 + 52, 16 + 98 + 2])  # the completed frame: 98 syndrome bits + 2 free columns
    led.record_coded(own, need, announced, final, np.array([1, 3, 25]), np.array([False, False, True]), sent, 16,
                     100)
    assert led.bits == pytest.approx({"own": 245.0, "uncoded_above": 10.0, "code_gap": (25 - 20) + (50 - 40),
                                      "overshoot_first": 30 - 25, "overshoot_retry": 52 - 50,
                                      "failed_uncoded": 100 - 95, "hash": 48.0})
    assert led.total == 100 + sent.sum()
    assert led.frames == {"uncoded_above": 1, "first": 1, "retried": 1, "failed_uncoded": 1}
    assert led.retries == 26 and led.under_estimates == 2
    assert led.climb == pytest.approx(0.12) and led.decoded_frames == 2
