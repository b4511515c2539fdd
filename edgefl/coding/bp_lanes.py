"""Lane-parallel layered syndrome BP: frames decoded side by side in SIMD lanes.

Same message-passing rules as :mod:`edgefl.coding.bp_decoder` (DSC paper Section
IV-B; syndrome-flipped check updates of Liveris, Xiong and Georghiades 2002),
layered schedule, but the state of ``LANES`` independent frames is interleaved
per edge and per variable (``c2v[e, lane]``, ``post[v, lane]``), so every update
is one SIMD instruction over the lanes: the frame-interleaved layout of software
decoders such as AFF3CT (Cassagne et al., "Efficient implementation of LDPC
decoders on CPUs", 2016) and of GPU decoders.  Each lane runs its own frame with
its own early stop; a lane whose frame has satisfied its syndrome (or used
``max_iter`` iterations) is refilled at once with the next frame, so lanes stay
busy until the batch runs dry.  Lanes never interact, so a frame's result does not
depend on which lane or worker thread decoded it, or on the batch around it.

Numerics (float32): sum-product evaluates ``tanh(x/2) = (1 - e^-|x|) / (1 + e^-|x|)``
(sign restored) and ``2 atanh(p) = log((1 + p) / (1 - p))`` with the vectorisable
Cephes exp/log of :mod:`edgefl.coding.simd_math`; ``|p|`` is capped at the largest
float32 below 1, so sum-product messages saturate at about 17.3.  Min-sum messages
are capped at ``LLR_MAX`` (the channel LLR clip) so that posteriors of frames that
never converge stay finite over 100 iterations in float32.

Fixed point (``arithmetic="int8"`` / ``"int16"``, min-sum only; Cassagne et al. 2016
use 8-bit saturated messages the same way): LLRs are quantised to
``round(L 2^FRAC_BITS)`` (1/4 for int8, 1/256 for int16), a nonzero LLR to at least one
quantum so that hard decisions are those of the float LLRs; every message and posterior
saturates at +-127 (int8: +-31.75 in LLR units) or +-32767 (int16: +-128); the
normalisation multiplies by ``round(32 scale) / 32`` rounding down.  A sweep costs
about the same per edge for 32 int8, 16 int16 (one 256-bit register) or 16 float32
lanes (one AVX-512 register), and the fewer frames of a batch each engine holds in
flight, the fewer lanes idle at its end.  Results differ from float32 in some frames near
the threshold (the test compares frame-error rates), so float32 stays the default.

Early stopping keeps hard decisions and check parities as bit masks over the lanes
(:func:`_update_hard`): one vector compare gives a variable's decisions in every lane,
and a flipped decision costs one XOR per check for all lanes at once.
"""

from __future__ import annotations

import contextlib
import threading

import numba
import numpy as np
from numba import njit, prange, types
from numba.extending import overload

from edgefl.coding._bp_lanes_kernels import (LANES, LANES_INT8, LANES_INT16, LLR_MAX, minsum_sweep,
                                             minsum_sweep_int8, minsum_sweep_int16, sumproduct_sweep)
from edgefl.coding.simd_math import SCALE_BITS, SIGN_LANES, sign_bits

ARITHMETICS = ("float", "int8", "int16")
#: fixed point: lanes per group, LLR quantum 2^-FRAC_BITS, saturation bound
_FIXED = {"int8": (np.int8, LANES_INT8, 2, 127), "int16": (np.int16, LANES_INT16, 8, 32767)}
assert SIGN_LANES == {types.float32: LANES, types.int8: LANES_INT8, types.int16: LANES_INT16}, \
    "simd_math.SIGN_LANES must match the generated kernels' lane counts"


def lanes_of(arithmetic: str) -> int:
    """Frames per SIMD group of an arithmetic."""
    return LANES if arithmetic == "float" else _FIXED[arithmetic][1]


def quantize(llr: np.ndarray, arithmetic: str) -> np.ndarray:
    """LLRs in fixed point: ``round(|L| 2^FRAC_BITS)`` saturated, at least 1 for L != 0, sign kept."""
    dtype, _, frac, qmax = _FIXED[arithmetic]
    out = np.empty(llr.shape, dtype=dtype)
    _quantize(np.ascontiguousarray(llr, dtype=np.float64).reshape(-1), float(2.0**frac), float(qmax),
              out.reshape(-1))
    return out


@njit(cache=True)
def _quantize(llr, unit, qmax, out):
    for i in range(llr.size):
        mag = min(max(np.rint(abs(llr[i]) * unit), 1.0), qmax)
        out[i] = mag if llr[i] > 0 else (-mag if llr[i] < 0 else 0.0)


def scale_num(scale: float) -> int:
    """Fixed-point normalisation ``round(scale 2^SCALE_BITS)`` (the kernels' ``num``)."""
    return int(round(scale * 2**SCALE_BITS))


@njit(cache=True)
def _idle_lane(lane, post, c2v, sgn, parity, post_max, sgn_pos, lanes):
    """A lane without a frame: a satisfied all-zero frame whose messages stay finite."""
    clear = ~(np.uint64(1) << np.uint64(lane))
    for v in range(post.size // lanes):
        post[v * lanes + lane] = post_max
    for e in range(c2v.size // lanes):
        c2v[e * lanes + lane] = 0
    for c in range(sgn.size // lanes):
        sgn[c * lanes + lane] = sgn_pos
        parity[c] &= clear


@njit(cache=True)
def _initial_parity(chk_ptr, edge_var, synd, llr, first, last):
    """Parity (H z xor s) of the hard side information z of frames first..last-1, (F, m) uint8,
    and each frame's count of unsatisfied checks.  64 frames at a time: bit j of a uint64
    per variable holds frame j's decision (a vectorised pass per frame), so one XOR per
    edge serves 64 frames."""
    n = llr.shape[1]
    m = chk_ptr.size - 1
    frames = last - first
    par0 = np.zeros((frames, m), dtype=np.uint8)
    unsat0 = np.zeros(frames, dtype=np.int64)
    words = np.zeros(n, dtype=np.uint64)
    acc = np.zeros(m, dtype=np.uint64)
    one = np.uint64(1)
    zero = np.uint64(0)
    for blk in range(0, frames, 64):
        k = min(64, frames - blk)
        words[:] = 0
        for j in range(k):
            row = llr[first + blk + j]
            bit = one << np.uint64(j)
            for v in range(n):
                words[v] |= bit if row[v] < 0 else zero
        for c in range(m):
            x = zero
            for e in range(chk_ptr[c], chk_ptr[c + 1]):
                x ^= words[edge_var[e]]
            acc[c] = x
        for j in range(k):
            f = first + blk + j
            shift = np.uint64(j)
            out = par0[blk + j]
            for c in range(m):
                out[c] = np.uint8((acc[c] >> shift) & one) ^ synd[f, c]
            unsat0[blk + j] = out.sum()
    return par0, unsat0


@njit(cache=True)
def _load_lane(lane, row, synd_row, par_row, post, sgn, parity, keep, sgn_pos, sgn_neg):
    """Put a frame (its LLRs, syndrome and initial parity rows) in lane; its old messages
    are ignored by the next sweep (``keep[lane] = 0``) instead of being cleared, and its
    hard decisions are set by :func:`_refill` for all lanes at once."""
    lanes = keep.size
    bit = np.uint64(1) << np.uint64(lane)
    clear = ~bit
    zero = np.uint64(0)
    for v in range(row.size):
        post[v * lanes + lane] = row[v]
    for c in range(synd_row.size):
        parity[c] = (parity[c] & clear) | (bit if par_row[c] else zero)
        sgn[c * lanes + lane] = sgn_neg if synd_row[c] else sgn_pos
    keep[lane] = 0


@njit(cache=True)
def _update_hard(var_ptr, var_chk, post, hard, parity, lanes):
    """Incremental syndrome test: only flipped hard decisions touch their checks' parity.

    ``hard[v]`` and ``parity[c]`` are bit masks over the lanes, so a variable's hard
    decisions are one vector compare and mask move (:func:`sign_bits`), and its flips
    are XORed into its checks' parities for every lane at once.  Returns the OR of all
    parities: bit ``lane`` is set iff that lane still has an unsatisfied check."""
    for v in range(var_ptr.size - 1):
        h = sign_bits(post, v * lanes)
        x = h ^ hard[v]
        hard[v] = h
        # branch-free (x = 0 is a no-op): with 16-32 lanes most variables flip somewhere in the
        # first iterations, and a branch on x mispredicts more than the XORs cost
        for j in range(var_ptr[v], var_ptr[v + 1]):
            parity[var_chk[j]] ^= x
    unsat = np.uint64(0)
    for c in range(parity.size):
        unsat |= parity[c]
    return unsat


@njit(cache=True)
def _lanes_state(chk_ptr, edge_var, synd, llr, first, last, lanes):
    """Arrays of a lane engine shared by every arithmetic (hard decisions and check parities
    as lane bit masks, lane bookkeeping, the initial parities of its frames); cursor =
    [next frame, active lanes]."""
    n = llr.shape[1]
    m = chk_ptr.size - 1
    hard = np.zeros(n, dtype=np.uint64)
    parity = np.zeros(m, dtype=np.uint64)
    par0, unsat0 = _initial_parity(chk_ptr, edge_var, synd, llr, first, last)
    lane_frame = np.full(lanes, -1, dtype=np.int64)
    lane_it = np.zeros(lanes, dtype=np.int64)
    idle = np.zeros(lanes, dtype=np.bool_)
    cursor = np.array([first, 0], dtype=np.int64)
    return hard, parity, par0, unsat0, lane_frame, lane_it, idle, cursor


@njit(cache=True)
def _refill(first, last, max_iter, synd, llr, post, c2v, sgn, keep, hard, parity, par0, unsat0, lane_frame,
            lane_it, idle, cursor, bits_out, success, iters, post_max, sgn_pos, sgn_neg):
    """(Re)fill free lanes with the next frames; frames already satisfied before iterating
    finish here.  Returns the number of lanes with a frame."""
    lanes = keep.size
    n = llr.shape[1]
    loaded = False
    for lane in range(lanes):
        if lane_frame[lane] >= 0:
            continue
        while cursor[0] < last:
            f = cursor[0]
            cursor[0] += 1
            u = unsat0[f - first]
            if u == 0 or max_iter == 0:
                row = llr[f]
                for v in range(n):
                    bits_out[f, v] = 1 if row[v] < 0 else 0
                success[f] = u == 0
                iters[f] = 0
            else:
                _load_lane(lane, llr[f], synd[f], par0[f - first], post, sgn, parity, keep, sgn_pos, sgn_neg)
                loaded = True
                lane_frame[lane] = f
                lane_it[lane] = 0
                cursor[1] += 1
                break
        if lane_frame[lane] < 0 and not idle[lane]:
            _idle_lane(lane, post, c2v, sgn, parity, post_max, sgn_pos, lanes)
            idle[lane] = True
            loaded = True
    if loaded:  # the other lanes' decisions are those of their posteriors already
        for v in range(hard.size):
            hard[v] = sign_bits(post, v * lanes)
    return cursor[1]


@njit(cache=True)
def _after_sweep(var_ptr, var_chk, post, hard, parity, keep, keep_on, lane_frame, lane_it, cursor,
                 max_iter, bits_out, success, iters):
    """Syndrome test after a sweep; lanes whose frame is satisfied or out of iterations finish."""
    lanes = keep.size
    keep[:] = keep_on
    unsat = _update_hard(var_ptr, var_chk, post, hard, parity, lanes)
    n = bits_out.shape[1]
    for lane in range(lanes):
        f = lane_frame[lane]
        if f < 0:
            continue
        lane_it[lane] += 1
        shift = np.uint64(lane)
        ok = (unsat >> shift) & np.uint64(1) == 0
        if ok or lane_it[lane] >= max_iter:
            for v in range(n):
                bits_out[f, v] = (hard[v] >> shift) & np.uint64(1)
            success[f] = ok
            iters[f] = lane_it[lane]
            lane_frame[lane] = -1
            cursor[1] -= 1


@njit(cache=True)
def _decode_group(chk_ptr, edge_var, var_ptr, var_chk, synd, llr, first, last,
                  max_iter, minsum, scale, bits_out, success, iters, max_deg):
    """Decode frames first..last-1 in float32 with LANES frames in flight; results go to frame rows."""
    n = llr.shape[1]
    m = chk_ptr.size - 1
    post = np.empty(n * LANES, dtype=np.float32)
    c2v = np.zeros(edge_var.size * LANES, dtype=np.float32)
    sgn = np.ones(m * LANES, dtype=np.float32)
    keep = np.ones(LANES, dtype=np.float32)
    t = np.empty(max_deg * LANES, dtype=np.float32)
    th = np.empty(max_deg * LANES, dtype=np.float32)  # t, th, fwd: sum-product's scratch
    fwd = np.empty(max_deg * LANES, dtype=np.float32)
    scale32 = np.float32(scale)
    hard, parity, par0, unsat0, lane_frame, lane_it, idle, cursor = _lanes_state(
        chk_ptr, edge_var, synd, llr, first, last, LANES)
    while _refill(first, last, max_iter, synd, llr, post, c2v, sgn, keep, hard, parity, par0, unsat0,
                  lane_frame, lane_it, idle, cursor, bits_out, success, iters, np.float32(LLR_MAX),
                  np.float32(1.0), np.float32(-1.0)):
        if minsum:
            minsum_sweep(chk_ptr, edge_var, post, c2v, sgn, scale32, keep)
        else:
            sumproduct_sweep(chk_ptr, edge_var, post, c2v, sgn, t, th, fwd, keep)
        _after_sweep(var_ptr, var_chk, post, hard, parity, keep, np.float32(1.0), lane_frame, lane_it,
                     cursor, max_iter, bits_out, success, iters)


def _fixed_sweep(chk_ptr, edge_var, post, c2v, sgn, num, keep):
    """The fixed-point min-sum sweep of post's dtype (resolved when numba compiles)."""
    raise NotImplementedError("called only from numba code")


@overload(_fixed_sweep)
def _fixed_sweep_impl(chk_ptr, edge_var, post, c2v, sgn, num, keep):  # noqa: ARG001 (numba overload signature)
    kernel = {types.int8: minsum_sweep_int8, types.int16: minsum_sweep_int16}.get(post.dtype)
    if kernel is None:
        return None

    def impl(chk_ptr, edge_var, post, c2v, sgn, num, keep):
        kernel(chk_ptr, edge_var, post, c2v, sgn, num, keep)

    return impl


@njit(cache=True)
def _decode_group_fixed(chk_ptr, edge_var, var_ptr, var_chk, synd, q, first, last,
                        max_iter, num, bits_out, success, iters, lanes, qmax):
    """Min-sum in fixed point (q: quantised LLRs, int8 or int16) with ``lanes`` frames in flight."""
    n = q.shape[1]
    m = chk_ptr.size - 1
    zero = q.dtype.type(0)
    post = np.empty(n * lanes, dtype=q.dtype)
    c2v = np.zeros(edge_var.size * lanes, dtype=q.dtype)
    sgn = np.zeros(m * lanes, dtype=q.dtype)
    keep = np.full(lanes, -1, dtype=q.dtype)
    num_q = q.dtype.type(num)
    hard, parity, par0, unsat0, lane_frame, lane_it, idle, cursor = _lanes_state(
        chk_ptr, edge_var, synd, q, first, last, lanes)
    while _refill(first, last, max_iter, synd, q, post, c2v, sgn, keep, hard, parity, par0, unsat0,
                  lane_frame, lane_it, idle, cursor, bits_out, success, iters, q.dtype.type(qmax),
                  zero, q.dtype.type(-1)):
        _fixed_sweep(chk_ptr, edge_var, post, c2v, sgn, num_q, keep)
        _after_sweep(var_ptr, var_chk, post, hard, parity, keep, q.dtype.type(-1), lane_frame, lane_it,
                     cursor, max_iter, bits_out, success, iters)


@njit(cache=True, parallel=True)
def _decode_groups_parallel(chk_ptr, edge_var, var_ptr, var_chk, synd, llr, bounds,
                            max_iter, minsum, scale, bits_out, success, iters, max_deg):
    for g in prange(bounds.size - 1):
        _decode_group(chk_ptr, edge_var, var_ptr, var_chk, synd, llr, bounds[g], bounds[g + 1],
                      max_iter, minsum, scale, bits_out, success, iters, max_deg)


@njit(cache=True, parallel=True)
def _decode_groups_parallel_fixed(chk_ptr, edge_var, var_ptr, var_chk, synd, q, bounds,
                                  max_iter, num, bits_out, success, iters, lanes, qmax):
    for g in prange(bounds.size - 1):
        _decode_group_fixed(chk_ptr, edge_var, var_ptr, var_chk, synd, q, bounds[g], bounds[g + 1],
                            max_iter, num, bits_out, success, iters, lanes, qmax)


_SLP_LOCK = threading.Lock()


@contextlib.contextmanager
def slp_compile():
    """Compile numba functions first called inside this block with LLVM's SLP vectoriser.

    numba turns the SLP vectoriser off by default (``NUMBA_SLP_VECTORIZE``) and reads
    the setting each time it optimises a module, so switching it on around the first
    call vectorises exactly the kernels compiled then; cached compiled code keeps it.
    Without the setting (another numba version) the kernels still run, unvectorised.
    """
    with _SLP_LOCK:
        before = getattr(numba.config, "SLP_VECTORIZE", None)
        numba.config.SLP_VECTORIZE = 1
        try:
            yield
        finally:
            numba.config.SLP_VECTORIZE = before


_COMPILED: set = set()


def _run(kernel, *args) -> None:
    # the first call of each specialisation (here: the LLR dtype) compiles or loads the
    # cache under slp_compile; later calls skip the lock
    key = (kernel, args[5].dtype)
    if key in _COMPILED:
        kernel(*args)
        return
    with slp_compile():
        kernel(*args)
    _COMPILED.add(key)


def decode_lanes(code, synd: np.ndarray, llr: np.ndarray, max_iter: int, minsum: bool, scale: float,
                 bits: np.ndarray, success: np.ndarray, iters: np.ndarray, threads: int,
                 arithmetic: str = "float") -> None:
    """Layered BP of all frames into ``bits`` / ``success`` / ``iters`` (validated inputs).

    ``llr`` (F, n) comes clipped to +-LLR_MAX (by :func:`edgefl.coding.bp_decoder.decode_syndrome`) and is cast to
    float32 (or quantised, for a fixed-point ``arithmetic``, min-sum only) here; frames
    are split into up to ``threads`` contiguous groups of at least one lane group's
    frames, one lane engine each.
    """
    if arithmetic not in ARITHMETICS:
        raise ValueError(f"arithmetic must be one of {ARITHMETICS}, got {arithmetic!r}")
    if arithmetic != "float" and not minsum:
        raise ValueError(f"arithmetic {arithmetic!r} is implemented for min-sum only")
    lanes = lanes_of(arithmetic)
    frames = synd.shape[0]
    max_deg = int(np.diff(code.chk_ptr).max()) if code.m else 1
    groups = max(1, min(int(threads), frames // lanes))
    bounds = np.linspace(0, frames, groups + 1).round().astype(np.int64)
    var_chk = code.edge_chk[code.var_edges]  # checks of each variable, variable-major
    if arithmetic == "float":
        args = (code.chk_ptr, code.edge_var, code.var_ptr, var_chk, synd, llr.astype(np.float32))
        tail = (int(max_iter), bool(minsum), float(scale), bits, success, iters, max_deg)
        single, parallel = _decode_group, _decode_groups_parallel
    else:
        args = (code.chk_ptr, code.edge_var, code.var_ptr, var_chk, synd, quantize(llr, arithmetic))
        tail = (int(max_iter), scale_num(scale), bits, success, iters, lanes, _FIXED[arithmetic][3])
        single, parallel = _decode_group_fixed, _decode_groups_parallel_fixed
    if groups == 1:
        _run(single, *args, 0, frames, *tail)
    else:
        _run(parallel, *args, bounds, *tail)
