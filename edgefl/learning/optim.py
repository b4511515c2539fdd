"""Server-side optimisers applied to the aggregated gradient (in place on the flat vector).

SGD: w <- w - eta g (RD paper eq. (3) with the aggregate in place of g-hat).
Momentum (heavy ball, the form PyTorch uses): v <- mu v + g, w <- w - eta v; the papers'
setup uses mu = 0.5, eta = 0.01 (RD paper Sec. III-B and VI; DSC paper Sec. V-A).
"""

from __future__ import annotations

import numpy as np


class Optimizer:
    def __init__(self, kind: str, lr: float, momentum: float = 0.0):
        if kind not in ("sgd", "momentum"):
            raise ValueError(f"optimizer: {kind!r}; allowed: sgd, momentum")
        if not lr > 0:
            raise ValueError(f"lr: must be > 0, got {lr}")
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum: must be in [0, 1), got {momentum}")
        self.kind, self.lr, self.momentum = kind, lr, momentum
        self.velocity: np.ndarray | None = None

    def step(self, params: np.ndarray, grad: np.ndarray) -> None:
        if grad.shape != params.shape:
            raise ValueError(f"aggregate: expected shape {params.shape}, got {grad.shape}")
        if not np.all(np.isfinite(grad)):
            raise ValueError("aggregate: contains NaN or inf")
        if self.kind == "sgd":
            params -= self.lr * grad
            return
        if self.velocity is None:
            self.velocity = np.zeros_like(params)
        self.velocity *= self.momentum
        self.velocity += grad
        params -= self.lr * self.velocity
