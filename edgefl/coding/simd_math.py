"""Branch-free float32 exp and log that LLVM can vectorise inside numba loops.

numba lowers ``math.exp`` / ``math.log`` to calls of the C library, one lane at a
time, unless Intel's SVML is installed; the lane-parallel BP decoder
(:mod:`edgefl.coding.bp_lanes`) evaluates one exp and one log per edge and frame,
so it uses these instead.  Both are the Cephes single-precision algorithms
(S. L. Moshier, *Methods and Programs for Mathematical Functions*, 1989;
``expf.c`` / ``logf.c``): Cody-Waite range reduction by ln 2, a degree-6 (exp) or
degree-9 (log) minimax polynomial, and the power of two assembled from / read off
the IEEE-754 exponent field by a bit cast (an LLVM ``bitcast``, no memory
round trip).  Relative error about 1e-7 (a few float32 ulp) over the ranges used;
the tests compare with numpy in float64.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

_F32 = np.float32


_I32 = ir.IntType(32)


def _i32(value: int) -> ir.Constant:
    return ir.Constant(_I32, value)


# Integer steps are written as LLVM IR because numba widens int32 arithmetic to
# int64, and int64 <-> float conversions have no AVX2 vector form.
@intrinsic
def pow2(typingctx, k):
    """2^k as float32 for a float32 k holding an integer in [-126, 127]."""
    if k != types.float32:
        return None

    def codegen(context, builder, signature, args):
        biased = builder.add(builder.fptosi(args[0], _I32), _i32(127))
        return builder.bitcast(builder.shl(biased, _i32(23)), ir.FloatType())

    return types.float32(types.float32), codegen


@intrinsic
def exponent(typingctx, x):
    """e with x = m 2^e, m in [0.5, 1), as float32, for a positive normal float32 x."""
    if x != types.float32:
        return None

    def codegen(context, builder, signature, args):
        bits = builder.bitcast(args[0], _I32)
        e = builder.sub(builder.lshr(bits, _i32(23)), _i32(126))
        return builder.sitofp(e, ir.FloatType())

    return types.float32(types.float32), codegen


@intrinsic
def mantissa(typingctx, x):
    """m in [0.5, 1) with x = m 2^e, for a positive normal float32 x."""
    if x != types.float32:
        return None

    def codegen(context, builder, signature, args):
        bits = builder.bitcast(args[0], _I32)
        m = builder.or_(builder.and_(bits, _i32(0x007FFFFF)), _i32(0x3F000000))
        return builder.bitcast(m, ir.FloatType())

    return types.float32(types.float32), codegen


_LOG2E = _F32(1.44269504088896341)
_C1 = _F32(0.693359375)  # ln 2 split so that k * _C1 is exact (Cody-Waite)
_C2 = _F32(-2.12194440e-4)
_EXP_MIN = _F32(-87.0)  # e^-87 = 1.6e-38 is still a normal float32
_EXP_MAX = _F32(88.0)
_SQRTHF = _F32(0.707106781186547524)


@njit(cache=True, inline="always")
def exp32(x):
    """e^x in float32 for x clipped to [-87, 88] (Cephes expf)."""
    x = min(max(x, _EXP_MIN), _EXP_MAX)
    fx = np.floor(x * _LOG2E + _F32(0.5))
    r = x - fx * _C1
    r = r - fx * _C2
    z = r * r
    y = _F32(1.9875691500e-4)
    y = y * r + _F32(1.3981999507e-3)
    y = y * r + _F32(8.3334519073e-3)
    y = y * r + _F32(4.1665795894e-2)
    y = y * r + _F32(1.6666665459e-1)
    y = y * r + _F32(5.0000001201e-1)
    y = y * z + r + _F32(1.0)
    return y * pow2(fx)


@njit(cache=True, inline="always")
def log32(x):
    """Natural log in float32 of a positive normal float32 x (Cephes logf)."""
    e = exponent(x)
    m = mantissa(x)
    small = m < _SQRTHF
    e = e - _F32(1.0) if small else e
    r = (m + m if small else m) - _F32(1.0)
    z = r * r
    y = _F32(7.0376836292e-2)
    y = y * r - _F32(1.1514610310e-1)
    y = y * r + _F32(1.1676998740e-1)
    y = y * r - _F32(1.2420140846e-1)
    y = y * r + _F32(1.4249322787e-1)
    y = y * r - _F32(1.6668057665e-1)
    y = y * r + _F32(2.0000714765e-1)
    y = y * r - _F32(2.4999993993e-1)
    y = y * r + _F32(3.3333331174e-1)
    y = y * z * r
    y = y + _C2 * e
    y = y - _F32(0.5) * z
    return r + y + _C1 * e
