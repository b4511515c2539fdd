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

Two schedules: ``"layered"`` (default; serial over checks, each check update
immediately refreshes the posteriors; about half the iterations of flooding for
the same frame-error rate) and ``"flooding"`` (all checks, then all variables).
The syndrome test after each iteration is incremental (only flipped hard
decisions touch their checks' parities).

Two implementations: ``"lanes"`` (:mod:`edgefl.coding.bp_lanes`, layered only):
sixteen frames side by side in float32 SIMD lanes, each with its own early stop,
5-10x faster than ``"scalar"`` (min-sum also in saturated int8 / int16 fixed point,
``arithmetic``: 32 / 16 lanes, faster again, same frame-error rate within noise but
not bit-identical); ``"scalar"`` (this module, both schedules): one frame at a time
in float64, the reference the lane decoder is tested against.
``"auto"`` (default) takes lanes for the layered schedule.  Frames are decoded
in parallel over numba threads, or in a plain loop when numba has one thread;
results do not depend on the thread count or on the other frames in the batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
from numba import njit, prange

from edgefl.coding.augmented_bp import augment
from edgefl.coding.bp_lanes import ARITHMETICS, LLR_MAX, decode_lanes
from edgefl.coding.ldpc import LDPCCode, check_bits

#: channel LLRs are clipped to +-LLR_MAX and sum-product messages to about the same
#: bound (tanh rule argument kept below tanh(LLR_MAX / 2)), so nothing overflows;
#: min-sum messages are bounded by their inputs
_TANH_MAX = np.tanh(LLR_MAX / 2.0)
ALGORITHMS = ("sum-product", "min-sum")
SCHEDULES = ("layered", "flooding")
IMPLEMENTATIONS = ("auto", "lanes", "scalar")


@dataclass
class DecodeResult:
    """Decoded bits (F, n) uint8, syndrome satisfied (F,) bool, BP iterations used (F,) int,
    and BP passes run (F,) int: 1, plus the pinned-bit retries of augmented BP."""

    bits: np.ndarray
    success: np.ndarray
    iterations: np.ndarray
    passes: np.ndarray


@njit(cache=True, inline="always")
def _two_minima(t, deg, flip):
    """Smallest and second smallest |t[:deg]|, and whether the message sign product is negative."""
    # branch-free; ties give min2 == min1, so comparing a magnitude with min1 in
    # _minsum_message is exact
    min1 = np.inf
    min2 = np.inf
    neg = flip
    for i in range(deg):
        a = abs(t[i])
        neg ^= t[i] < 0.0
        min2 = min(min2, max(min1, a))
        min1 = min(min1, a)
    return min1, min2, neg


@njit(cache=True, inline="always")
def _minsum_message(x, min1, min2, neg, scale):
    """Normalised min-sum message to the edge whose input was x."""
    mag = scale * (min2 if abs(x) == min1 else min1)
    return -mag if neg ^ (x < 0.0) else mag


@njit(cache=True, inline="always")
def _sumproduct_check(t, out, deg, flip, th):
    """Sum-product (tanh rule) messages out[:deg] of one check from its inputs t[:deg]."""
    # forward products in out, backward product in a scalar: no division, so zero
    # and tiny tanh values stay exact
    # tanh(x/2) = 1 - 2/(e^x + 1) and 2 atanh(p) = log((1+p)/(1-p)) use the fast
    # exp/log intrinsics; e^x overflowing to inf still gives exactly +-1
    acc = -1.0 if flip else 1.0
    for i in range(deg):
        th[i] = 1.0 - 2.0 / (np.exp(t[i]) + 1.0)
        out[i] = acc
        acc *= th[i]
    bwd = 1.0
    for i in range(deg - 1, -1, -1):
        p = min(max(out[i] * bwd, -_TANH_MAX), _TANH_MAX)
        out[i] = np.log((1.0 + p) / (1.0 - p))
        bwd *= th[i]


@njit(cache=True)
def _flip_hard(v, hard, parity, var_ptr, var_edges, edge_chk, unsat):
    """Flip hard decision of v; keep per-check parity (H b xor s) and its count of ones."""
    hard[v] ^= 1
    for j in range(var_ptr[v], var_ptr[v + 1]):
        c = edge_chk[var_edges[j]]
        parity[c] ^= 1
        unsat += 1 if parity[c] else -1
    return unsat


@njit(cache=True)
def _decode_frame(chk_ptr, edge_var, edge_chk, var_ptr, var_edges, synd, llr, max_iter, minsum,
                  scale, layered, hard, max_deg):
    """One frame; returns (success, iterations); hard receives the decoded bits.

    The syndrome test is incremental: only variables whose hard decision flips
    touch the parity of their checks, so early stopping costs O(flips), not O(E).
    """
    n = llr.size
    n_edges = edge_var.size
    m = chk_ptr.size - 1
    c2v = np.zeros(n_edges)
    post = llr.copy()
    t = np.empty(max_deg)
    out = np.empty(max_deg)
    th = np.empty(max_deg)
    parity = synd.copy()
    for v in range(n):
        hard[v] = 1 if post[v] < 0.0 else 0
    for c in range(m):
        for e in range(chk_ptr[c], chk_ptr[c + 1]):
            parity[c] ^= hard[edge_var[e]]
    unsat = 0
    for c in range(m):
        unsat += parity[c]
    if unsat == 0:
        return True, 0
    v2c = np.empty(0) if layered else np.empty(n_edges)
    if not layered:
        for e in range(n_edges):
            v2c[e] = post[edge_var[e]]
    for it in range(1, max_iter + 1):
        for c in range(m):
            e0 = chk_ptr[c]
            deg = chk_ptr[c + 1] - e0
            if layered and minsum:
                # hot path: messages and posteriors written in one pass
                for i in range(deg):
                    t[i] = post[edge_var[e0 + i]] - c2v[e0 + i]
                min1, min2, neg = _two_minima(t, deg, synd[c] != 0)
                for i in range(deg):
                    msg = _minsum_message(t[i], min1, min2, neg, scale)
                    c2v[e0 + i] = msg
                    # the posterior is not clipped: that would corrupt the next
                    # extrinsic value post - c2v (messages are bounded by the rules)
                    post[edge_var[e0 + i]] = t[i] + msg
                continue
            if layered:
                for i in range(deg):
                    t[i] = post[edge_var[e0 + i]] - c2v[e0 + i]
            else:
                for i in range(deg):
                    t[i] = v2c[e0 + i]
            if minsum:
                min1, min2, neg = _two_minima(t, deg, synd[c] != 0)
                for i in range(deg):
                    out[i] = _minsum_message(t[i], min1, min2, neg, scale)
            else:
                _sumproduct_check(t, out, deg, synd[c] != 0, th)
            for i in range(deg):
                c2v[e0 + i] = out[i]
            if layered:
                for i in range(deg):
                    post[edge_var[e0 + i]] = t[i] + out[i]
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
            if (post[v] < 0.0) != (hard[v] != 0):  # few flips after the first iterations
                unsat = _flip_hard(v, hard, parity, var_ptr, var_edges, edge_chk, unsat)
        if unsat == 0:
            return True, it
    return False, max_iter


@njit(cache=True, parallel=True)
def _decode_parallel(chk_ptr, edge_var, edge_chk, var_ptr, var_edges, synd, llr, max_iter, minsum,
                     scale, layered, bits_out, success, iters, max_deg):
    for f in prange(llr.shape[0]):
        ok, it = _decode_frame(chk_ptr, edge_var, edge_chk, var_ptr, var_edges, synd[f], llr[f],
                               max_iter, minsum, scale, layered, bits_out[f], max_deg)
        success[f] = ok
        iters[f] = it


@njit(cache=True)
def _decode_serial(chk_ptr, edge_var, edge_chk, var_ptr, var_edges, synd, llr, max_iter, minsum,
                   scale, layered, bits_out, success, iters, max_deg):
    # one thread: no parallel region, whose idle workers would spin and burn CPU
    for f in range(llr.shape[0]):
        ok, it = _decode_frame(chk_ptr, edge_var, edge_chk, var_ptr, var_edges, synd[f], llr[f],
                               max_iter, minsum, scale, layered, bits_out[f], max_deg)
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
                    schedule: str = "layered", implementation: str = "auto", guesses: int = 0,
                    arithmetic: str = "float") -> DecodeResult:
    """Decode F frames from their syndromes (F, m) and side-information LLRs (F, n).

    See the module docstring for the update rules and implementations; ``scale`` is
    the normalisation of min-sum (ignored by sum-product), ``max_iter`` the
    iteration cap per frame.  ``guesses > 0`` retries each failed frame with up to
    that many suspicious bits pinned in turn (augmented BP,
    :mod:`edgefl.coding.augmented_bp`); 0 is plain BP as in the paper.  ``arithmetic``
    ``"int8"`` / ``"int16"`` runs min-sum lanes in saturated fixed point
    (:mod:`edgefl.coding.bp_lanes`; faster, and not bit-identical to float32);
    ``"float"`` (default) is float32 lanes or the float64 scalar decoder.
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
    if implementation not in IMPLEMENTATIONS:
        raise ValueError(f"implementation must be one of {IMPLEMENTATIONS}, got {implementation!r}")
    if int(guesses) != guesses or not 0 <= guesses <= code.n:
        raise ValueError(f"guesses must be an integer in [0, n={code.n}], got {guesses!r}")
    if implementation == "lanes" and schedule != "layered":
        raise ValueError("implementation 'lanes' supports only schedule 'layered'")
    if arithmetic not in ARITHMETICS:
        raise ValueError(f"arithmetic must be one of {ARITHMETICS}, got {arithmetic!r}")
    if arithmetic != "float":
        if algorithm != "min-sum" or schedule != "layered" or implementation == "scalar":
            raise ValueError(f"arithmetic {arithmetic!r} needs algorithm 'min-sum', schedule 'layered' and the "
                             f"lanes implementation, got {algorithm!r}, {schedule!r}, {implementation!r}")
        if round(scale * 32) < 1:
            raise ValueError(f"scale must be >= 1/64 in fixed point (32nds), got {scale!r}")
    args = (int(max_iter), algorithm == "min-sum", float(scale), schedule, implementation, arithmetic)
    result = _decode(code, synd, llr, *args)
    if guesses:
        augment(code, synd, llr, result, int(guesses), LLR_MAX, lambda s, lr: _decode(code, s, lr, *args))
    return result


def _decode(code: LDPCCode, synd: np.ndarray, llr: np.ndarray, max_iter: int, min_sum: bool, scale: float,
            schedule: str, implementation: str, arithmetic: str = "float") -> DecodeResult:
    """Plain BP on validated inputs (see :func:`decode_syndrome`)."""
    frames = synd.shape[0]
    bits = np.zeros((frames, code.n), dtype=np.uint8)
    success = np.zeros(frames, dtype=np.bool_)
    iters = np.zeros(frames, dtype=np.int64)
    if implementation != "scalar" and schedule == "layered":
        decode_lanes(code, synd, llr, max_iter, min_sum, scale, bits, success, iters, numba.get_num_threads(),
                     arithmetic)
    else:
        max_deg = int(np.diff(code.chk_ptr).max()) if code.m else 1
        kernel = _decode_serial if frames == 1 or numba.get_num_threads() == 1 else _decode_parallel
        kernel(code.chk_ptr, code.edge_var, code.edge_chk, code.var_ptr, code.var_edges, synd, llr,
               max_iter, min_sum, scale, schedule == "layered", bits, success, iters, max_deg)
    return DecodeResult(bits=bits, success=success, iterations=iters, passes=np.ones(frames, dtype=np.int64))
