"""Radio models: path loss, shadowing, fading, noise, rates, placement and the per-run environment."""

# Imported on first use (PEP 562): the scenario schema imports the config submodules, and
# pulling in the numerical ones with them would slow `edgefl --help` and `validate`.
from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "ChannelConfig": "edgefl.radio.config",
    "CorrelationConfig": "edgefl.radio.config",
    "FadingConfig": "edgefl.radio.config",
    "PathLossConfig": "edgefl.radio.config",
    "RadioEnvironment": "edgefl.radio.environment",
    "jakes_correlation": "edgefl.radio.fading",
    "sample_power_gain": "edgefl.radio.fading",
    "thermal_noise_dbm": "edgefl.radio.noise",
    "pathloss_db": "edgefl.radio.pathloss",
    "PlacementConfig": "edgefl.radio.placement",
    "place_workers": "edgefl.radio.placement",
}

__all__ = [
    "ChannelConfig",
    "CorrelationConfig",
    "FadingConfig",
    "PathLossConfig",
    "PlacementConfig",
    "RadioEnvironment",
    "jakes_correlation",
    "pathloss_db",
    "place_workers",
    "sample_power_gain",
    "thermal_noise_dbm",
]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
