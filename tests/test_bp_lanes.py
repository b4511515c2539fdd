"""Lane-parallel float32 BP (edgefl.coding.bp_lanes) against the float64 scalar decoder."""

from pathlib import Path

import numba
import numpy as np
import pytest

from edgefl.coding import bp_lanes_gen
from edgefl.coding.bp_decoder import decode_syndrome
from edgefl.coding.ldpc import get_code, syndrome
from edgefl.coding.simd_math import exp32, log32
from test_bp_decoder import N, bsc_frames  # pytest's default (prepend) import mode puts tests/ on sys.path


@numba.njit
def _apply(fn_id, x, out):
    for i in range(x.size):
        out[i] = exp32(x[i]) if fn_id == 0 else log32(x[i])


def test_float32_exp_and_log_match_numpy():
    x = np.linspace(-87.0, 30.0, 200_001).astype(np.float32)
    out = np.empty_like(x)
    _apply(0, x, out)
    np.testing.assert_allclose(out, np.exp(x.astype(np.float64)), rtol=2e-7, atol=0)
    y = np.exp(np.linspace(-40.0, 40.0, 200_001)).astype(np.float32)
    _apply(1, y, out)
    np.testing.assert_allclose(out, np.log(y.astype(np.float64)), rtol=2e-7, atol=2e-7)
    special = np.array([1.0, 2.0, 0.5, np.float32(1.0 + 2.0**-23)], dtype=np.float32)
    out4 = np.empty_like(special)
    _apply(1, special, out4)
    np.testing.assert_allclose(out4, np.log(special.astype(np.float64)), atol=1e-7)


def test_generated_kernels_are_up_to_date():
    path = Path(bp_lanes_gen.__file__).with_name("_bp_lanes_kernels.py")
    assert path.read_text() == bp_lanes_gen.render(), (
        "regenerate: python -m edgefl.coding.bp_lanes_gen > edgefl/coding/_bp_lanes_kernels.py")


@pytest.mark.parametrize("algorithm", ["sum-product", "min-sum"])
def test_lanes_agree_with_float64_scalar_decoder(algorithm):
    """Easy frames: identical bits and iteration counts.  Near the threshold rounding
    decides some frames: sum-product (smooth) agrees frame by frame, min-sum (whose
    near-threshold dynamics are chaotic) agrees in frame-error rate (measured over
    400 frames at n = 2400: 0.09 vs 0.09, 0.225 vs 0.235, 0.348 vs 0.345)."""
    code = get_code(0.5, n=N)
    b, llr = bsc_frames(0.04, 24, seed=1)
    synd = syndrome(code, b)
    lanes = decode_syndrome(code, synd, llr, algorithm=algorithm, implementation="lanes")
    ref = decode_syndrome(code, synd, llr, algorithm=algorithm, implementation="scalar")
    assert lanes.success.all() and ref.success.all()
    np.testing.assert_array_equal(lanes.bits, ref.bits)
    np.testing.assert_array_equal(lanes.iterations, ref.iterations)

    b, llr = bsc_frames(0.085, 48, seed=2)  # H = 0.42: a mix of successes and failures
    synd = syndrome(code, b)
    lanes = decode_syndrome(code, synd, llr, algorithm=algorithm, implementation="lanes")
    ref = decode_syndrome(code, synd, llr, algorithm=algorithm, implementation="scalar")
    assert 0 < ref.success.sum() < 48
    if algorithm == "sum-product":
        assert np.mean(lanes.success != ref.success) <= 1 / 24
    else:
        assert abs(lanes.success.mean() - ref.success.mean()) <= 0.1
    both = lanes.success & ref.success
    np.testing.assert_array_equal(lanes.bits[both], ref.bits[both])
    satisfied = (syndrome(code, lanes.bits) == synd).all(axis=1)
    np.testing.assert_array_equal(lanes.success, satisfied)
    assert (lanes.iterations[~lanes.success] == 100).all()


def test_frame_result_does_not_depend_on_its_batch():
    """Refilled lanes, idle lanes, frames that need no iteration and frames that fail
    (so lanes finish at different times): each frame decodes as if alone."""
    code = get_code(0.45, n=N)
    b, llr = bsc_frames(0.07, 13, seed=3)  # 13: not a multiple of the lane count
    llr[2] = np.where(b[2] == 0, np.inf, -np.inf)  # certain: 0 iterations
    llr[5] *= 0.2  # weak side information: fails
    synd = syndrome(code, b)
    batch = decode_syndrome(code, synd, llr, max_iter=40)
    assert batch.iterations[2] == 0 and batch.success[2]
    assert not batch.success[5] and batch.iterations[5] == 40
    for f in range(13):
        alone = decode_syndrome(code, synd[f:f + 1], llr[f:f + 1], max_iter=40)
        np.testing.assert_array_equal(alone.bits[0], batch.bits[f])
        assert alone.iterations[0] == batch.iterations[f]
    reordered = decode_syndrome(code, synd[::-1], llr[::-1], max_iter=40)
    np.testing.assert_array_equal(reordered.bits[::-1], batch.bits)


def test_zero_iterations_and_empty_batch():
    code = get_code(0.5, n=N)
    b, llr = bsc_frames(0.05, 9, seed=4)
    synd = syndrome(code, b)
    res = decode_syndrome(code, synd, llr, max_iter=0)
    np.testing.assert_array_equal(res.bits, (llr < 0).astype(np.uint8))
    assert (res.iterations == 0).all() and not res.success.any()
    empty = decode_syndrome(code, synd[:0], llr[:0])
    assert empty.bits.shape == (0, N) and empty.success.shape == (0,)


def test_lanes_reject_flooding():
    code = get_code(0.5, n=N)
    with pytest.raises(ValueError, match="layered"):
        decode_syndrome(code, np.zeros((1, code.m), np.uint8), np.zeros((1, N)), schedule="flooding",
                        implementation="lanes")
