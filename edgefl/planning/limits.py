"""Search bounds of ``edgefl plan``, read from the scenario schema's own field limits.

The searches never leave what a scenario file may say: the uplink bandwidth between the
``ge``/``le`` of ``channel.uplink_bandwidth_hz``, the cell radius up to the ``le`` of
``workers.placement.radius_m`` (disc) / ``r_max_m`` (annulus). The schema puts no upper bound
on ``workers.count``; the worker search stops at :data:`DEFAULT_WORKER_LIMIT` unless told
otherwise (``max_workers_limit``), and ``workers.per_round`` at the population.
"""

from __future__ import annotations

import annotated_types as at
from pydantic import BaseModel

DEFAULT_WORKER_LIMIT = 10_000


def field_bounds(model: type[BaseModel], name: str) -> tuple[float | None, float | None]:
    """(lowest, highest) a field of a schema model admits (None: unbounded on that side)."""
    lo = hi = None
    for m in model.model_fields[name].metadata:
        if isinstance(m, (at.Ge, at.Gt)):
            lo = float(getattr(m, "ge", getattr(m, "gt", None)))
        elif isinstance(m, (at.Le, at.Lt)):
            hi = float(getattr(m, "le", getattr(m, "lt", None)))
    return lo, hi


def bandwidth_bounds() -> tuple[float, float]:
    """Uplink bandwidth range (Hz) of ``channel.uplink_bandwidth_hz``."""
    from edgefl.radio.config import ChannelConfig

    lo, hi = field_bounds(ChannelConfig, "uplink_bandwidth_hz")
    assert lo is not None and hi is not None
    return lo, hi


def radius_field(layout: str) -> str | None:
    """The placement field that sets the cell radius of a layout (None: the layout has none)."""
    return {"disc": "radius_m", "annulus": "r_max_m"}.get(layout)


def radius_bounds(placement: BaseModel) -> tuple[float, float]:
    """Radius range (m) of a disc/annulus placement: above its inner radius (annulus) or
    the 1 m reference distance (disc), up to the schema's limit."""
    name = radius_field(placement.layout)
    if name is None:
        raise ValueError(f"layout {placement.layout!r} has no cell radius")
    _, hi = field_bounds(type(placement), name)
    lo = max(1.0, 1.001 * float(getattr(placement, "r_min_m", 0.0)))
    return lo, float(hi if hi is not None else 1e6)
