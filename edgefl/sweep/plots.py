"""Study plots from study_summary rows: metric vs an axis with 95 % CI bands, and heat maps
over two axes with a contour at a threshold. Axes a plot does not use get one panel per
value combination (or are fixed by the plot's ``where``)."""

from __future__ import annotations

import io
import itertools
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

# Figure objects without pyplot: no global backend choice, no figure registry
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from edgefl.results.writer import write_atomic
from edgefl.sweep.study import HeatMap, LinePlot, Study, is_number
from edgefl.sweep.tables import csv_cell, paired_difference_rows

MAX_PANELS = 12


def _slug(*parts: str) -> str:
    return re.sub(r"[^A-Za-z0-9.]+", "_", "_".join(parts)).strip("_")


def _panels(study: Study, used: Sequence[str], where: dict[str, Any],
            skip: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    skip = {a: csv_cell(v) for a, v in (skip or {}).items()}
    free = [a for a in study.axes if a not in used and a not in where
            and len([v for v in study.axes[a] if a not in skip or csv_cell(v) != skip[a]]) > 1]
    choices = [[csv_cell(v) for v in study.axes[a] if a not in skip or csv_cell(v) != skip[a]] for a in free]
    combos = [dict(zip(free, c)) for c in itertools.product(*choices)]
    if len(combos) > MAX_PANELS:
        raise ValueError(f"plot over {list(used)} leaves {len(combos)} panels for axes {free}; "
                         f"fix some with 'where: {{axis: value}}' (at most {MAX_PANELS} panels)")
    return [{**where, **c} for c in combos]


def _select(rows: Sequence[dict[str, Any]], fixed: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in rows if all(r[a] == v for a, v in fixed.items())]


def _grid(n: int) -> tuple[int, int]:
    cols = 2 if n == 4 else min(n, 3)
    return math.ceil(n / cols), cols


def _title(fixed: dict[str, Any], where: dict[str, Any]) -> str:
    """The panel's own axis values, two per line (values fixed by ``where`` go in the figure title)."""
    parts = [f"{a}={v:g}" if is_number(v) else f"{a}={v}" for a, v in fixed.items() if a not in where]
    return "\n".join(", ".join(parts[i:i + 2]) for i in range(0, len(parts), 2))


def _where(where: dict[str, Any]) -> str:
    return "" if not where else " at " + ", ".join(f"{a}={v:g}" if is_number(v) else f"{a}={v}"
                                                   for a, v in where.items())


def line_plot(study: Study, rows: Sequence[dict[str, Any]], spec: LinePlot, out: Path,
              point_rows: Sequence[dict[str, Any]] = ()) -> Path:
    """Mean metric vs ``spec.x`` with its 95 % CI band, one line per value of ``spec.lines``
    (with ``spec.minus``: the paired difference to the reference axis value, from ``point_rows``)."""
    ylabel = spec.metric
    what = ""
    if spec.minus:
        ((ref_axis, ref),) = spec.minus.items()
        rows = paired_difference_rows(study, point_rows, spec.metric, ref_axis, ref)
        ylabel = f"{spec.metric} - [{ref}]"
        what = f"{spec.metric} minus its value at {ref_axis}={ref}\n"
    else:
        what = f"{spec.metric} "
    used = [spec.x, *([spec.lines] if spec.lines else [])]
    panels = _panels(study, used, spec.where, spec.minus)
    nr, nc = _grid(len(panels))
    fig = Figure(figsize=(max(6.0, 5 * nc), 3.8 * nr))
    axs = fig.subplots(nr, nc, squeeze=False)
    xs = [csv_cell(v) for v in study.axes[spec.x]]
    numeric = all(is_number(v) for v in xs)
    logx = spec.logx if spec.logx is not None else spec.x in study.log_axes
    line_vals = [csv_cell(v) for v in study.axes[spec.lines]] if spec.lines else [None]
    m = spec.metric
    for ax, fixed in zip(axs.flat, panels):
        sel = _select(rows, fixed)
        for lv in line_vals:
            pts = [r for r in sel if spec.lines is None or r[spec.lines] == lv]
            pts.sort(key=lambda r: xs.index(r[spec.x]))
            if not pts:
                continue
            x = [r[spec.x] if numeric else xs.index(r[spec.x]) for r in pts]
            y = np.array([r[f"{m}_mean"] for r in pts], dtype=float)
            lo = np.array([r[f"{m}_ci95_low"] for r in pts], dtype=float)
            hi = np.array([r[f"{m}_ci95_high"] for r in pts], dtype=float)
            (line,) = ax.plot(x, y, "o-", label=None if lv is None else f"{spec.lines}={lv}")
            ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.2, linewidth=0)
        if not numeric:
            ax.set_xticks(range(len(xs)), [str(v) for v in xs], rotation=20, fontsize=8)
        elif logx:
            ax.set_xscale("log")
        if spec.logy:
            ax.set_yscale("log")
        ax.set(xlabel=spec.x, ylabel=ylabel, title=_title(fixed, spec.where))
        ax.title.set_fontsize(8)
        ax.grid(alpha=0.3)
        if spec.lines:
            ax.legend(fontsize=7)
    for ax in list(axs.flat)[len(panels):]:
        ax.set_visible(False)
    fig.suptitle(f"{study.name}: {what}(mean, 95 % CI over {len(study.seeds)} seeds){_where(spec.where)}", fontsize=9)
    minus = [f"minus_{a}_{v}" for a, v in (spec.minus or {}).items()]
    return _save(fig, out / _slug(m, *minus, "vs", spec.x, *(["by", spec.lines] if spec.lines else [])))


def heat_map(study: Study, rows: Sequence[dict[str, Any]], spec: HeatMap, out: Path) -> Path:
    """Mean metric over two axes (cells in axis order), with a contour at ``spec.threshold``."""
    ax_x, ax_y = spec.heatmap
    panels = _panels(study, [ax_x, ax_y], spec.where)
    nr, nc = _grid(len(panels))
    fig = Figure(figsize=(5.2 * nc, 4 * nr))
    axs = fig.subplots(nr, nc, squeeze=False)
    xs, ys = ([csv_cell(v) for v in study.axes[a]] for a in (ax_x, ax_y))
    m = spec.metric
    for ax, fixed in zip(axs.flat, panels):
        z = np.full((len(ys), len(xs)), np.nan)
        for r in _select(rows, fixed):
            z[ys.index(r[ax_y]), xs.index(r[ax_x])] = r[f"{m}_mean"]
        finite = z[np.isfinite(z)]
        log = finite.size and finite.min() > 0 and finite.max() > 20 * finite.min()  # wide ranges on a log scale
        im = ax.imshow(z, origin="lower", aspect="auto", cmap="viridis", norm=LogNorm() if log else None)
        fig.colorbar(im, ax=ax, label=m)
        if spec.threshold is not None and min(z.shape) > 1 and np.nanmin(z) < spec.threshold < np.nanmax(z):
            cs = ax.contour(np.arange(len(xs)), np.arange(len(ys)), z, levels=[spec.threshold], colors="red")
            ax.clabel(cs, fmt={spec.threshold: f"{m} = {spec.threshold:g}"}, fontsize=7)
        ax.set_xticks(range(len(xs)), [f"{v:.3g}" if is_number(v) else str(v) for v in xs], rotation=30, fontsize=7)
        ax.set_yticks(range(len(ys)), [f"{v:.3g}" if is_number(v) else str(v) for v in ys], fontsize=7)
        ax.set(xlabel=ax_x, ylabel=ax_y, title=_title(fixed, spec.where))
        ax.title.set_fontsize(8)
    for ax in list(axs.flat)[len(panels):]:
        ax.set_visible(False)
    thr = "" if spec.threshold is None else f", red contour at {spec.threshold:g}"
    fig.suptitle(f"{study.name}: {m} (mean over seeds{thr}){_where(spec.where)}", fontsize=9)
    return _save(fig, out / _slug(m, "heatmap", ax_x, ax_y))


def _save(fig: Figure, stem: Path) -> Path:
    path = stem.with_name(stem.name + ".png")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    write_atomic(path, buf.getvalue())
    return path


def draw_plots(study: Study, summary: Sequence[dict[str, Any]], rows: Sequence[dict[str, Any]]) -> list[Path]:
    """Every plot the study asks for, as PNG under ``<out>/plots/``."""
    out = Path(study.output) / "plots"
    return [heat_map(study, summary, p, out) if isinstance(p, HeatMap) else line_plot(study, summary, p, out, rows)
            for p in study.plots]
