"""Error feedback (Seide et al. 2014; Karimireddy et al., ICML 2019, Alg. 2 "EF-SGD"):
worker w compresses p = g + e_w and keeps what was not sent, e_w <- p - C(p).
Memories are keyed by the real worker id, so a worker that skips rounds keeps its own."""

from __future__ import annotations

import numpy as np


class ErrorFeedback:
    """Per-worker residual memories e_w (zero until a worker first compresses)."""

    def __init__(self) -> None:
        self.memory: dict[int, np.ndarray] = {}

    def corrected(self, worker: int, grad: np.ndarray) -> np.ndarray:
        """p = g + e_w."""
        e = self.memory.get(worker)
        return grad.copy() if e is None else grad + e

    def update(self, worker: int, corrected: np.ndarray, sent: np.ndarray) -> None:
        """e_w <- p - C(p)."""
        self.memory[worker] = corrected - sent
