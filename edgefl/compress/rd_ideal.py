"""An ideal rate-distortion coder: what the Gaussian CEO theory promises, played out.

RD paper Sec. IV-V: worker k's quantised observation is the Gaussian test channel
U_k = Y_k + V_k with V_k ~ N(0, sigma_V,k^2), parameterised by
z_k = (1 - exp(-2 r_k)) / sigma_N^2 = 1 / (sigma_N^2 + sigma_V,k^2); the server's
unbiased estimator (RD paper eq. (29)) X_hat = sum_k z_k U_k / sum_k z_k has
variance 1 / sum_k z_k = D. Worker k sends R_k bits per parameter, the rates the
rate allocator chose (P1's Lemma 1 corner point or the symmetric R_sum(D)/K).
Nothing is really decoded (analytic fidelity only), but the server's decoder is
charged for the coded bits as for any DSC scheme (DSC paper Sec. IV-E): it is the
benchmark every real scheme is measured against.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np
from pydantic import Field, PositiveFloat

from edgefl.compress.base import CompressionResult, Compressor, RoundContext, bits_only_result
from edgefl.config_model import StrictModel


class RDIdealConfig(StrictModel):
    """Ideal Gaussian-CEO coding at the allocator's rates (needs rate_allocation.target_distortion)."""

    scheme: Literal["rd-ideal"] = "rd-ideal"
    #: successive (side-information) decoding: P1's Lemma 1 order applies even without a target D
    successive: ClassVar[bool] = True
    sigma_n2: PositiveFloat | None = Field(
        None, description="worker noise variance for the test channel (default: the source's)")


class RDIdeal(Compressor):
    """Gaussian test channel U_k = Y_k + V_k and estimator (29) of the RD paper."""

    name = "rd-ideal"
    successive = True
    value_free_bits = True
    bits_need_statistics = True

    def __init__(self, cfg: RDIdealConfig | None = None) -> None:
        self.cfg = cfg or RDIdealConfig()

    def bits_only(self, num_workers: int, num_params: int, ctx: RoundContext) -> CompressionResult:
        """R_k P bits per worker, coded and decoded (the allocation's rates; no test-channel draw)."""
        alloc = ctx.allocation
        if alloc is None or alloc.rates_bits is None:
            raise ValueError("rd-ideal needs rate_allocation.target_distortion and gradient statistics")
        bits = np.asarray(alloc.rates_bits, dtype=float) * num_params
        return bits_only_result(bits, bits.copy())

    def compress(self, grads: np.ndarray, order: np.ndarray, ctx: RoundContext) -> CompressionResult:
        alloc = ctx.allocation
        if alloc is None or alloc.z is None or alloc.rates_bits is None or ctx.sigma_n2 is None:
            raise ValueError("rd-ideal needs rate_allocation.target_distortion and gradient statistics")
        k, p = grads.shape
        sigma_n2 = self.cfg.sigma_n2 or ctx.sigma_n2
        z = np.asarray(alloc.z, dtype=float)
        used = z > 0  # P1 may switch a costly worker off (z_k = 0, R_k = 0): it sends nothing
        var_v = np.maximum(1.0 / z[used] - sigma_n2, 0.0)
        noise = ctx.rng.standard_normal((int(used.sum()), p)) * np.sqrt(var_v)[:, None]
        agg = (z[used, None] * (grads[used] + noise)).sum(axis=0) / z.sum()
        u = np.zeros((k, p))
        u[used] = grads[used] + noise
        bits = np.asarray(alloc.rates_bits, dtype=float) * p
        return CompressionResult(upload_bits=bits, decode_bits=bits.copy(), aggregate=agg,
                                 info={"target_distortion": 1.0 / z.sum()}, reconstructions=u, weights=z)
