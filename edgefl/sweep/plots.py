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

from edgefl.results.labels import axis_label, metric_label, short_name, split_unit, value_label
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


def _value(axis: str, v: Any) -> str:
    return value_label(axis, v)


def _title(fixed: dict[str, Any], where: dict[str, Any]) -> str:
    """The panel's own axis values, two per line (values fixed by ``where`` go in the figure title)."""
    parts = [f"{split_unit(a)[0]} {_value(a, v)}" for a, v in fixed.items() if a not in where]
    return "\n".join(", ".join(parts[i:i + 2]) for i in range(0, len(parts), 2))


def _where(where: dict[str, Any]) -> str:
    return "" if not where else " at " + ", ".join(f"{split_unit(a)[0]} {_value(a, v)}" for a, v in where.items())


def study_metric_label(study: Study, name: str) -> str:
    """The axis label (with unit) of a study metric, from what it aggregates."""
    m = next((m for m in study.metrics if m.name == name), None)
    return name if m is None else metric_label(m.column, m.aggregate, m.total)


def log_band(y: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
    """A CI band for a log axis clipped to the data range: the range spans the positive means and CI
    bounds; bounds at or below zero (a wide CI over few seeds) are raised to its bottom. Returns the
    clipped band and the range."""
    vals = np.concatenate([y, lo, hi])
    pos = vals[np.isfinite(vals) & (vals > 0)]
    if pos.size == 0:
        return lo, hi, (math.nan, math.nan)
    bottom, top = float(pos.min()), float(pos.max())
    return np.clip(np.where(lo > 0, lo, bottom), bottom, top), np.clip(hi, bottom, top), (bottom, top)


def line_figure(study: Study, rows: Sequence[dict[str, Any]], spec: LinePlot,
                point_rows: Sequence[dict[str, Any]] = ()) -> Figure:
    """Mean metric vs ``spec.x`` with its 95 % CI band, one line per value of ``spec.lines``
    (with ``spec.minus``: the paired difference to the reference axis value, from ``point_rows``);
    axes labelled with units, legends with display names; a figure without pyplot state."""
    ylabel = study_metric_label(study, spec.metric)
    if spec.minus:
        ((ref_axis, ref),) = spec.minus.items()
        rows = paired_difference_rows(study, point_rows, spec.metric, ref_axis, ref)
        words, sep, unit = ylabel.rpartition(" [")
        ylabel = f"{words or ylabel} minus {_value(ref_axis, ref)}'s" + (f" [{unit}" if sep else "")
        what = f"{ylabel}\n"
    else:
        what = f"{ylabel} "
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
        limits: list[float] = []
        for lv in line_vals:
            pts = [r for r in sel if spec.lines is None or r[spec.lines] == lv]
            pts.sort(key=lambda r: xs.index(r[spec.x]))
            if not pts:
                continue
            x = [r[spec.x] if numeric else xs.index(r[spec.x]) for r in pts]
            y = np.array([r[f"{m}_mean"] for r in pts], dtype=float)
            lo = np.array([r[f"{m}_ci95_low"] for r in pts], dtype=float)
            hi = np.array([r[f"{m}_ci95_high"] for r in pts], dtype=float)
            if spec.logy:
                lo, hi, rng = log_band(y, lo, hi)
                limits += [v for v in rng if math.isfinite(v)]
            (line,) = ax.plot(x, y, "o-", label=None if lv is None else _value(spec.lines, lv))
            ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.2, linewidth=0)
        if not numeric:
            ax.set_xticks(range(len(xs)), [_value(spec.x, v) for v in xs], rotation=20, fontsize=8)
        elif logx:
            ax.set_xscale("log")
        if spec.logy:
            ax.set_yscale("log")
            if limits:  # the axis spans the data, not a CI band's excursion towards zero
                ax.set_ylim(min(limits) / 1.15, max(limits) * 1.15)
        ax.set(xlabel=axis_label(spec.x), ylabel=ylabel, title=_title(fixed, spec.where))
        ax.title.set_fontsize(8)
        ax.grid(alpha=0.3)
        if spec.lines:
            ax.legend(fontsize=7, title=axis_label(spec.lines), title_fontsize=7)
    for ax in list(axs.flat)[len(panels):]:
        ax.set_visible(False)
    seeds = f"{len(study.seeds)} seed{'s' * (len(study.seeds) != 1)}"
    fig.suptitle(f"{study.name}: {what}(mean, 95 % CI over {seeds}){_where(spec.where)}", fontsize=9)
    fig.tight_layout()
    return fig


def line_plot_name(spec: LinePlot) -> str:
    """Short file stem of a line plot: ``latency_p95_vs_radius_m_by_scheme``."""
    minus = [f"minus_{_slug(str(v))}" for v in (spec.minus or {}).values()]
    return _slug(spec.metric, *minus, "vs", short_name(spec.x), *(["by", short_name(spec.lines)] if spec.lines else []))


def line_plot(study: Study, rows: Sequence[dict[str, Any]], spec: LinePlot, out: Path,
              point_rows: Sequence[dict[str, Any]] = ()) -> Path:
    """:func:`line_figure` as ``<out>/<short name>.png``."""
    return _save(line_figure(study, rows, spec, point_rows), out / line_plot_name(spec))


def heatmap_figure(study: Study, rows: Sequence[dict[str, Any]], spec: HeatMap) -> Figure:
    """Mean metric over two axes (cells in axis order), with a contour at ``spec.threshold``."""
    ax_x, ax_y = spec.heatmap
    panels = _panels(study, [ax_x, ax_y], spec.where)
    nr, nc = _grid(len(panels))
    fig = Figure(figsize=(5.2 * nc, 4 * nr))
    axs = fig.subplots(nr, nc, squeeze=False)
    xs, ys = ([csv_cell(v) for v in study.axes[a]] for a in (ax_x, ax_y))
    m = spec.metric
    label = study_metric_label(study, m)
    for ax, fixed in zip(axs.flat, panels):
        z = np.full((len(ys), len(xs)), np.nan)
        for r in _select(rows, fixed):
            z[ys.index(r[ax_y]), xs.index(r[ax_x])] = r[f"{m}_mean"]
        finite = z[np.isfinite(z)]
        log = finite.size and finite.min() > 0 and finite.max() > 20 * finite.min()  # wide ranges on a log scale
        im = ax.imshow(z, origin="lower", aspect="auto", cmap="viridis", norm=LogNorm() if log else None)
        fig.colorbar(im, ax=ax, label=label)
        if spec.threshold is not None and min(z.shape) > 1 and np.nanmin(z) < spec.threshold < np.nanmax(z):
            cs = ax.contour(np.arange(len(xs)), np.arange(len(ys)), z, levels=[spec.threshold], colors="red")
            ax.clabel(cs, fmt={spec.threshold: f"{spec.threshold:g}"}, fontsize=7)
        ax.set_xticks(range(len(xs)), [_tick(ax_x, v) for v in xs], rotation=30, fontsize=7)
        ax.set_yticks(range(len(ys)), [_tick(ax_y, v) for v in ys], fontsize=7)
        ax.set(xlabel=axis_label(ax_x), ylabel=axis_label(ax_y), title=_title(fixed, spec.where))
        ax.title.set_fontsize(8)
    for ax in list(axs.flat)[len(panels):]:
        ax.set_visible(False)
    thr = "" if spec.threshold is None else f", red contour at {spec.threshold:g}"
    fig.suptitle(f"{study.name}: {label} (mean over seeds{thr}){_where(spec.where)}", fontsize=9)
    fig.tight_layout()
    return fig


def _tick(axis: str, v: Any) -> str:
    """A heat-map tick: the number alone (the unit is on the axis label), a display name otherwise."""
    return f"{v:.3g}" if is_number(v) else _value(axis, v)


def heat_map(study: Study, rows: Sequence[dict[str, Any]], spec: HeatMap, out: Path) -> Path:
    """:func:`heatmap_figure` as ``<out>/<metric>_map_<x>_<y>.png``."""
    ax_x, ax_y = spec.heatmap
    return _save(heatmap_figure(study, rows, spec), out / _slug(spec.metric, "map", short_name(ax_x), short_name(ax_y)))


def _save(fig: Figure, stem: Path) -> Path:
    path = stem.with_name(stem.name + ".png")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    write_atomic(path, buf.getvalue())
    return path


def draw_plots(study: Study, summary: Sequence[dict[str, Any]], rows: Sequence[dict[str, Any]]) -> list[Path]:
    """Every plot the study asks for, as PNG under ``<out>/plots/``."""
    out = Path(study.output) / "plots"
    return [heat_map(study, summary, p, out) if isinstance(p, HeatMap) else line_plot(study, summary, p, out, rows)
            for p in study.plots]
