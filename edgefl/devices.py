"""Device profiles: worker compute/radio/energy classes and server/decoder profiles.

One profile per YAML file in ``devices/`` (file stem == ``name``), discriminated by
``kind``. Unknown keys are errors. Numbers are data, with citations in the files; their
ranges are wide enough for any real device and keep derived times and energies finite.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, PositiveFloat, TypeAdapter

from edgefl.config_model import StrictModel

_Profile = StrictModel


class WorkerProfile(_Profile):
    """A worker device class.

    ``flops_per_s`` is the *sustained* floating-point rate of local training (not the
    datasheet peak); local compute time = FLOPs of the minibatch gradient / flops_per_s.
    ``tx_power_dbm`` is the conducted RF output power. The three ``*_power_w`` fields
    are the *total* electrical draw of the device in each state: ``compute_power_w``
    while training, ``radio_tx_power_w`` while transmitting, ``idle_power_w`` otherwise
    (so energy = sum over states of time x power). ``radio_rx_power_w`` is the draw while
    receiving (model broadcast, DSC feedback; None = counted at ``idle_power_w``), and
    ``battery_capacity_j`` (None = mains powered) makes the worker drop out once a round
    leaves it empty (:mod:`edgefl.energy`).
    """

    name: str
    kind: Literal["worker"]
    description: str = ""
    flops_per_s: PositiveFloat = Field(le=1e18, description="sustained FLOP/s (<= 1 exaFLOP/s)")
    tx_power_dbm: float = Field(ge=-100, le=80, description="conducted RF output power (dBm)")
    compute_power_w: float = Field(ge=0, le=1e6)
    radio_tx_power_w: float = Field(ge=0, le=1e6)
    idle_power_w: float = Field(ge=0, le=1e6)
    radio_rx_power_w: float | None = Field(None, ge=0, le=1e6, description="draw while receiving, W")
    battery_capacity_j: PositiveFloat | None = Field(None, le=1e12, description="usable battery energy, J")
    source: str = Field(min_length=1, description="citation for the numbers")


class DecoderProfile(_Profile):
    """LDPC decoder at the server.

    ``throughput_bps`` is in *information* (decoded payload) bits per second, the
    figure the DSC paper quotes for its hardware references (Sec. IV.E: "information
    throughput of 181Gbps and 588Gbps"); ``throughput_basis`` records it.
    Decode time of an upload = its bits / throughput_bps. ``energy_per_bit_j`` is the
    decoder energy per decoded bit (None = unknown, not counted).
    ``reference_iterations`` (None = decode time independent of the iterations run) is the mean
    BP iteration count behind ``throughput_bps`` (a measured benchmark's mean, or an ASIC's quoted
    iteration count).
    """

    name: str
    throughput_bps: PositiveFloat = Field(le=1e15)
    throughput_basis: Literal["information", "coded"] = "information"
    energy_per_bit_j: PositiveFloat | None = Field(None, description="J per decoded bit")
    reference_iterations: PositiveFloat | None = Field(
        None, le=1e4, description="BP iterations per pass at which throughput_bps holds; when set, a pass "
        "that runs I iterations takes I / reference_iterations times its throughput time")
    source: str = Field(min_length=1)


class ServerProfile(_Profile):
    """The edge server: compute for statistics estimation / rate control, transmitter, decoder."""

    name: str
    kind: Literal["server"]
    description: str = ""
    flops_per_s: PositiveFloat = Field(le=1e18)
    tx_power_dbm: float = Field(ge=-100, le=80)
    compute_power_w: float | None = Field(
        None, ge=0, le=1e6, description="draw while computing (aggregation, rate control), W; None = not counted"
    )
    decoder: DecoderProfile
    source: str = Field(min_length=1)


DeviceProfile = Annotated[WorkerProfile | ServerProfile, Field(discriminator="kind")]
_DEVICE_ADAPTER: TypeAdapter = TypeAdapter(DeviceProfile)


def parse_device_profile(data: dict[str, Any]) -> WorkerProfile | ServerProfile:
    """Validate a profile mapping (one YAML file); ``kind`` selects worker or server.

    Raises ``pydantic.ValidationError`` naming the offending field.
    """
    return _DEVICE_ADAPTER.validate_python(data)
