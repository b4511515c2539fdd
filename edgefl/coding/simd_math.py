"""Branch-free float32 exp and log, and narrow-integer operations, that LLVM can vectorise
inside numba loops.

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

The integer operations (``sat_add`` .. ``scaled``) keep int8 / int16 values at their
width: numba widens every integer operation to int64, which would turn a 32-lane int8
kernel into 64-bit arithmetic, so each is one LLVM instruction or intrinsic on the
narrow type (``llvm.sadd.sat`` and ``llvm.ssub.sat``: saturating add and subtract, as
the fixed-point decoders of Cassagne et al. 2016 use; ``llvm.smin`` / ``smax`` /
``abs``), which the SLP vectoriser packs into ``vpaddsb`` / ``vpminsb`` / ... over lanes.
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


def _narrow(*tys) -> bool:
    """All arguments the same int8 or int16 type."""
    t0 = tys[0]
    return isinstance(t0, types.Integer) and t0.signed and t0.bitwidth in (8, 16) and all(t == t0 for t in tys)


def _llvm_binary(name: str):
    """Intrinsic a(a, a) -> a calling the overloaded LLVM intrinsic ``llvm.<name>``."""

    def typer(typingctx, a, b):
        if not _narrow(a, b):
            return None

        def codegen(context, builder, signature, args):
            ty = args[0].type
            fn = builder.module.declare_intrinsic(f"llvm.{name}", [ty], fnty=ir.FunctionType(ty, [ty, ty]))
            return builder.call(fn, args)

        return a(a, b), codegen

    return intrinsic(typer)


#: a + b and a - b saturated to the type's range; min and max
sat_add = _llvm_binary("sadd.sat")
sat_sub = _llvm_binary("ssub.sat")
imin = _llvm_binary("smin")
imax = _llvm_binary("smax")


@intrinsic
def ixor(typingctx, a, b):
    """a ^ b at the arguments' width."""
    if not _narrow(a, b):
        return None

    def codegen(context, builder, signature, args):
        return builder.xor(args[0], args[1])

    return a(a, b), codegen


@intrinsic
def iand(typingctx, a, b):
    """a & b at the arguments' width."""
    if not _narrow(a, b):
        return None

    def codegen(context, builder, signature, args):
        return builder.and_(args[0], args[1])

    return a(a, b), codegen


@intrinsic
def iabs(typingctx, a):
    """|a| for a > the type's minimum (callers keep -128 / -32768 out)."""
    if not _narrow(a):
        return None

    def codegen(context, builder, signature, args):
        ty = args[0].type
        fn = builder.module.declare_intrinsic("llvm.abs", [ty], fnty=ir.FunctionType(ty, [ty, ir.IntType(1)]))
        return builder.call(fn, [args[0], ir.Constant(ir.IntType(1), 0)])

    return a(a), codegen


@intrinsic
def ineg(typingctx, a):
    """-a at a's width (callers keep the type's minimum out)."""
    if not _narrow(a):
        return None

    def codegen(context, builder, signature, args):
        return builder.neg(args[0])

    return a(a), codegen


@intrinsic
def isneg(typingctx, a):
    """a < 0."""
    if not _narrow(a):
        return None

    def codegen(context, builder, signature, args):
        return builder.icmp_signed("<", args[0], ir.Constant(args[0].type, 0))

    return types.boolean(a), codegen


@intrinsic
def ieq(typingctx, a, b):
    """a == b."""
    if not _narrow(a, b):
        return None

    def codegen(context, builder, signature, args):
        return builder.icmp_signed("==", args[0], args[1])

    return types.boolean(a, b), codegen


#: fractional bits of the fixed-point min-sum scale factor (:func:`scaled`)
SCALE_BITS = 5


@intrinsic
def scaled(typingctx, a, num):
    """floor(a * num / 2^SCALE_BITS) for 0 <= a and 0 <= num <= 2^SCALE_BITS, computed at
    twice a's width: a normalised min-sum magnitude, num = round(scale 2^SCALE_BITS).
    Rounding down (rather than to nearest) acts as a small offset as well, which
    decodes better in fixed point (measured: frame-error rates at or below float32's)."""
    if not _narrow(a, num):
        return None

    def codegen(context, builder, signature, args):
        ty = args[0].type
        wide = ir.IntType(2 * ty.width)
        prod = builder.mul(builder.sext(args[0], wide), builder.sext(args[1], wide))
        return builder.trunc(builder.ashr(prod, ir.Constant(wide, SCALE_BITS)), ty)

    return a(a, num), codegen


#: lanes per variable that sign_bits reads, by dtype (bp_lanes checks its lane counts against it)
SIGN_LANES = {types.float32: 16, types.int8: 32, types.int16: 16}


@intrinsic
def sign_bits(typingctx, arr, start):
    """Bit ``i`` set iff ``arr[start + i] < 0``, for the lanes at ``arr[start:]`` (16 float32,
    16 int16 or 32 int8: the lane counts of :mod:`edgefl.coding.bp_lanes`): one vector
    compare and a mask move, the hard decisions of all lanes of one variable as a uint64."""
    if not (isinstance(arr, types.Array) and arr.ndim == 1 and arr.layout == "C" and arr.dtype in SIGN_LANES):
        return None
    if not isinstance(start, types.Integer):
        return None
    lanes = SIGN_LANES[arr.dtype]
    is_float = arr.dtype == types.float32

    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        elty = context.get_data_type(signature.args[0].dtype)
        vecty = ir.VectorType(elty, lanes)
        ptr = builder.gep(ary.data, [args[1]])
        vec = builder.load(builder.bitcast(ptr, vecty.as_pointer()), align=1)
        zero = ir.Constant(vecty, None)
        neg = builder.fcmp_ordered("<", vec, zero) if is_float else builder.icmp_signed("<", vec, zero)
        return builder.zext(builder.bitcast(neg, ir.IntType(lanes)), ir.IntType(64))

    return types.uint64(arr, start), codegen
