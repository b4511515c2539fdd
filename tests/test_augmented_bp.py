"""Augmented BP (edgefl.coding.augmented_bp): pinned-bit retries of failed frames."""

import numpy as np
import pytest

from edgefl.coding.augmented_bp import suspicious_variables
from edgefl.coding.bp_decoder import decode_syndrome
from edgefl.coding.ldpc import _from_edges, get_code, syndrome
from test_bp_decoder import N, assert_success_means_syndrome_holds, bsc_frames, h2


def _toy_code():
    # 4 checks x 6 variables: v0 on checks 0,1,2 (degree 3); v1 on 0,1; v2 on 3; v3 on 2,3; v4, v5 on 3
    rows = np.array([0, 1, 2, 0, 1, 3, 2, 3, 3, 3])
    cols = np.array([0, 0, 0, 1, 1, 2, 3, 3, 4, 5])
    return _from_edges(6, 4, rows, cols, k=1, steps=1, seed=0, family="peg")


def test_suspicion_interleaves_count_and_fraction_rankings():
    code = _toy_code()
    bits = np.zeros((1, 6), dtype=np.uint8)
    synd = np.array([[1, 1, 0, 1]], dtype=np.uint8)  # checks 0, 1, 3 unsatisfied
    # unsatisfied counts: v0 2 (of 3), v1 2 (of 2), v2 1 (of 1), v3 1 (of 2), v4 1 (of 1), v5 1 (of 1)
    # by count: v0, v1, v2, v3, v4, v5; by fraction: v1, v2, v4, v5 (all 1.0; v1 first by count), v0, v3
    got = suspicious_variables(code, synd, bits, 6)
    np.testing.assert_array_equal(got, [[0, 1, 2, 4, 3, 5]])
    np.testing.assert_array_equal(suspicious_variables(code, synd, bits, 3), [[0, 1, 2]])


def test_suspicion_pads_when_few_variables_touch_unsatisfied_checks():
    code = _toy_code()
    bits = np.zeros((2, 6), dtype=np.uint8)
    synd = np.array([[0, 0, 1, 0], [0, 0, 0, 0]], dtype=np.uint8)  # frame 0: only check 2; frame 1: none
    got = suspicious_variables(code, synd, bits, 4)
    np.testing.assert_array_equal(got, [[0, 3, -1, -1], [-1, -1, -1, -1]])


@pytest.fixture(scope="module")
def near_threshold():
    """Frames at a rate where plain BP fails on about a fifth of them (25 of 120)."""
    p = 0.11
    b, llr = bsc_frames(p, 120, seed=7)
    code = get_code(h2(p) + 0.06, n=N)
    synd = syndrome(code, b)
    return code, b, llr, synd, decode_syndrome(code, synd, llr)


def test_guesses_rescue_failures_and_leave_successes_alone(near_threshold):
    code, b, llr, synd, plain = near_threshold
    assert 5 <= (~plain.success).sum() <= 40, "the fixture must sit near the decoding threshold"
    aug = decode_syndrome(code, synd, llr, guesses=8)
    assert_success_means_syndrome_holds(code, synd, aug)
    ok = plain.success
    np.testing.assert_array_equal(aug.bits[ok], plain.bits[ok])
    np.testing.assert_array_equal(aug.iterations[ok], plain.iterations[ok])
    rescued = aug.success & ~ok
    assert rescued.sum() >= 2
    np.testing.assert_array_equal(aug.bits[rescued], b[rescued])  # right coset member, not just any
    # the retries' work is counted: a failed plain decode already used max_iter = 100
    assert (aug.iterations[~ok] > 100).all()


def test_more_guesses_never_lose_a_frame(near_threshold):
    code, b, llr, synd, _ = near_threshold
    wins = [decode_syndrome(code, synd, llr, guesses=g).success for g in (0, 2, 4, 8)]
    for fewer, more in zip(wins, wins[1:]):
        assert (more | ~fewer).all() and more.sum() >= fewer.sum()


def test_guessed_frame_does_not_depend_on_the_batch(near_threshold):
    code, b, llr, synd, plain = near_threshold
    f = int(np.flatnonzero(~plain.success)[0])
    batch = decode_syndrome(code, synd, llr, guesses=4)
    alone = decode_syndrome(code, synd[f:f + 1], llr[f:f + 1], guesses=4)
    np.testing.assert_array_equal(alone.bits[0], batch.bits[f])
    assert alone.success[0] == batch.success[f] and alone.iterations[0] == batch.iterations[f]


@pytest.mark.parametrize("guesses", [-1, 1.5, N + 1])
def test_bad_guesses_rejected(guesses):
    code = get_code(0.5, n=N)
    b, llr = bsc_frames(0.05, 1, seed=0)
    with pytest.raises(ValueError, match="guesses"):
        decode_syndrome(code, syndrome(code, b), llr, guesses=guesses)
