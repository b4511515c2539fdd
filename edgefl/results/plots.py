"""Plots of a results directory: the timing diagram of one round as a Gantt chart
(communication above the axis, computation below, as in the DSC paper's Fig. 5)
and per-round latency / bits curves."""

from __future__ import annotations

import csv
import io
from pathlib import Path

# Figure objects without pyplot: no global backend choice, no figure registry (safe in workers)
from matplotlib.figure import Figure

from edgefl.results.writer import write_atomic

COMM_PHASES = ("broadcast", "upload")
# DSC paper Fig. 5 colours: DSC work in blue, distributed-learning work in red
DSC_PHASES = ("rate_control", "encode", "decode")
COLOURS = {"dsc": "#1f77b4", "learning": "#d62728"}


def read_csv(path: Path) -> list[dict[str, str]]:
    """Rows of a CSV file as dicts."""
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _save(fig: Figure, path: Path) -> None:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120, bbox_inches="tight")
    write_atomic(path, buf.getvalue())


def _actor_key(actor: str) -> tuple[int, int]:
    return (0, 0) if actor == "server" else (1, int(actor.removeprefix("worker")))


def plot_timing(results_dir: Path, round_index: int | None = None, max_workers: int = 40) -> Path:
    """Gantt chart of one round (default: the last): one lane per actor; communication
    bars above the axis, computation bars below it."""
    results_dir = Path(results_dir)
    rows = read_csv(results_dir / "timeline.csv")
    if not rows:
        raise ValueError(f"{results_dir / 'timeline.csv'} has no events")
    rounds = sorted({int(r["round"]) for r in rows})
    r_sel = rounds[-1] if round_index is None else round_index
    if r_sel not in rounds:
        raise ValueError(f"round {r_sel} not in {results_dir} (rounds {rounds[0]}..{rounds[-1]})")
    ev = [r for r in rows if int(r["round"]) == r_sel]
    actors = sorted({e["actor"] for e in ev}, key=_actor_key)[: max_workers + 1]
    t0 = min(float(e["start"]) for e in ev)
    lane = {a: i for i, a in enumerate(actors)}
    fig = Figure(figsize=(11, 1.5 + 0.45 * len(actors)))
    ax = fig.subplots()
    for e in ev:
        if e["actor"] not in lane:
            continue
        comm = e["phase"] in COMM_PHASES
        y = (lane[e["actor"]] + 1) * (1 if comm else -1)
        s, f = float(e["start"]) - t0, float(e["end"]) - t0
        colour = COLOURS["dsc"] if e["phase"] in DSC_PHASES else COLOURS["learning"]
        ax.barh(y, f - s, left=s, height=0.7, color=colour, alpha=0.85 if comm else 0.55, edgecolor="black", lw=0.4)
        if f - s > 0:
            ax.text(s + (f - s) / 2, y, e["phase"][:3], ha="center", va="center", fontsize=6)
    ticks = [i + 1 for i in range(len(actors))]
    ax.set_yticks(ticks + [-t for t in ticks], actors + actors, fontsize=7)
    ax.axhline(0, color="black", lw=1)
    ax.set_xlabel("time since round start [s]")
    ax.set_title(f"{results_dir.name}: round {r_sel} (communication above the axis, computation below; "
                 "blue = DSC, red = learning)", fontsize=9)
    out = results_dir / f"timing_round{r_sel}.png"
    _save(fig, out)
    return out


def plot_curves(results_dir: Path) -> Path:
    """Per-round latency and bits (and accuracy when present)."""
    results_dir = Path(results_dir)
    rows = read_csv(results_dir / "rounds.csv")
    if not rows:
        raise ValueError(f"{results_dir / 'rounds.csv'} has no rounds")
    x = [int(r["round"]) for r in rows]
    panels = [("latency_s", "round latency [s]"), ("bits_per_worker_mean", "bits per worker")]
    if "test_accuracy" in rows[0]:
        panels.append(("test_accuracy", "test accuracy"))
    fig = Figure(figsize=(8, 2.6 * len(panels)))
    axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    for ax, (key, label) in zip(axes, panels):
        ax.plot(x, [float(r[key]) for r in rows], marker=".", lw=1)
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel("round")
    out = results_dir / "rounds.png"
    _save(fig, out)
    return out


def plot_results(results_dir: Path, round_index: int | None = None) -> list[Path]:
    """All plots of a results directory."""
    return [plot_timing(results_dir, round_index), plot_curves(results_dir)]
