"""The ``dsc`` compression scheme: distributed source coding of quantised gradients.

DSC paper Algorithm 1 with the helpers of Section IV (Fig. 4): each round the server
announces per-worker, per-bit-plane rates from the rate controller (eq. 45) using the
gradient statistics estimated after the previous round (eq. 57-62, or the offline
estimator eq. 48-56, or fixed "oracle" values); each worker quantises its gradient
(``bits = 1``: sign, i.e. DSC-signSGD), sends the syndromes of its bit-planes plus
its scalar ``sigma_{X+N,k}^2`` (eq. 57); the server decodes successively (Wyner-Ziv,
side information = workers already decoded) and forms the linear estimate (eq. 37).

Fidelities (``ctx.fidelity``): ``"bit-true"`` runs real syndromes and BP decoding
(failures, retries and undetected errors counted, decoded bits aggregated);
``"analytic"`` uses the same rates and bit counts but skips decoding and aggregates
the true quantised values. ``decode_bits`` (n coded bits per decoded frame) is the
same in both modes except for retries, which only bit-true mode sees.

Upload bits = syndrome bits (+ retry bits, + uncoded planes/frames, + per-frame hash
bits) + 32-bit side scalars: ``sigma_{X+N,k}^2`` always, and ``mean |g_k|`` for the
scaled one-bit scheme (the same scale the uncoded signSGD baseline sends, so the
aggregates agree bit for bit wherever decoding is right).
"""

from __future__ import annotations

import time
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from edgefl.coding.ldpc import rate_grid
from edgefl.coding.linear_estimator import linear_estimate
from edgefl.coding.quantizer import MAX_BITS, UniformQuantizer
from edgefl.coding.rate_controller import RateController
from edgefl.coding.statistics import GradientStatistics, offline_estimate, online_ml_estimate, worker_power
from edgefl.coding.wyner_ziv import successive_wyner_ziv
from edgefl.compress.base import CompressionResult, Compressor, RoundContext

SCALAR_BITS = 32


class DSCConfig(BaseModel):
    """Scenario block ``compression: {scheme: dsc, ...}``."""

    model_config = ConfigDict(extra="forbid")

    scheme: Literal["dsc"] = "dsc"
    bits: int = Field(1, description="quantisation bits m per parameter; 1 = DSC-signSGD")
    clip: float = Field(2.0, description="quantiser range +-clip * sigma_Y_k (m > 1); 2 matches the paper's Table 1")
    scaled: bool = Field(True, description="one-bit: reconstruct +-mean|g_k| (32-bit scalar) instead of +-1")
    block_length: int = Field(2400, description="LDPC block length n (the paper uses 2400)")
    max_iter: int = Field(100, description="BP iterations per decoding attempt (the paper uses 100)")
    algorithm: Literal["sum-product", "min-sum"] = "sum-product"
    failure: Literal["retry", "uncoded"] = Field("retry", description="on a detected decoding failure")
    retry_step: float = Field(0.02, description="rate increment per rate-adaptive retry (bits per source bit)")
    rate_margin: float = Field(0.03, description="added to every bit-plane rate (finite-length code gap), bits/bit")
    rate_margin_slope: float = Field(
        0.2, description="plus this fraction of the rate: the LDPCA codes' gap grows with the rate"
    )
    top_k: int | None = Field(None, description="only positions 1..top_k get their own rates (complexity section)")
    mc_samples: int | None = Field(
        None, description="L samples of the semi-analytical Monte Carlo (eq. 44); None = deterministic quadrature"
    )
    estimator: Literal["online", "offline", "oracle"] = Field(
        "online", description="online ML (eq. 57-62), offline genie from the round's perfect gradients (eq. 48-56), "
        "or fixed sigma_x2 / sigma_n2"
    )
    sigma_x2: float = Field(1.0, description="initial (online) or fixed (oracle) global gradient variance")
    sigma_n2: float = Field(1.0, description="initial (online) or fixed (oracle) gradient noise variance")
    check_bits: int = Field(16, description="per-frame hash bits catching wrong-coset decodes (0 = off)")
    code_seed: int = Field(0, description="seed of the LDPC code family")

    @field_validator("bits", "max_iter", "retry_step", "rate_margin", "rate_margin_slope", "check_bits")
    @classmethod
    def _in_range(cls, v, info):
        lo, hi, lo_open, what = _RANGES[info.field_name]
        if not (np.isfinite(v) and (v > lo if lo_open else v >= lo) and v <= hi):
            low = f"({lo}" if lo_open else f"[{lo}"
            raise ValueError(f"{info.field_name} must be in {low}, {hi}]{what}, got {v}")
        return v

    @field_validator("clip", "sigma_x2", "sigma_n2")
    @classmethod
    def _positive(cls, v: float, info) -> float:
        if not (np.isfinite(v) and v > 0):
            raise ValueError(f"{info.field_name} must be a positive finite number, got {v}")
        return v

    @field_validator("block_length")
    @classmethod
    def _block_length(cls, v: int) -> int:
        try:
            rate_grid(v)
        except ValueError as e:
            raise ValueError(f"block_length={v} has no LDPC rate grid: {e}") from None
        return v

    @field_validator("top_k", "mc_samples")
    @classmethod
    def _positive_int(cls, v: int | None, info) -> int | None:
        if v is not None and v < 1:
            raise ValueError(f"{info.field_name} must be >= 1 or null, got {v}")
        return v


#: field -> (low, high, low excluded, unit note) for DSCConfig._in_range
_RANGES = {
    "bits": (1, 10, False, f" (the paper's range; {MAX_BITS} is the quantiser's hard cap)"),
    "max_iter": (1, 10_000, False, ""),
    "retry_step": (0, 1, True, " bits per source bit"),
    "rate_margin": (0, 1, False, " bits per source bit"),
    "rate_margin_slope": (0, 1, False, ""),
    "check_bits": (0, 64, False, ""),
}


class DSCCompressor(Compressor):
    """DSC-signSGD (``bits=1``) and m-bit DSC; stateful across rounds (statistics estimate).

    ``DSCCompressor(cfg)`` as built by the registry, or ``DSCCompressor(bits=1, rate_margin=0.1, ...)``.
    """

    name = "dsc"

    def __init__(self, cfg: DSCConfig | None = None, **overrides) -> None:
        base = cfg.model_dump() if cfg is not None else {}
        self.cfg = DSCConfig(**{**base, **overrides})
        c = self.cfg
        self.quantizer = UniformQuantizer(c.bits, c.clip)
        self.rate_controller = RateController(
            self.quantizer, margin=c.rate_margin, margin_slope=c.rate_margin_slope, top_k=c.top_k, method="grid" if c.mc_samples is None else "mc",
            samples=c.mc_samples, seed=c.code_seed,
        )
        self.stats = GradientStatistics(c.sigma_x2, c.sigma_n2)

    def compress(self, grads: np.ndarray, order: np.ndarray, ctx: RoundContext) -> CompressionResult:
        c = self.cfg
        grads = np.asarray(grads, dtype=np.float64)
        if grads.ndim != 2 or grads.shape[0] < 1 or grads.shape[1] < 1:
            raise ValueError(f"grads must be a non-empty (K, P) array, got shape {grads.shape}")
        if not np.all(np.isfinite(grads)):
            raise ValueError("grads contain NaN or inf")
        K, P = grads.shape
        order = np.asarray(order, dtype=np.int64)
        if sorted(order.tolist()) != list(range(K)):
            raise ValueError(f"order must be a permutation of 0..{K - 1}, got {order.tolist()}")
        if ctx.fidelity not in ("bit-true", "analytic"):
            raise ValueError(f"ctx.fidelity must be 'bit-true' or 'analytic', got {ctx.fidelity!r}")
        t0 = time.perf_counter()

        # worker side: eq. (57) scalar, quantise (Algorithm 1 lines 9-11)
        power = worker_power(grads).astype(np.float32).astype(np.float64)
        power = np.maximum(power, np.finfo(np.float32).tiny)
        scales = np.sqrt(power)
        index = np.stack([self.quantizer.quantize(grads[k], scales[k]) for k in range(K)])

        # server side: statistics for this round and the announced rates (lines 4-6)
        if c.estimator == "offline":
            stats = offline_estimate(grads) if K >= 2 else self.stats
        else:
            stats = self.stats
        rates = self.rate_controller.rates(stats, K)
        # absolute statistics for the LLRs: the ratio estimate, scaled by the first uploader's scalar
        total = float(power[order[0]])
        llr_stats = GradientStatistics(total * stats.ratio / (1 + stats.ratio), total / (1 + stats.ratio))

        wz = successive_wyner_ziv(
            index, order, self.quantizer, rates, llr_stats, scales=scales, mode=ctx.fidelity,
            block_length=c.block_length, max_iter=c.max_iter, algorithm=c.algorithm, failure=c.failure,
            retry_step=c.retry_step, code_seed=c.code_seed, check_bits=c.check_bits,
        )
        aggregate = self._reconstruct(wz.index, grads, scales, llr_stats)
        scalars = 2 if (c.bits == 1 and c.scaled) else 1
        upload = wz.upload_bits + scalars * SCALAR_BITS

        estimate = None
        if c.estimator == "online" and K >= 2:
            # statistics ML problem (eq. 62) on the decoded indices, used next round
            estimate = online_ml_estimate(wz.index, self.quantizer, scales, float(power.mean()),
                                          rng=np.random.default_rng(ctx.round))
            self.stats = estimate
        info = {
            "ratio_used": float(stats.ratio),
            "ratio_estimate": None if estimate is None else float(estimate.ratio),
            "ideal_rate_sum": float(self.rate_controller.ideal_rates(stats, K).sum()),
            "announced_rate_sum": float(rates.sum()),
            "bits_per_param": float(upload.sum() / (K * P)),
            "uncoded_frames": wz.uncoded_frames,
            "allocator_rates_ignored": ctx.rates_bits is not None,
            "compute_seconds": time.perf_counter() - t0,
        }
        return CompressionResult(
            upload_bits=upload, decode_bits=wz.decode_bits, aggregate=aggregate,
            decode_failures=wz.decode_failures, undetected_errors=wz.undetected_errors, retries=wz.retries,
            info=info,
        )

    def _reconstruct(self, index: np.ndarray, grads: np.ndarray, scales: np.ndarray,
                     stats: GradientStatistics) -> np.ndarray:
        """Dequantise and combine (Algorithm 1 line 16, eq. 37)."""
        c = self.cfg
        if c.bits == 1:
            signs = np.where(index == 1, 1.0, -1.0)
            if c.scaled:  # the signSGD scale mean|g_k|, sent as a float32
                mag = np.abs(grads).mean(axis=1, keepdims=True).astype(np.float32).astype(np.float64)
            else:
                mag = np.ones((grads.shape[0], 1))
            return (signs * mag).mean(axis=0)
        u = np.stack([self.quantizer.dequantize(index[k], scales[k]) for k in range(index.shape[0])])
        sigma_w2 = np.array([self.quantizer.noise_variance(s) for s in scales])
        return linear_estimate(u, stats.sigma_n2, sigma_w2)
