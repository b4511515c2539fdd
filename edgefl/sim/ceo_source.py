"""Synthetic gradients from the Gaussian CEO model of the RD paper.

RD paper Section II (and DSC paper Sec. II-B): the local gradient of worker k is
Y_k = X + N_k, with the true gradient X ~ N(0, sigma_X^2 I_P) and independent
worker noise N_k ~ N(0, sigma_N^2 I_P). A fresh X is drawn every round, so the
source has no model to train; the quantity that matters is how well the
aggregate estimates X (``distortion_x``) and the mean of the Y_k.
"""

from __future__ import annotations

import numpy as np

from edgefl.sim.gradient_source import GradientSource


class GaussianCEOSource(GradientSource):
    """Y_k = X + N_k per round (RD paper Sec. II); seeded, reproducible."""

    def __init__(self, num_workers: int, num_params: int, sigma_x2: float, sigma_n2: float,
                 flops_per_gradient: float, seed: int | np.random.SeedSequence) -> None:
        if num_workers < 1 or num_params < 1:
            raise ValueError(f"need num_workers >= 1 and num_params >= 1, got {num_workers}, {num_params}")
        if not (sigma_x2 > 0 and sigma_n2 > 0):
            raise ValueError(f"sigma_x2 and sigma_n2 must be > 0, got {sigma_x2}, {sigma_n2}")
        self.num_workers = num_workers
        self.num_params = num_params
        self.sigma_x2 = float(sigma_x2)
        self.sigma_n2 = float(sigma_n2)
        self.flops_per_gradient = float(flops_per_gradient)
        self._rng = np.random.default_rng(seed)
        self._x: np.ndarray | None = None

    def local_gradients(self, round: int, workers: np.ndarray | None = None) -> np.ndarray:
        # the N_k are i.i.d., so the selected workers' noise is drawn for them alone (rows in
        # the order of ``workers``); workers = arange(K) draws exactly what workers=None draws
        p = self.num_params
        k = self.num_workers if workers is None else len(workers)
        self._x = self._rng.standard_normal(p) * np.sqrt(self.sigma_x2)
        y = self._rng.standard_normal((k, p))  # in place: one (K, P) array, the same numbers as X + N
        y *= np.sqrt(self.sigma_n2)
        y += self._x[None, :]
        return y

    def apply_aggregate(self, round: int, aggregate: np.ndarray) -> dict[str, float]:
        assert self._x is not None, "local_gradients must be called first"
        return {"distortion_x": float(np.mean((aggregate - self._x) ** 2))}

    def metric_names(self) -> list[str]:
        return ["distortion_x"]

    def statistics(self) -> tuple[float, float]:
        return self.sigma_x2, self.sigma_n2
