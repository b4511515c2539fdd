"""A run whose numbers turn non-finite stops: it never reports success with NaN or inf.

Every timing, bit and energy metric of a round must be a finite number; of the gradient
source's metrics, the training loss must be finite (NaN there is a diverged model) and no
metric may be infinite (NaN stays allowed where it means "not measured this round", e.g.
test accuracy between evaluations or statistics before the first estimate).
"""

from __future__ import annotations

import dataclasses
import math

from edgefl.results.records import RoundRecord

#: rounds.csv quantity -> the scenario fields that produce it (named in the error)
FED_BY: dict[str, str] = {
    "start_s": "the earlier rounds' timing",
    "end_s": "channel.*, workers.compute_jitter, the device profiles",
    "latency_s": "channel.* (bandwidths, snr_gap_db, tx powers), workers.compute_jitter, the device profiles",
    "broadcast_s": "channel.downlink_bandwidth_hz, the server's tx_power_dbm, channel.*",
    "downlink_bits": "compression.*",
    "bits_total": "compression.*, rate_allocation.*",
    "bits_per_worker_mean": "compression.*, rate_allocation.*",
    "bits_per_worker_min": "compression.*, rate_allocation.*",
    "bits_per_worker_max": "compression.*, rate_allocation.*",
    "bits_per_param": "compression.*, rate_allocation.*",
    "decode_bits_total": "compression.*",
    "distortion": "compression.*, gradients.* or model.*",
    "upload_airtime_s": "channel.*, the devices' tx_power_dbm",
    "worker_energy_j": "the device profiles (powers), channel.*",
    "train_loss": "model.optimizer (learning rate, momentum), model.*, compression.*",
}

_MUST_BE_FINITE_EXTRAS = ("train_loss",)


class NonFiniteMetric(ArithmeticError):
    """A round produced NaN or inf in a metric that must be finite."""


def check_finite(rec: RoundRecord) -> None:
    """Raise :class:`NonFiniteMetric` naming the round, the quantity and the fields behind it."""
    bad = [f.name for f in dataclasses.fields(rec) if f.name != "extras"
           and isinstance(getattr(rec, f.name), (int, float)) and not math.isfinite(getattr(rec, f.name))]
    for key, v in rec.extras.items():
        if isinstance(v, (int, float)) and (math.isinf(v) or (key in _MUST_BE_FINITE_EXTRAS and math.isnan(v))):
            bad.append(key)
    if bad:
        q = bad[0]
        more = f" (also {', '.join(bad[1:4])})" if len(bad) > 1 else ""
        raise NonFiniteMetric(
            f"round {rec.round}: {q} = {rec[q]!r} is not a finite number{more}; it comes from "
            f"{FED_BY.get(q, 'the scenario')} - the run stopped and is not complete")
