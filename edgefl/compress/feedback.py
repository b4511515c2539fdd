"""Error feedback (Seide et al. 2014; Karimireddy et al., ICML 2019, Alg. 2 "EF-SGD"):
worker w compresses p = g + e_w and keeps what was not sent, e_w <- p - C(p).
Memories are keyed by the real worker id, so a worker that skips rounds keeps its own.
An upload the server never received (a round deadline, a link that gave up) applied nothing,
so that worker's memory becomes the whole corrected vector, e_w <- p (:meth:`ErrorFeedback.dropped`)."""

from __future__ import annotations

import numpy as np


class ErrorFeedback:
    """Per-worker residual memories e_w (zero until a worker first compresses)."""

    def __init__(self) -> None:
        self.memory: dict[int, np.ndarray] = {}
        self._last: list[tuple[int, np.ndarray]] = []  # (worker, p) per row of the last round

    def begin_round(self) -> None:
        """Forget the previous round's rows (called before the first :meth:`update` of a round)."""
        self._last = []

    def corrected(self, worker: int, grad: np.ndarray) -> np.ndarray:
        """p = g + e_w."""
        e = self.memory.get(worker)
        return grad.copy() if e is None else grad + e

    def update(self, worker: int, corrected: np.ndarray, sent: np.ndarray) -> None:
        """e_w <- p - C(p); rows are remembered in call order for :meth:`dropped`."""
        self.memory[worker] = corrected - sent
        self._last.append((worker, corrected))

    def dropped(self, kept_rows: np.ndarray) -> None:
        """Only ``kept_rows`` of the last round reached the server: the others keep e_w <- p."""
        kept = set(np.asarray(kept_rows, dtype=np.int64).tolist())
        for row, (worker, corrected) in enumerate(self._last):
            if row not in kept:
                self.memory[worker] = corrected
