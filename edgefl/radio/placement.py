"""Worker placement layouts around the server.

Random layouts draw from the generator they are given; points are uniform in area
(radius r = sqrt(U (r_max^2 - r_min^2) + r_min^2), angle uniform), the standard
inverse-CDF construction for a uniform density on a disc or annulus.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

import numpy as np
from pydantic import Field, PositiveFloat, model_validator

from edgefl.config_model import StrictModel

#: a coordinate in metres; +-1000 km keeps squared distances and path losses finite
Coordinate = Annotated[float, Field(ge=-1e6, le=1e6)]
Point = tuple[Coordinate, Coordinate] | tuple[Coordinate, Coordinate, Coordinate]


class _Indoor(StrictModel):
    """Indoor share of the workers (3GPP TR 38.901 Sec. 7.4.3 outdoor-to-indoor).

    ``indoor_fraction``: share of workers placed indoors; ``high_loss_fraction``: share of
    the indoor workers in high-loss buildings (38.901 Table 7.4.3-2). Unset (None) takes the
    channel profile's ``o2i`` defaults (e.g. 80 % indoor for the mixed UMa/UMi profiles,
    38.901 Table 7.2-1), or no indoor workers when the channel has no ``o2i`` section.
    """

    indoor_fraction: float | None = Field(None, ge=0, le=1, description="share of indoor workers")
    high_loss_fraction: float | None = Field(
        None, ge=0, le=1, description="share of indoor workers in high-loss buildings"
    )


class _Layout(_Indoor):
    center_m: tuple[Coordinate, Coordinate] = Field((0.0, 0.0), description="x, y of the layout centre (m)")
    height_m: float = Field(1.5, ge=0, le=1e4, description="worker antenna height z (m); unset with a "
                            "3GPP TR 38.901 channel: the model's nominal h_UT (edgefl.radio.heights)")


class ExplicitPlacement(_Indoor):
    """Given coordinates: [x, y] (z = ``height_m``) or [x, y, z] per worker."""

    layout: Literal["explicit"]
    positions_m: list[Point] = Field(min_length=1)
    height_m: float = Field(1.5, ge=0, le=1e4, description="z for points given as [x, y] (m); unset with a "
                            "3GPP TR 38.901 channel: the model's nominal h_UT")


class DiscPlacement(_Layout):
    """Uniform in a disc of radius ``radius_m``."""

    layout: Literal["disc"]
    radius_m: PositiveFloat = Field(le=1e6)


class AnnulusPlacement(_Layout):
    """Uniform in the annulus r_min_m <= r <= r_max_m (keeps workers out of the near field)."""

    layout: Literal["annulus"]
    r_min_m: float = Field(ge=0)
    r_max_m: PositiveFloat = Field(le=1e6)

    @model_validator(mode="after")
    def _order(self) -> AnnulusPlacement:
        if self.r_min_m >= self.r_max_m:
            raise ValueError(f"r_min_m ({self.r_min_m}) must be < r_max_m ({self.r_max_m})")
        return self


class GridPlacement(_Layout):
    """Square-ish grid with spacing ``spacing_m``, centred on ``center_m``, filled row by row.

    ``columns`` defaults to ceil(sqrt(K)).
    """

    layout: Literal["grid"]
    spacing_m: PositiveFloat = Field(le=1e5)
    columns: int | None = Field(None, ge=1)


PlacementConfig = Annotated[
    ExplicitPlacement | DiscPlacement | AnnulusPlacement | GridPlacement,
    Field(discriminator="layout"),
]


def annulus_uniforms(rng: np.random.Generator, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The draws of ``k`` points uniform in an annulus, whatever its radii: U (area) and angle."""
    u = rng.random(k)
    phi = rng.uniform(0.0, 2.0 * np.pi, k)
    return u, phi


def annulus_points(u: np.ndarray, phi: np.ndarray, r_min: float, r_max: float) -> np.ndarray:
    """(..., 2) points of the annulus r_min <= r <= r_max from the draws of :func:`annulus_uniforms`
    (module docstring): the same draws give the same points scaled with the radius (the common random
    numbers of ``edgefl plan --coverage``)."""
    r = np.sqrt(u * (r_max**2 - r_min**2) + r_min**2)
    return np.stack([r * np.cos(phi), r * np.sin(phi)], axis=-1)


def _uniform_annulus(rng: np.random.Generator, k: int, r_min: float, r_max: float) -> np.ndarray:
    return annulus_points(*annulus_uniforms(rng, k), r_min, r_max)


def place_workers(layout: PlacementConfig, K: int, rng: np.random.Generator) -> np.ndarray:
    """(K, 3) worker positions in metres for ``layout``."""
    if int(K) != K or K < 1:
        raise ValueError(f"K must be a positive integer, got {K}")
    K = int(K)
    if isinstance(layout, ExplicitPlacement):
        if len(layout.positions_m) != K:
            raise ValueError(
                f"explicit layout lists {len(layout.positions_m)} positions but K={K} workers"
            )
        return np.array(
            [p if len(p) == 3 else (p[0], p[1], layout.height_m) for p in layout.positions_m],
            dtype=float,
        )
    if isinstance(layout, DiscPlacement):
        xy = _uniform_annulus(rng, K, 0.0, layout.radius_m)
    elif isinstance(layout, AnnulusPlacement):
        xy = _uniform_annulus(rng, K, layout.r_min_m, layout.r_max_m)
    elif isinstance(layout, GridPlacement):
        cols = layout.columns or math.ceil(math.sqrt(K))
        rows = math.ceil(K / cols)
        idx = np.arange(K)
        xy = np.column_stack(
            [(idx % cols - (cols - 1) / 2.0), (idx // cols - (rows - 1) / 2.0)]
        ) * layout.spacing_m
    else:
        raise ValueError(f"unknown placement layout {layout!r}")
    xy = xy + np.asarray(layout.center_m)
    return np.column_stack([xy, np.full(K, layout.height_m)])
