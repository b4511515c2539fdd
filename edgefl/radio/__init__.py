"""Radio models: path loss, shadowing, fading, noise, rates, link models, placement and the per-run environment."""

# Imported on first use (PEP 562): the scenario schema imports the config submodules, and
# pulling in the numerical ones with them would slow `edgefl --help` and `validate`.
from __future__ import annotations

from edgefl.lazy import lazy_attributes

_LAZY = {
    "ChannelConfig": "edgefl.radio.config",
    "CorrelationConfig": "edgefl.radio.config",
    "FadingConfig": "edgefl.radio.config",
    "PathLossConfig": "edgefl.radio.config",
    "RadioEnvironment": "edgefl.radio.environment",
    "jakes_correlation": "edgefl.radio.fading",
    "sample_power_gain": "edgefl.radio.fading",
    "LinkModel": "edgefl.radio.link",
    "ShannonLink": "edgefl.radio.link",
    "UploadOutcome": "edgefl.radio.link",
    "make_link": "edgefl.radio.link_registry",
    "thermal_noise_dbm": "edgefl.radio.noise",
    "pathloss_db": "edgefl.radio.pathloss",
    "PlacementConfig": "edgefl.radio.placement",
    "place_workers": "edgefl.radio.placement",
    "spectral_efficiency": "edgefl.radio.rate",
}

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
    "jakes_correlation",
    "make_link",
    "pathloss_db",
    "place_workers",
    "sample_power_gain",
    "spectral_efficiency",
    "thermal_noise_dbm",
]


__getattr__, __dir__ = lazy_attributes(__name__, globals(), _LAZY)
