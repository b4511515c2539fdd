"""History side-information model (edgefl.coding.sign_history) and DSC-signSGD with it."""

import numpy as np
import pytest

from edgefl.coding.rate_controller import binary_entropy
from edgefl.coding.sign_history import HistoryPosterior, SignHistoryModel
from edgefl.compress.dsc import DSCCompressor
from edgefl.compress.simple import SignSGD
from dsc_sources import ctx, non_iid_grads


def persistent_signs(K, P, rounds, flip, seed=0):
    """Each worker's signs: last round's, each flipped with probability ``flip`` (workers independent)."""
    rng = np.random.default_rng(seed)
    s = rng.integers(0, 2, (K, P))
    for _ in range(rounds):
        yield s
        s = s ^ (rng.random((K, P)) < flip)


def test_history_rate_estimate_is_the_conditional_entropy():
    """Markov signs: H(B_k(t) | past, other workers) = h(flip) at every position (closed form)."""
    m = SignHistoryModel()
    for s in persistent_signs(4, 60000, 4, 0.1):
        m.update(s, np.arange(4))
    np.testing.assert_allclose(m.rate_estimate(), binary_entropy(0.1), atol=0.01)
    np.testing.assert_allclose(m.last_cross_entropy, binary_entropy(0.1), atol=0.01)
    post = HistoryPosterior(m, 60000).posterior(worker=2)
    # the own previous sign predicts with probability 0.9
    np.testing.assert_allclose(post[np.arange(60000), m._prev[2]], 0.9, atol=0.02)


def test_history_needs_three_rounds_and_resets():
    m = SignHistoryModel()
    s = np.ones((3, 10), dtype=np.int64)
    m.update(s, np.arange(3))
    assert not m.ready(3, 10)
    m.update(s, np.arange(3))
    assert not m.ready(3, 10)  # fitted once, not yet scored out of sample
    m.update(s, np.arange(3))
    assert m.ready(3, 10) and not m.ready(4, 10)
    with pytest.raises(ValueError, match="sign indices"):
        m.update(2 * s, np.arange(3))
    m.reset()
    assert not m.ready(3, 10)
    with pytest.raises(RuntimeError):
        m.rate_estimate()


def test_history_bit_true_decodes_every_sign_and_matches_the_analytic_rates():
    """Bit-true DSC-signSGD with the history model: every frame decodes to the sent signs (0
    undetected errors, aggregate = signSGD's) and the bits are the analytic fidelity's within 5 %;
    the history model needs fewer bits than the Gaussian model, which misses the persistence."""
    K, P, rounds = 4, 9600, 7
    bt, an, gauss = (DSCCompressor(side_information="history"), DSCCompressor(side_information="history"),
                     DSCCompressor())
    sign, order = SignSGD(), np.arange(K)[::-1]
    bits = {"bt": 0.0, "an": 0.0, "gauss": 0.0}
    for r, g in enumerate(non_iid_grads(K, P, rounds)):
        res = bt.compress(g, order, ctx(r, "bit-true"))
        ref = sign.compress(g, order, ctx(r, "analytic"))
        assert res.undetected_errors == 0
        np.testing.assert_array_equal(res.aggregate, ref.aggregate)
        a = an.compress(g, order, ctx(r, "analytic"))
        ga = gauss.compress(g, order, ctx(r, "analytic"))
        if r >= 3:  # the history model is in force from the fourth round
            assert res.info["side_information_used"] == "history"
            bits["bt"] += res.upload_bits.sum()
            bits["an"] += a.upload_bits.sum()
            bits["gauss"] += ga.upload_bits.sum()
    assert bits["bt"] == pytest.approx(bits["an"], rel=0.05)
    assert bits["an"] < 0.95 * bits["gauss"]


def test_history_needs_one_bit():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="one-bit"):
        DSCCompressor(bits=3, side_information="history")
