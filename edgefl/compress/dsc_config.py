"""Scenario block of the ``dsc`` scheme, kept apart from the coder so that loading a
scenario does not import numba and scipy (see :mod:`edgefl.compress.dsc`)."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, field_validator

from edgefl.config_model import StrictModel

MAX_BITS = 16  # must equal edgefl.coding.quantizer.MAX_BITS (checked by a test)


class DSCConfig(StrictModel):
    """Scenario block ``compression: {scheme: dsc, ...}``."""

    scheme: Literal["dsc"] = "dsc"
    bits: int = Field(1, description="quantisation bits m per parameter; 1 = DSC-signSGD")
    clip: float = Field(2.0, description="quantiser range +-clip * sigma_Y_k (m > 1); 2 matches the paper's Table 1")
    scaled: bool = Field(True, description="one-bit: reconstruct +-mean|g_k| (32-bit scalar) instead of +-1")
    block_length: int = Field(2400, description="LDPC block length n (the paper uses 2400)")
    max_iter: int = Field(100, description="BP iterations per decoding attempt (the paper uses 100)")
    algorithm: Literal["sum-product", "min-sum"] = "sum-product"
    guesses: int = Field(
        0, description="augmented BP: a failed decode is retried with each of this many suspicious bits pinned "
        "to 0 and to 1 (each retry counts as decoder work); 0 = plain BP as in the paper"
    )
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

    @field_validator("bits", "max_iter", "guesses", "retry_step", "rate_margin", "rate_margin_slope", "check_bits")
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
        from edgefl.coding.ldpc import rate_grid  # numba: imported only when a dsc scenario is checked

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
    "guesses": (0, 64, False, " pinned bits per failed decode"),
    "retry_step": (0, 1, True, " bits per source bit"),
    "rate_margin": (0, 1, False, " bits per source bit"),
    "rate_margin_slope": (0, 1, False, ""),
    "check_bits": (0, 64, False, ""),
}
