"""The scenario schema (pydantic v2): one model per section of a scenario file.

Every section derives from :class:`edgefl.config_model.StrictModel` (unknown keys, NaN/inf
and silent number coercion are errors; instances are frozen).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    model_validator,
)

from edgefl.compress.registry import compression_config_type
from edgefl.compress.simple import NoneConfig
from edgefl.config_model import StrictModel
from edgefl.learning.config import ModelConfig
from edgefl.learning.convex_config import ConvexConfig
from edgefl.radio.access_registry import make_access
from edgefl.radio.config import ChannelConfig
from edgefl.scenario.workers import Position, WorkerGroup, WorkerOverride, WorkersConfig

__all__ = ["Position", "WorkerGroup", "WorkerOverride", "WorkersConfig"]  # re-exported from .workers

Variance = Annotated[float, Field(gt=0, le=1e30)]


class ServerConfig(StrictModel):
    """The parameter server: position (metres) and compute/decoder profile."""

    position: Position = Field(
        (0.0, 0.0, 25.0), description="x, y, z (m); z is the BS antenna height of a 3GPP TR 38.901 channel "
        "(unset: the model's nominal height, edgefl.radio.heights)")
    profile: str


class GaussianCEOConfig(StrictModel):
    """Synthetic gradients from the RD paper's CEO model: Y_k = X + N_k (RD paper Section II),
    X ~ N(0, sigma_x2 I_P) drawn afresh each round, N_k ~ N(0, sigma_n2 I_P) independent."""

    source: Literal["gaussian-ceo"] = "gaussian-ceo"
    params: PositiveInt = Field(..., description="P, parameters per gradient")
    sigma_x2: Variance
    sigma_n2: Variance
    flops_per_gradient: PositiveFloat = Field(1e8, le=1e20, description="FLOPs one worker spends per local gradient")


class RateAllocationConfig(StrictModel):
    """How rates, decoding order and FDMA bandwidth shares are allocated (RD paper problem P1, eq. 20)."""

    scheme: Literal["equal", "p1"] = "equal"
    target_distortion: Variance | None = Field(
        None, description="D of the aggregate per parameter; sets the rates of the rd-ideal scheme")
    snr: Literal["mean", "current"] = Field(
        "mean", description="SNR behind alpha_k = 1/log2(1+SNR_k): mean link budget or the fading state at round start")
    update: Literal["round", "once"] = Field("round", description="re-solve every round or once per run")
    initial_sigma_x2: Variance | None = Field(
        None, description="sigma_X^2 the server assumes before its first estimate (learning sources)")
    initial_sigma_n2: Variance | None = Field(None, description="sigma_N^2 assumed before the first estimate")


class OutputConfig(StrictModel):
    """Where results go. ``dir`` defaults to ``results/<name>`` under the current directory."""

    dir: str | None = Field(None, min_length=1, description="results directory (default results/<name>)")
    timeline: bool = True
    plots: bool = True
    timing_only: bool = Field(
        False, description="only timing, bits and energy: schemes whose bit counts do not depend on the "
        "gradient values (none, signsgd, ef-signsgd, rd-ideal with known statistics) draw no gradients; "
        "distortion and the source's metrics are left out (edgefl.sim.bits_only)")


CompressionConfig = compression_config_type()


class Scenario(StrictModel):
    """One edgefl scenario."""

    name: str = Field(..., min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$",
                      description="letters, digits, _ . - ; starts with a letter or digit (names the results folder)")
    seed: NonNegativeInt = 0
    rounds: PositiveInt
    workers: WorkersConfig
    server: ServerConfig
    channel: ChannelConfig
    gradients: Annotated[GaussianCEOConfig | ConvexConfig, Field(discriminator="source")] | None = Field(
        None, description="synthetic CEO gradients or the convex test bed (or use 'model')")
    model: ModelConfig | None = Field(None, description="real learning with an ONNX model (or use 'gradients')")
    compression: CompressionConfig = Field(default_factory=NoneConfig)  # type: ignore[valid-type]
    rate_allocation: RateAllocationConfig = Field(default_factory=RateAllocationConfig)
    fidelity: Literal["analytic", "bit-true"] = "analytic"
    upload_order: Literal["completion", "index"] = Field(
        "completion", description="TDMA upload order: as workers finish (DSC paper Sec. IV-D) or by index"
    )
    round_deadline_s: PositiveFloat | None = Field(
        None, le=1e9, description="uploads not finished this many seconds after the round start are dropped "
        "from the round's aggregate (straggler deadline); default none")
    output: OutputConfig = Field(default_factory=OutputConfig)

    @model_validator(mode="after")
    def _one_gradient_source(self) -> Scenario:
        if (self.gradients is None) == (self.model is None):
            raise ValueError("give exactly one gradient source: 'gradients' (synthetic gaussian-ceo) "
                             "or 'model' (ONNX model trained on data)")
        ra = self.rate_allocation
        successive = bool(getattr(type(self.compression), "successive", False))
        if (ra.scheme == "p1" and ra.target_distortion is None and not successive
                and not make_access(self.channel.access).splits_band):
            # without D, P1 only orders successive decoders (Lemma 1) and splits FDMA bands
            raise ValueError("rate_allocation.scheme p1 needs rate_allocation.target_distortion here: P1 (RD paper "
                             "eq. 20) minimises bandwidth for that distortion; without it, with TDMA and a "
                             f"non-successive scheme ({self.compression.scheme}), it would change nothing")
        policy = getattr(self.compression, "rate_policy", "fixed")
        if (policy != "fixed" and self.fidelity != "bit-true"
                and getattr(self.compression, "analytic_failures", "auto") == "off"):
            raise ValueError(f"compression.rate_policy {policy!r} needs fidelity: bit-true or "
                             "compression.analytic_failures on/auto: without the failure model the analytic "
                             "fidelity sees no decoding failures and charges no retries")
        if self.compression.scheme == "rd-ideal" and ra.target_distortion is None:
            raise ValueError("compression.scheme rd-ideal needs rate_allocation.target_distortion")
        if ra.target_distortion is not None and isinstance(self.gradients, GaussianCEOConfig):
            d_min = self.gradients.sigma_n2 / self.workers.participants  # K of a round, not the population
            if ra.target_distortion <= d_min:
                raise ValueError(
                    f"rate_allocation.target_distortion = {ra.target_distortion!r} is not achievable: it must exceed "
                    f"sigma_n2 / K = {d_min!r} with K = {self.workers.participants} workers per round "
                    "(RD paper Corollary 2)")
        if self.model is not None and ra.target_distortion is not None and (
                ra.initial_sigma_x2 is None or ra.initial_sigma_n2 is None):
            raise ValueError("with a model and a target_distortion, give rate_allocation.initial_sigma_x2 "
                             "and initial_sigma_n2 (the server's statistics before its first estimate)")
        return self


def json_schema() -> dict[str, Any]:
    """JSON Schema of a scenario file."""
    return Scenario.model_json_schema()
