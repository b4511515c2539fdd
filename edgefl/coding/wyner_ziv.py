"""Successive Wyner-Ziv coding of K quantised gradients (DSC paper Algorithm 1, Fig. 2-3).

Workers are coded in the given upload order. Position 1 has no side information (its
bit-planes are coded against their prior only, the entropy-coding rate of eq. 35;
planes whose rate rounds up to 1 go uncoded); positions 2..K use the workers decoded
before them. Each worker's bit-planes are coded from the least significant up
(eq. 33-34): bit-plane i is split into frames of ``n`` bits, each frame is compressed
to the syndrome of the LDPC code at the announced rate (eq. 36), and the server
decodes all frames of the plane in one batched BP call with the LLRs of eq. (47).

Failures (syndrome not satisfied after ``max_iter``) are detected and handled either by
``"retry"``: rate-adaptive retransmission, the worker sends the extra syndrome bits of
the next nested LDPCA code (``retry_step`` higher) and the server decodes again, until
success or the last rate below 1, then the frame goes uncoded; or ``"uncoded"``: the
frame is resent uncoded at once. A satisfied syndrome can still be the wrong member of
the coset (low-weight codewords of short LDPC codes): each frame therefore also carries
``check_bits`` bits of a random check hash (the CRC of LDPCA practice), counted in the
upload; a decode whose hash disagrees counts as a failure. Frames that pass both checks
with wrong bits are counted as undetected errors and their wrong bits are used (as a
real server would). The per-plane retry loop is
:func:`edgefl.coding.slepian_wolf.sw_decode_adaptive`.

``mode="analytic"`` skips decoding: the same rates and bit counts (no failures), the
true indices are returned.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edgefl.coding.ldpc import code_at_step, grid_index, rate_grid
from edgefl.coding.slepian_wolf import sw_decode_adaptive
from edgefl.coding.llr import LLR_MAX, SideInformationPosterior, bitplane_llr
from edgefl.coding.quantizer import UniformQuantizer, to_bitplanes
from edgefl.coding.statistics import GradientStatistics

#: nested LDPCA codes: a retry uploads only the extra syndrome bits
FAMILY = "ldpca"

MODES = ("bit-true", "analytic")
FAILURE_MODES = ("retry", "uncoded")


@dataclass
class WynerZivResult:
    """Decoded indices and bit counts of one round (arrays indexed by worker)."""

    index: np.ndarray  # (K, P) decoded quantisation indices
    upload_bits: np.ndarray  # (K,) syndrome + retry + uncoded bits
    decode_bits: np.ndarray  # (K,) coded bits run through the BP decoder (n per frame per BP pass)
    decode_failures: int = 0  # frames whose first decoding attempt failed (detected)
    undetected_errors: int = 0  # frames accepted with a satisfied syndrome but wrong bits
    retries: int = 0  # rate-adaptive retransmission requests (frames x attempts)
    uncoded_frames: int = 0  # frames that ended up sent uncoded after failing
    planes: list[dict[str, Any]] = field(default_factory=list)


def _frames(plane: np.ndarray, n: int, pad_value: float) -> np.ndarray:
    F = -(-plane.size // n)
    out = np.full(F * n, pad_value, dtype=plane.dtype)
    out[: plane.size] = plane
    return out.reshape(F, n)


def successive_wyner_ziv(
    index: np.ndarray,
    order: np.ndarray,
    quantizer: UniformQuantizer,
    rates: np.ndarray,
    stats: GradientStatistics,
    scales: np.ndarray | None = None,
    mode: str = "bit-true",
    block_length: int = 2400,
    max_iter: int = 100,
    algorithm: str = "sum-product",
    guesses: int = 0,
    failure: str = "retry",
    retry_step: float = 0.02,
    code_seed: int = 0,
    check_bits: int = 16,
) -> WynerZivResult:
    """Code and decode the (K, P) quantisation ``index`` in upload ``order``.

    ``rates`` (K, m) are the announced rates by position (row 0 = first uploader,
    column i-1 = bit-plane i), ``stats`` the server's gradient statistics (absolute
    units, used for the LLRs), ``scales`` (K,) each worker's quantiser scale.
    ``max_iter``, ``algorithm`` and ``guesses`` configure the BP decoder
    (:func:`edgefl.coding.bp_decoder.decode_syndrome`).
    """
    index = np.asarray(index)
    K, P = index.shape if index.ndim == 2 else (0, 0)
    m = quantizer.bits
    if index.ndim != 2 or K < 1 or P < 1:
        raise ValueError(f"index must be a non-empty (K, P) array, got shape {index.shape}")
    order = np.asarray(order)
    if sorted(order.tolist()) != list(range(K)):
        raise ValueError(f"order must be a permutation of 0..{K - 1}, got {order.tolist()}")
    rates = np.asarray(rates, dtype=np.float64)
    if rates.shape != (K, m) or np.any(~np.isfinite(rates)) or np.any(rates < 0):
        raise ValueError(f"rates must be a ({K}, {m}) array of finite values >= 0, got shape {rates.shape}")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if failure not in FAILURE_MODES:
        raise ValueError(f"failure must be one of {FAILURE_MODES}, got {failure!r}")
    if not (isinstance(check_bits, (int, np.integer)) and 0 <= check_bits <= 64):
        raise ValueError(f"check_bits must be an integer in [0, 64], got {check_bits!r}")
    if not 0 < retry_step <= 1:
        raise ValueError(f"retry_step must be in (0, 1], got {retry_step!r}")
    scales = np.ones(K) if scales is None else np.broadcast_to(np.asarray(scales, dtype=np.float64), (K,))

    n = int(block_length)
    steps = rate_grid(n, FAMILY).size
    k_step = max(1, int(round(retry_step * steps)))
    F = -(-P // n)
    res = WynerZivResult(index=index.copy(), upload_bits=np.zeros(K), decode_bits=np.zeros(K))
    posterior = SideInformationPosterior(quantizer, stats, P) if mode == "bit-true" else None
    truth_planes = to_bitplanes(index, m)  # (m, K, P)

    for pos, w in enumerate(order):
        w = int(w)
        post = posterior.posterior(scales[w]) if posterior is not None else None
        lower = np.zeros(P, dtype=np.int64)  # decoded value of planes < i
        for i in range(1, m + 1):
            truth = truth_planes[i - 1, w]
            rate = float(rates[pos, i - 1])
            k = grid_index(min(max(rate, 1.0 / steps), 1.0), n, FAMILY)
            rec = {"position": pos + 1, "worker": w, "plane": i, "rate": rate}
            code = code_at_step(k, n, code_seed, FAMILY) if k < steps else None
            # a partial last frame goes uncoded when its syndrome would cost more than its bits
            tail = P - (F - 1) * n
            Fc = F if code is not None and (tail == n or code.m + check_bits < tail) else F - 1
            Fc = Fc if code is not None else 0
            Pc = min(P, Fc * n)  # coordinates covered by coded frames
            res.upload_bits[w] += P - Pc
            rec.update(code_rate=1.0 if code is None else code.rate, coded=Fc > 0, frames=Fc)
            decoded = truth
            if Fc > 0:
                res.upload_bits[w] += Fc * (code.m + check_bits)
                res.decode_bits[w] += Fc * n
                if mode == "bit-true":
                    decoded = truth.copy()
                    decoded[:Pc] = _decode_plane(res, w, truth[:Pc], post[:Pc], lower[:Pc], i, k, steps, k_step,
                                                 n, Fc, Pc, dict(max_iter=max_iter, algorithm=algorithm, guesses=guesses),
                                                 failure, code_seed, check_bits,
                                                 rec)
            res.index[w] ^= (decoded.astype(np.int64) ^ truth.astype(np.int64)) << (i - 1)
            lower |= decoded.astype(np.int64) << (i - 1)
            res.planes.append(rec)
        if posterior is not None and pos < K - 1:
            posterior.add(res.index[w], scales[w])
    return res


def _decode_plane(res, w, truth, post, lower, i, k, steps, k_step, n, F, P, decoder, failure,
                  code_seed, check_bits, rec) -> np.ndarray:
    """BP-decode one bit-plane of one worker (all frames batched) with retries or uncoded fallback.

    The first attempt's syndrome and hash bits are already in ``res.upload_bits``; this
    adds the retry increments, the uncoded fallbacks and the extra decoder passes.
    """
    llr = _frames(bitplane_llr(post, lower, i), n, LLR_MAX)
    bits = _frames(truth, n, 0)
    # retries climb in k_step grid steps but stop short of rate 1 (then uncoded is cheaper)
    max_retries = 0 if failure == "uncoded" else max(0, (steps - 1 - k) // k_step)
    out, sent, _ = sw_decode_adaptive(bits, llr, k / steps, step=k_step, max_retries=max_retries,
                                      fallback="uncoded", hash_bits=check_bits, seed=code_seed,
                                      family=FAMILY, **decoder)
    first = code_at_step(k, n, code_seed, FAMILY).m + check_bits
    extra = sent - first
    pad = F * n - P
    if pad and out.uncoded[-1]:
        extra[-1] -= pad  # the padding of a partial last frame is not resent
    res.upload_bits[w] += float(extra.sum())
    res.decode_bits[w] += float(n * (out.passes.sum() - F))  # retries and pinned-bit passes
    failed = (out.attempts > 1) | out.uncoded
    res.decode_failures += int(failed.sum())
    res.retries += int((out.attempts - 1).sum())
    res.uncoded_frames += int(out.uncoded.sum())
    res.undetected_errors += int(out.undetected.sum())
    rec.update(failures=int(failed.sum()), retries=int((out.attempts - 1).sum()),
               undetected=int(out.undetected.sum()))
    return out.bits.reshape(-1)[:P]
