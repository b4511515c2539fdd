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
from edgefl.coding.wyner_ziv_options import WynerZivOptions

#: nested LDPCA codes: a retry uploads only the extra syndrome bits
FAMILY = "ldpca"

MODES = ("bit-true", "analytic")


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
    #: per worker, the server's work in decoding order: ("decode", coded bits, BP passes, BP
    #: iterations or -1 if not simulated) and ("retry", bits uploaded on request, frames asking, 0);
    #: the retry bits are part of ``upload_bits``, the decode bits sum to ``decode_bits``
    schedule: list[list[tuple[str, float, int, int]]] = field(default_factory=list)

    def add(self, worker: int, plane: PlaneDecode) -> None:
        """Count one decoded bit-plane of ``worker``."""
        self.upload_bits[worker] += plane.extra_upload_bits
        self.decode_bits[worker] += plane.extra_decode_bits
        self.schedule[worker].extend(plane.steps)
        self.decode_failures += plane.failures
        self.retries += plane.retries
        self.uncoded_frames += plane.uncoded
        self.undetected_errors += plane.undetected


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
    options: WynerZivOptions | None = None,
) -> WynerZivResult:
    """Code and decode the (K, P) quantisation ``index`` in upload ``order``.

    ``rates`` (K, m) are the announced rates by position (row 0 = first uploader,
    column i-1 = bit-plane i), ``stats`` the server's gradient statistics (absolute
    units, used for the LLRs), ``scales`` (K,) each worker's quantiser scale.
    ``options`` (validated when built) set the code, the BP decoder
    (:func:`edgefl.coding.bp_decoder.decode_syndrome`) and the failure handling.
    """
    opt = options if options is not None else WynerZivOptions()
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
    scales = np.ones(K) if scales is None else np.broadcast_to(np.asarray(scales, dtype=np.float64), (K,))

    n = int(opt.block_length)
    steps = rate_grid(n, FAMILY).size
    k_step = max(1, int(round(opt.retry_step * steps)))
    F = -(-P // n)
    res = WynerZivResult(index=index.copy(), upload_bits=np.zeros(K), decode_bits=np.zeros(K),
                         schedule=[[] for _ in range(K)])
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
            code = code_at_step(k, n, opt.code_seed, FAMILY) if k < steps else None
            # a partial last frame goes uncoded when its syndrome would cost more than its bits
            tail = P - (F - 1) * n
            Fc = F if code is not None and (tail == n or code.m + opt.check_bits < tail) else F - 1
            Fc = Fc if code is not None else 0
            Pc = min(P, Fc * n)  # coordinates covered by coded frames
            res.upload_bits[w] += P - Pc
            rec.update(code_rate=1.0 if code is None else code.rate, coded=Fc > 0, frames=Fc)
            decoded = truth
            if Fc > 0:
                res.upload_bits[w] += Fc * (code.m + opt.check_bits)
                res.decode_bits[w] += Fc * n
                if mode != "bit-true":
                    res.schedule[w].append(("decode", float(Fc * n), Fc, -1))
                else:
                    plane = _decode_plane(truth[:Pc], bitplane_llr(post[:Pc], lower[:Pc], i), k, steps, k_step, opt)
                    decoded = truth.copy()
                    decoded[:Pc] = plane.bits
                    res.add(w, plane)
                    rec.update(failures=plane.failures, retries=plane.retries, undetected=plane.undetected)
            res.index[w] ^= (decoded.astype(np.int64) ^ truth.astype(np.int64)) << (i - 1)
            lower |= decoded.astype(np.int64) << (i - 1)
            res.planes.append(rec)
        if posterior is not None and pos < K - 1:
            posterior.add(res.index[w], scales[w])
    return res


@dataclass(frozen=True)
class PlaneDecode:
    """Outcome of BP-decoding one bit-plane of one worker beyond its first syndrome."""

    bits: np.ndarray  # (P,) decoded bits
    extra_upload_bits: float  # retry increments and uncoded fallbacks
    extra_decode_bits: float  # retries and pinned-bit passes through the decoder
    failures: int  # frames whose first attempt failed
    retries: int
    uncoded: int
    undetected: int
    steps: tuple[tuple[str, float, int, int], ...] = ()  # schedule entries (WynerZivResult.schedule)


def _decode_plane(truth: np.ndarray, llr: np.ndarray, k: int, steps: int, k_step: int,
                  opt: WynerZivOptions) -> PlaneDecode:
    """BP-decode the frames of one bit-plane (all batched) with retries or uncoded fallback.

    ``truth`` (P,) are the encoder's bits (to form retry syndromes and count undetected
    errors), ``llr`` (P,) the decoder's eq. (47) LLRs, ``k`` the grid step of the first
    syndrome, whose bits the caller has already counted.
    """
    n = int(opt.block_length)
    P = truth.size
    F = -(-P // n)
    # retries climb in k_step grid steps but stop short of rate 1 (then uncoded is cheaper)
    max_retries = 0 if opt.failure == "uncoded" else max(0, (steps - 1 - k) // k_step)
    out, sent, _ = sw_decode_adaptive(_frames(truth, n, 0), _frames(llr, n, LLR_MAX), k / steps, step=k_step,
                                      max_retries=max_retries, fallback="uncoded", hash_bits=opt.check_bits,
                                      seed=opt.code_seed, family=FAMILY, max_iter=opt.max_iter,
                                      algorithm=opt.algorithm, guesses=opt.guesses,
                                      arithmetic=opt.arithmetic)
    extra = sent - (code_at_step(k, n, opt.code_seed, FAMILY).m + opt.check_bits)
    pad = F * n - P
    if pad and out.uncoded[-1]:
        extra[-1] -= pad  # the padding of a partial last frame is not resent
    failed = (out.attempts > 1) | out.uncoded
    steps: list[tuple[str, float, int, int]] = []
    for j, (up, frames, passes, iters) in enumerate(out.exchanges):
        if j > 0:  # the decoder asked ``frames`` frames for more bits
            steps.append(("retry", float(up - (pad if passes == 0 and pad and out.uncoded[-1] else 0)), frames, 0))
        if passes > 0:
            steps.append(("decode", float(n * passes), passes, iters))
    return PlaneDecode(
        bits=out.bits.reshape(-1)[:P], extra_upload_bits=float(extra.sum()),
        extra_decode_bits=float(n * (out.passes.sum() - F)), failures=int(failed.sum()),
        retries=int((out.attempts - 1).sum()), uncoded=int(out.uncoded.sum()), undetected=int(out.undetected.sum()),
        steps=tuple(steps),
    )
