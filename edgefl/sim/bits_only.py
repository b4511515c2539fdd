"""Timing-only runs (``output.timing_only``): timing, bits and energy without gradient vectors.

When a run's outputs need only timing, bits and energy, and the compression scheme's bit counts
do not depend on the gradient values (:attr:`edgefl.compress.base.Compressor.value_free_bits`:
none, signsgd, ef-signsgd, and rd-ideal when the source knows the gradient statistics exactly),
the build wraps the source and the compressor so that no gradient is drawn or compressed: the
source hands out (K, 0) arrays, the compressor counts the bits (:meth:`Compressor.bits_only`).
Every timing, bit and energy column is the one of the full run; distortion is blank and the
source's own metrics (distortion_x, train_loss, ...) are absent. Other schemes run in full.
"""

from __future__ import annotations

import numpy as np

from edgefl.compress.base import CompressionResult, Compressor, RoundContext
from edgefl.sim.gradient_source import GradientSource


def applies(source: GradientSource, compressor: Compressor) -> bool:
    """The scheme's bits can be counted without gradients for this source."""
    return compressor.value_free_bits and (not compressor.bits_need_statistics or source.statistics() is not None)


class NoGradients(GradientSource):
    """A source that draws nothing: (K', 0) gradients, no model update, no metrics."""

    def __init__(self, inner: GradientSource) -> None:
        self.inner = inner
        self.num_workers = inner.num_workers
        self.num_params = inner.num_params
        self.flops_per_gradient = inner.flops_per_gradient

    def local_gradients(self, round: int, workers: np.ndarray | None = None) -> np.ndarray:
        return np.zeros((self.num_workers if workers is None else len(workers), 0))

    def apply_aggregate(self, round: int, aggregate: np.ndarray) -> dict[str, float]:
        return {}

    def statistics(self) -> tuple[float, float] | None:
        return self.inner.statistics()


class BitsOnly(Compressor):
    """``inner``'s bit counts and costs (:meth:`Compressor.bits_only`), no coding of values."""

    def __init__(self, inner: Compressor, num_params: int) -> None:
        self.inner = inner
        self.num_params = num_params
        self.name = inner.name
        self.successive = inner.successive
        self.can_drop_uploads = inner.can_drop_uploads
        self.value_free_bits = True

    def compress(self, grads: np.ndarray, order: np.ndarray, ctx: RoundContext) -> CompressionResult:
        return self.inner.bits_only(grads.shape[0], self.num_params, ctx)

    def encode_flops(self, num_params: int) -> float:
        return self.inner.encode_flops(num_params)

    def server_flops(self, num_workers: int, num_params: int) -> float:
        return self.inner.server_flops(num_workers, num_params)
