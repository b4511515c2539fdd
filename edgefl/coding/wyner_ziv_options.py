"""Options of the successive Wyner-Ziv pipeline (:func:`edgefl.coding.wyner_ziv.successive_wyner_ziv`),
one frozen object validated once, here, by pydantic's own range checks.

Kept apart from the coder so that validating a scenario imports neither numba nor scipy.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from edgefl.config_model import StrictModel

#: LDPC block lengths of the DSC pipeline: those whose LDPCA rate gap above the Slepian-Wolf bound is
#: measured (:data:`edgefl.coding.ldpca_model.GAP_TABLES`, benchmarks/ldpca_gap.py), so the analytic
#: failure model charges a measured gap, never an extrapolated one; all have the 0.01-bit rate grid
BLOCK_LENGTHS = (2400, 4800, 9600)


class WynerZivOptions(StrictModel):
    """LDPC code, BP decoder and failure handling of the DSC paper's coder (Sec. IV-B, Algorithm 1)."""

    block_length: int = Field(
        2400, description=f"LDPC block length n, one of {', '.join(map(str, BLOCK_LENGTHS))} (the paper uses 2400; "
        "longer codes decode closer to the Slepian-Wolf rate, in fewer, longer frames)")
    max_iter: int = Field(100, ge=1, le=10_000, description="BP iterations per decoding attempt (the paper uses 100)")
    algorithm: Literal["sum-product", "min-sum"] = "sum-product"
    arithmetic: Literal["float", "int8", "int16"] = Field(
        "float",
        description="BP arithmetic: float (float32 lanes, the reference) or saturated fixed point for min-sum "
        "(int8: about 2x faster, int16; frame-error rates as float's but not bit-identical)",
    )
    guesses: int = Field(
        0, ge=0, le=64,
        description="augmented BP: a failed decode is retried with each of this many suspicious bits pinned "
        "to 0 and to 1 (each retry counts as decoder work); 0 = plain BP as in the paper",
    )
    failure: Literal["retry", "uncoded"] = Field("retry", description="on a detected decoding failure")
    retry_step: float = Field(0.02, gt=0, le=1,
                              description="rate increment per rate-adaptive retry (bits per source bit)")
    ladder_fallback: Literal["raw", "complete"] = Field(
        "raw", description="a frame still failing at the ladder's last rung: raw = resend its n bits (the paper); "
        "complete = send only the n - rank bits its last syndrome leaves free and solve over GF(2) "
        "(edgefl.coding.ldpca_completion: the failed frame costs n instead of m + n, exact)")
    check_bits: int = Field(16, ge=0, le=64, description="per-frame hash bits catching wrong-coset decodes (0 = off)")
    code_seed: int = Field(0, description="seed of the LDPC code family")
    ldpca_ladder: Literal["single", "zoned"] = Field(
        "zoned",
        description="LDPCA rate ladder: zoned (each frame climbs the ladder of the base code fitted for the zone "
        "of its announced rate and for the algorithm; sum-product: 0.03-0.08 bit less rate than single at "
        "H(p) = 0.4-0.9, see benchmarks/ldpca_gap.py) or single (one base code for all rates, as in "
        "Varodayan et al. 2006; the default before issue 23)",
    )

    @model_validator(mode="after")
    def _fixed_point_is_min_sum(self) -> WynerZivOptions:
        if self.arithmetic != "float" and self.algorithm != "min-sum":
            raise ValueError(f"arithmetic={self.arithmetic!r} needs algorithm='min-sum', got {self.algorithm!r}")
        return self

    @field_validator("block_length")
    @classmethod
    def _block_length(cls, v: int) -> int:
        if v not in BLOCK_LENGTHS:
            raise ValueError(f"block_length={v} is not supported: choose one of "
                             f"{', '.join(map(str, BLOCK_LENGTHS))} (the lengths whose LDPCA rate gap is measured)")
        return v
