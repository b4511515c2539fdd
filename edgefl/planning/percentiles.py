"""Round-latency percentiles of a scenario over the fading distribution (``edgefl plan --percentiles``).

The latency of N independent draws (:mod:`edgefl.planning.latency`), summarised by its
empirical quantiles: the p-th percentile is the value below which p % of the draws fall
(numpy's linear interpolation between order statistics). Seeded: the same scenario, seed and
N give the same numbers.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from edgefl.planning.latency import draw, percentiles, round_latency, round_model
from edgefl.scenario import ResolvedScenario

DEFAULT_DRAWS = 2000


def latency_percentiles(rs: ResolvedScenario, draws: int = DEFAULT_DRAWS, seed: int | None = None) -> dict[str, Any]:
    """p50/p95/p99 (and mean) of the round latency over ``draws`` channel draws (JSON-ready)."""
    model = round_model(rs)
    lat = round_latency(model, draw(model, draws, seed))
    return {"question": "round-latency percentiles over the fading distribution", **model.assumptions(),
            "workers": model.num_workers, "uplink_bandwidth_hz": model.bandwidth_hz, "draws": draws,
            "seed": model.seed if seed is None else seed, "round_latency_s": {**percentiles(lat),
                                                                              "mean": float(np.mean(lat))}}
