"""Typed per-round records: the rows of rounds.csv and the totals of summary.json.

The engine fills one :class:`RoundRecord` per round. Each field declares how it enters
the run totals through its metadata (``total=(aggregate, name)``, aggregate one of
:data:`AGGREGATES`); rounds.csv takes its columns from the field order, then the extra
metrics of the gradient source (``train_loss``, ``test_accuracy``, ...) in first-seen
order, whose totals :data:`EXTRA_TOTALS` declares. Extras named ``*_wall_s`` are wall-clock
measurements and go to wall_times.csv (see :mod:`edgefl.results.outputs`).

A record reads like a mapping (``rec["latency_s"]``, ``"test_accuracy" in rec``) so
callers need not care whether a metric is a field or an extra.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

#: aggregate name -> function of the per-round values (a list, in round order)
AGGREGATES: dict[str, Callable[[list[Any]], Any]] = {
    "sum": lambda v: sum(v),
    "mean": lambda v: sum(v) / len(v),
    "last": lambda v: v[-1],
}


def _total(aggregate: str, name: str | None = None) -> dict[str, Any]:
    return {"total": (aggregate, name)}


@dataclass
class RoundRecord:
    """One round (all times in simulated seconds, bits per round)."""

    round: int
    start_s: float
    end_s: float = field(metadata=_total("last", "simulated_time_s"))
    latency_s: float = field(metadata=_total("mean", "mean_round_latency_s"))
    broadcast_s: float
    downlink_bits: float = field(metadata=_total("sum", "downlink_bits_total"))  # the broadcast opening the round
    bits_total: float = field(metadata=_total("sum", "bits_total"))
    bits_per_worker_mean: float
    bits_per_worker_min: float
    bits_per_worker_max: float
    bits_per_param: float = field(metadata=_total("mean", "mean_bits_per_param"))
    decode_bits_total: float
    # MSE of the aggregate vs the mean gradient; None in timing-only runs (blank in rounds.csv)
    distortion: float | None = field(metadata=_total("mean", "mean_distortion"))
    decode_failures: int = field(metadata=_total("sum", "decode_failures"))
    undetected_errors: int = field(metadata=_total("sum", "undetected_errors"))
    retries: int = field(metadata=_total("sum", "retries"))
    upload_airtime_s: float
    worker_energy_j: float = field(metadata=_total("sum", "worker_energy_j"))  # sum of the four below
    # worker energy by state and server energy (edgefl.energy); 0 where a profile gives no figure
    energy_compute_j: float = field(default=0.0, metadata=_total("sum"))
    energy_transmit_j: float = field(default=0.0, metadata=_total("sum"))
    energy_receive_j: float = field(default=0.0, metadata=_total("sum"))
    energy_idle_j: float = field(default=0.0, metadata=_total("sum"))
    server_decoder_energy_j: float = field(default=0.0, metadata=_total("sum"))
    server_compute_energy_j: float = field(default=0.0, metadata=_total("sum"))
    uploads_lost: int = field(default=0, metadata=_total("sum"))  # link gave up (delivered=False), on time
    battery_dropouts: int = field(default=0, metadata=_total("sum"))  # workers whose battery ran out
    extras: dict[str, Any] = field(default_factory=dict)  # the gradient source's metrics

    # mapping-style access over fields and extras
    def __getitem__(self, key: str) -> Any:
        if key in _FIELD_NAMES:
            return getattr(self, key)
        return self.extras[key]

    def __contains__(self, key: object) -> bool:
        return key in _FIELD_NAMES or key in self.extras

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self else default

    def keys(self) -> Iterator[str]:
        """Column names of this record: the fields in order, then the extras."""
        yield from _FIELD_NAMES
        yield from self.extras


#: source metric -> (aggregate, name in summary.json totals)
EXTRA_TOTALS: dict[str, tuple[str, str]] = {
    "train_loss": ("last", "final_train_loss"),
    "test_accuracy": ("last", "final_test_accuracy"),
    # partial participation / round deadline (edgefl.sim.participation), present only when used
    "dropped": ("sum", "dropped_uploads"),
    "dropped_bits": ("sum", "dropped_bits_total"),
    # DSC (a compression with a decode schedule): retry increments and the server time retries took
    "retry_bits": ("sum", "retry_bits_total"),
    "retry_time_s": ("sum", "retry_time_s_total"),
}

_FIELDS = [f for f in dataclasses.fields(RoundRecord) if f.name != "extras"]
_FIELD_NAMES = tuple(f.name for f in _FIELDS)


def columns(records: Sequence[RoundRecord]) -> list[str]:
    """rounds.csv-style column names: the fields, then every extra in first-seen order."""
    cols = list(_FIELD_NAMES)
    seen = set(cols)
    for rec in records:
        for key in rec.extras:
            if key not in seen:
                seen.add(key)
                cols.append(key)
    return cols


def totals(records: Sequence[RoundRecord]) -> dict[str, Any]:
    """Run totals for summary.json, from the declared aggregates of the fields and extras
    (an extra's total is taken over the rounds that report it)."""
    if not records:
        return {"rounds_done": 0}
    out: dict[str, Any] = {"rounds_done": len(records)}
    for f in _FIELDS:
        if "total" in f.metadata:
            agg, name = f.metadata["total"]
            vals = [v for r in records if (v := getattr(r, f.name)) is not None]  # None: not measured
            out[name or f.name] = AGGREGATES[agg](vals) if vals else None
    for key, (agg, name) in EXTRA_TOTALS.items():
        if key in records[-1].extras:
            out[name] = AGGREGATES[agg]([r.extras[key] for r in records if key in r.extras])
    return out
