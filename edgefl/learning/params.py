"""All trainable tensors of a model in one flat vector, with a view per tensor.

The compression schemes see a model as one vector of P parameters; the ONNX graph sees
named tensors. ``ParamLayout`` maps between the two: tensor i occupies
``flat[offsets[i]:offsets[i + 1]]`` in C order. The master copy is float64 (the optimiser
and the compression schemes work in float64); a float32 model is fed a float32 copy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ParamLayout:
    names: tuple[str, ...]
    shapes: tuple[tuple[int, ...], ...]

    @property
    def sizes(self) -> tuple[int, ...]:
        return tuple(int(np.prod(s, dtype=np.int64)) for s in self.shapes)

    @property
    def offsets(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(self.sizes, dtype=np.int64)])

    @property
    def num_params(self) -> int:
        return int(sum(self.sizes))

    def views(self, flat: np.ndarray) -> list[np.ndarray]:
        """Reshaped views (no copies) of ``flat``, one per tensor, in layout order."""
        if flat.ndim != 1 or flat.shape[0] != self.num_params:
            raise ValueError(f"flat: expected a 1-D vector of {self.num_params} parameters, got shape {flat.shape}")
        off = self.offsets
        return [flat[off[i] : off[i + 1]].reshape(s) for i, s in enumerate(self.shapes)]

    def flatten(self, tensors: list[np.ndarray], dtype=np.float64) -> np.ndarray:
        """Concatenate per-tensor arrays (in layout order) into one flat vector."""
        if len(tensors) != len(self.names):
            raise ValueError(f"tensors: expected {len(self.names)} arrays, got {len(tensors)}")
        return np.concatenate([np.asarray(t, dtype=dtype).ravel() for t in tensors])

    def block_ids(self) -> np.ndarray:
        """(P,) index of the tensor each parameter belongs to (layer id for per-layer stats)."""
        return np.repeat(np.arange(len(self.names)), self.sizes)
