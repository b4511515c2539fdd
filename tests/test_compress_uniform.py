"""Lemma 2.1's uniform code (AIADE paper): error <= sigma, bits <= the lemma's bound, and the
counted bits are the length of the string that decodes to the reconstruction."""

import numpy as np
import pytest

from edgefl.compress import uniform_code as U
from edgefl.compress.bitstream import (
    BitReader,
    gamma_encode,
    gamma_lengths,
    index_code,
    read_index_code,
)

DIMS = [1, 2, 3, 5, 10, 50, 200]
EPS = [0.9, 0.5, 0.1, 0.01, 1e-3]


def _vectors(d, rng):
    yield rng.standard_normal(d)
    yield rng.standard_normal(d) * 1e30  # huge norm
    yield rng.standard_normal(d) * 1e-30  # tiny norm
    yield np.full(d, 3.0)  # a lattice diagonal
    e = np.zeros(d)
    e[0] = -7.0
    yield e  # one axis


@pytest.mark.parametrize("d", DIMS)
@pytest.mark.parametrize("eps", EPS)
def test_error_and_bits_within_lemma_2_1(d, eps):
    rng = np.random.default_rng(d * 1000 + int(1 / eps))
    for x in _vectors(d, rng):
        m = U._header_norm(x)
        sigma = eps * m
        bits = U.encode(x, sigma)
        x_hat = U.decode(bits, d, sigma)
        assert np.linalg.norm(x_hat - x) <= sigma * (1 + 1e-12)
        payload = bits.size - U.HEADER_BITS
        assert payload <= U.lemma_bound_bits(d, sigma / m)
        q, n = U.quantize(x, sigma)
        assert n == bits.size
        np.testing.assert_array_equal(q, x_hat)


def test_zero_vector_and_eps_at_least_one_send_the_header_only():
    for x, sigma in [(np.zeros(7), 1.0), (np.array([0.3, 0.4]), 0.6)]:
        bits = U.encode(x, sigma)
        assert bits.size == U.HEADER_BITS
        np.testing.assert_array_equal(U.decode(bits, x.size, sigma), 0.0)
        assert np.linalg.norm(x) <= sigma


def test_large_dimension_roundtrip():
    rng = np.random.default_rng(5)
    x = rng.standard_normal(640)
    bits = U.encode(x, 0.05 * np.linalg.norm(x))
    assert np.linalg.norm(U.decode(bits, 640, 0.05 * np.linalg.norm(x)) - x) <= 0.05 * np.linalg.norm(x)
    assert bits.size - 32 <= U.lemma_bound_bits(640, 0.05)


def test_dithered_code_is_unbiased_with_the_same_bound():
    rng = np.random.default_rng(0)
    x = np.array([0.31, -1.7, 0.05])
    sigma = 0.4
    draws = []
    for _ in range(4000):
        u = rng.random(3)
        x_hat = U.decode(U.encode(x, sigma, u), 3, sigma, u)
        assert np.linalg.norm(x_hat - x) <= sigma * (1 + 1e-12)
        draws.append(x_hat)
    draws = np.array(draws)
    se = draws.std(axis=0) / np.sqrt(len(draws))
    assert np.all(np.abs(draws.mean(axis=0) - x) < 4 * se + 1e-12)


def test_rejects_bad_sigma_and_unrepresentable_norm():
    with pytest.raises(ValueError, match="sigma"):
        U.encode(np.ones(3), 0.0)
    with pytest.raises(ValueError, match="float32"):
        U.encode(np.array([1e300]), 1.0)


def test_elias_gamma_and_index_code_roundtrip():
    v = np.array([1, 2, 3, 7, 8, 1023, 1024, 2**40 + 5])
    bits = gamma_encode(v)
    assert bits.size == gamma_lengths(v).sum() == sum(2 * int(np.floor(np.log2(int(n)))) + 1 for n in v)
    np.testing.assert_array_equal(BitReader(bits).gamma(v.size), v)
    with pytest.raises(ValueError):
        BitReader(bits[:-1]).gamma(v.size)
    for idx, size in [(np.array([0, 1, 2, 3]), 4), (np.array([5, 900]), 1000), (np.array([], int), 10)]:
        code = index_code(idx, size)
        assert code.size <= size + 1
        np.testing.assert_array_equal(read_index_code(BitReader(code), size, idx.size), idx)
