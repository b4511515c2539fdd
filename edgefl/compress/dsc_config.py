"""Scenario block of the ``dsc`` scheme, kept apart from the coder so that loading a
scenario does not import numba and scipy (see :mod:`edgefl.compress.dsc`).

The Wyner-Ziv pipeline's own options (code, decoder, failure handling) are inherited from
:class:`edgefl.coding.wyner_ziv_options.WynerZivOptions`, so the block is validated once, by
pydantic's range checks, and handed to the coder as it is.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, PositiveFloat, PositiveInt

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
