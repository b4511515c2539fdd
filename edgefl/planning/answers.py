"""The typed answers of ``edgefl plan``: one type per question, and the report holding them.

``PlanReport.to_dict()`` is what ``edgefl plan ... --json`` prints. The keys scripts may rely
on (pinned by ``tests/test_plan.py``)::

    percentiles.round_latency_s.p50 | p95 | p99          seconds
    percentiles.round_latency_s.ci95.p50 | p95 | p99     [low, high] (null: not bounded by the samples)
    percentiles.samples                                   sample count
    max_workers.max_workers                               workers (0: not even one meets the deadline)
    min_bandwidth.min_uplink_bandwidth_hz                 Hz (null: none up to the schema's limit)
    coverage.max_radius_m                                 m (null: not even the smallest radius)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from edgefl.planning.stats import Interval
from edgefl.strict_json import json_ready


@dataclass(frozen=True)
class Estimate:
    """A percentile of the round latency at one point, with its 95 % interval and sample count."""

    quantile: float  # 0-100
    value_s: float
    ci95: Interval
    samples: int

    def to_dict(self) -> dict[str, Any]:
        return {"quantile": self.quantile, "value_s": self.value_s, "ci95": self.ci95.as_list(),
                "samples": self.samples}


@dataclass(frozen=True)
class Sampling:
    """How an answer's samples were drawn and why the search stopped adding more."""

    over: str  # "fading" | "placements"
    samples: int  # per point, at the end of the search
    stopped: str  # questions.STOP_DEADLINE | STOP_RESOLUTION | STOP_SETTLED | STOP_CAP
    ci_method: str
    engine_paths: list[str]


@dataclass(frozen=True)
class PercentilesAnswer:
    """p50/p95/p99 (and mean) round latency of the scenario with their 95 % intervals."""

    round_latency_s: dict[str, Any]  # p50, p95, p99, mean, ci95: {p50: [lo, hi], ...}
    samples: int
    sampling: Sampling
    workers: int

    question = "round-latency percentiles"


@dataclass(frozen=True)
class MaxWorkersAnswer:
    """Largest worker count whose held percentile meets the deadline."""

    max_workers: int
    field: str  # workers.count or workers.per_round
    limit: int
    at_max: Estimate | None
    at_max_plus_1: Estimate | None
    sampling: Sampling
    note: str = ""

    question = "largest worker count meeting the deadline"


@dataclass(frozen=True)
class MinBandwidthAnswer:
    """Smallest uplink bandwidth whose held percentile meets the deadline, for the scenario's workers."""

    min_uplink_bandwidth_hz: float | None
    bracket_hz: list[float] | None  # (misses, meets)
    bounds_hz: list[float]
    at_min: Estimate | None
    sampling: Sampling
    reason: str = ""

    question = "smallest uplink bandwidth meeting the deadline"


@dataclass(frozen=True)
class CoverageAnswer:
    """Largest cell radius whose held percentile over placements and fading meets the deadline,
    and the workers placed out of coverage at that radius."""

    max_radius_m: float | None
    field: str
    bracket_m: list[float] | None  # (meets, misses)
    bounds_m: list[float]
    at_max: Estimate | None
    out_of_coverage_share: float | None
    out_of_coverage_workers: int | None
    placed_workers: int | None
    out_of_coverage_distances_m: list[float] = field(default_factory=list)
    sampling: Sampling | None = None
    reason: str = ""

    question = "largest cell radius meeting the deadline (over placements)"


@dataclass(frozen=True)
class ScenarioCoverage:
    """Workers of the scenario's own placement out of coverage (named)."""

    workers: list[int]
    distances_m: list[float]
    placed: int
    fraction: float


@dataclass
class PlanReport:
    """Every answer of one ``edgefl plan`` call (None: not asked)."""

    scenario: str
    method: str
    over: str
    quantile: float  # percent: 95.0 = p95 (the API's quantile=0.95)
    resolution: float
    deadline_s: float | None
    assumes: dict[str, Any]
    out_of_coverage: ScenarioCoverage | None = None
    percentiles: PercentilesAnswer | None = None
    max_workers: MaxWorkersAnswer | None = None
    min_bandwidth: MinBandwidthAnswer | None = None
    coverage: CoverageAnswer | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (non-finite numbers become null); unasked answers are left out."""
        out: dict[str, Any] = {}
        for key, value in asdict(self).items():
            if value is None and key in ("percentiles", "max_workers", "min_bandwidth", "coverage",
                                         "out_of_coverage"):
                continue
            out[key] = value
        for key in ("percentiles", "max_workers", "min_bandwidth", "coverage"):
            ans = getattr(self, key)
            if ans is not None:
                out[key] = {"question": type(ans).question, **out[key]}
        return json_ready(_intervals(out))


def _intervals(obj: Any) -> Any:
    """Replace the {low, high} dicts ``asdict`` makes of :class:`Interval` by [low, high] lists."""
    if isinstance(obj, dict):
        if set(obj) == {"low", "high"}:
            return [obj["low"], obj["high"]]
        return {k: _intervals(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_intervals(v) for v in obj]
    return obj
