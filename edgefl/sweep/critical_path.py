"""Round latency along the round's critical path on the timing diagram (DSC paper Fig. 5).

Parts: broadcast (downlink of w(t)), compute (from the end of the broadcast until the
first upload of the critical chain starts: local gradient, encoding, waiting for rates),
upload (the chain of uploads, each starting when the previous one frees the channel,
ending with the last upload), decode wait (the server still decoding after the last
upload, DSC paper Sec. IV-E: ideally one decode) and aggregate. The parts sum to the
round latency exactly (they telescope along the path).
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from pathlib import Path

PARTS = ("broadcast", "compute", "upload", "decode_wait", "aggregate")
_EPS = 1e-12


def round_breakdown(timeline: Path) -> list[dict[str, float]]:
    """Per round of ``timeline.csv``: the latency split into :data:`PARTS` (seconds)."""
    by_round: dict[int, list[tuple[str, str, float, float]]] = defaultdict(list)
    with Path(timeline).open(newline="") as fh:
        for row in csv.DictReader(fh):
            by_round[int(row["round"])].append((row["actor"], row["phase"], float(row["start"]), float(row["end"])))
    return [_split(by_round[r]) for r in sorted(by_round)]


def _split(events: list[tuple[str, str, float, float]]) -> dict[str, float]:
    bc = next(e for e in events if e[1] == "broadcast")
    agg = next(e for e in events if e[1] == "aggregate")
    t0, bc_end = bc[2], bc[3]
    uploads = [e for e in events if e[1] == "upload"]
    ready: dict[str, float] = {}
    for actor, phase, _, end in events:
        if phase in ("compute", "encode"):
            ready[actor] = max(ready.get(actor, -math.inf), end)
    upload = 0.0
    chain_start = agg[2]
    last_end = bc_end
    if uploads:
        cur = max(uploads, key=lambda e: (e[3], e[2]))
        last_end = cur[3]
        while True:
            upload += cur[3] - cur[2]
            chain_start = cur[2]
            if ready.get(cur[0], -math.inf) >= cur[2] - _EPS:
                break  # started as soon as its worker was ready: the path goes back through compute
            prev = [u for u in uploads if u is not cur and abs(u[3] - cur[2]) <= _EPS]
            if not prev:
                break
            cur = max(prev, key=lambda e: e[2])
    return {
        "broadcast": bc_end - t0,
        "compute": chain_start - bc_end if uploads else agg[2] - bc_end,
        "upload": upload,
        "decode_wait": agg[2] - last_end if uploads else 0.0,
        "aggregate": agg[3] - agg[2],
        "latency": agg[3] - t0,
    }
