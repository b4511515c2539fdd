"""Lane-parallel layered syndrome BP: ``LANES`` frames decoded side by side in float32.

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
"""

from __future__ import annotations

import contextlib
import threading

import numba
import numpy as np
from numba import njit, prange

from edgefl.coding._bp_lanes_kernels import LANES, LLR_MAX, minsum_layer, sumproduct_layer

_LLR_MAX32 = np.float32(LLR_MAX)


@njit(cache=True)
def _idle_lane(lane, post, c2v, sgn, hard, parity):
    """A lane without a frame: a satisfied all-zero frame whose messages stay finite."""
    for v in range(post.size // LANES):
        post[v * LANES + lane] = _LLR_MAX32
        hard[v * LANES + lane] = 0
    for e in range(c2v.size // LANES):
        c2v[e * LANES + lane] = 0.0
    for c in range(sgn.size // LANES):
        sgn[c * LANES + lane] = 1.0
        parity[c * LANES + lane] = 0


@njit(cache=True)
def _load_lane(lane, f, chk_ptr, edge_var, synd, llr, post, c2v, sgn, hard, parity):
    """Put frame f in lane; returns its count of unsatisfied checks before any iteration."""
    row = llr[f]
    for v in range(row.size):
        post[v * LANES + lane] = row[v]
        hard[v * LANES + lane] = 1 if row[v] < 0.0 else 0
    for e in range(edge_var.size):
        c2v[e * LANES + lane] = 0.0
    unsat = 0
    for c in range(chk_ptr.size - 1):
        par = synd[f, c]
        for e in range(chk_ptr[c], chk_ptr[c + 1]):
            par ^= 1 if row[edge_var[e]] < 0.0 else 0
        parity[c * LANES + lane] = par
        sgn[c * LANES + lane] = -1.0 if synd[f, c] else 1.0
        unsat += par
    return unsat


@njit(cache=True)
def _finish(lane, f, ok, it, hard, bits_out, success, iters):
    for v in range(bits_out.shape[1]):
        bits_out[f, v] = hard[v * LANES + lane]
    success[f] = ok
    iters[f] = it


@njit(cache=True)
def _update_hard(n, var_ptr, var_edges, edge_chk, post, hard, parity, unsat):
    """Incremental syndrome test: only flipped hard decisions touch their checks' parity."""
    for v in range(n):
        vb = v * LANES
        changed = 0
        for lane in range(LANES):
            changed |= (1 if post[vb + lane] < 0.0 else 0) ^ hard[vb + lane]
        if changed == 0:
            continue
        for lane in range(LANES):
            h = 1 if post[vb + lane] < 0.0 else 0
            if h != hard[vb + lane]:
                hard[vb + lane] = h
                for j in range(var_ptr[v], var_ptr[v + 1]):
                    cb = edge_chk[var_edges[j]] * LANES + lane
                    parity[cb] ^= 1
                    unsat[lane] += 1 if parity[cb] else -1


@njit(cache=True)
def _decode_group(chk_ptr, edge_var, edge_chk, var_ptr, var_edges, synd, llr, first, last,
                  max_iter, minsum, scale, bits_out, success, iters, max_deg):
    """Decode frames first..last-1 with LANES frames in flight; results go to frame rows."""
    n = llr.shape[1]
    m = chk_ptr.size - 1
    post = np.empty(n * LANES, dtype=np.float32)
    c2v = np.zeros(edge_var.size * LANES, dtype=np.float32)
    sgn = np.ones(m * LANES, dtype=np.float32)
    hard = np.zeros(n * LANES, dtype=np.uint8)
    parity = np.zeros(m * LANES, dtype=np.uint8)
    t = np.empty(max_deg * LANES, dtype=np.float32)
    th = np.empty(max_deg * LANES, dtype=np.float32)
    fwd = np.empty(max_deg * LANES, dtype=np.float32)
    unsat = np.zeros(LANES, dtype=np.int64)
    lane_frame = np.full(LANES, -1, dtype=np.int64)
    lane_it = np.zeros(LANES, dtype=np.int64)
    scale32 = np.float32(scale)
    nxt = first
    active = 0
    idle = np.zeros(LANES, dtype=np.bool_)
    while True:
        # (re)fill free lanes; frames already satisfied before iterating finish here
        for lane in range(LANES):
            if lane_frame[lane] >= 0:
                continue
            while nxt < last:
                f = nxt
                nxt += 1
                u = _load_lane(lane, f, chk_ptr, edge_var, synd, llr, post, c2v, sgn, hard, parity)
                if u == 0 or max_iter == 0:
                    _finish(lane, f, u == 0, 0, hard, bits_out, success, iters)
                else:
                    lane_frame[lane] = f
                    lane_it[lane] = 0
                    unsat[lane] = u
                    active += 1
                    break
            if lane_frame[lane] < 0 and not idle[lane]:
                _idle_lane(lane, post, c2v, sgn, hard, parity)
                idle[lane] = True
        if active == 0:
            break
        for c in range(m):
            e0 = chk_ptr[c]
            if minsum:
                minsum_layer(c, e0, chk_ptr[c + 1] - e0, edge_var, post, c2v, sgn, t, scale32)
            else:
                sumproduct_layer(c, e0, chk_ptr[c + 1] - e0, edge_var, post, c2v, sgn, t, th, fwd)
        _update_hard(n, var_ptr, var_edges, edge_chk, post, hard, parity, unsat)
        for lane in range(LANES):
            f = lane_frame[lane]
            if f < 0:
                continue
            lane_it[lane] += 1
            if unsat[lane] == 0 or lane_it[lane] >= max_iter:
                _finish(lane, f, unsat[lane] == 0, lane_it[lane], hard, bits_out, success, iters)
                lane_frame[lane] = -1
                active -= 1


@njit(cache=True, parallel=True)
def _decode_groups_parallel(chk_ptr, edge_var, edge_chk, var_ptr, var_edges, synd, llr, bounds,
                            max_iter, minsum, scale, bits_out, success, iters, max_deg):
    for g in prange(bounds.size - 1):
        _decode_group(chk_ptr, edge_var, edge_chk, var_ptr, var_edges, synd, llr, bounds[g],
                      bounds[g + 1], max_iter, minsum, scale, bits_out, success, iters, max_deg)


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


def _run(kernel, *args) -> None:
    # only the first call compiles (or loads the cache): later calls skip the lock
    if kernel.signatures:
        kernel(*args)
        return
    with slp_compile():
        kernel(*args)


def decode_lanes(code, synd: np.ndarray, llr: np.ndarray, max_iter: int, minsum: bool, scale: float,
                 bits: np.ndarray, success: np.ndarray, iters: np.ndarray, threads: int) -> None:
    """Layered BP of all frames into ``bits`` / ``success`` / ``iters`` (validated inputs).

    ``llr`` (F, n) comes clipped to +-LLR_MAX (by :func:`edgefl.coding.bp_decoder.decode_syndrome`) and is cast to
    float32 here; frames are split into up to ``threads`` contiguous groups of at least
    LANES frames, one lane engine each.
    """
    llr32 = llr.astype(np.float32)
    frames = synd.shape[0]
    max_deg = int(np.diff(code.chk_ptr).max()) if code.m else 1
    groups = max(1, min(int(threads), frames // LANES))
    bounds = np.linspace(0, frames, groups + 1).round().astype(np.int64)
    args = (code.chk_ptr, code.edge_var, code.edge_chk, code.var_ptr, code.var_edges, synd, llr32)
    tail = (int(max_iter), bool(minsum), float(scale), bits, success, iters, max_deg)
    if groups == 1:
        _run(_decode_group, *args, 0, frames, *tail)
    else:
        _run(_decode_groups_parallel, *args, bounds, *tail)
