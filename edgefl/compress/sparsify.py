"""Top-k and random-k sparsification, with error feedback.

top-k (Aji & Heafield, EMNLP 2017; with error feedback as in Stich, Cordonnier & Jaggi,
"Sparsified SGD with memory", NeurIPS 2018, Alg. 1): send the k entries of p = g + e of
largest magnitude, keep the rest in e. rand-k (Stich et al. 2018; Wangni et al. 2018):
k uniformly random entries; without error feedback they are scaled by P/k so the
estimate is unbiased (E[(P/k) p_S] = p).

Code per worker: the k positions (:func:`edgefl.compress.bitstream.index_code`: the
cheaper of a P-bit bitmap and Elias-gamma gaps, plus one bit saying which), then the k
values as float32. The decoder knows P and k.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from edgefl.compress.base import CompressionResult, Compressor, RoundContext
from edgefl.compress.bitstream import (
    BitReader,
    Bits,
    concat,
    float32_bits,
    index_code,
    index_code_length,
    read_index_code,
)
from edgefl.compress.errors import SchemeParameterError
from edgefl.compress.feedback import ErrorFeedback
from edgefl.config_model import StrictModel


class _SparseConfig(StrictModel):
    k: int | None = Field(None, ge=1, description="entries sent per worker (or give fraction)")
    fraction: float | None = Field(None, gt=0.0, le=1.0, description="k = ceil(fraction P); default 0.01")

    @model_validator(mode="after")
    def _one_size(self):
        if self.k is not None and self.fraction is not None:
            raise ValueError("give k or fraction, not both")
        return self

    def size(self, p: int) -> int:
        if self.k is not None:
            if self.k > p:
                raise SchemeParameterError("k", self.k, f"must be <= P = {p} parameters")
            return self.k
        return max(1, math.ceil((self.fraction or 0.01) * p))


class TopKConfig(_SparseConfig):
    """top-k with error feedback (on by default)."""

    scheme: Literal["topk"] = "topk"
    error_feedback: bool = True


class RandKConfig(_SparseConfig):
    """rand-k: unbiased (scaled by P/k) without error feedback, unscaled with it."""

    scheme: Literal["randk"] = "randk"
    error_feedback: bool = False


def encode_sparse(idx: np.ndarray, values: np.ndarray, p: int) -> Bits:
    return concat([index_code(idx, p), float32_bits(values)])


def decode_sparse(bits: Bits, p: int, k: int) -> np.ndarray:
    reader = BitReader(bits)
    idx = read_index_code(reader, p, k)
    out = np.zeros(p)
    out[idx] = reader.float32(k)
    if reader.remaining:
        raise ValueError(f"sparse code: {reader.remaining} bits left after decoding")
    return out


class Sparsifier(Compressor):
    """top-k or rand-k per worker; the server averages the decoded sparse vectors."""

    def __init__(self, cfg: TopKConfig | RandKConfig | None = None, *, num_params: int | None = None,
                 **_: object) -> None:
        self.cfg = cfg or TopKConfig()
        self.name = self.cfg.scheme
        if num_params is not None:
            self.cfg.size(num_params)
        self.feedback = ErrorFeedback() if self.cfg.error_feedback else None

    def select(self, p_vec: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
        """Sorted positions sent."""
        if self.cfg.scheme == "topk":
            idx = np.argpartition(np.abs(p_vec), p_vec.size - k)[p_vec.size - k:] if k < p_vec.size \
                else np.arange(p_vec.size)
        else:
            idx = rng.choice(p_vec.size, size=k, replace=False)
        return np.sort(idx)

    def compress(self, grads: np.ndarray, order: np.ndarray, ctx: RoundContext) -> CompressionResult:
        n, p = grads.shape
        k = self.cfg.size(p)
        scale = p / k if (self.cfg.scheme == "randk" and self.feedback is None) else 1.0
        up = np.zeros(n)
        agg = np.zeros(p)
        rec = np.empty((n, p))  # per-worker reconstructions: the server can aggregate a subset
        if self.feedback:
            self.feedback.begin_round()
        for row, w in enumerate(ctx.worker_ids(n).tolist()):
            vec = self.feedback.corrected(w, grads[row]) if self.feedback else grads[row]
            idx = self.select(vec, k, ctx.rng)
            vals = (vec[idx] * scale).astype(np.float32)
            if ctx.fidelity == "bit-true":
                bits = encode_sparse(idx, vals, p)
                sent = decode_sparse(bits, p, k)
                up[row] = bits.size
            else:
                sent = np.zeros(p)
                sent[idx] = vals
                up[row] = index_code_length(idx, p) + 32 * k
            if self.feedback:
                self.feedback.update(w, vec, sent)
            agg += sent
            rec[row] = sent
        return CompressionResult(upload_bits=up, decode_bits=np.zeros(n), aggregate=agg / n, reconstructions=rec)

    def uploads_dropped(self, rows: np.ndarray) -> None:
        """Dropped uploads applied nothing at the server: their workers keep e_w <- p."""
        if self.feedback:
            self.feedback.dropped(rows)

    def encode_flops(self, num_params: int) -> float:
        # error feedback add + residual (2P); top-k by introselect (~3P comparisons, counted as flops)
        ef = 2.0 * num_params if self.feedback else 0.0
        return ef + (3.0 * num_params if self.cfg.scheme == "topk" else 0.0)
