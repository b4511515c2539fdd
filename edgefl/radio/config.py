"""Pydantic schema of a wireless channel: path loss, shadowing, fading, noise, access.

One ``ChannelConfig`` is what a file in ``channels/`` holds and what a scenario's
``channel:`` section resolves to. Unknown keys are errors (``extra="forbid"``).
Model-specific parameters are rejected when given to a model that does not use them,
so a typo such as ``k_factor_db`` on a Rayleigh channel is caught instead of ignored.
Every number has a range wide enough for any real link and narrow enough that the SNR,
rates and times derived from it stay finite floats (e.g. a 1e6 dB SNR gap overflowed).
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import BaseModel, Field, PositiveFloat, model_validator

from edgefl.config_model import StrictModel
from edgefl.radio.link import ShannonLinkConfig
from edgefl.radio.link_registry import link_config_type
from edgefl.radio.los import INF_CLUTTER_SCENARIOS, LosScenario
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
    "rma_los",
    "rma_nlos",
]

#: Models of 3GPP TR 38.901 Table 7.4.1-1 (they use antenna heights).
TR38901_MODELS = frozenset(get_args(PathLossModel)) - {"free_space", "log_distance"}


#: Carrier range of validity of 38.901 Table 7.4.1-1 (UMa, UMi, InH, InF): 0.5-100 GHz.
TR38901_CARRIER_RANGE_HZ = (0.5e9, 100e9)
#: RMa path loss of 38.901 Table 7.4.1-1 is valid for 0.5-30 GHz (38.901 Sec. 7.4.1).
RMA_CARRIER_RANGE_HZ = (0.5e9, 30e9)


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
    * ``uma_*``, ``umi_*`` (street canyon), ``inh_office_*``, ``inf_*``, ``rma_*``: 3GPP TR 38.901
      V17 Table 7.4.1-1 (RMa with ``building_height_m`` h and, NLOS, ``street_width_m`` W).
      ``inf_nlos`` uses the sub-scenario ``inf_subscenario`` (``sl`` sparse/low BS,
      ``dl`` dense/low BS, ``sh`` sparse/high BS, ``dh`` dense/high BS).

    Antenna heights (38.901 models) are the z coordinates of the server and of each worker
    (``server.position``, ``workers.placement.height_m``, ``workers.overrides[i].position``);
    a scenario that gives none gets the model's nominal heights, and heights outside the
    model's validity range are scenario errors (:mod:`edgefl.radio.heights`). ``h_bs_m`` /
    ``h_ut_m`` pin them instead, overriding the scenario geometry for every worker (a what-if
    at fixed heights; the shipped profiles leave them unset). ``h_e_m`` is the effective
    environment height of the UMa/UMi breakpoint distance (38.901 Note 1): ``"standard"``
    (default) is 1 m for UMi and, for UMa, 1 m with probability 1/(1 + C(d_2D, h_UT)),
    else uniform over {12, 15, ..., h_UT - 1.5}, drawn per link; a number fixes it (the
    standard's value only for h_UT < 13 m). Distances below ``min_distance_m`` (default:
    the lower validity limit of the model) are clamped to it.
    """

    model: PathLossModel
    exponent: PositiveFloat | None = Field(None, le=10, description="log_distance: path-loss exponent n")
    d0_m: float | None = Field(None, ge=0.01, le=1e4, description="log_distance: reference distance (m)")
    pl0_db: float | None = Field(
        None, ge=-50, le=300, description="log_distance: loss at d0 (dB); default free-space loss at d0"
    )
    h_bs_m: PositiveFloat | None = Field(
        None, le=1e4, description="38.901: pins the BS (server) antenna height, m, over the server's z"
    )
    h_ut_m: PositiveFloat | None = Field(
        None, le=1e4, description="38.901: pins every UT (worker) antenna height, m, over the workers' z"
    )
    h_e_m: Annotated[float, Field(ge=0, le=1e4)] | Literal["standard"] = Field(
        "standard",
        description="38.901 UMa/UMi: effective environment height h_E, m; 'standard' = 1 m for UMi "
        "and drawn per link for UMa (Table 7.4.1-1 Note 1), a number = that fixed h_E",
    )
    inf_subscenario: Literal["sl", "dl", "sh", "dh"] | None = Field(
        None, description="inf_nlos: InF sub-scenario (default 'dl')"
    )
    min_distance_m: PositiveFloat | None = Field(
        None, le=1e6, description="clamp distances below this (m); default: the model's validity limit"
    )
    building_height_m: float | None = Field(
        None, ge=5, le=50, description="rma: average building height h, 5-50 m (default 5)"
    )
    street_width_m: float | None = Field(
        None, ge=5, le=50, description="rma_nlos: average street width W, 5-50 m (default 20)"
    )

    @model_validator(mode="after")
    def _check_rma_params(self) -> PathLossConfig:
        if not self.model.startswith("rma"):
            _reject_unused(self, "model", self.model, ("building_height_m",))
        if self.model != "rma_nlos":
            _reject_unused(self, "model", self.model, ("street_width_m",))
        return self

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


#: Path-loss fields of the geometry, shared by both LOS states (set at the top level only).
NLOS_INHERITED = frozenset({"h_bs_m", "h_ut_m", "h_e_m", "min_distance_m", "building_height_m"})


class LinkStateConfig(_Strict):
    """Path loss, shadowing and fading of the NLOS state of a mixed LOS/NLOS profile.

    Antenna heights, h_E and the building height come from the channel's top-level
    ``pathloss`` (one geometry per link, whatever its state), so they are not allowed here.
    """

    pathloss: PathLossConfig
    shadowing_sigma_db: float = Field(0.0, ge=0, description="log-normal shadowing std (dB)")
    fading: FadingConfig = FadingConfig()

    @model_validator(mode="after")
    def _check_heights(self) -> LinkStateConfig:
        given = sorted(NLOS_INHERITED & self.pathloss.model_fields_set)
        if given:
            raise ValueError(
                f"{', '.join(given)} must not be set in los_state.nlos.pathloss: heights, h_E, building "
                "height and the distance clamp come from the channel's top-level pathloss"
            )
        return self


#: Path-loss model pairs (LOS state, NLOS state) each Table 7.4.2-1 row goes with.
LOS_STATE_MODELS = {
    "rma": ("rma_los", "rma_nlos"),
    "umi_street_canyon": ("umi_los", "umi_nlos"),
    "uma": ("uma_los", "uma_nlos"),
    "inh_office_mixed": ("inh_office_los", "inh_office_nlos"),
    "inh_office_open": ("inh_office_los", "inh_office_nlos"),
    "inf_sl": ("inf_los", "inf_nlos"),
    "inf_dl": ("inf_los", "inf_nlos"),
    "inf_sh": ("inf_los", "inf_nlos"),
    "inf_dh": ("inf_los", "inf_nlos"),
}


class LosStateConfig(_Strict):
    """Per-worker LOS/NLOS state drawn from 3GPP TR 38.901 Table 7.4.2-1 (a mixed profile).

    The channel's top-level ``pathloss``, ``shadowing_sigma_db`` and ``fading`` apply in
    the LOS state, ``nlos`` in the NLOS state. ``redraw``: ``placement`` draws each
    worker's state once (fixed for the run); ``correlation`` redraws it with the
    channel's ``correlation`` policy (once per round for ``block_round``, per
    transmission for ``block_upload``; not with ``gauss_markov``). InF-SL/DL/SH/DH need
    the clutter of 38.901 Table 7.2-4: ``clutter_size_m`` (d_clutter), ``clutter_density``
    (r) and ``clutter_height_m`` (h_c).
    """

    probability: LosScenario = Field(description="row of 38.901 Table 7.4.2-1")
    redraw: Literal["placement", "correlation"] = "placement"
    nlos: LinkStateConfig
    clutter_size_m: PositiveFloat | None = Field(None, description="InF: d_clutter, m")
    clutter_density: float | None = Field(None, gt=0, lt=1, description="InF: clutter density r")
    clutter_height_m: PositiveFloat | None = Field(None, description="InF: effective clutter height h_c, m")

    @model_validator(mode="after")
    def _check_clutter(self) -> LosStateConfig:
        clutter = ("clutter_size_m", "clutter_density", "clutter_height_m")
        if self.probability in INF_CLUTTER_SCENARIOS:
            missing = [f for f in clutter if getattr(self, f) is None]
            if missing:
                raise ValueError(
                    f"probability={self.probability!r} needs {', '.join(missing)} (38.901 Table 7.2-4 clutter)"
                )
        else:
            _reject_unused(self, "probability", self.probability, clutter)
        return self


class O2IConfig(_Strict):
    """Outdoor-to-indoor penetration, 3GPP TR 38.901 Sec. 7.4.3.1, for UMa / UMi profiles.

    ``indoor_fraction`` and ``high_loss_fraction`` are the defaults a scenario's placement
    may override: the share of workers placed indoors (38.901 Table 7.2-1: 80 % for UMa
    and UMi) and the share of those in high-loss buildings (Table 7.4.3-2; the standard
    leaves the mix to the user). An indoor worker gets PL_tw + 0.5 d_2D-in + N(0, sigma_P^2)
    on top of its outdoor path loss, d_2D-in = min of two U(0, ``max_indoor_distance_m``).
    ``shadowing_sigma_db`` and ``fading``, when set, replace the state's values for indoor
    workers (38.901 Table 7.5-6 lists sigma_SF = 7 dB and no K-factor for O2I links).
    ``indoor_height: floors`` puts each indoor worker on a random floor of a random
    building (38.901 Table 7.2-1), which overrides the path loss's ``h_ut_m`` for them.
    """

    indoor_fraction: float = Field(0.0, ge=0, le=1, description="default share of indoor workers")
    high_loss_fraction: float = Field(0.5, ge=0, le=1, description="default share in high-loss buildings")
    max_indoor_distance_m: PositiveFloat = Field(25.0, description="d_2D-in upper limit, m (25 UMa/UMi)")
    shadowing_sigma_db: float | None = Field(None, ge=0, description="indoor workers' shadowing std, dB")
    fading: FadingConfig | None = Field(None, description="indoor workers' fading; default the state's")
    indoor_height: Literal["placement", "floors"] = Field(
        "placement", description="indoor workers' h_UT: the placement's, or 'floors' = 3(n_fl - 1) + 1.5 m "
        "with n_fl ~ U{1..N_fl}, N_fl ~ U{4..8} (38.901 Table 7.2-1)"
    )


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
    out_of_coverage: Literal["exclude", "error"] = Field(
        "exclude", description="workers whose mean SNR (up or down) is below the link's lowest MCS: exclude "
        "them from every round (a warning; reported in workers.csv and summary.json) or refuse the scenario")
    tx_power_dbm: float | None = Field(
        None, ge=-100, le=80, description="worker transmit power (dBm); overrides the device profile when set"
    )
    snr_gap_db: float = Field(0.0, ge=0, le=50, description="SNR gap to capacity (dB)")
    max_spectral_efficiency: PositiveFloat | None = Field(
        None, le=100, description="cap on bit/s/Hz (e.g. 256-QAM at the highest code rate)"
    )
    los_state: LosStateConfig | None = Field(
        None, description="mixed LOS/NLOS profile: per-worker state from 38.901 Table 7.4.2-1"
    )
    o2i: O2IConfig | None = Field(None, description="outdoor-to-indoor penetration (38.901 Sec. 7.4.3)")
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

    @model_validator(mode="after")
    def _check_rma_carrier(self) -> ChannelConfig:
        lo, hi = RMA_CARRIER_RANGE_HZ
        if self.pathloss.model.startswith("rma") and not lo <= self.carrier_hz <= hi:
            raise ValueError(
                f"carrier_hz={self.carrier_hz:g} is outside the 3GPP TR 38.901 RMa range [{lo:g}, {hi:g}] Hz"
            )
        return self

    @model_validator(mode="after")
    def _check_mixed(self) -> ChannelConfig:
        los = self.los_state
        if los is not None:
            if los.probability not in LOS_STATE_MODELS:
                raise ValueError(
                    f"los_state.probability={los.probability!r} has no LOS/NLOS path-loss pair in edgefl; "
                    f"allowed: {sorted(LOS_STATE_MODELS)}"
                )
            want = LOS_STATE_MODELS[los.probability]
            got = (self.pathloss.model, los.nlos.pathloss.model)
            if got != want:
                raise ValueError(
                    f"los_state.probability={los.probability!r} needs pathloss.model={want[0]!r} (LOS state) "
                    f"and los_state.nlos.pathloss.model={want[1]!r}; got {got[0]!r} and {got[1]!r}"
                )
            if los.probability.startswith("inf_"):
                sub = los.nlos.pathloss.inf_subscenario or "dl"
                if los.probability != f"inf_{sub}":
                    raise ValueError(
                        f"los_state.probability={los.probability!r} does not match "
                        f"los_state.nlos.pathloss.inf_subscenario={sub!r}"
                    )
            if los.redraw == "correlation" and self.correlation.kind == "gauss_markov":
                raise ValueError(
                    "los_state.redraw='correlation' needs correlation.kind block_round or block_upload; "
                    "gauss_markov has no LOS-state process (use redraw: placement)"
                )
        if self.o2i is not None and self.pathloss.model not in ("uma_los", "uma_nlos", "umi_los", "umi_nlos"):
            raise ValueError(
                f"o2i applies to outdoor base stations (UMa / UMi path loss), not pathloss.model="
                f"{self.pathloss.model!r}"
            )
        return self
