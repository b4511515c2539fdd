"""One bit-plane of syndrome-based Slepian-Wolf coding, with rate-adaptive retries.

DSC paper Section IV-B, eqs. (33)-(35) and Fig. 3: the encoder of bit-plane ``i``
of worker ``k`` sends the syndrome ``s = H b`` at rate ``l / n`` (ideally the
conditional entropy of eq. 34); the decoder recovers ``b`` by BP from ``s`` and the
LLRs of eq. (47).  Codes come from :mod:`edgefl.coding.ldpc` (nested LDPCA rate
ladder, single or zoned by the announced rate), decoding from :mod:`edgefl.coding.bp_decoder`.
A decode is accepted only if the syndrome recomputed from the returned bits matches (not just
the decoder's own early-stop flag) and, with ``hash_bits``, the hash too.

Rate-adaptive retry (:func:`sw_decode_adaptive`): a frame whose syndrome is not
satisfied asks for more syndrome bits, ``step`` grid steps up the ladder.  With
nested codes (``code.nested``) only the increment ``m_new - m_old`` is uploaded;
with non-nested codes the whole new syndrome would be (both are accounted).  A
frame still failing at the top rate or after ``max_retries`` either falls back to
uncoded transmission (``fallback="uncoded"``: ``n`` raw bits more, decoded bits
exact), is completed (``fallback="complete"``: only the ``n - rank`` raw bits the last
syndrome leaves free, then a GF(2) solve, :mod:`edgefl.coding.ldpca_completion`) or stays
a detected failure (``fallback="none"``).

Below the conditional entropy BP occasionally converges to a wrong member of the
coset (syndrome satisfied, bits wrong).  ``hash_bits > 0`` adds a check hash as in
LDPCA practice: the encoder also sends ``hash_bits`` parities of a seeded dense
random matrix (once per frame), and a decode counts only if they match too, so a
wrong coset member survives with probability ``2**-hash_bits``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from edgefl.coding.bp_decoder import DecodeResult, check_llr, decode_syndrome
from edgefl.coding.ldpc import (
    DEFAULT_FAMILY,
    LDPCCode,
    check_bits,
    code_at_step,
    get_code,
    grid_index,
    rate_grid,
    syndrome,
)

FALLBACKS = ("uncoded", "complete", "none")


@dataclass
class AdaptiveDecodeResult(DecodeResult):
    """:class:`DecodeResult` of the last attempt per frame, plus the retry accounting.

    ``iterations`` and ``passes`` are summed over all attempts; ``attempts`` counts
    syndrome requests per frame (1 = no retry); ``uncoded`` marks frames sent raw
    after the last failure; ``undetected`` marks frames whose syndrome was
    satisfied by the wrong bits.
    """

    attempts: np.ndarray
    uncoded: np.ndarray
    undetected: np.ndarray
    #: one entry per request/answer of the feedback loop, in order: (bits uploaded, frames
    #: concerned, BP passes, BP iterations); entry 0 is the first syndrome, a last entry with
    #: 0 passes the uncoded fallback
    exchanges: list[tuple[int, int, int, int]] = field(default_factory=list)


def sw_encode(bits: np.ndarray, rate: float, seed: int = 0,
              family: str = DEFAULT_FAMILY) -> tuple[LDPCCode, np.ndarray]:
    """Code of the smallest grid rate >= ``rate`` for n = bits.shape[1], and the (F, m) syndromes."""
    b = check_bits("bits", bits)
    code = get_code(rate, n=b.shape[1], seed=seed, family=family)
    return code, syndrome(code, b)


def sw_decode(code: LDPCCode, syndromes: np.ndarray, llr: np.ndarray, **kwargs) -> DecodeResult:
    """BP decode of one bit-plane; ``kwargs`` go to :func:`decode_syndrome`."""
    return decode_syndrome(code, syndromes, llr, **kwargs)


def hash_parities(bits: np.ndarray, hash_bits: int, seed: int = 0) -> np.ndarray:
    """(F, hash_bits) uint8 parities of a seeded dense random matrix: a check hash of each frame."""
    b = check_bits("bits", bits)
    rng = np.random.default_rng(np.random.SeedSequence([seed, b.shape[1], 0x5EED]))
    matrix = rng.integers(0, 2, size=(b.shape[1], int(hash_bits)), dtype=np.int64)
    return ((b.astype(np.int64) @ matrix) % 2).astype(np.uint8)


def sw_decode_adaptive(bits: np.ndarray, llr: np.ndarray, start_rate: float, *, step: int = 1,
                       max_retries: int | None = None, fallback: str = "uncoded", hash_bits: int = 0,
                       seed: int = 0, family: str = "ldpca", zone_rate: float | None = None,
                       **decoder_kwargs) -> tuple[AdaptiveDecodeResult, np.ndarray, np.ndarray]:
    """Encode ``bits`` at ``start_rate`` and decode with retries up the rate ladder.

    ``bits`` (F, n) are the encoder's source bits: the emulation needs them to form
    the extra syndrome bits a retry requests, and to count undetected errors; the
    decoder itself sees only syndromes and ``llr`` (F, n).  Returns
    ``(result, bits_sent, final_rate)``: ``bits_sent`` (F,) int64 is every bit
    uploaded for the frame (all syndrome increments, the hash, plus ``n`` if it
    went uncoded), ``final_rate`` (F,) the grid rate of the last syndrome decoded.
    ``family`` "ldpca" (default) or "ldpca-zoned" makes retries cost only the increments,
    "peg" the whole new syndrome each time; with "ldpca-zoned" the whole ladder is the one of
    the base code of ``zone_rate`` (default ``start_rate``: the rate announced for the frame,
    known to both sides).  ``decoder_kwargs`` go to :func:`decode_syndrome`.  A decode counts
    as a success only if the returned bits satisfy the syndrome (recomputed here from the
    bits, independently of the decoder's own early-stop test) and the hash.
    """
    b = check_bits("bits", bits)
    frames, n = b.shape
    llr = check_llr(llr, frames, n)
    if fallback not in FALLBACKS:
        raise ValueError(f"fallback must be one of {FALLBACKS}, got {fallback!r}")
    if int(step) != step or step < 1:
        raise ValueError(f"step must be a positive integer, got {step!r}")
    if max_retries is not None and (int(max_retries) != max_retries or max_retries < 0):
        raise ValueError(f"max_retries must be None or a non-negative integer, got {max_retries!r}")
    if int(hash_bits) != hash_bits or not 0 <= hash_bits <= 64:
        raise ValueError(f"hash_bits must be an integer in [0, 64], got {hash_bits!r}")
    top = rate_grid(n, family).size
    k = grid_index(start_rate, n, family)
    zone_rate = k / top if zone_rate is None else float(zone_rate)
    retries_left = top if max_retries is None else int(max_retries)

    out_bits = np.zeros((frames, n), dtype=np.uint8)
    success = np.zeros(frames, dtype=np.bool_)
    iterations = np.zeros(frames, dtype=np.int64)
    passes = np.zeros(frames, dtype=np.int64)
    attempts = np.zeros(frames, dtype=np.int64)
    bits_sent = np.full(frames, int(hash_bits), dtype=np.int64)
    expected_hash = hash_parities(b, hash_bits, seed)
    final_rate = np.zeros(frames)
    active = np.arange(frames)
    exchanges: list[tuple[int, int, int, int]] = []
    prev_m = 0
    prev_nested = True
    while active.size:
        code = code_at_step(k, n=n, seed=seed, family=family, zone_rate=zone_rate)
        # nested ladder: a retry uploads only the new accumulated-syndrome bits
        sent_now = code.m - prev_m if (code.nested and prev_nested) else code.m
        bits_sent[active] += sent_now
        synd = syndrome(code, b[active])
        res = decode_syndrome(code, synd, llr[active], **decoder_kwargs)
        exchanges.append((int(sent_now * active.size + (hash_bits * frames if not exchanges else 0)),
                          int(active.size), int(res.passes.sum()), int(res.iterations.sum())))
        ok = (res.success & (syndrome(code, res.bits) == synd).all(axis=1)
              & (hash_parities(res.bits, hash_bits, seed) == expected_hash[active]).all(axis=1))
        out_bits[active] = res.bits
        success[active] = ok
        iterations[active] += res.iterations
        passes[active] += res.passes
        attempts[active] += 1
        final_rate[active] = code.rate
        active = active[~ok]
        if k == top or retries_left == 0:
            break
        retries_left -= 1
        prev_m, prev_nested = code.m, code.nested
        k = min(top, k + int(step))

    uncoded = np.zeros(frames, dtype=np.bool_)
    if fallback == "uncoded" and active.size:
        uncoded[active] = True
        bits_sent[active] += n
        exchanges.append((int(n * active.size), int(active.size), 0, 0))
        out_bits[active] = b[active]
        success[active] = True
    elif fallback == "complete" and active.size:  # the free columns' raw bits, then a GF(2) solve
        from edgefl.coding.ldpca_completion import completion

        comp = completion(code)
        uncoded[active] = True
        bits_sent[active] += comp.free.size
        exchanges.append((int(comp.free.size * active.size), int(active.size), 0, 0))
        out_bits[active] = comp.solve(syndrome(code, b[active]), b[active][:, comp.free])
        success[active] = True
    undetected = success & ~uncoded & (out_bits != b).any(axis=1)
    result = AdaptiveDecodeResult(bits=out_bits, success=success, iterations=iterations, passes=passes,
                                  attempts=attempts, uncoded=uncoded, undetected=undetected,
                                  exchanges=exchanges)
    return result, bits_sent, final_rate
