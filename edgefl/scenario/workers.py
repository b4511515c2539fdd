"""The ``workers`` section: the population (how many workers exist, where, on which devices) and
partial participation (how many of them are sampled each round, and how).

``count`` is the population N: every worker has a device and a position. ``per_round`` K <= N
workers are drawn each round (default: all of them, full participation), uniformly or with
probabilities proportional to each worker's ``availability`` weight (set per group or per
override; 1 by default). The DSC paper's learning experiments (Sec. V-A) and the RD paper's
Sec. VI use such a population with K = 10 taking part in each iteration.
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field, NonNegativeFloat, NonNegativeInt, PositiveInt, model_validator

from edgefl.config_model import StrictModel
from edgefl.device_trace import DeviceTraceConfig
from edgefl.radio.placement import PlacementConfig

#: x, y, z in metres; +-1000 km keeps distances and path losses finite
Coordinate = Annotated[float, Field(ge=-1e6, le=1e6)]
Position = tuple[Coordinate, Coordinate, Coordinate]
#: relative chance of a worker being sampled (``sampling: availability``); 0 = never sampled
Availability = Annotated[float, Field(ge=0.0, le=1e6)]


class WorkerGroup(StrictModel):
    """``count`` workers sharing one device profile."""

    count: PositiveInt
    device: str
    availability: Availability = Field(1.0, description="sampling weight of these workers "
                                       "(workers.sampling: availability); 0 = never sampled")


class WorkerOverride(StrictModel):
    """Per-worker exceptions to the group settings."""

    index: NonNegativeInt
    device: str | None = None
    position: Position | None = None
    availability: Availability | None = Field(None, description="sampling weight of this worker")


class WorkersConfig(StrictModel):
    """The population of workers (``count``), where they are, on which devices, and how many of
    them take part in each round (``per_round``, ``sampling``)."""

    count: PositiveInt = Field(..., description="workers that exist (the population), each with a device "
                               "and a position")
    placement: PlacementConfig
    device: str | None = Field(None, description="device profile of every worker (or use groups)")
    groups: list[WorkerGroup] | None = Field(None, description="device profile per group; counts sum to count")
    overrides: list[WorkerOverride] = Field(default_factory=list)
    compute_jitter: NonNegativeFloat = Field(
        0.0, le=3.0, description="sigma of a lognormal factor on each worker's compute time per round "
        "(stragglers; 0.1-0.5 is typical, <= 3 keeps exp(sigma z) finite)"
    )
    trace: DeviceTraceConfig | None = Field(
        None, description="replay per-worker compute speed and availability windows (edgefl.device_trace)")
    per_round: PositiveInt | None = Field(
        None, description="workers sampled (without replacement) to take part in each round; default all (count)")
    sampling: Literal["uniform", "availability"] = Field(
        "uniform", description="uniform, or probability proportional to each worker's availability weight "
        "(groups[].availability, overrides[].availability; default 1)")

    @property
    def participants(self) -> int:
        """K, the workers taking part in each round."""
        return self.count if self.per_round is None else self.per_round

    @property
    def partial(self) -> bool:
        """Whether fewer than all workers take part in a round."""
        return self.participants < self.count

    @model_validator(mode="after")
    def _devices_given(self) -> WorkersConfig:
        if (self.device is None) == (self.groups is None):
            raise ValueError("give exactly one of 'device' (one profile for all) or 'groups'")
        if self.groups is not None:
            total = sum(g.count for g in self.groups)
            if total != self.count:
                raise ValueError(f"group counts sum to {total}, but count is {self.count}")
        seen: set[int] = set()
        for ov in self.overrides:
            if ov.index >= self.count:
                raise ValueError(f"override index {ov.index} out of range 0..{self.count - 1}")
            if ov.index in seen:
                raise ValueError(f"two overrides for worker {ov.index}; merge them into one")
            seen.add(ov.index)
        n_pos = len(getattr(self.placement, "positions_m", ()) or ())
        if getattr(self.placement, "layout", None) == "explicit" and n_pos != self.count:
            raise ValueError(f"placement lists {n_pos} positions but count is {self.count}")
        if self.per_round is not None and self.per_round > self.count:
            raise ValueError(f"per_round = {self.per_round} exceeds count = {self.count} (the population); "
                             f"allowed: 1..{self.count}")
        if self.sampling == "availability":
            available = self.available_count()
            if available < self.participants:
                raise ValueError(f"sampling: availability needs at least per_round = {self.participants} workers "
                                 f"with availability > 0, has {available}")
        return self

    def _group_availability(self, index: int) -> float:
        """The availability worker ``index`` has from its group (1 without groups)."""
        if self.groups is None:
            return 1.0
        end = 0
        for g in self.groups:
            end += g.count
            if index < end:
                return g.availability
        return 1.0

    def available_count(self) -> int:
        """Workers with availability > 0 (those :meth:`availability_weights` gives a positive weight),
        counted from the groups and overrides without an array of ``count``: the schema checks it before
        the scenario's memory is bounded, and an untrusted ``count`` may be huge."""
        n = self.count if self.groups is None else sum(g.count for g in self.groups if g.availability > 0)
        for ov in self.overrides:
            if ov.availability is not None:
                n += int(ov.availability > 0) - int(self._group_availability(ov.index) > 0)
        return n

    def availability_weights(self) -> np.ndarray:
        """(count,) sampling weight of every worker: its group's ``availability``, replaced by its
        override's when given."""
        w = np.ones(self.count)
        if self.groups is not None:
            i = 0
            for g in self.groups:
                w[i:i + g.count] = g.availability
                i += g.count
        for ov in self.overrides:
            if ov.availability is not None:
                w[ov.index] = ov.availability
        return w
