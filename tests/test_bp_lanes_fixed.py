"""Fixed-point min-sum lanes (edgefl.coding.bp_lanes, arithmetic int8 / int16) against the float
decoders, and the narrow-integer intrinsics they are built from against numpy."""

import numba
import numpy as np
import pytest

from edgefl.coding.bp_decoder import decode_syndrome
from edgefl.coding.bp_lanes import lanes_of, quantize
from edgefl.coding.ldpc import get_code, syndrome
from edgefl.coding.simd_math import (SIGN_LANES, iabs, iand, ieq, imax, imin, ineg, isneg, ixor, sat_add, sat_sub,
                                     scaled, sign_bits)
from edgefl.coding.wyner_ziv_options import WynerZivOptions
from test_bp_decoder import N, bsc_frames  # pytest's default (prepend) import mode puts tests/ on sys.path

FIXED = ["int8", "int16"]


@numba.njit
def _binary_ops(a, b, out):
    for i in range(a.size):
        x, y = a[i], b[i]
        out[0, i] = sat_add(x, y)
        out[1, i] = sat_sub(x, y)
        out[2, i] = imin(x, y)
        out[3, i] = imax(x, y)
        out[4, i] = ixor(x, y)
        out[5, i] = iand(x, y)
        out[6, i] = 1 if ieq(x, y) else 0
        out[7, i] = 1 if isneg(x) else 0


@numba.njit
def _unary_ops(a, num, out):
    for i in range(a.size):
        out[0, i] = iabs(a[i])
        out[1, i] = ineg(a[i])
        out[2, i] = scaled(iabs(a[i]), num)


@pytest.mark.parametrize("dtype", [np.int8, np.int16])
def test_narrow_integer_ops_match_numpy(dtype):
    """Exhaustive over int8 pairs, random int16 pairs plus the extremes."""
    info = np.iinfo(dtype)
    if dtype == np.int8:
        a, b = (g.ravel().astype(dtype) for g in np.meshgrid(np.arange(-128, 128), np.arange(-128, 128)))
    else:
        rng = np.random.default_rng(0)
        a = rng.integers(info.min, info.max + 1, 100_000).astype(dtype)
        b = rng.integers(info.min, info.max + 1, 100_000).astype(dtype)
        a[:4], b[:4] = [info.max, info.min, info.max, -1], [info.max, info.min, info.min, info.min]
    out = np.empty((8, a.size), dtype=dtype)
    _binary_ops(a, b, out)
    wa, wb = a.astype(np.int64), b.astype(np.int64)
    np.testing.assert_array_equal(out[0], np.clip(wa + wb, info.min, info.max))
    np.testing.assert_array_equal(out[1], np.clip(wa - wb, info.min, info.max))
    np.testing.assert_array_equal(out[2], np.minimum(a, b))
    np.testing.assert_array_equal(out[3], np.maximum(a, b))
    np.testing.assert_array_equal(out[4], a ^ b)
    np.testing.assert_array_equal(out[5], a & b)
    np.testing.assert_array_equal(out[6], a == b)
    np.testing.assert_array_equal(out[7], a < 0)
    sym = a[a > info.min]  # the decoder keeps the type's minimum out: |x| and -x fit
    for num in (1, 24, 32):
        un = np.empty((3, sym.size), dtype=dtype)
        _unary_ops(sym, dtype(num), un)
        np.testing.assert_array_equal(un[0], np.abs(sym))
        np.testing.assert_array_equal(un[1], -sym.astype(np.int64))
        np.testing.assert_array_equal(un[2], (np.abs(sym.astype(np.int64)) * num) // 32)


@numba.njit
def _signs(a, lanes):
    out = np.zeros(a.size // lanes, np.uint64)
    for v in range(out.size):
        out[v] = sign_bits(a, v * lanes)
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.int8, np.int16])
def test_sign_bits_is_the_lane_mask_of_negatives(dtype):
    lanes = SIGN_LANES[numba.from_dtype(np.dtype(dtype))]
    rng = np.random.default_rng(1)
    a = rng.integers(-3, 3, size=lanes * 40).astype(dtype)
    if dtype == np.float32:
        a[5] = -0.0  # not negative, as in the scalar decoder's `post < 0`
    ref = [sum(int(a[v * lanes + i] < 0) << i for i in range(lanes)) for v in range(40)]
    np.testing.assert_array_equal(_signs(a, lanes), np.array(ref, dtype=np.uint64))


@pytest.mark.parametrize("arithmetic", FIXED)
def test_quantize_keeps_hard_decisions_and_saturates(arithmetic):
    llr = np.array([[0.0, 1e-9, -1e-9, 0.3, -2.75, 30.0, -30.0, np.float64(1e6)]])
    q = quantize(llr, arithmetic)
    np.testing.assert_array_equal(q < 0, llr < 0)
    np.testing.assert_array_equal(q == 0, llr == 0)
    qmax = np.iinfo(q.dtype).max
    assert q[0, -1] == qmax and abs(int(q[0, 5])) <= qmax
    unit = 4 if arithmetic == "int8" else 256
    assert q[0, 4] == -round(2.75 * unit)


def _fer_within_ci(k_fast: int, k_ref: int, frames: int) -> bool:
    """Two frame-error counts of the same frames agree: difference within 3 pooled standard errors."""
    p = (k_fast + k_ref) / (2 * frames)
    return abs(k_fast - k_ref) <= 3.0 * np.sqrt(2 * frames * p * (1 - p)) + 1


@pytest.mark.parametrize("arithmetic", FIXED)
def test_fixed_point_fer_matches_float_reference_and_no_undetected_errors(arithmetic):
    """Seeded frames near the min-sum threshold (rate 1/2, n = 2400; float FER about 0.2 at
    p = 0.08) and Gaussian side information: the fixed-point frame-error count is within a
    binomial confidence interval of the float64 scalar decoder's; every reported success
    satisfies its syndrome and equals the true word (0 undetected errors); easy frames decode
    to exactly the float result.  (Measured over 400 frames, FER float / int16 / int8: p = 0.07
    0.027 / 0.032 / 0.045, p = 0.08 0.218 / 0.243 / 0.240, p = 0.09 0.748 / 0.738 / 0.745.)"""
    code = get_code(0.5, n=N)
    rng = np.random.default_rng(3)
    b_g = rng.integers(0, 2, size=(96, N), dtype=np.uint8)
    y = (1.0 - 2.0 * b_g) + 0.85 * rng.standard_normal((96, N))
    cases = [bsc_frames(0.08, 160, seed=7), (b_g, 2.0 * y / 0.85**2)]
    for b, llr in cases:
        synd = syndrome(code, b)
        fast = decode_syndrome(code, synd, llr, algorithm="min-sum", arithmetic=arithmetic)
        ref = decode_syndrome(code, synd, llr, algorithm="min-sum", implementation="scalar")
        ok_fast, ok_ref = (fast.bits == b).all(axis=1), (ref.bits == b).all(axis=1)
        assert 0 < (~ok_ref).sum() < len(b)  # the set does discriminate
        assert _fer_within_ci(int((~ok_fast).sum()), int((~ok_ref).sum()), len(b))
        np.testing.assert_array_equal(fast.success, (syndrome(code, fast.bits) == synd).all(axis=1))
        assert not (fast.success & ~ok_fast).any()
        assert (fast.iterations[~fast.success] == 100).all()
    b, llr = bsc_frames(0.04, 40, seed=1)
    synd = syndrome(code, b)
    fast = decode_syndrome(code, synd, llr, algorithm="min-sum", arithmetic=arithmetic)
    assert fast.success.all()
    np.testing.assert_array_equal(fast.bits, b)


@pytest.mark.parametrize("arithmetic", FIXED)
def test_fixed_point_frame_result_does_not_depend_on_its_batch(arithmetic):
    """More frames than lanes (refills), an already-satisfied frame and a failing one."""
    code = get_code(0.45, n=N)
    frames = lanes_of(arithmetic) + 5
    b, llr = bsc_frames(0.07, frames, seed=3)
    llr[2] = np.where(b[2] == 0, np.inf, -np.inf)
    flips = np.random.default_rng(4).random(N) < 0.2  # far beyond the code's threshold: fails
    llr[5] = 2.6 * (1.0 - 2.0 * (b[5] ^ flips))
    synd = syndrome(code, b)
    batch = decode_syndrome(code, synd, llr, max_iter=40, algorithm="min-sum", arithmetic=arithmetic)
    assert batch.iterations[2] == 0 and batch.success[2]
    assert not batch.success[5] and batch.iterations[5] == 40
    for f in (0, 2, 5, frames - 1):
        alone = decode_syndrome(code, synd[f:f + 1], llr[f:f + 1], max_iter=40, algorithm="min-sum",
                                arithmetic=arithmetic)
        np.testing.assert_array_equal(alone.bits[0], batch.bits[f])
        assert alone.iterations[0] == batch.iterations[f]
    rev = decode_syndrome(code, synd[::-1], llr[::-1], max_iter=40, algorithm="min-sum", arithmetic=arithmetic)
    np.testing.assert_array_equal(rev.bits[::-1], batch.bits)
    np.testing.assert_array_equal(rev.iterations[::-1], batch.iterations)


def test_arithmetic_is_validated():
    code = get_code(0.5, n=N)
    synd, llr = np.zeros((1, code.m), np.uint8), np.ones((1, N))
    with pytest.raises(ValueError, match="arithmetic must be one of"):
        decode_syndrome(code, synd, llr, algorithm="min-sum", arithmetic="int4")
    for kw in ({"algorithm": "sum-product"}, {"algorithm": "min-sum", "implementation": "scalar"},
               {"algorithm": "min-sum", "schedule": "flooding"}):
        with pytest.raises(ValueError, match="needs algorithm 'min-sum'"):
            decode_syndrome(code, synd, llr, arithmetic="int8", **kw)
    with pytest.raises(ValueError, match="scale"):
        decode_syndrome(code, synd, llr, algorithm="min-sum", arithmetic="int8", scale=0.01)
    with pytest.raises(ValueError, match="needs algorithm='min-sum'"):
        WynerZivOptions(arithmetic="int8")
    assert WynerZivOptions(algorithm="min-sum", arithmetic="int16").arithmetic == "int16"


@pytest.mark.slow
@pytest.mark.parametrize("arithmetic", FIXED)
def test_fixed_point_result_does_not_depend_on_thread_count(arithmetic):
    """Frames split over two lane engines (numba threads) decode as on one."""
    code = get_code(0.5, n=N)
    b, llr = bsc_frames(0.075, 3 * lanes_of(arithmetic), seed=5)
    synd = syndrome(code, b)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = decode_syndrome(code, synd, llr, algorithm="min-sum", arithmetic=arithmetic)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = decode_syndrome(code, synd, llr, algorithm="min-sum", arithmetic=arithmetic)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(one.bits, two.bits)
    np.testing.assert_array_equal(one.iterations, two.iterations)
