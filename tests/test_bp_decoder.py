"""Syndrome BP decoder (edgefl.coding.bp_decoder) on BSC- and AWGN-like correlation."""

import numba
import numpy as np
import pytest
from scipy import integrate

from edgefl.coding.bp_decoder import decode_syndrome
from edgefl.coding.ldpc import get_code, syndrome

N = 1200


def h2(p):
    return -p * np.log2(p) - (1 - p) * np.log2(1 - p)


def bsc_frames(p, frames, seed, n=N):
    """Source bits b, side information x = b xor e with e ~ Bernoulli(p), and LLRs of b."""
    rng = np.random.default_rng(seed)
    b = rng.integers(0, 2, size=(frames, n), dtype=np.uint8)
    x = b ^ (rng.random((frames, n)) < p).astype(np.uint8)
    return b, np.log((1 - p) / p) * (1.0 - 2.0 * x)


def assert_success_means_syndrome_holds(code, synd, res):
    satisfied = (syndrome(code, res.bits) == synd).all(axis=1)
    np.testing.assert_array_equal(res.success, satisfied)


@pytest.mark.parametrize("algorithm", ["sum-product", "min-sum"])
@pytest.mark.parametrize("schedule", ["layered", "flooding"])
def test_easy_bsc_decodes_exactly(algorithm, schedule):
    p = 0.03  # H(p) = 0.19, code rate 0.4
    b, llr = bsc_frames(p, 16, seed=1)
    code = get_code(0.4, n=N)
    synd = syndrome(code, b)
    res = decode_syndrome(code, synd, llr, algorithm=algorithm, schedule=schedule)
    assert res.success.all()
    np.testing.assert_array_equal(res.bits, b)
    assert (res.iterations >= 1).all() and (res.iterations < 100).all()


def test_awgn_like_side_information_decodes():
    """y = (1 - 2b) + N(0, s^2), LLR 2y/s^2; the SW bound is H(B|Y) by quadrature."""
    sigma = 0.8

    def integrand(y):  # H(B|Y) = E[log2(1 + exp(-L))] given b = 0, L = 2y/s^2
        pdf = np.exp(-((y - 1.0) ** 2) / (2 * sigma**2)) / np.sqrt(2 * np.pi * sigma**2)
        return pdf * np.logaddexp(0.0, -2.0 * y / sigma**2) / np.log(2)

    h_cond = integrate.quad(integrand, -12, 14)[0]
    assert 0.33 < h_cond < 0.39
    rng = np.random.default_rng(3)
    b = rng.integers(0, 2, size=(16, N), dtype=np.uint8)
    y = 1.0 - 2.0 * b + sigma * rng.standard_normal(b.shape)
    code = get_code(h_cond + 0.15, n=N)
    synd = syndrome(code, b)
    res = decode_syndrome(code, synd, 2.0 * y / sigma**2)
    assert res.success.all()
    np.testing.assert_array_equal(res.bits, b)
    # below the conditional entropy the decoder must report failure
    low = get_code(h_cond - 0.1, n=N)
    res_low = decode_syndrome(low, syndrome(low, b), 2.0 * y / sigma**2, max_iter=50)
    assert not res_low.success.any()


@pytest.mark.parametrize("algorithm", ["sum-product", "min-sum"])
def test_failure_detected_below_conditional_entropy(algorithm):
    p = 0.11  # H(p) = 0.50
    b, llr = bsc_frames(p, 16, seed=4)
    code = get_code(h2(p) - 0.08, n=N)
    synd = syndrome(code, b)
    res = decode_syndrome(code, synd, llr, algorithm=algorithm, max_iter=60)
    assert not res.success.any()
    assert (res.iterations == 60).all()
    assert_success_means_syndrome_holds(code, synd, res)


def test_frame_error_rate_is_monotone_in_rate():
    p = 0.05  # H(p) = 0.286
    b, llr = bsc_frames(p, 32, seed=5)
    fer = []
    for rate in (0.25, 0.3, 0.35, 0.4, 0.45, 0.55):
        code = get_code(rate, n=N)
        synd = syndrome(code, b)
        res = decode_syndrome(code, synd, llr, algorithm="min-sum", max_iter=60)
        assert_success_means_syndrome_holds(code, synd, res)
        fer.append(1.0 - res.success.mean())
    assert fer[0] == 1.0 and fer[-1] == 0.0
    assert all(later <= earlier for earlier, later in zip(fer, fer[1:])), fer


def test_correct_side_information_needs_no_iteration():
    b, _ = bsc_frames(0.05, 2, seed=6)
    code = get_code(0.5, n=N)
    llr = np.where(b == 0, np.inf, -np.inf)  # certain side information, infinities allowed
    res = decode_syndrome(code, syndrome(code, b), llr)
    assert res.success.all() and (res.iterations == 0).all()
    np.testing.assert_array_equal(res.bits, b)


@pytest.mark.parametrize("algorithm", ["sum-product", "min-sum"])
def test_result_does_not_depend_on_thread_count(algorithm):
    b, llr = bsc_frames(0.07, 40, seed=7)  # >= 2 x 8 frames: the lane decoder splits them over threads
    code = get_code(0.4, n=N)
    synd = syndrome(code, b)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = decode_syndrome(code, synd, llr, algorithm=algorithm)
    finally:
        numba.set_num_threads(before)
    many = decode_syndrome(code, synd, llr, algorithm=algorithm)
    np.testing.assert_array_equal(one.bits, many.bits)
    np.testing.assert_array_equal(one.iterations, many.iterations)


@pytest.mark.parametrize(
    "change, match",
    [
        (dict(syndromes=np.zeros((2, 10), np.uint8)), "columns"),
        (dict(syndromes=np.zeros((2, 600), np.float32)), "dtype"),
        (dict(llr=np.zeros((3, N))), "shape"),
        (dict(llr=np.full((2, N), np.nan)), "NaN"),
        (dict(llr=np.zeros((2, N), np.complex128)), "real"),
        (dict(algorithm="belief"), "algorithm"),
        (dict(schedule="random"), "schedule"),
        (dict(max_iter=-1), "max_iter"),
        (dict(scale=0.0), "scale"),
        (dict(implementation="gpu"), "implementation"),
        (dict(code="H"), "LDPCCode"),
    ],
)
def test_invalid_inputs_raise(change, match):
    args = dict(code=get_code(0.5, n=N), syndromes=np.zeros((2, 600), np.uint8), llr=np.zeros((2, N)))
    args.update(change)
    with pytest.raises(ValueError, match=match):
        decode_syndrome(**args)
