"""The uplink access schemes a scenario can name in ``channel.access`` (see :mod:`edgefl.radio.access`).

One entry per scheme: its :class:`~edgefl.radio.access.AccessScheme` class, or ``"module:Class"``
imported on first use.
"""

from __future__ import annotations

from edgefl.radio.access import AccessScheme
from edgefl.tagged_registry import implementation

#: ``channel.access`` value -> AccessScheme class or "module:Class"
ACCESS_SCHEMES: dict[str, type[AccessScheme] | str] = {
    "tdma": "edgefl.radio.access_tdma:TDMA",
    "fdma": "edgefl.radio.access_fdma:FDMA",
}


def make_access(name: str) -> AccessScheme:
    """The access scheme called ``name`` (ValueError naming the known ones otherwise)."""
    if name not in ACCESS_SCHEMES:
        raise ValueError(f"access must be one of {sorted(ACCESS_SCHEMES)}, got {name!r}")
    return implementation(ACCESS_SCHEMES[name])()
