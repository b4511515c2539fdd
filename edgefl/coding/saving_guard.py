"""Which LDPC frames to code: per class of rate estimate, the saving coding them realised.

A frame coded by the rate-adaptive LDPCA ladder costs its final syndrome, its check hash and, if the
ladder runs out, a fallback (DSC paper Sec. IV-B, Algorithm 1); sent raw it costs its ``n`` bits. The
saving of coding it, ``1 - cost / n`` bits per source bit, is what the choice should follow. A fixed
ceiling on the estimate (``uncoded_above``) cannot: the estimates' bias and spread drift over training
(late rounds, signs near one bit, one-round-old estimates optimistic), so a ceiling right early on
codes frames that save nothing later, and vice versa.

:class:`SavingGuard` keeps, for ``bins`` equal classes of the frame's rate estimate on [0, 1], an
exponential moving average (weight ``decay`` on the newest round) of the realised saving per source
bit of the frames of that class: for coded frames the bits they actually sent; for frames sent raw,
the cost the LDPCA failure model (:mod:`edgefl.coding.ldpca_model`) charges for coding them from the
same start rate, computed by the server from the frame's decoded bits and its own LLRs (it holds
both after the round). A class is coded while its average saving exceeds ``min_saving``; a class never
observed follows the ceiling.
"""

from __future__ import annotations

import numpy as np


class SavingGuard:
    """Per estimate class, the moving average of the realised saving of coding its frames."""

    def __init__(self, bins: int = 20, decay: float = 0.5, min_saving: float = 0.0) -> None:
        if not (isinstance(bins, int) and bins >= 1):
            raise ValueError(f"bins must be a positive integer, got {bins!r}")
        if not 0 < decay <= 1:
            raise ValueError(f"decay must be in (0, 1], got {decay!r}")
        if not -1 <= min_saving < 1:
            raise ValueError(f"min_saving must be in [-1, 1), got {min_saving!r}")
        self.bins, self.decay, self.min_saving = bins, float(decay), float(min_saving)
        self.saving = np.zeros(bins)
        self.seen = np.zeros(bins, dtype=bool)

    def classes(self, estimate: np.ndarray) -> np.ndarray:
        """Class index of each rate estimate (bits per source bit, clipped to [0, 1])."""
        e = np.clip(np.asarray(estimate, dtype=np.float64), 0.0, 1.0)
        return np.minimum((e * self.bins).astype(np.int64), self.bins - 1)

    def code(self, estimate: np.ndarray, ceiling: float) -> np.ndarray:
        """Boolean mask, shaped as ``estimate``: frames to code (observed classes by their saving, the
        others below ``ceiling``)."""
        e = np.asarray(estimate, dtype=np.float64)
        c = self.classes(e)
        return np.where(self.seen[c], self.saving[c] > self.min_saving, e < ceiling)

    def observe(self, estimate: np.ndarray, cost: np.ndarray, size: np.ndarray) -> None:
        """One round: per frame its estimate, the bits coding it cost (realised or predicted; NaN = unknown)
        and its source bits. Classes with frames this round move their average toward the round's
        frame-weighted mean saving ``1 - sum cost / sum size``."""
        e, cost, size = (np.asarray(a, dtype=np.float64).ravel() for a in (estimate, cost, size))
        if not (e.shape == cost.shape == size.shape):
            raise ValueError(f"estimate, cost and size must have one shape, got {e.shape}, {cost.shape}, {size.shape}")
        ok = np.isfinite(cost) & (size > 0)
        c = self.classes(e[ok])
        spent = np.bincount(c, weights=cost[ok], minlength=self.bins)
        bits = np.bincount(c, weights=size[ok], minlength=self.bins)
        new = bits > 0
        s = 1.0 - spent[new] / bits[new]
        old = self.seen[new]
        self.saving[new] = np.where(old, (1 - self.decay) * self.saving[new] + self.decay * s, s)
        self.seen |= new
