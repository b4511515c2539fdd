"""study.csv (one row per point x seed) and study_summary.csv (mean and 95 % CI over seeds).

Metrics are computed from the stored point directories, not inside the workers, so
changing a study's metrics needs no rerun.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from edgefl.results.writer import write_csv
from edgefl.sweep.critical_path import PARTS, round_breakdown
from edgefl.sweep.store import point_dir
from edgefl.sweep.study import Metric, Study, StudyError

CRITICAL = "critical."


def aggregate(values: np.ndarray, how: str) -> float:
    """One number from a per-round column. Rounds without a value (NaN, e.g. accuracy between
    evaluations) are skipped. Percentiles: numpy's linear interpolation (Hyndman & Fan type 7)."""
    v = values[~np.isnan(values)]
    if v.size == 0:
        return math.nan
    if how == "final":
        return float(v[-1])
    if how.startswith("p"):
        return float(np.percentile(v, float(how[1:])))
    return float({"mean": np.mean, "sum": np.sum, "min": np.min, "max": np.max}[how](v))


def read_rounds_columns(path: Path) -> dict[str, np.ndarray]:
    """The numeric columns of a rounds.csv as float arrays (empty cells NaN)."""
    with path.open(newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    cols: dict[str, np.ndarray] = {}
    for j, name in enumerate(header):
        try:
            cols[name] = np.array([float(r[j]) if r[j] != "" else math.nan for r in body], dtype=float)
        except ValueError:  # a text column: not aggregatable
            continue
    return cols


def point_metrics(pdir: Path, metrics: Sequence[Metric]) -> dict[str, float]:
    """The study's metrics of one finished point directory. Besides rounds.csv's columns,
    ``critical.<part>`` are the per-round parts of the latency along the critical path
    (:mod:`edgefl.sweep.critical_path`; needs timeline.csv)."""
    cols = read_rounds_columns(pdir / "rounds.csv")
    if any(m.column and m.column.startswith(CRITICAL) for m in metrics):
        if not (pdir / "timeline.csv").is_file():
            raise StudyError(f"{pdir}: metrics on {CRITICAL}* need timeline.csv; keep output.timeline on")
        parts = round_breakdown(pdir / "timeline.csv")
        cols.update({CRITICAL + k: np.array([b[k] for b in parts], dtype=float) for k in (*PARTS, "latency")})
    totals = json.loads((pdir / "summary.json").read_text()).get("totals", {})
    out: dict[str, float] = {}
    for m in metrics:
        if m.total is not None:
            if m.total not in totals:
                raise StudyError(f"metric {m.name}: summary.json has no total {m.total!r}; "
                                 f"totals: {', '.join(totals)}")
            out[m.name] = float(totals[m.total])
        else:
            if m.column not in cols:
                raise StudyError(f"metric {m.name}: rounds.csv has no numeric column {m.column!r}; "
                                 f"columns: {', '.join(cols)}")
            out[m.name] = aggregate(cols[m.column], m.aggregate or "mean")
    return out


#: study.csv / study_summary.csv column: share of the point's placed workers out of coverage
#: (summary.json ``coverage.fraction``, :mod:`edgefl.sim.coverage`)
COVERAGE = "out_of_coverage_fraction"


def coverage_fraction(pdir: Path) -> float:
    """summary.json's ``coverage.fraction`` of a point (NaN when the run predates coverage reports)."""
    try:
        cov = json.loads((pdir / "summary.json").read_text()).get("coverage") or {}
    except (OSError, ValueError):
        return math.nan
    return float(cov.get("fraction", math.nan))


def csv_cell(v: Any) -> Any:
    """An axis value as it appears in study.csv (lists and mappings as JSON)."""
    return v if isinstance(v, (int, float, str, bool)) or v is None else json.dumps(v)


def study_rows(study: Study) -> list[dict[str, Any]]:
    """One row per point x seed, grid order then seed order; unfinished points have status ``missing``."""
    rows = []
    for p in study.points:
        pdir = point_dir(study.output, p.key)
        try:
            info = json.loads((pdir / "point.json").read_text())
        except (OSError, ValueError):
            info = {"status": "missing", "error": None}
        ok = info["status"] == "ok"
        vals = point_metrics(pdir, study.metrics) if ok else {m.name: math.nan for m in study.metrics}
        rows.append({"point": p.index, "seed": p.seed, **{a: csv_cell(v) for a, v in p.values.items()}, **vals,
                     COVERAGE: coverage_fraction(pdir) if ok else math.nan,
                     "status": info["status"], "key": p.key, "error": info.get("error") or ""})
    return rows


def mean_ci95(x: Sequence[float]) -> tuple[float, float, float]:
    """Mean and Student-t 95 % confidence interval: mean +- t_{0.975, n-1} s / sqrt(n)
    (s the sample standard deviation); NaN bounds for fewer than two values."""
    v = np.asarray([a for a in x if not math.isnan(a)], dtype=float)
    if v.size == 0:
        return math.nan, math.nan, math.nan
    m = float(v.mean())
    if v.size < 2:
        return m, math.nan, math.nan
    h = float(stats.t.ppf(0.975, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size))
    return m, m - h, m + h


def summary_rows(study: Study, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per grid point: axis values, seeds finished, and mean / CI bounds of each metric."""
    out = []
    by_point: dict[int, list[dict[str, Any]]] = {}
    for r in rows:
        by_point.setdefault(r["point"], []).append(r)
    for i, group in by_point.items():
        ok = [r for r in group if r["status"] == "ok"]
        row: dict[str, Any] = {"point": i, **{a: group[0][a] for a in study.axes}, "seeds_ok": len(ok),
                               "seeds_failed": sum(r["status"] == "error" for r in group)}
        for m in study.metrics:
            row[f"{m.name}_mean"], row[f"{m.name}_ci95_low"], row[f"{m.name}_ci95_high"] = \
                mean_ci95([r[m.name] for r in ok])
        fr = [r[COVERAGE] for r in ok if not math.isnan(r[COVERAGE])]
        row[f"{COVERAGE}_mean"] = float(np.mean(fr)) if fr else math.nan
        out.append(row)
    return out


def write_tables(study: Study, rows: list[dict[str, Any]], summary: list[dict[str, Any]]) -> list[Path]:
    """study.csv, study_summary.csv and, when pyarrow is installed, study.parquet."""
    out = Path(study.output)
    paths = []
    for name, table in (("study.csv", rows), ("study_summary.csv", summary)):
        header = list(table[0]) if table else []
        write_csv(out / name, header, ([r[c] for c in header] for r in table))
        paths.append(out / name)
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return paths
    pq.write_table(pa.Table.from_pylist(rows), out / "study.parquet")
    paths.append(out / "study.parquet")
    return paths


def paired_difference_rows(study: Study, rows: Sequence[dict[str, Any]], metric: str, axis: str,
                           ref: Any) -> list[dict[str, Any]]:
    """Summary rows (mean and 95 % CI over seeds) of ``metric`` minus its value at ``axis = ref``
    for the same seed and the same other axis values (a paired difference, so the shared
    fading draws cancel)."""
    others = [a for a in study.axes if a != axis]
    ref = csv_cell(ref)
    base = {(r["seed"], *(r[a] for a in others)): r[metric] for r in rows
            if r["status"] == "ok" and r[axis] == ref}
    diffs: dict[int, list[float]] = {}
    first: dict[int, dict[str, Any]] = {}
    for r in rows:
        if r[axis] == ref:
            continue
        first.setdefault(r["point"], r)
        b = base.get((r["seed"], *(r[a] for a in others)))
        if r["status"] == "ok" and b is not None:
            diffs.setdefault(r["point"], []).append(r[metric] - b)
    out = []
    for i, r in first.items():
        m, lo, hi = mean_ci95(diffs.get(i, []))
        out.append({"point": i, **{a: r[a] for a in study.axes}, f"{metric}_mean": m,
                    f"{metric}_ci95_low": lo, f"{metric}_ci95_high": hi})
    return out
