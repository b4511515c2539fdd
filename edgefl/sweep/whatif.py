"""`edgefl whatif`: a baseline and a changed scenario with the same seed, compared.

The same seed gives both runs the same random streams (each worker's fading and
shadowing come from its own SeedSequence child, see :mod:`edgefl.radio.environment`), so
a change that does not touch the radio sees the same fading draws and the difference is
the change alone.

Round latency is split along the round's critical path on the timing diagram (DSC paper
Fig. 5): broadcast (downlink of w(t)), compute (from the end of the broadcast until the
first upload of the critical chain starts: local gradient, encoding, waiting for rates),
upload (the chain of uploads, each starting when the previous one frees the channel,
ending with the last upload), decode wait (the server still decoding after the last
upload, DSC paper Sec. IV-E: ideally one decode) and aggregate. The five parts sum to
the round latency exactly.
"""

from __future__ import annotations

import csv
import math
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from edgefl.scenario import ResolvedScenario, load_scenario
from edgefl.sweep.tables import aggregate, read_rounds_columns

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


def _summary(out: Path) -> dict[str, float]:
    cols = read_rounds_columns(out / "rounds.csv")
    parts = round_breakdown(out / "timeline.csv")
    rep: dict[str, float] = {f"{p}_s": float(np.mean([b[p] for b in parts])) for p in PARTS}
    rep["latency_mean_s"] = aggregate(cols["latency_s"], "mean")
    rep["latency_p95_s"] = aggregate(cols["latency_s"], "p95")
    rep["bits_per_round"] = aggregate(cols["bits_total"], "mean")
    rep["bits_per_param"] = aggregate(cols["bits_per_param"], "mean")
    rep["energy_per_round_j"] = aggregate(cols["worker_energy_j"], "mean")
    rep["energy_total_j"] = aggregate(cols["worker_energy_j"], "sum")
    for key in ("test_accuracy", "train_loss"):
        if key in cols:
            rep[f"final_{key}"] = aggregate(cols[key], "final")
    return rep


def _run(rs: ResolvedScenario, out: Path) -> dict[str, float]:
    from edgefl.runner import run_scenario

    scn = rs.scenario
    scn = scn.model_copy(update={"output": scn.output.model_copy(update={"timeline": True, "plots": False})})
    outcome = run_scenario(ResolvedScenario(scn, rs.source, rs.base_dir, rs.worker_devices, rs.server_profile),
                           out, overwrite=True, progress=False)
    if not outcome.complete:
        raise RuntimeError(f"{rs.source}: run stopped after {outcome.rounds_done} rounds: "
                           f"{outcome.error or 'interrupted'}")
    return _summary(outcome.out_dir)


def whatif(scenario: str | Path, changes: list[str], base: list[str] | None = None) -> dict[str, Any]:
    """Run ``scenario`` (with ``base`` overrides) and the same with ``changes`` on top, same seed;
    return both summaries and their differences (changed - baseline)."""
    if any(c.split("=", 1)[0].strip() == "seed" for c in changes):
        raise ValueError("--set seed=...: whatif compares at one seed (the same fading draws); "
                         "choose it for both runs with --base seed=N")
    if not changes:
        raise ValueError("give at least one change: --set dotted.path=value")
    rs_base = load_scenario(scenario, list(base or []))
    rs_new = load_scenario(scenario, [*(base or []), *changes])
    with tempfile.TemporaryDirectory(prefix="edgefl-whatif-") as tmp:
        a = _run(rs_base, Path(tmp) / "baseline")
        b = _run(rs_new, Path(tmp) / "changed")
    delta = {k: b[k] - a[k] for k in a if k in b}
    rel = {k: (delta[k] / a[k] if a[k] != 0 else math.nan) for k in delta}
    return {"scenario": str(scenario), "seed": rs_base.scenario.seed, "rounds": rs_base.scenario.rounds,
            "base": list(base or []), "changes": list(changes),
            "baseline": a, "changed": b, "delta": delta, "relative": rel}


LABELS = {
    "latency_mean_s": "round latency, mean (s)",
    "broadcast_s": "  broadcast (s)",
    "compute_s": "  compute + encode (s)",
    "upload_s": "  upload (s)",
    "decode_wait_s": "  decode wait (s)",
    "aggregate_s": "  aggregate (s)",
    "latency_p95_s": "round latency, p95 (s)",
    "bits_per_round": "bits uploaded per round",
    "bits_per_param": "bits per parameter",
    "energy_per_round_j": "worker energy per round (J)",
    "energy_total_j": "worker energy, all rounds (J)",
    "final_test_accuracy": "final test accuracy",
    "final_train_loss": "final train loss",
}


def format_whatif(rep: dict[str, Any]) -> str:
    """The comparison as a text table."""
    lines = [f"{rep['scenario']} (seed {rep['seed']}, {rep['rounds']} rounds): " + " ".join(rep["changes"]),
             f"{'':34}{'baseline':>14}{'changed':>14}{'change':>14}{'':>11}"]
    for key, label in LABELS.items():
        if key not in rep["delta"]:
            continue
        r = rep["relative"][key]
        pct = "" if math.isnan(r) else f"{100 * r:+.1f} %"
        lines.append(f"{label:34}{rep['baseline'][key]:>14.6g}{rep['changed'][key]:>14.6g}"
                     f"{rep['delta'][key]:>+14.6g}{pct:>11}")
    return "\n".join(lines)
