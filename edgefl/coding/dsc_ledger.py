"""Where DSC-signSGD's bits go: a per-frame ledger of the upload against the model's own rate.

The side-information model's own rate of a frame (issue 23's "own rates without margins") is the
empirical cross-entropy of its sent bits under the decoder's LLRs, ``own = sum_j -log2 Q(b_j | side)``
bits (:func:`edgefl.coding.ldpca_model.frame_cross_entropy`, DSC paper eq. 34-35 and 47): what an
ideal Slepian-Wolf code driven by that model would send. What a frame actually costs is split, per
frame, into that and the losses on top of it, which add up exactly to the upload:

* ``uncoded_above``: frames sent raw because their announced rate estimate reached the policy's
  ceiling (:mod:`edgefl.coding.margin_policy`): ``n_f - own``;
* ``code_gap``: frames that decoded: the finite-length LDPCA gap ``n (need - h)`` at the rate the
  failure model says the frame first decodes at (:func:`edgefl.coding.ldpca_model.needed_rate`;
  bit-true runs use the same prediction, so there it absorbs the prediction's error too);
* ``overshoot_first``: frames that decoded at their first, announced, rate: ``m - n need``
  (the announced rate above the need: an over-estimate, or the margin);
* ``overshoot_retry``: frames that decoded after retries: ``m - n need`` (the last ladder step
  above the need; an under-estimate's bit cost is only this, nested codes resend nothing);
* ``failed_uncoded``: frames that climbed the whole ladder and went raw: every syndrome bit sent
  plus ``n_f - own``;
* ``hash``: the check-hash bits of every coded frame.

Counts: frames per class, retries, and the signed sum of the first announced rate minus the
predicted need over coded frames (``estimate_error``, bits; positive = over-estimates).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: the bit categories of the ledger, in the order they are printed
CATEGORIES: tuple[str, ...] = ("own", "uncoded_above", "code_gap", "overshoot_first", "overshoot_retry",
                               "failed_uncoded", "hash")


@dataclass
class FrameLedger:
    """Bits per category (sums over frames), frame counts and retries; ``add`` more rounds with ``merge``."""

    bits: dict[str, float] = field(default_factory=lambda: dict.fromkeys(CATEGORIES, 0.0))
    frames: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("uncoded_above", "first", "retried", "failed_uncoded"), 0))
    retries: int = 0
    #: per decoding position, (F,) upload bits of each frame of its (one-bit) plane: what coded frames sent,
    #: for raw frames the failure model's cost had they been coded (NaN where not probed)
    frame_cost: dict[int, np.ndarray] = field(default_factory=dict)
    climb: float = 0.0  # sum over coded frames that decoded of (rate of the last syndrome - first rate)
    decoded_frames: int = 0
    estimate_error: float = 0.0  # sum over coded frames of n (announced rate - predicted need), bits
    under_estimates: int = 0  # coded frames announced below their predicted need

    @property
    def total(self) -> float:
        """Sum of all categories: the upload bits of the frames recorded."""
        return float(sum(self.bits.values()))

    def record_uncoded(self, own: np.ndarray, sizes: np.ndarray) -> None:
        """Frames sent raw by announcement: ``own`` (F,) their model bits, ``sizes`` (F,) their source bits."""
        own = np.asarray(own, dtype=np.float64)
        self.bits["own"] += float(own.sum())
        self.bits["uncoded_above"] += float((np.asarray(sizes, dtype=np.float64) - own).sum())
        self.frames["uncoded_above"] += int(own.size)

    def record_coded(self, own: np.ndarray, need: np.ndarray, announced: np.ndarray, final: np.ndarray,
                     attempts: np.ndarray, uncoded: np.ndarray, sent: np.ndarray, hash_bits: int, n: int) -> None:
        """Coded frames (F,): ``own`` model bits, ``need`` predicted first-decode rate, ``announced`` first
        rate, ``final`` rate of the last syndrome, ``attempts`` syndrome requests, ``uncoded`` went raw after
        the ladder, ``sent`` every upload bit of the frame (syndromes, hash, raw fallback), ``n`` frame length."""
        own, need, announced, final, sent = (np.asarray(a, dtype=np.float64)
                                             for a in (own, need, announced, final, sent))
        attempts = np.asarray(attempts, dtype=np.int64)
        uncoded = np.asarray(uncoded, dtype=bool)
        ok = ~uncoded
        first = ok & (attempts == 1)
        retried = ok & (attempts > 1)
        self.bits["own"] += float(own.sum())
        self.bits["hash"] += float(hash_bits * own.size)
        self.bits["code_gap"] += float((n * need[ok] - own[ok]).sum())
        self.bits["overshoot_first"] += float((sent[first] - hash_bits - n * need[first]).sum())
        self.bits["overshoot_retry"] += float((sent[retried] - hash_bits - n * need[retried]).sum())
        self.bits["failed_uncoded"] += float((sent[uncoded] - hash_bits - own[uncoded]).sum())
        self.frames["first"] += int(first.sum())
        self.frames["retried"] += int(retried.sum())
        self.frames["failed_uncoded"] += int(uncoded.sum())
        self.retries += int((attempts - 1).sum())
        self.climb += float((final[ok] - announced[ok]).sum())
        self.decoded_frames += int(ok.sum())
        self.estimate_error += float(n * (announced - need).sum())
        self.under_estimates += int((announced < need).sum())

    def merge(self, other: FrameLedger) -> None:
        """Add ``other``'s sums into this ledger."""
        for k, v in other.bits.items():
            self.bits[k] = self.bits.get(k, 0.0) + v
        for k, v in other.frames.items():
            self.frames[k] = self.frames.get(k, 0) + v
        self.retries += other.retries
        self.climb += other.climb
        self.decoded_frames += other.decoded_frames
        self.estimate_error += other.estimate_error
        self.under_estimates += other.under_estimates

    def as_dict(self) -> dict[str, float]:
        """Flat dict: ``bits_<category>``, ``frames_<class>``, retries, estimate_error, under_estimates."""
        out: dict[str, float] = {f"bits_{k}": v for k, v in self.bits.items()}
        out.update({f"frames_{k}": float(v) for k, v in self.frames.items()})
        out.update(retries=float(self.retries), estimate_error=self.estimate_error,
                   under_estimates=float(self.under_estimates))
        return out
