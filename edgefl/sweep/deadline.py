"""Planning answers by search over runs: latency percentiles, the largest worker count and the
smallest uplink bandwidth that meet a round-latency deadline, and the largest cell radius.

Every probe is one analytic run of the scenario through :func:`edgefl.runner.run_scenario`
(no training: ``fidelity: analytic`` and a synthetic gradient source are required), so the
answers include everything the simulator models: fading, compute stragglers, the
scheme's bits, TDMA/FDMA sharing, the allocation rule and the decoder. The round-latency
distribution is that of ``draws`` rounds of the scenario at its seed; with
``channel.correlation: block_round`` every round is an independent fading draw.

Searches assume the p95 round latency grows with the worker count and the cell radius and
falls with the bandwidth (true of the timing model with common random numbers: the same
seed gives each worker the same draws whatever K, see :mod:`edgefl.radio.environment`).
Worker count: doubling then bisection over integers (exact). Bandwidth and radius:
doubling/halving, then bisection in log space to a relative resolution ``rel_tol``.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgefl.scenario import ResolvedScenario, resolve
from edgefl.sweep.tables import aggregate, read_rounds_columns

PERCENTILES = (50, 95, 99)
MAX_BANDWIDTH_HZ = 1e11  # the scenario schema's upper bound
MAX_RADIUS_M = 1e6


class PlanError(ValueError):
    """A planning question the scenario cannot answer (message says why)."""


@dataclass
class Prober:
    """Runs the scenario with overrides and caches p95 latencies (each probe is one run)."""

    data: dict[str, Any]
    source: str
    base_dir: Path
    draws: int
    runs: list[tuple[tuple[str, ...], dict[str, float]]] = field(default_factory=list)

    def percentiles(self, overrides: tuple[str, ...] = ()) -> dict[str, float]:
        """p50/p95/p99 and mean round latency (s) over ``draws`` rounds, numpy type-7 percentiles."""
        for ov, res in self.runs:
            if ov == overrides:
                return res
        from edgefl.runner import run_scenario

        fixed = [f"rounds={self.draws}", "output.timeline=false", "output.plots=false"]
        rs = resolve(self.data, self.source, self.base_dir, [*fixed, *overrides])
        with tempfile.TemporaryDirectory(prefix="edgefl-plan-") as tmp:
            out = run_scenario(rs, Path(tmp) / "run", progress=False)
            if not out.complete:
                raise PlanError(f"{self.source}: probe {list(overrides)} stopped: {out.error or 'interrupted'}")
            lat = read_rounds_columns(out.out_dir / "rounds.csv")["latency_s"]
        res = {f"p{q}_s": aggregate(lat, f"p{q}") for q in PERCENTILES}
        res["mean_s"] = aggregate(lat, "mean")
        self.runs.append((overrides, res))
        return res

    def p95(self, *overrides: str) -> float:
        return self.percentiles(tuple(overrides))["p95_s"]


def _largest_int(ok: Callable[[int], bool], start: int, cap: int) -> int | None:
    """Largest n in [1, cap] with ok(n), assuming ok is true up to a threshold then false."""
    if not ok(1):
        return None
    lo, hi = 1, None  # ok(lo) holds; ok(hi) fails
    n = max(1, start)
    while n <= cap:
        if ok(n):
            lo = n
            n *= 2
        else:
            hi = n
            break
    if hi is None:
        if lo == cap or ok(cap):
            return cap
        hi = cap
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if ok(mid) else (lo, mid)
    return lo


def _log_boundary(ok: Callable[[float], bool], start: float, lo_cap: float, hi_cap: float, rel_tol: float,
                  increasing: bool) -> tuple[float, float] | None:
    """Bracket [a, b] with b / a <= 1 + rel_tol around the point where ok flips. ``increasing``:
    ok holds above the boundary (bandwidth); otherwise below it (radius). Returns
    (last value where ok holds, first value where it fails)."""
    good, bad = (None, None)
    x = start
    for _ in range(200):
        if ok(x):
            good = x
            if bad is not None:
                break
            nxt = x / 2 if increasing else x * 2
            if not lo_cap <= nxt <= hi_cap:
                return (good, math.nan) if good is not None else None
            x = nxt
        else:
            bad = x
            if good is not None:
                break
            nxt = x * 2 if increasing else x / 2
            if not lo_cap <= nxt <= hi_cap:
                return None
            x = nxt
    if good is None or bad is None:
        return None
    while max(good, bad) / min(good, bad) > 1 + rel_tol:
        mid = math.sqrt(good * bad)
        if ok(mid):
            good = mid
        else:
            bad = mid
    return good, bad


def _assumes(rs: ResolvedScenario) -> dict[str, Any]:
    s = rs.scenario
    return {"scheme": s.compression.scheme, "allocation": s.rate_allocation.scheme, "access": s.channel.access,
            "fading": s.channel.fading.model if hasattr(s.channel.fading, "model") else str(s.channel.fading),
            "correlation": getattr(s.channel.correlation, "kind", None), "upload_order": s.upload_order,
            "server": s.server.profile, "seed": s.seed}


def plan_deadline(data: dict[str, Any], source: str, base_dir: Path, *, deadline_s: float | None = None,
                  coverage: bool = False, draws: int = 100, max_workers: int = 1024,
                  rel_tol: float = 0.01) -> dict[str, Any]:
    """Latency percentiles of the scenario and, with ``deadline_s``, the largest worker count and
    the smallest uplink bandwidth whose p95 round latency meets it; with ``coverage`` also the
    largest cell radius (disc radius or annulus outer radius) that does."""
    rs = resolve(data, source, base_dir)
    scn = rs.scenario
    if scn.fidelity != "analytic" or scn.gradients is None:
        raise PlanError(f"{source}: planning searches run many probes; it needs fidelity: analytic and a "
                        "'gradients' (synthetic) source, not a trained model")
    if deadline_s is not None and not (deadline_s > 0 and math.isfinite(deadline_s)):
        raise PlanError(f"--deadline {deadline_s!r}: must be a positive number of seconds")
    if coverage and deadline_s is None:
        raise PlanError("--coverage needs --deadline T (the radius at which the p95 round latency still meets T)")
    pr = Prober(data, source, base_dir, draws)
    rep: dict[str, Any] = {"scenario": source, "assumes": _assumes(rs), "draws": draws,
                           "latency": pr.percentiles()}
    if deadline_s is None:
        return rep

    def meets(*ov: str) -> bool:
        return pr.p95(*ov) <= deadline_s

    k0 = scn.workers.count
    k_ok = _largest_int(lambda k: meets(f"workers.count={k}"), k0, max_workers) \
        if scn.workers.groups is None and not scn.workers.overrides else None
    b0 = scn.channel.uplink_bandwidth_hz
    bw = _log_boundary(lambda b: meets(f"channel.uplink_bandwidth_hz={b!r}"), b0, 1.0, MAX_BANDWIDTH_HZ,
                       rel_tol, increasing=True)
    rep["deadline_s"] = deadline_s
    rep["max_workers"] = {"value": k_ok, "searched_up_to": max_workers, "meets_at_scenario_count": meets(),
                          "note": None if k_ok is not None or scn.workers.groups is None
                          else "worker count search needs one device for all workers and no per-worker overrides"}
    rep["min_uplink_bandwidth_hz"] = {
        "value": None if bw is None else bw[0], "fails_at": None if bw is None else bw[1], "rel_tol": rel_tol,
        "workers": k0}
    if coverage:
        pl = scn.workers.placement
        key = {"disc": "radius_m", "annulus": "r_max_m"}.get(pl.layout)
        if key is None:
            raise PlanError(f"{source}: --coverage needs workers.placement.layout disc or annulus, "
                            f"not {pl.layout}")
        r0 = float(getattr(pl, key))
        lo = float(getattr(pl, "r_min_m", 0.0)) * (1 + rel_tol) or 1e-3
        rad = _log_boundary(lambda r: meets(f"workers.placement.{key}={r!r}"), r0, lo, MAX_RADIUS_M, rel_tol,
                            increasing=False)
        rep["max_radius_m"] = {"value": None if rad is None else rad[0], "fails_at": None if rad is None else rad[1],
                               "field": f"workers.placement.{key}", "rel_tol": rel_tol, "workers": k0}
    rep["probes"] = len(pr.runs)
    return rep


def format_deadline(rep: dict[str, Any]) -> str:
    """The planning answers as text."""
    a = rep["assumes"]
    lat = rep["latency"]
    head = (f"{rep['scenario']}: scheme {a['scheme']}, allocation {a['allocation']}, {a['access']}, "
            f"fading {a['fading']} ({a['correlation']}), seed {a['seed']}")
    dist = (f"  round latency over {rep['draws']} rounds: p50 {lat['p50_s']:.4g} s, p95 {lat['p95_s']:.4g} s, "
            f"p99 {lat['p99_s']:.4g} s (mean {lat['mean_s']:.4g} s)")
    lines = [head, dist]
    if "deadline_s" not in rep:
        return "\n".join(lines)
    t = rep["deadline_s"]
    k = rep["max_workers"]
    lines.append(f"  largest worker count with p95 <= {t:g} s: "
                 + (f"{k['value']}" if k["value"] is not None else "none (even 1 worker misses it)")
                 + (f" (searched up to {k['searched_up_to']})" if k["value"] == k["searched_up_to"] else ""))
    b = rep["min_uplink_bandwidth_hz"]
    lines.append(f"  smallest uplink bandwidth for {b['workers']} workers: "
                 + (f"{b['value']:.4g} Hz (misses at {b['fails_at']:.4g} Hz)" if b["value"] is not None
                    and not math.isnan(b["fails_at"] or math.nan) else
                    f"{b['value']:.4g} Hz or less" if b["value"] is not None else
                    f"none up to {MAX_BANDWIDTH_HZ:.0e} Hz"))
    if "max_radius_m" in rep:
        r = rep["max_radius_m"]
        lines.append(f"  largest cell radius ({r['field']}): "
                     + (f"{r['value']:.4g} m (misses at {r['fails_at']:.4g} m)" if r["value"] is not None
                        and not math.isnan(r["fails_at"] or math.nan) else
                        f"{r['value']:.4g} m or more" if r["value"] is not None else "none"))
    lines.append(f"  ({rep['probes']} probe runs)")
    return "\n".join(lines)

