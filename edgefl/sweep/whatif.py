"""`edgefl whatif`: a baseline and a changed scenario with the same seed, compared.

The same seed gives both runs the same random streams (each worker's fading and
shadowing come from its own SeedSequence child, see :mod:`edgefl.radio.environment`), so
a change that does not touch the radio sees the same fading draws and the difference is
the change alone.

Round latency is split along the round's critical path (:mod:`edgefl.sweep.critical_path`):
broadcast, compute, upload, decode wait, aggregate; the parts sum to the latency.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from edgefl.scenario import ResolvedScenario, load_scenario
from edgefl.sweep.critical_path import PARTS, round_breakdown
from edgefl.sweep.tables import aggregate, read_rounds_columns


ENERGY_PARTS = ("energy_compute_j", "energy_transmit_j", "energy_receive_j", "energy_idle_j",
                "server_decoder_energy_j", "server_compute_energy_j")


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
    for key in ENERGY_PARTS:  # the workers' energy split and the server's, where the run reports them
        if key in cols:
            rep[f"{key.removesuffix('_j')}_per_round_j"] = aggregate(cols[key], "mean")
    for key in ("test_accuracy", "train_loss"):
        if key in cols:
            rep[f"final_{key}"] = aggregate(cols[key], "final")
    return rep


def _run(rs: ResolvedScenario, out: Path) -> dict[str, float]:
    from edgefl.runner import run_scenario

    scn = rs.scenario
    scn = scn.model_copy(update={"output": scn.output.model_copy(update={"timeline": True, "plots": False})})
    outcome = run_scenario(ResolvedScenario(scn, rs.source, rs.base_dir, rs.worker_devices, rs.server_profile),
                           out, progress=False)
    if not outcome.complete:
        raise RuntimeError(f"{rs.source}: run stopped after {outcome.rounds_done} rounds: "
                           f"{outcome.error or 'interrupted'}")
    return _summary(outcome.out_dir)


def check_changes(changes: list[str]) -> None:
    """A whatif needs at least one change, and not of the seed (both runs share one)."""
    if any(c.split("=", 1)[0].strip() == "seed" for c in changes):
        raise ValueError("--set seed=...: whatif compares at one seed (the same fading draws); "
                         "choose it for both runs with --base seed=N")
    if not changes:
        raise ValueError("give at least one change: --set dotted.path=value")


def compare(rs_base: ResolvedScenario, rs_new: ResolvedScenario, label: str, changes: list[str],
            base: list[str] | None = None) -> dict[str, Any]:
    """Run the baseline and the changed scenario (same seed); both summaries and their differences
    (changed - baseline), keyed as ``edgefl whatif --json`` prints them."""
    with tempfile.TemporaryDirectory(prefix="edgefl-whatif-") as tmp:
        a = _run(rs_base, Path(tmp) / "baseline")
        b = _run(rs_new, Path(tmp) / "changed")
    delta = {k: b[k] - a[k] for k in a if k in b}
    rel = {k: (delta[k] / a[k] if a[k] != 0 else math.nan) for k in delta}
    return {"scenario": label, "seed": rs_base.scenario.seed, "rounds": rs_base.scenario.rounds,
            "base": list(base or []), "changes": list(changes),
            "baseline": a, "changed": b, "delta": delta, "relative": rel}


def whatif(scenario: str | Path, changes: list[str], base: list[str] | None = None) -> dict[str, Any]:
    """Run ``scenario`` (with ``base`` overrides) and the same with ``changes`` on top, same seed;
    return both summaries and their differences (changed - baseline)."""
    check_changes(changes)
    rs_base = load_scenario(scenario, list(base or []))
    rs_new = load_scenario(scenario, [*(base or []), *changes])
    return compare(rs_base, rs_new, str(scenario), changes, base)


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
    "energy_compute_per_round_j": "  compute (J)",
    "energy_transmit_per_round_j": "  transmit (J)",
    "energy_receive_per_round_j": "  receive (J)",
    "energy_idle_per_round_j": "  idle (J)",
    "energy_total_j": "worker energy, all rounds (J)",
    "server_decoder_energy_per_round_j": "server decoder energy per round (J)",
    "server_compute_energy_per_round_j": "server compute energy per round (J)",
    "final_test_accuracy": "final test accuracy",
    "final_train_loss": "final train loss",
}


def format_whatif(rep: dict[str, Any]) -> str:
    """The comparison as a text table."""
    lines = [f"{rep['scenario']} (seed {rep['seed']}, {rep['rounds']} rounds): " + " ".join(rep["changes"]),
             f"{'':34}{'baseline':>14}{'changed':>14}{'change':>14}{'':>12}"]
    for key, label in LABELS.items():
        if key not in rep["delta"]:
            continue
        r = rep["relative"][key]
        pct = "" if math.isnan(r) else f"{100 * r:+.1f} %" if abs(r) < 100 else f"{100 * r:+.2g} %"
        lines.append(f"{label:34}{rep['baseline'][key]:>14.6g}{rep['changed'][key]:>14.6g}"
                     f"{rep['delta'][key]:>+14.6g}{pct:>12}")
    return "\n".join(lines)
