"""Radio models: path loss, shadowing, fading, noise, rates, link models, placement and the per-run environment."""

from edgefl.radio.config import ChannelConfig, CorrelationConfig, FadingConfig, PathLossConfig
from edgefl.radio.environment import RadioEnvironment
from edgefl.radio.fading import jakes_correlation, sample_power_gain
from edgefl.radio.link import LinkModel, ShannonLink, UploadOutcome
from edgefl.radio.link_registry import make_link
from edgefl.radio.noise import thermal_noise_dbm
from edgefl.radio.pathloss import pathloss_db
from edgefl.radio.placement import PlacementConfig, place_workers
from edgefl.radio.rate import (
    broadcast_rate_bps,
    shannon_rate_bps,
    spectral_efficiency,
    upload_bandwidths_hz,
)

__all__ = [
    "ChannelConfig",
    "CorrelationConfig",
    "FadingConfig",
    "LinkModel",
    "PathLossConfig",
    "PlacementConfig",
    "RadioEnvironment",
    "ShannonLink",
    "UploadOutcome",
    "broadcast_rate_bps",
    "jakes_correlation",
    "make_link",
    "pathloss_db",
    "place_workers",
    "sample_power_gain",
    "shannon_rate_bps",
    "spectral_efficiency",
    "thermal_noise_dbm",
    "upload_bandwidths_hz",
]
