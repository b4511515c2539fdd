"""Display names for figures: axis labels with their unit (``p95 round latency [s]``), legend entries
in the papers' words (``DSC-signSGD``, not ``compression.scheme=dsc``) and short file-name parts."""

from __future__ import annotations

import math
import re
from typing import Any

#: compression schemes as the papers and the literature name them
SCHEME_NAMES = {
    "none": "uncoded", "signsgd": "signSGD", "ef-signsgd": "EF-signSGD", "qsgd": "QSGD", "dsc": "DSC-signSGD",
    "rd-ideal": "RD-ideal", "iade": "IADE", "aiade": "A-IADE", "iade-sgd": "IADE-SGD", "terngrad": "TernGrad",
    "topk": "top-k", "randk": "rand-k", "powersgd": "PowerSGD",
}

#: other categorical values shown upper-case or renamed
VALUE_NAMES = {"tdma": "TDMA", "fdma": "FDMA", "ofdma": "OFDMA", "noma": "NOMA", "shannon": "Shannon", "nr": "NR",
               "rayleigh": "Rayleigh", "rician": "Rician", "none": "none"}

#: unit of a name ending in this suffix (longest suffix first)
UNITS = (("_dbm", "dBm"), ("_db", "dB"), ("_hz", "Hz"), ("_ms", "ms"), ("_s", "s"), ("_j", "J"), ("_w", "W"),
         ("_m", "m"), ("_bits", "bit"), ("_bps", "bit/s"), ("_flops", "FLOP"))

#: quantities whose name carries no unit suffix: (display name, unit or None for a count or a name)
KNOWN = {
    "latency": ("round latency", "s"), "worker_energy": ("worker energy per round", "J"),
    "energy": ("energy per round", "J"), "energy_per_round": ("energy per round", "J"),
    "bits_total": ("bits per round", "bit"), "bits_per_param": ("bits per parameter", "bit"),
    "bits_per_worker_mean": ("bits per worker", "bit"), "total_bits": ("total uploaded bits", "bit"),
    "test_accuracy": ("test accuracy", "fraction"), "train_loss": ("train loss", "-"),
    "count": ("workers", None), "scheme": ("compression scheme", None), "access": ("medium access", None),
    "radius": ("cell radius", "m"), "uplink_bandwidth": ("uplink bandwidth", "Hz"),
    "decode_wait": ("decode wait", "s"), "upload": ("upload time", "s"), "compute": ("compute time", "s"),
    "broadcast": ("broadcast time", "s"), "aggregate": ("aggregation time", "s"),
    "model": ("link model", None), "profile": ("profile", None), "rounds": ("rounds", None),
}

AGGREGATE_WORDS = {"mean": "mean", "p50": "median", "p95": "p95", "p99": "p99", "final": "final", "sum": "total",
                   "min": "min", "max": "max"}


def split_unit(name: str) -> tuple[str, str | None]:
    """A field or column name split into its display name and unit:
    ``uplink_bandwidth_hz`` -> ("uplink bandwidth", "Hz"), ``latency_s`` -> ("round latency", "s")."""
    leaf = name.rsplit(".", 1)[-1]
    if leaf in KNOWN:
        return KNOWN[leaf]
    for suffix, unit in UNITS:
        if leaf.endswith(suffix) and len(leaf) > len(suffix):
            stem = leaf[: -len(suffix)]
            return KNOWN.get(stem, (stem.replace("_", " "), unit))[0], unit
    return leaf.replace("_", " "), None


def with_unit(words: str, unit: str | None) -> str:
    """``words [unit]`` (a count or a name has no unit)."""
    return f"{words} [{unit}]" if unit else words


def axis_label(path: str) -> str:
    """Label of a scenario field on a plot axis.

    >>> axis_label("workers.placement.radius_m"), axis_label("workers.count")
    ('cell radius [m]', 'workers')
    """
    return with_unit(*split_unit(path))


def metric_label(column: str | None, aggregate: str | None = None, total: str | None = None) -> str:
    """Label of a study metric: ``latency_s`` with ``p95`` -> ``p95 round latency [s]``; a summary total
    ``worker_energy_j`` -> ``total worker energy [J]``; ``critical.upload`` -> ``mean upload time [s]``.

    >>> metric_label("latency_s", "p95"), metric_label("worker_energy_j", "mean")
    ('p95 round latency [s]', 'mean worker energy per round [J]')
    """
    if total is not None:
        words, unit = split_unit(total)
        words = words.replace(" per round", "")
        return with_unit(words if words.startswith(("total", "mean", "final")) else f"total {words}", unit)
    words, unit = split_unit(column or "")
    agg = AGGREGATE_WORDS.get(aggregate or "mean", aggregate or "")
    if agg == "total":
        words = words.replace(" per round", "") + " over all rounds"
    return with_unit(f"{agg} {words}" if agg else words, unit)


def value_label(path: str, value: Any) -> str:
    """A legend entry for one value of a scenario field: ``dsc`` on ``compression.scheme`` -> ``DSC-signSGD``,
    20e6 on ``channel.uplink_bandwidth_hz`` -> ``20 MHz``.

    >>> value_label("compression.scheme", "dsc"), value_label("channel.uplink_bandwidth_hz", 20e6)
    ('DSC-signSGD', '20 MHz')
    """
    leaf = path.rsplit(".", 1)[-1]
    if leaf == "scheme" and isinstance(value, str):
        return SCHEME_NAMES.get(value, value)
    if isinstance(value, str):
        return VALUE_NAMES.get(value, value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    _, unit = split_unit(path)
    if unit in ("Hz", "W", "J", "bit", "bit/s") and value != 0 and math.isfinite(value):
        for prefix, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3), ("", 1.0), ("m", 1e-3), ("µ", 1e-6)):
            if abs(value) >= scale:
                return f"{value / scale:g} {prefix}{unit}"
    return f"{value:g} {unit}" if unit else f"{value:g}"


def short_name(path: str) -> str:
    """A short file-name part for a scenario field or metric: its last component, slugged."""
    return re.sub(r"[^A-Za-z0-9.]+", "_", path.rsplit(".", 1)[-1]).strip("_")
