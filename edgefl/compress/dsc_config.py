"""Scenario block of the ``dsc`` scheme, kept apart from the coder so that loading a
scenario does not import numba and scipy (see :mod:`edgefl.compress.dsc`).

The Wyner-Ziv pipeline's own options (code, decoder, failure handling) are inherited from
:class:`edgefl.coding.wyner_ziv_options.WynerZivOptions`, so the block is validated once, by
pydantic's range checks, and handed to the coder as it is.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, PositiveFloat, PositiveInt, field_validator, model_validator

from edgefl.coding.wyner_ziv_options import WynerZivOptions

MAX_BITS = 16  # must equal edgefl.coding.quantizer.MAX_BITS (checked by a test)


class DSCConfig(WynerZivOptions):
    """Scenario block ``compression: {scheme: dsc, ...}``."""

    scheme: Literal["dsc"] = "dsc"
    #: successive (side-information) decoding: P1's Lemma 1 order applies even without a target D
    successive: ClassVar[bool] = True
    bits: int = Field(1, ge=1, le=10, description=f"quantisation bits m per parameter; 1 = DSC-signSGD "
                      f"(the paper's range 1-10; {MAX_BITS} is the quantiser's hard cap)")
    clip: PositiveFloat = Field(
        2.0, description="quantiser range +-clip * sigma_Y_k (m > 1); 2 matches the paper's Table 1")
    scaled: bool = Field(True, description="one-bit: reconstruct +-mean|g_k| (32-bit scalar) instead of +-1")
    rate_margin: float = Field(0.03, ge=0, le=1,
                               description="added to every bit-plane rate (finite-length code gap), bits/bit")
    rate_margin_slope: float = Field(
        0.2, ge=0, le=1, description="plus this fraction of the rate: the LDPCA codes' gap grows with the rate"
    )
    rate_policy: Literal["fixed", "adaptive", "none"] = Field(
        "fixed", description="margin over the rate estimate (edgefl.coding.margin_policy): fixed = rate_margin + "
        "rate_margin_slope x rate; none = the estimate, failures paid by rate-adaptive retries; adaptive = the fixed "
        "margin scaled by a factor that follows the observed failure fraction toward retry_target")
    analytic_failures: Literal["auto", "on", "off"] = Field(
        "auto", description="fidelity analytic: charge each LDPC frame the retries, increments and uncoded "
        "fallbacks the bit-true ladder would need for its realised information need (edgefl.coding.ldpca_model: "
        "cross-entropy of the sent signs under the decoder's LLRs + the measured LDPCA gap); off = the announced "
        "rates, no failures (the paper's analytic model); auto = on except for side_information gaussian with "
        "rate_policy fixed, whose analytic output stays the reference")
    retry_target: float = Field(0.25, ge=0, le=1, description="adaptive policy: target fraction of coded frames "
                                "whose first decode fails")
    margin_gain: float = Field(1.0, ge=0, le=100, description="adaptive policy: step of the margin scale per unit "
                               "of (failure fraction - retry_target)")
    uncoded_above: float | None = Field(
        None, ge=0, le=1, description="adaptive / none policies: planes (history: frames) whose rate estimate "
        "reaches this go uncoded; default (1 - rate_margin) / (1 + rate_margin_slope), where the fixed margin "
        "reaches 1")
    uncoded_rule: Literal["ceiling", "realised"] = Field(
        "ceiling", description="history model, adaptive / none policies: which frames go uncoded: ceiling = those "
        "estimated at or above uncoded_above; realised = per class of estimate, those whose coding saved nothing "
        "on average over the past rounds (edgefl.coding.saving_guard: realised cost of coded frames, the LDPCA "
        "failure model's for raw ones; classes not yet seen follow the ceiling)")
    ladder_zone: Literal["announced", "calibrated"] = Field(
        "announced", description="zoned LDPCA ladder: the base code a frame climbs is the one of the zone of its "
        "announced rate, or (calibrated) of that rate plus the mean climb (last syndrome's rate - first rate) of "
        "the decoded frames of the past rounds, a moving average the server broadcasts with the rates")
    side_information: Literal["gaussian", "history"] = Field(
        "gaussian", description="conditional sign model for rates and LLRs: the paper's Gaussian CEO model, or "
        "(bits = 1) a table fitted online on the decoded signs of past rounds (edgefl.coding.sign_history); "
        "history falls back to gaussian until it has scored a fitted table on a decoded round (3 rounds)")
    frame_order: Literal["contiguous", "entropy"] = Field(
        "contiguous", description="how each worker's signs fill the LDPC frames: contiguous = parameter order; "
        "entropy (side_information history) = sorted by the predicted conditional entropy of a class table the "
        "server broadcasts (counted on the downlink), so frames are homogeneous (edgefl.coding.sign_history)")
    top_k: PositiveInt | None = Field(
        None, description="only positions 1..top_k get their own rates (complexity section)")
    mc_samples: PositiveInt | None = Field(
        None, description="L samples of the semi-analytical Monte Carlo (eq. 44); None = deterministic quadrature"
    )
    estimator: Literal["online", "offline", "oracle"] = Field(
        "online", description="online ML (eq. 57-62), offline genie from the round's perfect gradients (eq. 48-56), "
        "or fixed sigma_x2 / sigma_n2"
    )
    sigma_x2: PositiveFloat = Field(1.0, description="initial (online) or fixed (oracle) global gradient variance")
    sigma_n2: PositiveFloat = Field(1.0, description="initial (online) or fixed (oracle) gradient noise variance")

    @model_validator(mode="after")
    def _history_is_one_bit(self) -> DSCConfig:
        if self.side_information == "history" and self.bits != 1:
            raise ValueError(f"side_information 'history' models one-bit signs only (bits = 1), got bits = {self.bits}")
        if self.uncoded_rule == "realised" and (self.side_information != "history" or self.rate_policy == "fixed"):
            raise ValueError("uncoded_rule 'realised' chooses the history model's coded frames under the adaptive or "
                             f"none policy, got side_information {self.side_information!r}, rate_policy "
                             f"{self.rate_policy!r}")
        if self.frame_order == "entropy" and self.side_information != "history":
            raise ValueError("frame_order 'entropy' sorts the signs by the history model's predicted entropy: it needs "
                             f"side_information 'history', got {self.side_information!r}")
        return self

    @field_validator("analytic_failures", mode="before")
    @classmethod
    def _yaml_on_off(cls, v: object) -> object:
        # YAML 1.1 reads a bare on / off as a boolean
        return {True: "on", False: "off"}.get(v, v) if isinstance(v, bool) else v

    @property
    def failure_model(self) -> bool:
        """Whether analytic runs use the LDPCA failure model (``analytic_failures``, auto resolved)."""
        if self.analytic_failures == "auto":
            return not (self.side_information == "gaussian" and self.rate_policy == "fixed")
        return self.analytic_failures == "on"
