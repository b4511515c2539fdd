"""scipy's Bessel J0 (and a fused multiply-add) callable from numba-compiled code, bit for bit the
value ``scipy.special.j0`` gives.

The Gauss-Markov fading state (:mod:`edgefl.radio.fading`) is advanced with rho = J0(2 pi f_d dt)
(Clarke/Jakes; Goldsmith, *Wireless Communications*, Sec. 3.2.1). The compiled upload kernels must
use the very function the Python streams use, so they call scipy's own C implementation (exported
by ``scipy.special.cython_special``) through a named symbol registered with LLVM at import. A
named symbol, not a baked-in address, keeps the kernels cacheable across processes.
"""

from __future__ import annotations

import llvmlite.binding as llb
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import get_cython_function_address, intrinsic

_SYMBOL = "edgefl_scipy_cython_special_j0"
llb.add_symbol(_SYMBOL, get_cython_function_address("scipy.special.cython_special", "j0"))


@intrinsic
def j0(typingctx, x):  # noqa: ARG001 (numba passes the typing context)
    """J0(x) for a float64 x (compiled code only): ``double j0(double, int skip_dispatch)`` of
    scipy.special.cython_special."""
    if not isinstance(x, types.Float):
        return None
    sig = types.float64(types.float64)

    def codegen(context, builder, signature, args):
        fnty = ir.FunctionType(ir.DoubleType(), [ir.DoubleType(), ir.IntType(32)])
        fn = cgutils.get_or_insert_function(builder.module, fnty, _SYMBOL)
        val = context.cast(builder, args[0], signature.args[0], types.float64)
        return builder.call(fn, [val, ir.Constant(ir.IntType(32), 0)])

    return sig, codegen


@intrinsic
def fma(typingctx, a, b, c):  # noqa: ARG001 (numba passes the typing context)
    """a b + c rounded once (llvm.fma; compiled code only)."""
    if not all(isinstance(v, types.Float) for v in (a, b, c)):
        return None
    sig = types.float64(types.float64, types.float64, types.float64)

    def codegen(context, builder, signature, args):
        d = ir.DoubleType()
        fn = builder.module.declare_intrinsic("llvm.fma", [d], ir.FunctionType(d, [d, d, d]))
        vals = [context.cast(builder, v, t, types.float64) for v, t in zip(args, signature.args)]
        return builder.call(fn, vals)

    return sig, codegen
