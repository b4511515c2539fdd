"""Study files: a base scenario, axes over its fields, seeds, metrics and plots.

A study is one YAML file::

    name: bandwidth_vs_workers
    base: ../quickstart.yaml          # a scenario file (relative to the study), or an inline mapping
    set: [rounds=10]                  # fixed overrides, same syntax as `edgefl run --set`
    axes:                             # dotted scenario paths, as with --set
      workers.count: [5, 10, 20]
      channel.uplink_bandwidth_hz: {log: [1.0e+6, 1.0e+8, 5]}
      compression.scheme: [signsgd, dsc]
      server.profile: [edge_server_fa_asic, edge_server_cpu]
    zip: [[compression.scheme, server.profile]]   # these axes move together (default: crossed)
    seeds: 3                          # base seed, +1, +2 (or an explicit list)
    metrics:
      latency_p95: latency_s:p95      # rounds.csv column : mean|p50|p95|p99|final|sum|min|max
      energy: total:worker_energy_j   # a summary.json total
      wait: critical.decode_wait:p95  # a part of the round latency (see edgefl.sweep.critical_path)
    plots:
      - {metric: latency_p95, x: workers.count, lines: channel.uplink_bandwidth_hz}
      - {metric: latency_p95, heatmap: [workers.count, channel.uplink_bandwidth_hz], threshold: 0.1}

Every point of the grid is resolved and validated with the scenario schema
(:func:`edgefl.scenario.resolve`) before anything runs; a bad value names the axis, the
point, the value and what is allowed. A study whose metrics are all timing, bit and energy
quantities (:func:`timing_only_metrics`) runs its points with ``output.timing_only``: no
gradient is drawn where the scheme's bits do not depend on the values (:mod:`edgefl.sim.bits_only`);
the out-of-coverage share of each point is a column of the tables (:mod:`edgefl.sweep.tables`).
"""

from __future__ import annotations

import itertools
import json
import math
import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    PositiveInt,
    ValidationError,
    field_validator,
)

from edgefl import catalog
from edgefl.results.records import RoundRecord
from edgefl.scenario import ResolvedScenario, ScenarioError, resolve

AGGREGATES = ("mean", "p50", "p95", "p99", "final", "sum", "min", "max")
#: default limit on runs (grid points x seeds): every run is resolved, validated and hashed before the
#: first one starts, measured at ~5 ms and ~6 KiB each on a 2-core machine, so 20,000 runs take ~2 min
#: and ~120 MiB to expand; raise it with ``edgefl sweep --max-points``
DEFAULT_MAX_POINTS = 20_000
EXPAND_S_PER_RUN = 5e-3
EXPAND_BYTES_PER_RUN = 6 * 2**10
FORBIDDEN_AXES = ("seed", "output", "name")  # seeds come from `seeds:`; the sweep owns the output


class StudyError(ValueError):
    """A study that cannot run; the message names the file, the field or axis, the value and what is allowed."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class LogGrid(_Strict):
    """``{log: [a, b, n]}``: n values geometrically spaced from a to b (numpy.geomspace)."""

    log: tuple[int | float, int | float, PositiveInt]


class LinGrid(_Strict):
    """``{lin: [a, b, n]}``: n values evenly spaced from a to b (numpy.linspace)."""

    lin: tuple[int | float, int | float, PositiveInt]


AxisSpec = LogGrid | LinGrid | list[Any]


class LinePlot(_Strict):
    """Metric (mean over seeds, 95 % CI band) vs axis ``x``, one line per value of ``lines``;
    any other axis with several values gets its own panel (or is fixed by ``where``)."""

    metric: str
    x: str
    lines: str | None = None
    where: dict[str, Any] = Field(default_factory=dict)
    minus: dict[str, Any] | None = Field(
        None, description="{axis: value}: plot the metric minus its value at that axis value, same seed and "
                          "other axes (e.g. DSC's extra delay over signSGD)")
    logx: bool | None = None
    logy: bool = False


class HeatMap(_Strict):
    """Metric (mean over seeds) over two axes, with a contour line at ``threshold``."""

    metric: str
    heatmap: tuple[str, str]
    threshold: float | None = None
    where: dict[str, Any] = Field(default_factory=dict)


class StudyFile(_Strict):
    """The YAML of a study."""

    name: str = Field(..., pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
    base: str | dict[str, Any] = Field(..., description="scenario file (relative to the study) or inline scenario")
    set: list[str] = Field(default_factory=list, description="fixed overrides of the base, dotted.path=value")
    axes: dict[str, AxisSpec] = Field(..., min_length=1)
    zip: list[list[str]] = Field(default_factory=list, description="groups of axes that move together")
    seeds: PositiveInt | list[NonNegativeInt] = 1
    metrics: dict[str, str] | list[str] = Field(..., min_length=1)
    plots: list[HeatMap | LinePlot] = Field(default_factory=list)
    output: str | None = Field(None, description="results directory (default results/studies/<name>)")

    @field_validator("seeds")
    @classmethod
    def _distinct(cls, v: Any) -> Any:
        if isinstance(v, list) and (not v or len(set(v)) != len(v)):
            raise ValueError("seeds must be a positive count or a non-empty list of distinct seeds")
        return v


@dataclass(frozen=True)
class Metric:
    """One study.csv column: ``aggregate`` of rounds.csv ``column``, or summary.json total ``total``."""

    name: str
    column: str | None = None
    aggregate: str | None = None
    total: str | None = None


@dataclass(frozen=True)
class Point:
    """One grid point x one seed, resolved and validated."""

    index: int  # grid point number (0-based), the same for all its seeds
    seed: int
    values: dict[str, Any]  # axis -> value
    scenario: ResolvedScenario
    key: str  # result directory name: hash of resolved scenario + devices + seed + edgefl version


@dataclass(frozen=True)
class Study:
    """A loaded study: its grid expanded, every point validated."""

    name: str
    source: Path
    axes: dict[str, list[Any]]
    log_axes: frozenset[str]
    seeds: list[int]
    metrics: list[Metric]
    plots: list[LinePlot | HeatMap]
    points: list[Point]  # grid order, then seed order
    output: Path

    @property
    def num_grid_points(self) -> int:
        return len(self.points) // len(self.seeds)


def _plain(v: Any) -> Any:
    """numpy scalars to Python numbers (for YAML overrides, JSON and the hash)."""
    if isinstance(v, np.generic):
        return v.item()
    return v


def axis_values(name: str, spec: Any) -> list[Any]:
    """Values of one axis. A grid whose endpoints are both written as integers (``5``, not ``5.0``
    or ``1e6``) gives integers, rounded; otherwise floats."""
    if isinstance(spec, list):
        if not spec:
            raise StudyError(f"axis {name}: empty list of values")
        return [_plain(v) for v in spec]
    kind, (a, b, n) = ("log", spec.log) if isinstance(spec, LogGrid) else ("lin", spec.lin)
    if kind == "log" and (a <= 0 or b <= 0):
        raise StudyError(f"axis {name}: {{log: [{a}, {b}, {n}]}}: log grid endpoints must be > 0")
    vals = np.geomspace(a, b, n) if kind == "log" else np.linspace(a, b, n)
    if isinstance(a, int) and isinstance(b, int):
        ints = [round(float(v)) for v in vals]
        if len(set(ints)) != len(ints):
            raise StudyError(f"axis {name}: {{{kind}: [{a:g}, {b:g}, {n}]}} rounds to repeated integers {ints}; "
                             "use fewer values or non-integer endpoints")
        return ints
    return [float(v) for v in vals]


def axis_length(spec: Any) -> int:
    """Number of values of one axis, read from its spec without making them."""
    if isinstance(spec, list):
        return len(spec)
    return int((spec.log if isinstance(spec, LogGrid) else spec.lin)[2])


@dataclass(frozen=True)
class StudySize:
    """Runs of a study counted from its specs: the crossed blocks (an axis, or a zip group moving
    together) with their value counts, times the seeds."""

    blocks: tuple[tuple[tuple[str, ...], int], ...]
    seeds: int
    seeds_field: str

    @property
    def grid(self) -> int:
        return math.prod(n for _, n in self.blocks)

    @property
    def runs(self) -> int:
        return self.grid * self.seeds

    def drivers(self) -> str:
        """The factors of the count, largest first: ``workers.count (1,000 values) x seeds (3)``."""
        parts = [(n, f"{' + '.join(b)} ({n:,} value{'s' * (n != 1)}{', zipped' if len(b) > 1 else ''})")
                 for b, n in self.blocks]
        parts.append((self.seeds, f"{self.seeds_field} ({self.seeds:,})"))
        return " x ".join(t for _, t in sorted(parts, key=lambda x: -x[0]))


def study_size(sf: StudyFile) -> StudySize:
    """Count grid points and seeds from the axis specs (nothing is expanded); zip groups are
    checked here (known axes, one group each, equal lengths)."""
    lengths = {a: axis_length(spec) for a, spec in sf.axes.items()}
    for a, n in lengths.items():
        if n == 0:
            raise StudyError(f"axis {a}: empty list of values")
    seen: set[str] = set()
    for g in sf.zip:
        unknown = [a for a in g if a not in lengths]
        if unknown or len(g) < 2:
            raise StudyError(f"zip group {g}: needs two or more axes named under 'axes' "
                             f"(unknown: {unknown}; axes: {', '.join(lengths)})")
        if seen & set(g):
            raise StudyError(f"zip group {g}: axis {sorted(seen & set(g))} is in two zip groups")
        seen |= set(g)
        if len({lengths[a] for a in g}) != 1:
            raise StudyError(f"zip group {g}: axes must have equal numbers of values, got "
                             f"{ {a: lengths[a] for a in g} }")
    blocks = _blocks(list(lengths), sf.zip)
    seeds, field = (sf.seeds, f"seeds: {sf.seeds}") if isinstance(sf.seeds, int) else (len(sf.seeds), "seeds list")
    return StudySize(tuple((b, lengths[b[0]]) for b in blocks), seeds, field)


def check_size(size: StudySize, max_points: int) -> None:
    """Refuse a study of more than ``max_points`` runs, naming the count, the cost of expanding
    it and the fields that drive it (before anything is expanded)."""
    if size.runs <= max_points:
        return
    from edgefl.estimate import fmt_bytes, fmt_seconds

    raise StudyError(
        f"{size.grid:,} grid point{'s' * (size.grid != 1)} x {size.seeds:,} seed{'s' * (size.seeds != 1)} = "
        f"{size.runs:,} runs, more than --max-points "
        f"{max_points:,} (nothing was expanded or run)\n"
        f"  driven by: {size.drivers()}\n"
        f"  estimate: expanding and validating the runs alone needs ~{fmt_bytes(size.runs * EXPAND_BYTES_PER_RUN)} "
        f"and ~{fmt_seconds(size.runs * EXPAND_S_PER_RUN)} before the first one starts\n"
        f"  use fewer axis values or seeds, or raise the limit with --max-points")


def parse_metric(name: str | None, text: str) -> Metric:
    """``column:aggregate`` or ``total:key`` -> :class:`Metric` (name defaults to ``column_aggregate``)."""
    if ":" not in text:
        raise StudyError(f"metric {text!r}: expected 'column:aggregate' (aggregate one of {', '.join(AGGREGATES)}) "
                         "or 'total:key' (a summary.json total)")
    left, right = (s.strip() for s in text.split(":", 1))
    if left == "total":
        m = Metric(name or right, total=right)
    elif right in AGGREGATES:
        m = Metric(name or f"{left}_{right}", column=left, aggregate=right)
    else:
        raise StudyError(f"metric {text!r}: aggregate {right!r} is not one of {', '.join(AGGREGATES)}")
    if not m.name or not m.name.replace("_", "").replace(".", "").isalnum():
        raise StudyError(f"metric name {m.name!r}: use letters, digits, _ and .")
    return m


def _override(path: str, value: Any) -> str:
    # JSON is YAML: the value round-trips through apply_overrides' YAML parse unchanged
    return f"{path}={json.dumps(value)}"


def _point_text(values: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in values.items())


def _axes_of_problem(field: str, values: dict[str, Any]) -> list[str]:
    """The axes whose path is, contains or lies inside the problem's field (none for a
    whole-scenario rule such as 'p1 needs a target distortion')."""
    if not field:
        return []
    return [a for a in values if field == a or field.startswith((a + ".", a + "[")) or a.startswith(field + ".")]


def point_key(rs: ResolvedScenario) -> str:
    """Hash naming a point's result directory: :func:`edgefl.scenario.digest.input_digest` of the
    point (resolved scenario without the output settings the sweep controls, device profiles,
    contents of the files it reads, edgefl version)."""
    from edgefl.scenario.digest import input_digest

    scn = rs.scenario.model_dump(mode="json")
    # timing-only points (no distortion column) are other results: keyed apart, others unchanged
    scn["output"] = {"timeline": scn["output"]["timeline"],
                     **({"timing_only": True} if scn["output"].get("timing_only") else {})}
    return input_digest(rs, scn)[:20]


def _blocks(axes: list[str], groups: list[list[str]]) -> list[tuple[str, ...]]:
    """The crossed factors of the grid: each axis alone, or its zip group where its first axis sits."""
    group_of = {a: tuple(g) for g in groups for a in g}
    blocks: list[tuple[str, ...]] = []
    for a in axes:
        block = group_of.get(a, (a,))
        if block not in blocks:
            blocks.append(block)
    return blocks


def _grid(axes: dict[str, list[Any]], groups: list[list[str]]) -> list[dict[str, Any]]:
    """Crossed product of the groups; the axes of one zip group move together."""
    blocks = _blocks(list(axes), groups)
    choices = [list(zip(*(axes[a] for a in b))) for b in blocks]
    out = []
    for combo in itertools.product(*choices):
        point: dict[str, Any] = {}
        for block, vals in zip(blocks, combo):
            point.update(zip(block, vals))
        out.append({a: point[a] for a in axes})
    return out


def load_study(path: str | Path, output: str | Path | None = None,
               max_points: int = DEFAULT_MAX_POINTS) -> Study:
    """Read, count, expand and validate a study file; raise :class:`StudyError` before anything
    runs (above ``max_points`` runs, before anything is expanded)."""
    path = Path(path)
    try:
        raw = catalog.load_yaml(path, "study file")
    except catalog.CatalogError as exc:
        raise StudyError(str(exc)) from None
    try:
        sf = StudyFile.model_validate(raw)
    except ValidationError as exc:
        lines = [f"{path}: {'.'.join(map(str, e['loc'])) or '(top level)'}"
                 f"{' = ' + repr(e['input']) if 'input' in e and not isinstance(e['input'], dict) else ''}: {e['msg']}"
                 for e in exc.errors(include_url=False)]
        raise StudyError("\n".join(lines)) from None
    return build_study(sf, path, output, max_points)


def build_study(sf: StudyFile, path: Path, output: str | Path | None = None,
                max_points: int = DEFAULT_MAX_POINTS) -> Study:
    """Count the runs of a parsed study file (refused above ``max_points``), then expand it and
    validate every point with the scenario schema."""
    where = str(path)
    for a in sf.axes:
        if a.split(".")[0] in FORBIDDEN_AXES:
            raise StudyError(f"{where}: axis {a}: not allowed; vary seeds with 'seeds:', "
                             "the sweep chooses output directories")
    try:
        check_size(study_size(sf), max_points)
    except StudyError as exc:
        raise StudyError(f"{where}: {exc}") from None
    axes: dict[str, list[Any]] = {}
    for a, spec in sf.axes.items():
        try:
            axes[a] = axis_values(a, spec)
        except StudyError as exc:
            raise StudyError(f"{where}: {exc}") from None
    metric_items = sf.metrics.items() if isinstance(sf.metrics, dict) else ((None, m) for m in sf.metrics)
    try:
        metrics = [parse_metric(n, t) for n, t in metric_items]
    except StudyError as exc:
        raise StudyError(f"{where}: {exc}") from None
    names = [m.name for m in metrics]
    if len(set(names)) != len(names) or set(names) & set(axes):
        raise StudyError(f"{where}: metric names must be distinct and differ from axis names: {names}")
    for p in sf.plots:
        used = [p.x, *([p.lines] if p.lines else [])] if isinstance(p, LinePlot) else list(p.heatmap)
        minus = getattr(p, "minus", None) or {}
        bad = [a for a in [*used, *p.where, *minus] if a not in axes]
        if len(minus) > 1 or any(a in axes and v not in axes[a] for a, v in minus.items()):
            raise StudyError(f"{where}: plot {p.model_dump(exclude_defaults=True)}: 'minus' takes one axis and "
                             f"one of its values ({ {a: axes.get(a) for a in minus} })")
        if p.metric not in names or bad:
            raise StudyError(f"{where}: plot {p.model_dump(exclude_defaults=True)}: metric must be one of {names} "
                             f"and axes one of {list(axes)} (unknown: {bad or p.metric})")
        for a, v in p.where.items():
            if v not in axes[a]:
                raise StudyError(f"{where}: plot {p.model_dump(exclude_defaults=True)}: where {a} = {v!r} is not "
                                 f"one of the axis values {axes[a]}")

    base_dir = path.parent
    if isinstance(sf.base, str):
        base_path = (base_dir / sf.base)
        try:
            base = catalog.load_yaml(base_path, "base scenario")
        except catalog.CatalogError as exc:
            raise StudyError(f"{where}: base: {exc}") from None
        source, scn_dir = str(base_path), base_path.parent
    else:
        base, source, scn_dir = sf.base, f"{where} (inline base)", base_dir
    if not isinstance(base, dict):
        raise StudyError(f"{where}: base: a scenario must be a YAML mapping")
    _check_paths(sf, base, axes, where)
    seeds: list[int] = [] if isinstance(sf.seeds, int) else list(sf.seeds)  # a count starts at the base's seed

    timing_only = timing_only_metrics(metrics)
    grid = _grid(axes, sf.zip)
    points: list[Point] = []
    problems: list[str] = []
    seen_problems: set[tuple[str, str, str]] = set()
    combos: dict[str, list[int]] = {}  # whole-scenario problem -> points that have it
    for i, values in enumerate(grid):
        ov = list(sf.set) + [_override(a, v) for a, v in values.items()]
        try:
            rs0 = resolve(base, source, scn_dir, ov)
        except ScenarioError as exc:
            for pr in exc.problems:
                hit = _axes_of_problem(pr.field, values)
                if not hit:
                    combos.setdefault(pr.render(), []).append(i)
                for a in hit:
                    if (a, repr(values[a]), pr.render()) not in seen_problems:
                        seen_problems.add((a, repr(values[a]), pr.render()))
                        problems.append(f"axis {a}, point {i} of {len(grid)} ({_point_text(values)}): "
                                        f"value {values[a]!r} rejected: {pr.render()}")
            continue
        if not seeds:  # the seed of the base with its fixed overrides (axes may not vary it)
            seeds = list(range(rs0.scenario.seed, rs0.scenario.seed + int(sf.seeds)))  # type: ignore[arg-type]
        for s in seeds:
            rs = _with_seed(rs0, s, timing_only)
            points.append(Point(i, s, values, rs, point_key(rs)))
    for text, idx in combos.items():
        more = f" (and {len(idx) - 1} more points)" if len(idx) > 1 else ""
        problems.append(f"point {idx[0]} of {len(grid)} ({_point_text(grid[idx[0]])}){more}: "
                        f"this combination is rejected: {text}")
    if problems:
        head = f"{where}: {len(problems)} problem{'s' * (len(problems) != 1)} with axis values (nothing was run)"
        raise StudyError("\n".join([head, *(f"  {p}" for p in problems)]))
    out = Path(output) if output is not None else Path(sf.output) if sf.output else Path("results/studies") / sf.name
    log_axes = frozenset(a for a, spec in sf.axes.items() if isinstance(spec, LogGrid))
    return Study(sf.name, path, axes, log_axes, seeds, metrics, list(sf.plots), points, out)


#: rounds.csv columns and summary.json totals that need no gradient value (timing, bits, energy,
#: participation; edgefl.sim.bits_only): a study asking only for these runs its points timing-only
TIMING_COLUMNS = frozenset(
    [f.name for f in dataclasses.fields(RoundRecord) if f.name not in ("distortion", "extras")]
    + ["participants", "dropped", "aggregated", "dropped_bits"])
TIMING_TOTALS = frozenset(
    [f.metadata["total"][1] or f.name for f in dataclasses.fields(RoundRecord)
     if "total" in f.metadata and f.name != "distortion"] + ["rounds_done", "dropped_uploads", "dropped_bits_total"])


def timing_only_metrics(metrics: list[Metric]) -> bool:
    """Every metric is a timing, bit or energy quantity (``critical.*`` parts included)."""
    return all((m.total in TIMING_TOTALS) if m.total is not None else
               bool(m.column) and (m.column in TIMING_COLUMNS or m.column.startswith("critical."))
               for m in metrics)


def _check_paths(sf: StudyFile, base: dict[str, Any], axes: dict[str, list[Any]], where: str) -> None:
    """Every ``set:`` entry and axis path can be followed in the base (list items included),
    named by the study field before any point is resolved."""
    from edgefl.scenario import apply_overrides

    try:
        fixed = apply_overrides(base, list(sf.set))
    except ValueError as exc:
        raise StudyError(f"{where}: set: {str(exc).removeprefix('--set ')}") from None
    for a, values in axes.items():  # in the order the points apply them, with the first point's values
        try:
            fixed = apply_overrides(fixed, [_override(a, values[0])])
        except ValueError as exc:
            raise StudyError(f"{where}: axis {a}: {str(exc).removeprefix('--set ')}") from None


def _with_seed(rs: ResolvedScenario, seed: int, timing_only: bool = False) -> ResolvedScenario:
    """The same resolved scenario with another seed and plots off (the sweep draws its own);
    ``timing_only`` when the study's metrics need no gradient value (:func:`timing_only_metrics`)."""
    s = rs.scenario
    out = s.output.model_copy(update={"plots": False, "dir": None, "timing_only": s.output.timing_only or timing_only})
    scn = s.model_copy(update={"seed": seed, "output": out})
    return ResolvedScenario(scn, rs.source, rs.base_dir, rs.worker_devices, rs.server_profile)


def is_number(v: Any) -> bool:
    """True for int/float axis values (bool excluded), which plots place on a numeric axis."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
