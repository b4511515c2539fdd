"""Scenario config of the 5G NR link model: ``channel.link: {model: nr, ...}``.

The fields and their defaults are documented (with sources) in :mod:`edgefl.radio.nr`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, PositiveFloat, PositiveInt

from edgefl.config_model import StrictModel
from edgefl.radio.nr_tables import NRTable, load_table

#: default implementation gap (dB), see edgefl.radio.nr
DEFAULT_GAP_DB = 4.3
#: default logistic slope of the TB BLER waterfall (1/dB), see edgefl.radio.nr
DEFAULT_SLOPE_PER_DB = 8.0


class NRLinkConfig(StrictModel):
    """5G NR link adaptation with HARQ (TS 38.214 MCS tables); see :mod:`edgefl.radio.nr`."""

    model: Literal["nr"] = "nr"
    table: Literal["mcs1", "mcs2"] = Field(
        "mcs2", description="MCS table: mcs1 = TS 38.214 Table 5.1.3.1-1 (64QAM), mcs2 = Table 5.1.3.1-2 (256QAM)")
    bler_target: float = Field(0.1, gt=0, lt=1, description="first-transmission TB BLER the MCS choice aims at")
    implementation_gap_db: float = Field(
        DEFAULT_GAP_DB, ge=0, description="dB above the Shannon SNR at which an MCS reaches 10 % BLER")
    bler_slope_per_db: PositiveFloat = Field(
        DEFAULT_SLOPE_PER_DB, description="logistic slope of the TB BLER waterfall, 1/dB")
    harq: Literal["chase", "ir"] = Field("ir", description="HARQ combining: chase (SNR adds) or ir (MI adds)")
    max_harq: PositiveInt = Field(4, description="transmissions per TB in one HARQ process (first included)")
    max_rlc_retx: int = Field(
        4, ge=0, description="fresh HARQ processes after the first before the upload is lost (RLC maxRetxThreshold)")
    harq_rtt_s: float = Field(1e-3, ge=0, description="delay before each retransmission (NACK + re-grant), s")
    overhead: float = Field(0.08, ge=0, lt=1, description="fraction of resource elements for control/RS")
    transport_block_bits: PositiveInt = Field(8448, description="payload bits per transport block")

    @property
    def mcs_table(self) -> NRTable:
        return load_table(self.table)

    @property
    def gap_linear(self) -> float:
        return 10.0 ** (self.implementation_gap_db / 10.0)
