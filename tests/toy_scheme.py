"""A test-only compression scheme: every worker sends float16 values of its gradient; the server
broadcasts the next model in float16 too. It exists to show that a scheme needs only its own
file plus one line in ``edgefl.compress.registry.SCHEMES`` (see tests/test_compress_interface.py).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from edgefl.compress.base import CompressionResult, Compressor, RoundContext


class Half16Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    scheme: Literal["half16"] = "half16"


class Half16(Compressor):
    """float16 up and down; encoding is one conversion per parameter."""

    name = "half16"

    def __init__(self, cfg: Half16Config) -> None:
        self.cfg = cfg
        self.seen_workers: list[np.ndarray] = []

    def encode_flops(self, num_params: int) -> float:
        return float(num_params)

    def server_flops(self, num_workers: int, num_params: int) -> float:
        return 1e9  # 1 ms on a 1e12 FLOP/s server

    def compress(self, grads: np.ndarray, order: np.ndarray, ctx: RoundContext) -> CompressionResult:
        self.seen_workers.append(ctx.worker_ids(grads.shape[0]))
        k, p = grads.shape
        bits = np.full(k, 16.0 * p)
        agg = grads.astype(np.float16).astype(np.float64).mean(axis=0)
        return CompressionResult(bits, np.zeros(k), agg, downlink_bits=16.0 * p)
