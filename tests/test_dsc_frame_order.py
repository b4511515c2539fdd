"""frame_order 'entropy' of the history side-information model: signs sorted into frames by predicted entropy."""

import numpy as np
import pytest
from pydantic import ValidationError

from edgefl.coding.rate_controller import binary_entropy
from edgefl.coding.sign_history import TABLE_BITS, SignHistoryModel
from edgefl.compress.dsc import DSCCompressor
from edgefl.compress.simple import SignSGD

from dsc_sources import ctx


def mixed_signs(K, P, rounds, seed=0):
    """Interleaved parameters: even ones keep each worker's sign (flip 0.02), odd ones are coin flips."""
    rng = np.random.default_rng(seed)
    flip = np.where(np.arange(P) % 2 == 0, 0.02, 0.5)
    s = rng.integers(0, 2, (K, P))
    for _ in range(rounds):
        yield s
        s = s ^ (rng.random((K, P)) < flip[None])


def test_entropy_order_sorts_frames_into_low_and_high_rates():
    """The history table sees the own last sign o (Q(b = o | o) = (0.98 + 0.5) / 2 = 0.74 for
    either kind) and the all-plus streak, so contiguous frames all sit near h(0.74); the sign
    streak of the ordering classes tells the kinds apart, so sorted frames split into low-rate
    frames (persistent signs, -log2 0.74 per kept sign) and frames above one bit (coin flips,
    clipped to 1); the permutation and the rates are the same function of the model state on
    both sides (same call, same answer)."""
    K, P, n = 3, 24000, 2400
    cont, sort = SignHistoryModel(n), SignHistoryModel(n, "entropy")
    for s in mixed_signs(K, P, 6):
        cont.update(s, np.arange(K))
        sort.update(s, np.arange(K), aggregate=(2.0 * s - 1).mean(axis=0))
    order = np.array([2, 0, 1])
    assert sort.ready(K, P) and sort.table_bits == K * sort.num_classes * TABLE_BITS
    perms = sort.permutations(order)
    np.testing.assert_array_equal(np.sort(perms, axis=1), np.tile(np.arange(P), (K, 1)))
    np.testing.assert_array_equal(perms, sort.permutations(order))
    est = sort.frame_rate_estimate(order)
    assert np.all(np.diff(est, axis=1) >= 0)  # frames in ascending predicted entropy
    flat = cont.frame_rate_estimate()
    assert np.all(flat <= binary_entropy(0.74) + 0.02) and np.all(flat > 0.65)  # c, a, z help the later ones
    assert np.ptp(flat, axis=1).max() < 0.06
    assert np.all(est[:, :3] < 0.65) and np.all(est[:, -3:] > 0.95)
    # the worker-side key ranks the persistent (even) parameters first
    assert np.mean(perms[:, : P // 2] % 2 == 0) > 0.85
    with pytest.raises(ValueError, match="decoding order"):
        sort.frame_rate_estimate()
    with pytest.raises(ValueError, match="aggregate"):
        sort.update(np.ones((K, P), np.int64), np.arange(K))
    with pytest.raises(RuntimeError, match="entropy"):
        cont.permutations(order)


def mixed_grads(K, P, rounds, seed=0):
    """Gradients of three interleaved kinds: exact zeros (dead units), a persistent per-worker bias,
    and pure noise."""
    rng = np.random.default_rng(seed)
    kind = rng.integers(0, 3, P)
    bias = rng.normal(0, 1.0, (K, P))
    for _ in range(rounds):
        g = np.where(kind == 1, bias + rng.normal(0, 0.3, (K, P)), rng.normal(0, 1.0, (K, P)))
        yield np.where(kind == 0, 0.0, g)


def test_entropy_order_bit_true_decodes_every_sign_and_matches_analytic():
    """Bit-true DSC-signSGD with sorted frames: every frame decodes to the sent signs (0 undetected,
    aggregate = signSGD's), the bits are the analytic fidelity's within 5 %, fewer than with
    contiguous frames, and the broadcast carries the class table."""
    K, P, rounds = 4, 9600, 7
    make = lambda order: DSCCompressor(side_information="history", frame_order=order)  # noqa: E731
    bt, an, cont = make("entropy"), make("entropy"), make("contiguous")
    sign, order = SignSGD(), np.arange(K)[::-1]
    bits = {"bt": 0.0, "an": 0.0, "cont": 0.0}
    for r, g in enumerate(mixed_grads(K, P, rounds)):
        res = bt.compress(g, order, ctx(r, "bit-true"))
        ref = sign.compress(g, order, ctx(r, "analytic"))
        assert res.undetected_errors == 0
        np.testing.assert_array_equal(res.aggregate, ref.aggregate)
        a = an.compress(g, order, ctx(r, "analytic"))
        c = cont.compress(g, order, ctx(r, "analytic"))
        assert c.downlink_bits is None
        if r >= 1:  # a class table is fitted from the second round on
            assert res.downlink_bits == 32 * P + bt.history.table_bits
        if r >= 3:
            assert res.info["frame_order"] == "entropy"
            bits["bt"] += res.upload_bits.sum()
            bits["an"] += a.upload_bits.sum()
            bits["cont"] += c.upload_bits.sum()
    assert bits["bt"] == pytest.approx(bits["an"], rel=0.05)
    assert bits["an"] < 0.98 * bits["cont"]


def test_entropy_order_needs_the_history_model():
    with pytest.raises(ValidationError, match="needs side_information 'history'"):
        DSCCompressor(frame_order="entropy")
    with pytest.raises(ValidationError, match="frame_order"):
        DSCCompressor(side_information="history", frame_order="random")


def test_scenario_schema_validates_frame_order():
    from pathlib import Path

    from edgefl.scenario import load_scenario

    quick = Path(__file__).resolve().parents[1] / "scenarios" / "quickstart.yaml"
    with pytest.raises(Exception, match="frame_order"):
        load_scenario(quick, ["compression.scheme=dsc", "compression.frame_order=sorted"])
    with pytest.raises(Exception, match="needs side_information 'history'"):
        load_scenario(quick, ["compression.scheme=dsc", "compression.frame_order=entropy"])
    load_scenario(quick, ["compression.scheme=dsc", "compression.side_information=history",
                          "compression.frame_order=entropy"])


def test_history_fit_and_sort_are_charged():
    """The server's history update (and, sorted, the K permutations) is counted in its compute time,
    each worker's sort in its encode time, from the round after the first decoded one."""
    from edgefl.coding import op_counts

    K, P = 3, 4800
    plain, sort = DSCCompressor(estimator="oracle"), DSCCompressor(estimator="oracle", side_information="history",
                                                                   frame_order="entropy")
    base_enc = plain.encode_flops(P)
    assert sort.encode_flops(P) == base_enc
    for r, g in enumerate(mixed_grads(K, P, 2)):
        plain.compress(g, np.arange(K), ctx(r, "analytic"))
        sort.compress(g, np.arange(K), ctx(r, "analytic"))
    assert sort.server_flops(K, P) - plain.server_flops(K, P) == op_counts.history_fit_ops(K, P, True)
    assert op_counts.history_fit_ops(K, P, True) > op_counts.history_fit_ops(K, P, False) + K * P * np.log2(P)
    assert sort.encode_flops(P) == base_enc + 7 * P + P * np.log2(P) + P
