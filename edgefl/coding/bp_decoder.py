"""Syndrome belief-propagation decoder for Slepian-Wolf LDPC coding (numba).

DSC paper Section IV-B ("Decoder", after eq. 35): the source bit-plane ``b`` is
recovered from its syndrome ``s = H b`` and the side information's per-bit
log-likelihood ratios ``L_v = log P(b_v = 0 | side info) / P(b_v = 1 | side info)``
(eq. 47) by belief propagation; the paper runs at most 100 iterations.

Message passing is the usual LLR-domain BP of a channel decoder with one change,
the syndrome-flipped check update (Liveris, Xiong and Georghiades, IEEE Commun.
Lett. 6(10), 2002): the message from check ``c`` to variable ``v`` is

* sum-product:  ``m_cv = (-1)^{s_c} 2 atanh( prod_{u != v} tanh(m_uc / 2) )``
* normalised min-sum: ``m_cv = (-1)^{s_c} scale * prod_{u != v} sign(m_uc) * min_{u != v} |m_uc|``

and variables combine ``L_v + sum_c m_cv``.  The hard decision ``b_v = 1`` iff the
posterior is negative; a frame stops as soon as ``H b = s`` (``success``), so a
failure is always *detected*: ``success`` is False exactly when the returned bits
do not satisfy the syndrome.  (A satisfied syndrome can still be the wrong member
of the coset; compare with the truth to count such undetected errors.)

Two schedules: ``"layered"`` (serial over checks, each check update immediately
refreshes the posteriors; about half the iterations of flooding for the same
frame-error rate) and ``"flooding"`` (all checks, then all variables).  Frames
are decoded in parallel over numba threads (``prange``); results do not depend
on the thread count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from edgefl.coding.ldpc import LDPCCode, check_bits

#: messages are clipped to +-LLR_MAX so that tanh / atanh stay finite
LLR_MAX = 30.0
_TANH_MAX = np.tanh(LLR_MAX / 2.0)
ALGORITHMS = ("sum-product", "min-sum")
SCHEDULES = ("layered", "flooding")


@dataclass
class DecodeResult:
    """Decoded bits (F, n) uint8, syndrome satisfied (F,) bool, BP iterations used (F,) int."""

    bits: np.ndarray
    success: np.ndarray
    iterations: np.ndarray


@njit(cache=True, inline="always")
def _clip(x):
    if x > LLR_MAX:
        return LLR_MAX
    if x < -LLR_MAX:
        return -LLR_MAX
    return x


@njit(cache=True)
def _check_messages(msg_in, out, deg, flip, minsum, scale, fwd):
    """Extrinsic check-to-variable messages of one check from its inputs msg_in[:deg]."""
    if minsum:
        min1 = np.inf
        min2 = np.inf
        imin = 0
        neg = flip
        for i in range(deg):
            x = msg_in[i]
            a = abs(x)
            if x < 0.0:
                neg = not neg
            if a < min1:
                min2 = min1
                min1 = a
                imin = i
            elif a < min2:
                min2 = a
        for i in range(deg):
            mag = min2 if i == imin else min1
            sgn_neg = neg != (msg_in[i] < 0.0)
            out[i] = -scale * mag if sgn_neg else scale * mag
    else:
        # forward products in fwd, backward product carried in a scalar: no division,
        # so zeros and tiny tanh values are exact
        acc = -1.0 if flip else 1.0
        for i in range(deg):
            fwd[i] = acc
            acc *= np.tanh(0.5 * msg_in[i])
        bwd = 1.0
        for i in range(deg - 1, -1, -1):
            p = fwd[i] * bwd
            if p > _TANH_MAX:
                p = _TANH_MAX
            elif p < -_TANH_MAX:
                p = -_TANH_MAX
            out[i] = 2.0 * np.arctanh(p)
            bwd *= np.tanh(0.5 * msg_in[i])


@njit(cache=True)
def _syndrome_ok(chk_ptr, edge_var, synd, hard):
    m = chk_ptr.size - 1
    for c in range(m):
        par = synd[c]
        for e in range(chk_ptr[c], chk_ptr[c + 1]):
            par ^= hard[edge_var[e]]
        if par:
            return False
    return True


@njit(cache=True)
def _decode_frame(chk_ptr, edge_var, var_ptr, var_edges, synd, llr, max_iter, minsum, scale,
                  layered, bits_out, max_deg):
    n = llr.size
    n_edges = edge_var.size
    m = chk_ptr.size - 1
    c2v = np.zeros(n_edges)
    post = np.empty(n)
    buf_in = np.empty(max_deg)
    buf_out = np.empty(max_deg)
    fwd = np.empty(max_deg)
    for v in range(n):
        post[v] = _clip(llr[v])
        bits_out[v] = 1 if post[v] < 0.0 else 0
    if _syndrome_ok(chk_ptr, edge_var, synd, bits_out):
        return True, 0
    v2c = np.empty(0) if layered else np.empty(n_edges)
    if not layered:
        for e in range(n_edges):
            v2c[e] = post[edge_var[e]]
    for it in range(1, max_iter + 1):
        for c in range(m):
            e0 = chk_ptr[c]
            deg = chk_ptr[c + 1] - e0
            for i in range(deg):
                if layered:
                    buf_in[i] = post[edge_var[e0 + i]] - c2v[e0 + i]
                else:
                    buf_in[i] = v2c[e0 + i]
            _check_messages(buf_in, buf_out, deg, synd[c] != 0, minsum, scale, fwd)
            for i in range(deg):
                c2v[e0 + i] = _clip(buf_out[i])
                if layered:
                    # posterior is not clipped: clipping it would corrupt the extrinsic
                    # value post - c2v of the next update
                    post[edge_var[e0 + i]] = buf_in[i] + c2v[e0 + i]
        if not layered:
            for v in range(n):
                total = llr[v]
                for j in range(var_ptr[v], var_ptr[v + 1]):
                    total += c2v[var_edges[j]]
                post[v] = total
                for j in range(var_ptr[v], var_ptr[v + 1]):
                    e = var_edges[j]
                    v2c[e] = total - c2v[e]
        for v in range(n):
            bits_out[v] = 1 if post[v] < 0.0 else 0
        if _syndrome_ok(chk_ptr, edge_var, synd, bits_out):
            return True, it
    return False, max_iter


@njit(cache=True, parallel=True)
def _decode_batch(chk_ptr, edge_var, var_ptr, var_edges, synd, llr, max_iter, minsum, scale,
                  layered, bits_out, success, iters, max_deg):
    for f in prange(llr.shape[0]):
        ok, it = _decode_frame(chk_ptr, edge_var, var_ptr, var_edges, synd[f], llr[f], max_iter,
                               minsum, scale, layered, bits_out[f], max_deg)
        success[f] = ok
        iters[f] = it


def check_llr(llr: np.ndarray, frames: int, n: int) -> np.ndarray:
    """Validate (frames, n) real LLRs (no NaN; +-inf allowed) and return contiguous float64."""
    arr = np.asarray(llr)
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise ValueError(f"llr must be real-valued, got dtype {arr.dtype}")
    if arr.shape != (frames, n):
        raise ValueError(f"llr must have shape ({frames}, {n}) to match the syndromes and code, got {arr.shape}")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if np.isnan(arr).any():
        raise ValueError("llr contains NaN")
    return arr


def decode_syndrome(code: LDPCCode, syndromes: np.ndarray, llr: np.ndarray, max_iter: int = 100,
                    algorithm: str = "sum-product", scale: float = 0.75,
                    schedule: str = "layered") -> DecodeResult:
    """Decode F frames from their syndromes (F, m) and side-information LLRs (F, n).

    See the module docstring for the update rules; ``scale`` is the normalisation of
    min-sum (ignored by sum-product), ``max_iter`` the iteration cap per frame.
    """
    if not isinstance(code, LDPCCode):
        raise ValueError(f"code must be an LDPCCode, got {type(code).__name__}")
    synd = check_bits("syndromes", syndromes, code.m)
    # +-inf (certain bits) become +-LLR_MAX so that no inf - inf can appear
    llr = np.clip(check_llr(llr, synd.shape[0], code.n), -LLR_MAX, LLR_MAX)
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {ALGORITHMS}, got {algorithm!r}")
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
    if int(max_iter) != max_iter or max_iter < 0:
        raise ValueError(f"max_iter must be a non-negative integer, got {max_iter!r}")
    if not (np.isfinite(scale) and 0.0 < scale <= 1.0):
        raise ValueError(f"scale must be in (0, 1], got {scale!r}")
    frames = synd.shape[0]
    bits = np.zeros((frames, code.n), dtype=np.uint8)
    success = np.zeros(frames, dtype=np.bool_)
    iters = np.zeros(frames, dtype=np.int64)
    max_deg = int(np.diff(code.chk_ptr).max()) if code.m else 1
    _decode_batch(code.chk_ptr, code.edge_var, code.var_ptr, code.var_edges, synd, llr,
                  int(max_iter), algorithm == "min-sum", float(scale), schedule == "layered",
                  bits, success, iters, max_deg)
    return DecodeResult(bits=bits, success=success, iterations=iters)
