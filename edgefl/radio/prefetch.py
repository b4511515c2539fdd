"""A cache prefetch hint callable from numba-compiled code (``llvm.prefetch``).

The compiled upload kernels read one fading draw per pass from a (workers x draws) buffer of tens
of megabytes, a row far from the previous one each time: in an event loop each such read waits for
memory on its own. Hinting every row's next draws before the loop lets the memory system fetch
them side by side. A prefetch changes no value (it only moves data into the cache), so the
kernels' numbers do not depend on it.
"""

from __future__ import annotations

from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic


def _codegen(context, builder, signature, args):
    """llvm.prefetch(&arr[idx...], read, high temporal locality, data cache)."""
    aty = signature.args[0]
    ary = context.make_array(aty)(context, builder, args[0])
    idx = [context.cast(builder, v, t, types.intp) for v, t in zip(args[1:], signature.args[1:])]
    ptr = cgutils.get_item_pointer(context, builder, aty, ary, idx, wraparound=False)
    i8p = ir.IntType(8).as_pointer()
    i32 = ir.IntType(32)
    fn = builder.module.declare_intrinsic("llvm.prefetch", [i8p], ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]))
    builder.call(fn, [builder.bitcast(ptr, i8p), ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])
    return context.get_dummy_value()


@intrinsic
def prefetch1(typingctx, arr, i):  # noqa: ARG001 (numba passes the typing context)
    """Hint that ``arr[i]`` (a 1-D array, in-bounds index) will be read soon (compiled code only)."""
    if not (isinstance(arr, types.Array) and arr.ndim == 1 and isinstance(i, types.Integer)):
        return None
    return types.void(arr, i), _codegen


@intrinsic
def prefetch2(typingctx, arr, i, j):  # noqa: ARG001 (numba passes the typing context)
    """Hint that ``arr[i, j]`` (a 2-D array, in-bounds indices) will be read soon (compiled code only)."""
    if not (isinstance(arr, types.Array) and arr.ndim == 2 and isinstance(i, types.Integer)
            and isinstance(j, types.Integer)):
        return None
    return types.void(arr, i, j), _codegen
