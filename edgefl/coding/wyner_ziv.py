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
the next nested LDPCA code (``retry_step`` higher; with ``ldpca_ladder="zoned"``, the default,
on the ladder of the base code fitted for the zone of the frame's announced rate and for the
decoder's algorithm, :func:`ladder_family`) and the server decodes again, until
success or the last rate below 1, then the frame goes uncoded; or ``"uncoded"``: the
frame is resent uncoded at once. A satisfied syndrome can still be the wrong member of
the coset (low-weight codewords of short LDPC codes): each frame therefore also carries
``check_bits`` bits of a random check hash (the CRC of LDPCA practice), counted in the
upload; a decode whose hash disagrees counts as a failure. Frames that pass both checks
with wrong bits are counted as undetected errors and their wrong bits are used (as a
real server would). The per-plane retry loop is
:func:`edgefl.coding.slepian_wolf.sw_decode_adaptive`.

``mode="analytic"`` skips decoding: the same rates and first-syndrome bit counts, the true
indices are returned. Without ``failure_model`` no frame fails; with it, each frame's LLRs are
computed as above and the frame is charged the retries the bit-true ladder would need for its
realised information need (:mod:`edgefl.coding.ldpca_model`: cross-entropy of the sent bits under
the LLRs plus the measured LDPCA gap), through the same accounting as bit-true decoding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edgefl.coding.ldpc import code_at_step, grid_index, rate_grid
from edgefl.coding.dsc_ledger import FrameLedger
from edgefl.coding.ldpca_model import frame_cross_entropy, needed_rate, sw_predict_adaptive
from edgefl.coding.slepian_wolf import sw_decode_adaptive
from edgefl.coding.llr import LLR_MAX, SideInformationPosterior, bitplane_llr
from edgefl.coding.quantizer import UniformQuantizer, to_bitplanes
from edgefl.coding.statistics import GradientStatistics
from edgefl.coding.wyner_ziv_options import WynerZivOptions

#: nested LDPCA codes: a retry uploads only the extra syndrome bits
FAMILY = "ldpca"

MODES = ("bit-true", "analytic")
#: ``ladder_fallback`` option -> the ladder's fallback (:func:`edgefl.coding.slepian_wolf.sw_decode_adaptive`)
FALLBACK = {"raw": "uncoded", "complete": "complete"}


def ladder_family(opt: WynerZivOptions) -> str:
    """LDPC family of the rate-adaptive retries: "ldpca" (one base code) or, zoned, the base code of
    the zone of each frame's first announced rate, with the zones fitted for the decoder's algorithm
    ("ldpca-zoned" for sum-product, "ldpca-zoned-ms" for min-sum); all have the same grid and
    syndrome lengths, so the first syndromes' bit counts (and analytic mode) do not depend on it."""
    if opt.ldpca_ladder == "single":
        return FAMILY
    return "ldpca-zoned-ms" if opt.algorithm == "min-sum" else "ldpca-zoned"


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
    side_information: SideInformationPosterior | None = None,
    permutations: np.ndarray | None = None,
    failure_model: bool = False,
    ledger: FrameLedger | None = None,
    probe_rates: np.ndarray | None = None,
    zone_offset: float = 0.0,
) -> WynerZivResult:
    """Code and decode the (K, P) quantisation ``index`` in upload ``order``.

    ``rates`` (K, m) are the announced rates by position (row 0 = first uploader,
    column i-1 = bit-plane i), ``stats`` the server's gradient statistics (absolute
    units, used for the LLRs), ``scales`` (K,) each worker's quantiser scale.
    ``options`` (validated when built) set the code, the BP decoder
    (:func:`edgefl.coding.bp_decoder.decode_syndrome`) and the failure handling.
    ``side_information``: a fresh side-information tracker for the LLRs (bit-true mode; default
    the Gaussian model's :class:`SideInformationPosterior` on ``stats``), e.g.
    :class:`edgefl.coding.sign_history.HistoryPosterior`.
    ``permutations`` (K, P), rows by worker: the order in which each worker's coordinates fill
    its frames (frame f holds ``permutations[w, f n:(f + 1) n]``; default the parameter order),
    known to both sides (e.g. :meth:`edgefl.coding.sign_history.SignHistoryModel.permutations`).
    ``failure_model`` (analytic mode): compute the LLRs as bit-true mode does and charge each frame the
    retries, increments and uncoded fallbacks the bit-true ladder would need
    (:func:`edgefl.coding.ldpca_model.sw_predict_adaptive`) instead of none; the indices stay exact.
    ``ledger``: with LLRs (bit-true, or the failure model), every frame's bits are added to it, split into the
    model's own rate and the losses on top (:mod:`edgefl.coding.dsc_ledger`), and each frame's cost to
    ``ledger.frame_cost``; ``probe_rates`` (as ``rates``): for frames sent raw (rate 1) whose probe rate is
    below 1, the failure model's cost had they been coded from that rate (one-bit planes).
    ``zone_offset`` (zoned ladders): each frame climbs the ladder of the zone of its first rate plus this
    (bits per source bit, known to both sides): the base code of the rate it is expected to decode at.
    """
    if not (np.isfinite(zone_offset) and 0.0 <= zone_offset <= 1.0):
        raise ValueError(f"zone_offset must be in [0, 1], got {zone_offset!r}")
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
    n = int(opt.block_length)
    F = -(-P // n)
    if rates.shape not in ((K, m), (K, m, F)) or np.any(~np.isfinite(rates)) or np.any(rates < 0):
        raise ValueError(f"rates must be a ({K}, {m}) or, per frame, ({K}, {m}, {F}) array of finite values >= 0, "
                         f"got shape {rates.shape}")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    scales = np.ones(K) if scales is None else np.broadcast_to(np.asarray(scales, dtype=np.float64), (K,))
    if permutations is not None:
        permutations = np.asarray(permutations, dtype=np.int64)
        if permutations.shape != (K, P) or np.any(np.sort(permutations, axis=1) != np.arange(P)[None]):
            raise ValueError(f"permutations must be a ({K}, {P}) array whose rows are permutations of 0..{P - 1}")

    steps = rate_grid(n, FAMILY).size
    k_step = max(1, int(round(opt.retry_step * steps)))
    tail = P - (F - 1) * n  # coordinates of the last frame
    res = WynerZivResult(index=index.copy(), upload_bits=np.zeros(K), decode_bits=np.zeros(K),
                         schedule=[[] for _ in range(K)])
    posterior = None
    simulate = mode == "bit-true" or failure_model  # frames go through the (real or predicted) ladder
    if simulate:
        posterior = side_information if side_information is not None else SideInformationPosterior(quantizer, stats, P)
    truth_planes = to_bitplanes(index, m)  # (m, K, P)

    for pos, w in enumerate(order):
        w = int(w)
        post = posterior.posterior(scales[w], worker=w) if posterior is not None else None
        lower = np.zeros(P, dtype=np.int64)  # decoded value of planes < i
        for i in range(1, m + 1):
            truth = truth_planes[i - 1, w]
            rate = rates[pos, i - 1]
            ks = _grid_steps(np.broadcast_to(rate, (F,)), n, steps)
            rec = {"position": pos + 1, "worker": w, "plane": i, "rate": float(np.mean(rate))}
            ms = np.array([code_at_step(k, n, opt.code_seed, FAMILY).m if k < steps else n for k in ks])
            coded = ks < steps
            # a partial last frame goes uncoded when its syndrome would cost more than its bits
            coded[-1] &= tail == n or ms[-1] + opt.check_bits < tail
            Fc = int(coded.sum())
            sizes = np.full(F, n)
            sizes[-1] = tail
            res.upload_bits[w] += sizes[~coded].sum()
            rec.update(code_rate=float(np.mean(1 - ms[coded] / n)) if Fc else 1.0, coded=Fc > 0, frames=Fc)
            decoded = truth
            if simulate and (Fc > 0 or ledger is not None):
                llr = bitplane_llr(post, lower, i)
                perm = None if permutations is None else permutations[w]
                sent = truth if perm is None else truth[perm]  # the plane in frame order
                llr_frames = _frames(llr if perm is None else llr[perm], n, LLR_MAX)
                sent_frames = _frames(sent, n, 0)
                if ledger is not None:
                    own = frame_own_bits(sent_frames, llr_frames)
                    ledger.record_uncoded(own[~coded], sizes[~coded])
                    cost = np.where(coded, np.nan, sizes).astype(np.float64)
                    if probe_rates is not None and m == 1:
                        probe = np.broadcast_to(probe_rates[pos, i - 1], (F,))
                        cost[~coded] = np.where(probe[~coded] < 1.0, np.nan, sizes[~coded])
                        _probe(cost, sent_frames, llr_frames, probe, coded, F * n - P, steps, k_step, opt,
                               zone_offset)
                    ledger.frame_cost[pos] = cost
            if Fc > 0:
                res.upload_bits[w] += (ms[coded] + opt.check_bits).sum()
                res.decode_bits[w] += Fc * n
                if not simulate:
                    res.schedule[w].append(("decode", float(Fc * n), Fc, -1))
                else:
                    sel = np.flatnonzero(coded)
                    pad = F * n - P if coded[-1] else 0
                    plane = _decode_plane(sent_frames[sel], llr_frames[sel], ks[sel], pad,
                                          steps, k_step, opt, predict=mode != "bit-true", zone_offset=zone_offset)
                    if ledger is not None:
                        _record_coded(ledger, sent_frames[sel], llr_frames[sel], own[sel], ks[sel], plane,
                                      steps, opt, zone_offset)
                        ledger.frame_cost[pos][sel] = plane.sent_bits
                    decoded = sent_frames  # last use of the sent frames: overwritten in place
                    decoded[sel] = plane.bits
                    decoded = decoded.reshape(-1)[:P]
                    if perm is not None:  # back to parameter order
                        back = np.empty_like(decoded)
                        back[perm] = decoded
                        decoded = back
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

    bits: np.ndarray  # (Fc, n) decoded bits of the coded frames
    extra_upload_bits: float  # retry increments and uncoded fallbacks
    extra_decode_bits: float  # retries and pinned-bit passes through the decoder
    failures: int  # frames whose first attempt failed
    retries: int
    uncoded: int
    undetected: int
    steps: tuple[tuple[str, float, int, int], ...] = ()  # schedule entries (WynerZivResult.schedule)
    #: per coded frame (Fc,): attempts, went raw after the ladder, rate of its last syndrome, every bit uploaded
    attempts: np.ndarray | None = None
    uncoded_mask: np.ndarray | None = None
    final_rate: np.ndarray | None = None
    sent_bits: np.ndarray | None = None


def _decode_plane(truth: np.ndarray, llr: np.ndarray, ks: np.ndarray, pad: int, steps: int, k_step: int,
                  opt: WynerZivOptions, predict: bool = False, zone_offset: float = 0.0) -> PlaneDecode:
    """BP-decode the coded frames of one bit-plane with retries or uncoded fallback.

    ``truth`` (Fc, n) are the encoder's bits (to form retry syndromes and count undetected
    errors), ``llr`` (Fc, n) the decoder's eq. (47) LLRs, ``ks`` (Fc,) each frame's grid step of
    its first syndrome, whose bits the caller has already counted; ``pad`` the padding bits of the
    last frame (a partial last frame of the plane), not resent if it goes uncoded. Frames sharing
    a first step are decoded in one batch; the k-th feedback exchange of every batch is one
    exchange on the air (one request message for all frames asking). ``predict``: the analytic
    failure model (:func:`edgefl.coding.ldpca_model.sw_predict_adaptive`) stands in for BP, with
    the same accounting below.
    """
    n = int(opt.block_length)
    Fc = truth.shape[0]
    bits = np.empty((Fc, n), dtype=np.uint8)
    extra_up = extra_dec = 0.0
    failures = retries = uncoded = undetected = 0
    exchanges: dict[int, list[float]] = {}  # exchange j -> [retry bits, frames asking, passes, iterations]
    f_attempts = np.zeros(Fc, np.int64)
    f_uncoded = np.zeros(Fc, bool)
    f_final = np.zeros(Fc)
    f_sent = np.zeros(Fc)
    for k in np.unique(ks):
        idx = np.flatnonzero(ks == k)
        gpad = pad if idx[-1] == Fc - 1 else 0
        ladder = sw_predict_adaptive if predict else sw_decode_adaptive
        out, sent, final = ladder(truth[idx], llr[idx], int(k) / steps, **_ladder_options(k, steps, k_step, opt,
                                                                                            zone_offset))
        extra = sent - (code_at_step(int(k), n, opt.code_seed, FAMILY).m + opt.check_bits)
        pad_saved = 0
        if gpad and out.uncoded[-1]:  # the padding of a partial last frame is not resent
            pad_saved = gpad if opt.ladder_fallback == "raw" else _free_in_pad(out.attempts[-1], int(k), k_step, steps,
                                                                               gpad, opt, zone_offset)
            extra[-1] -= pad_saved
        bits[idx] = out.bits
        f_attempts[idx], f_uncoded[idx], f_final[idx] = out.attempts, out.uncoded, final
        f_sent[idx] = sent
        f_sent[idx[-1]] -= pad_saved
        extra_up += float(extra.sum())
        extra_dec += float(n * (out.passes.sum() - idx.size))
        failures += int(((out.attempts > 1) | out.uncoded).sum())
        retries += int((out.attempts - 1).sum())
        uncoded += int(out.uncoded.sum())
        undetected += int(out.undetected.sum())
        for j, (up, frames, passes, iters) in enumerate(out.exchanges):
            e = exchanges.setdefault(j, [0.0, 0, 0, 0])
            e[0] += float(up - (pad_saved if passes == 0 else 0))
            e[1] += frames
            e[2] += passes
            e[3] += iters
    plan: list[tuple[str, float, int, int]] = []
    for j in sorted(exchanges):
        up, frames, passes, iters = exchanges[j]
        if j > 0:  # the decoder asked ``frames`` frames for more bits
            plan.append(("retry", float(up), int(frames), 0))
        if passes > 0:
            plan.append(("decode", float(n * passes), int(passes), -1 if predict else int(iters)))
    return PlaneDecode(
        bits=bits, extra_upload_bits=extra_up, extra_decode_bits=extra_dec, failures=failures,
        retries=retries, uncoded=uncoded, undetected=undetected, steps=tuple(plan),
        attempts=f_attempts, uncoded_mask=f_uncoded, final_rate=f_final, sent_bits=f_sent,
    )


def _grid_steps(rates: np.ndarray, n: int, steps: int) -> np.ndarray:
    """Ladder grid step of each frame's announced rate (clipped to the grid: 1 / steps .. 1)."""
    return np.array([grid_index(min(max(float(r), 1.0 / steps), 1.0), n, FAMILY) for r in rates])


def _ladder_options(k: int, steps: int, k_step: int, opt: WynerZivOptions, zone_offset: float) -> dict[str, Any]:
    """Keyword arguments of the rate ladder (:func:`~edgefl.coding.slepian_wolf.sw_decode_adaptive`, or
    :func:`~edgefl.coding.ldpca_model.sw_predict_adaptive`, which ignores the decoder's) for frames first
    announced at grid step ``k``: retries climb in ``k_step`` grid steps but stop short of rate 1 (then
    uncoded is cheaper)."""
    return dict(zone_rate=_zone_rate(k, steps, zone_offset), step=k_step,
                max_retries=0 if opt.failure == "uncoded" else max(0, (steps - 1 - int(k)) // k_step),
                fallback=FALLBACK[opt.ladder_fallback], hash_bits=opt.check_bits, seed=opt.code_seed,
                family=ladder_family(opt), max_iter=opt.max_iter, algorithm=opt.algorithm, guesses=opt.guesses,
                arithmetic=opt.arithmetic)


def _zone_rate(k: int, steps: int, offset: float) -> float:
    """Rate whose zone's base code a frame first announced at grid step ``k`` climbs (``offset`` above it)."""
    return min(1.0, int(k) / steps + offset)


def _free_in_pad(attempts: int, k0: int, k_step: int, steps: int, pad: int, opt: WynerZivOptions,
                 zone_offset: float = 0.0) -> int:
    """Completion bits among the ``pad`` padding positions of a partial last frame (not sent: the decoder knows
    them) for a frame that went through ``attempts`` rungs from grid step ``k0``."""
    from edgefl.coding.ldpca_completion import completion_bits

    k_last = min(steps, k0 + (int(attempts) - 1) * k_step)
    code = code_at_step(k_last, int(opt.block_length), opt.code_seed, ladder_family(opt),
                        _zone_rate(k0, steps, zone_offset))
    return completion_bits(code) - completion_bits(code, pad)


def _probe(cost: np.ndarray, bits: np.ndarray, llr: np.ndarray, probe: np.ndarray, coded: np.ndarray, pad: int,
           steps: int, k_step: int, opt: WynerZivOptions, zone_offset: float = 0.0) -> None:
    """Fill ``cost`` (F,) of the raw frames with a probe rate below 1 with the failure model's cost of coding them
    from that rate (:func:`edgefl.coding.ldpca_model.sw_predict_adaptive`, the ladder's accounting)."""
    probed = ~coded & (probe < 1.0)
    if pad:  # a partial last frame: not probed (its cost stays NaN)
        probed[-1] = False
    sel = np.flatnonzero(probed)
    if sel.size == 0:
        return
    ks = _grid_steps(probe[sel], bits.shape[1], steps)
    for k in np.unique(ks):
        idx = sel[ks == k]
        _, sent, _ = sw_predict_adaptive(bits[idx], llr[idx], int(k) / steps,
                                         **_ladder_options(k, steps, k_step, opt, zone_offset))
        cost[idx] = sent


def frame_own_bits(bits: np.ndarray, llr: np.ndarray) -> np.ndarray:
    """(F,) the model's own bits of each frame (F, n): ``sum_j -log2 Q(b_j | side)`` under the decoder's LLRs
    (:func:`edgefl.coding.ldpca_model.frame_cross_entropy` times n; padding at +LLR_MAX costs ~0)."""
    return frame_cross_entropy(bits, llr) * np.asarray(bits).shape[1]


def _record_coded(ledger: FrameLedger, bits: np.ndarray, llr: np.ndarray, own: np.ndarray, ks: np.ndarray,
                  plane: PlaneDecode, steps: int, opt: WynerZivOptions, zone_offset: float = 0.0) -> None:
    """Add one plane's coded frames to ``ledger``, with the failure model's first-decode rate per frame."""
    need = np.empty(ks.size)
    for k in np.unique(ks):
        idx = np.flatnonzero(ks == k)
        need[idx] = needed_rate(bits[idx], llr[idx], ladder_family(opt), opt.algorithm,
                                _zone_rate(k, steps, zone_offset))
    ledger.record_coded(own, need, ks / steps, plane.final_rate, plane.attempts, plane.uncoded_mask,
                        plane.sent_bits, opt.check_bits, bits.shape[1])
