"""Pydantic schema of a wireless channel: path loss, shadowing, fading, noise, access.

One ``ChannelConfig`` is what a file in ``channels/`` holds and what a scenario's
``channel:`` section resolves to. Unknown keys are errors (``extra="forbid"``).
Model-specific parameters are rejected when given to a model that does not use them,
so a typo such as ``k_factor_db`` on a Rayleigh channel is caught instead of ignored.
Every number has a range wide enough for any real link and narrow enough that the SNR,
rates and times derived from it stay finite floats (e.g. a 1e6 dB SNR gap overflowed).
"""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, Field, PositiveFloat, model_validator

from edgefl.config_model import StrictModel
from edgefl.radio.link import ShannonLinkConfig
from edgefl.radio.link_registry import link_config_type
from edgefl.radio.trace import ChannelTraceConfig

PathLossModel = Literal[
    "free_space",
    "log_distance",
    "uma_los",
    "uma_nlos",
    "umi_los",
    "umi_nlos",
    "inh_office_los",
    "inh_office_nlos",
    "inf_los",
    "inf_nlos",
]

#: Models of 3GPP TR 38.901 Table 7.4.1-1 (they use antenna heights).
TR38901_MODELS = frozenset(get_args(PathLossModel)) - {"free_space", "log_distance"}


#: Carrier range of validity of 38.901 Table 7.4.1-1 (UMa, UMi, InH, InF): 0.5-100 GHz.
TR38901_CARRIER_RANGE_HZ = (0.5e9, 100e9)


_Strict = StrictModel


def _reject_unused(model: BaseModel, owner: str, value: str, unused: tuple[str, ...]) -> None:
    given = [f for f in unused if getattr(model, f) is not None]
    if given:
        raise ValueError(
            f"{', '.join(given)} not used by {owner}={value!r}; remove it or pick a model that uses it"
        )


class PathLossConfig(_Strict):
    """Large-scale path-loss model.

    * ``free_space``: Friis, PL = 20 log10(4 pi d f / c).
    * ``log_distance``: PL = PL(d0) + 10 n log10(d / d0); ``pl0_db`` defaults to the
      free-space loss at ``d0_m`` (Rappaport, *Wireless Communications*, 2nd ed., Sec. 4.9.1).
    * ``uma_*``, ``umi_*`` (street canyon), ``inh_office_*``, ``inf_*``: 3GPP TR 38.901
      V17 Table 7.4.1-1. ``inf_nlos`` uses the sub-scenario ``inf_subscenario``
      (``sl`` sparse/low BS, ``dl`` dense/low BS, ``sh`` sparse/high BS, ``dh`` dense/high BS).

    ``h_bs_m`` / ``h_ut_m`` override the antenna heights taken from the z coordinates of
    the server / worker positions (38.901 models only); ``h_e_m`` is the effective
    environment height of the UMa/UMi breakpoint distance (38.901 Note 1; 1 m for UMi
    and for UMa with h_UT < 13 m). Distances below ``min_distance_m`` (default: the
    lower validity limit of the model) are clamped to it.
    """

    model: PathLossModel
    exponent: PositiveFloat | None = Field(None, le=10, description="log_distance: path-loss exponent n")
    d0_m: float | None = Field(None, ge=0.01, le=1e4, description="log_distance: reference distance (m)")
    pl0_db: float | None = Field(
        None, ge=-50, le=300, description="log_distance: loss at d0 (dB); default free-space loss at d0"
    )
    h_bs_m: PositiveFloat | None = Field(
        None, le=1e4, description="38.901: BS (server) antenna height, m; default: server z"
    )
    h_ut_m: PositiveFloat | None = Field(
        None, le=1e4, description="38.901: UT (worker) antenna height, m; default: worker z"
    )
    h_e_m: float = Field(1.0, ge=0, le=1e4, description="38.901 UMa/UMi: effective environment height, m")
    inf_subscenario: Literal["sl", "dl", "sh", "dh"] | None = Field(
        None, description="inf_nlos: InF sub-scenario (default 'dl')"
    )
    min_distance_m: PositiveFloat | None = Field(
        None, le=1e6, description="clamp distances below this (m); default: the model's validity limit"
    )

    @model_validator(mode="after")
    def _check_params(self) -> PathLossConfig:
        if self.model == "log_distance":
            if self.exponent is None:
                raise ValueError("log_distance needs 'exponent' (path-loss exponent n, e.g. 3.5)")
        else:
            _reject_unused(self, "model", self.model, ("exponent", "d0_m", "pl0_db"))
        if self.model not in TR38901_MODELS:
            _reject_unused(self, "model", self.model, ("h_bs_m", "h_ut_m"))
        if self.model != "inf_nlos":
            _reject_unused(self, "model", self.model, ("inf_subscenario",))
        return self


class FadingConfig(_Strict):
    """Small-scale fading with unit mean power gain.

    ``rayleigh``: |h|^2 ~ Exp(1). ``rician``: LOS-to-scatter power ratio K
    (``k_factor_db``). ``nakagami``: |h|^2 ~ Gamma(m, 1/m), m >= 0.5.
    """

    model: Literal["none", "rayleigh", "rician", "nakagami"] = "none"
    k_factor_db: float | None = Field(None, ge=-50, le=50, description="rician: K factor in dB")
    m: float | None = Field(None, ge=0.5, le=1e4, description="nakagami: shape m >= 0.5")

    @model_validator(mode="after")
    def _check_params(self) -> FadingConfig:
        if self.model == "rician" and self.k_factor_db is None:
            raise ValueError("rician fading needs 'k_factor_db' (LOS/scatter power ratio in dB)")
        if self.model == "nakagami" and self.m is None:
            raise ValueError("nakagami fading needs 'm' (shape, >= 0.5)")
        if self.model != "rician":
            _reject_unused(self, "model", self.model, ("k_factor_db",))
        if self.model != "nakagami":
            _reject_unused(self, "model", self.model, ("m",))
        return self


class CorrelationConfig(_Strict):
    """Time correlation of the fading.

    ``block_round``: one draw per (worker, round), constant within the round.
    ``block_upload``: a fresh draw for every upload (every call).
    ``gauss_markov``: first-order autoregressive complex-Gaussian process sampled at
    the call times, rho = J0(2 pi f_d dt) (Jakes/Clarke autocorrelation).
    """

    kind: Literal["block_round", "block_upload", "gauss_markov"] = "block_round"
    doppler_hz: float | None = Field(None, ge=0, le=1e6, description="gauss_markov: max Doppler f_d (Hz)")

    @model_validator(mode="after")
    def _check_params(self) -> CorrelationConfig:
        if self.kind == "gauss_markov" and self.doppler_hz is None:
            raise ValueError("gauss_markov correlation needs 'doppler_hz' (f_d = v f_c / c)")
        if self.kind != "gauss_markov":
            _reject_unused(self, "kind", self.kind, ("doppler_hz",))
        return self


LinkConfig = link_config_type()


class ChannelConfig(_Strict):
    """A complete channel profile (one file in ``channels/``)."""

    name: str | None = Field(None, description="profile name (file stem in channels/)")
    description: str = ""
    carrier_hz: float = Field(ge=1e6, le=1e12, description="carrier frequency (Hz), 1 MHz - 1 THz")
    pathloss: PathLossConfig
    shadowing_sigma_db: float = Field(0.0, ge=0, le=30, description="log-normal shadowing std (dB)")
    fading: FadingConfig = FadingConfig()
    correlation: CorrelationConfig = CorrelationConfig()
    noise_figure_db: float = Field(
        ge=0, le=50, description="receiver noise figure (dB): the server's (uplink) and, unless "
        "downlink_noise_figure_db is set, also the workers' (downlink)"
    )
    downlink_noise_figure_db: float | None = Field(
        None, ge=0, le=50, description="workers' receiver noise figure (dB); default noise_figure_db"
    )
    uplink_bandwidth_hz: float = Field(ge=1.0, le=1e11, description="uplink bandwidth B (Hz), 1 Hz - 100 GHz")
    downlink_bandwidth_hz: float = Field(ge=1.0, le=1e11, description="downlink bandwidth (Hz), 1 Hz - 100 GHz")
    access: Literal["tdma", "fdma"] = "tdma"
    tx_power_dbm: float | None = Field(
        None, ge=-100, le=80, description="worker transmit power (dBm); overrides the device profile when set"
    )
    snr_gap_db: float = Field(0.0, ge=0, le=50, description="SNR gap to capacity (dB)")
    max_spectral_efficiency: PositiveFloat | None = Field(
        None, le=100, description="cap on bit/s/Hz (e.g. 256-QAM at the highest code rate)"
    )
    link: LinkConfig = Field(  # type: ignore[valid-type]
        default_factory=ShannonLinkConfig,
        description="link model turning SNR into rate and playing out uploads (see edgefl.radio.link)")
    trace: ChannelTraceConfig | None = Field(
        None, description="replay per-worker SNR or path gain from a CSV (edgefl.radio.trace) instead of "
        "path loss, shadowing and fading")

    @model_validator(mode="after")
    def _check_carrier(self) -> ChannelConfig:
        lo, hi = TR38901_CARRIER_RANGE_HZ
        if self.pathloss.model in TR38901_MODELS and not lo <= self.carrier_hz <= hi:
            raise ValueError(
                f"carrier_hz={self.carrier_hz:g} is outside the 3GPP TR 38.901 range "
                f"[{lo:g}, {hi:g}] Hz of path-loss model {self.pathloss.model!r}"
            )
        return self
