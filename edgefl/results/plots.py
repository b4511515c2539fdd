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


class ResultsFileError(ValueError):
    """A results file that cannot be plotted; the message names the file, the row and the column."""


def read_csv(path: Path, numeric: tuple[str, ...] = ()) -> list[dict[str, str]]:
    """Rows of a CSV file as dicts; every row must have every column, and the ``numeric``
    columns must parse as floats (``nan`` allowed), else ResultsFileError naming file, row, column."""
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            header = reader.fieldnames or []
            missing = [c for c in numeric if c not in header]
            if missing:
                shown = ", ".join(h if h.isprintable() else repr(h) for h in header)[:200]
                raise ResultsFileError(f"{path}: missing column(s) {', '.join(missing)}; "
                                       f"the header has {shown or 'nothing'}")
            rows = []
            for row in reader:
                line = reader.line_num
                if None in row or any(v is None for v in row.values()):
                    raise ResultsFileError(f"{path}: row at line {line} has {_count(row)} fields, the header "
                                           f"{len(header)} (file truncated or edited?)")
                for col in numeric:
                    try:
                        float(row[col])
                    except ValueError:
                        raise ResultsFileError(f"{path}: line {line}, column {col!r} = {row[col][:40]!r} "
                                               "is not a number") from None
                rows.append(row)
            return rows
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ResultsFileError(f"{path}: not a readable CSV file ({str(exc).splitlines()[0][:120]})") from None
    except OSError as exc:
        raise ResultsFileError(f"{path}: cannot read ({exc.strerror})") from None


def _count(row: dict) -> int:
    return sum(v is not None for k, v in row.items() if k is not None) + len(row.get(None) or [])


def _scenario_name(results_dir: Path) -> str:
    """The scenario name recorded in summary.json, else the folder name."""
    import json

    try:
        name = json.loads((results_dir / "summary.json").read_text(encoding="utf-8")).get("name")
    except (OSError, ValueError, AttributeError):
        name = None
    return name if isinstance(name, str) and name else results_dir.name


def _save(fig: Figure, path: Path) -> None:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120, bbox_inches="tight")
    write_atomic(path, buf.getvalue())


def _actor_key(actor: str) -> tuple[int, int]:
    return (0, 0) if actor == "server" else (1, int(actor.removeprefix("worker")))


#: bars shorter than this share of the round are drawn as a marker too (microsecond decodes)
TINY_BAR_SHARE = 0.004


def check_timeline(rows: list[dict[str, str]], path: Path | str) -> list[int]:
    """The sorted round numbers of timeline rows; ResultsFileError if there are none or one is not whole."""
    if not rows:
        raise ResultsFileError(f"{path} has no events")
    for r in rows:
        if not float(r["round"]).is_integer():
            raise ResultsFileError(f"{path}: round {r['round']!r} is not a whole number")
    return sorted({int(float(r["round"])) for r in rows})


def timing_figure(rows: list[dict[str, str]], name: str, round_index: int | None = None, max_workers: int = 40,
                  where: str = "the results") -> tuple[Figure, int]:
    """Gantt chart of one round (default: the last) from timeline rows (:func:`read_csv` of
    timeline.csv): one lane per actor; communication bars above the axis, computation bars below
    it. Returns the figure (no pyplot state) and the round drawn."""
    rounds = check_timeline(rows, where)
    r_sel = rounds[-1] if round_index is None else round_index
    if r_sel not in rounds:
        raise ValueError(f"round {r_sel} not in {where} (rounds {rounds[0]}..{rounds[-1]})")
    ev = [r for r in rows if int(float(r["round"])) == r_sel]
    every = sorted({e["actor"] for e in ev}, key=_actor_key)
    actors = every[: max_workers + 1]
    t0 = min(float(e["start"]) for e in ev)
    span = max(float(e["end"]) for e in ev) - t0
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
        if 0 < f - s < TINY_BAR_SHARE * span:  # too thin to see: mark it
            ax.plot([s], [y], marker="d", ms=5, color=colour, mec="black", mew=0.4, ls="none")
        elif f - s > 0.06 * span:
            ax.text(s + (f - s) / 2, y, e["phase"][:3], ha="center", va="center", fontsize=6)
    ticks = [i + 1 for i in range(len(actors))]
    ax.set_yticks(ticks + [-t for t in ticks], actors + actors, fontsize=7)
    ax.axhline(0, color="black", lw=1)
    ax.set_xlim(0, span * 1.03 if span > 0 else 1.0)  # the last upload and its label stay inside
    ax.set_xlabel("time since round start [s]")
    left_out = len(every) - len(actors)
    note = f"; {left_out} of {len(every) - 1} workers not shown" if left_out else ""
    ax.set_title(f"{name}: round {r_sel}{note}\ncommunication above the axis, computation "
                 "below; blue = DSC, red = learning; diamonds mark intervals too short to draw", fontsize=9)
    return fig, r_sel


def plot_timing(results_dir: Path, round_index: int | None = None, max_workers: int = 40) -> Path:
    """Gantt chart of one round (default: the last) of a results directory, as
    ``timing_round<N>.png`` (see :func:`timing_figure`)."""
    results_dir = Path(results_dir)
    path = results_dir / "timeline.csv"
    rows = read_csv(path, ("round", "start", "end"))
    check_timeline(rows, path)
    fig, r_sel = timing_figure(rows, _scenario_name(results_dir), round_index, max_workers, str(results_dir))
    out = results_dir / f"timing_round{r_sel}.png"
    _save(fig, out)
    return out


#: per-round curves: rounds.csv column, axis label with unit, scale applied to the values
CURVES = (("latency_s", "round latency [s]", 1.0), ("bits_per_worker_mean", "bits per worker [bit]", 1.0),
          ("test_accuracy", "test accuracy [%]", 100.0))


def curves_panels(header: list[str] | dict[str, str]) -> list[tuple[str, str, float]]:
    """The curves drawn for a rounds.csv with these columns (accuracy only where evaluated)."""
    return [c for c in CURVES if c[0] != "test_accuracy" or c[0] in header]


def curves_figure(rows: list[dict[str, str]], name: str) -> Figure:
    """Per-round latency and bits, and test accuracy at the rounds where it was evaluated, from
    rounds.csv rows (:func:`read_csv`); a figure without pyplot state."""
    import math

    panels = curves_panels(rows[0] if rows else [])
    fig = Figure(figsize=(8, 2.6 * len(panels)))
    axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    for ax, (key, label, scale) in zip(axes, panels):
        pts = [(float(r["round"]), scale * float(r[key])) for r in rows]
        pts = [(x, y) for x, y in pts if math.isfinite(y)]  # accuracy: evaluated rounds only
        ax.plot([x for x, _ in pts], [y for _, y in pts], marker=".", lw=1)
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0].set_title(name, fontsize=9)
    axes[-1].set_xlabel("round")
    return fig


def plot_curves(results_dir: Path) -> Path:
    """Per-round curves of a results directory as ``rounds.png`` (see :func:`curves_figure`)."""
    results_dir = Path(results_dir)
    path = results_dir / "rounds.csv"
    panels = curves_panels(list((read_csv(path)[:1] or [{}])[0]))
    rows = read_csv(path, ("round", *(k for k, _, _ in panels)))
    if not rows:
        raise ResultsFileError(f"{path} has no rounds")
    out = results_dir / "rounds.png"
    _save(curves_figure(rows, _scenario_name(results_dir)), out)
    return out


def plot_results(results_dir: Path, round_index: int | None = None) -> list[Path]:
    """All plots of a results directory."""
    return [plot_timing(results_dir, round_index), plot_curves(results_dir)]
