"""Long checks of `edgefl plan` against long runs (issue 20, "Done when"); marked slow.

* `--over fading`: the 95 % intervals of `plan --percentiles` contain the p50/p95/p99 of a
  5,000-round run of the same scenario, for the quickstart, the quickstart with DSC analytic and
  the 181 Gb/s ASIC decoder, the quickstart with the NR link, partial_participation.yaml, a P1
  scenario and the quickstart with slow Gauss-Markov fading (dependent rounds);
* `--over placements`: the intervals agree with the p50/p95/p99 of 50 seeds x 100 rounds pooled
  (seeds other than the planner's own, so the pooled runs are independent of its samples): with
  only 50 placements the pooled percentile has an error of its own, so its 95 % interval (cluster
  bootstrap over the seeds) must meet the plan's;
* `max_workers` equals a brute-force scan over K with 2,000-round runs wherever the brute-force
  p95 on both sides of the answer is clear of the deadline.

The runs go through :func:`edgefl.runner.run_scenario` (timing only), not the planner's code.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgefl.planning import plan
from edgefl.planning.questions import Sampler, max_workers
from edgefl.planning.stats import cluster_bootstrap_ci
from edgefl.runner import run_scenario
from edgefl.scenario import load_scenario
from edgefl.sweep.tables import read_rounds_columns

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
QUICK = ROOT / "scenarios" / "quickstart.yaml"
PARTIAL = ROOT / "scenarios" / "partial_participation.yaml"
VARIANTS = {
    "quickstart": (QUICK, []),
    "dsc-analytic-181g": (QUICK, ["compression.scheme=dsc", "server.profile=edge_server_sbf_asic"]),
    "nr-link": (QUICK, ["channel.link.model=nr"]),
    "partial-participation": (PARTIAL, []),
    "p1": (QUICK, ["compression.scheme=dsc", "rate_allocation.scheme=p1", "rate_allocation.target_distortion=0.5"]),
}
#: consecutive rounds dependent (Gauss-Markov fading, slow enough that the latencies of rounds a few
#: apart are correlated): the intervals are batch means over the series (edgefl.planning.stats)
SERIES = {"gauss-markov": (QUICK, ["channel.correlation.kind=gauss_markov", "channel.correlation.doppler_hz=0.5"])}


def latencies(tmp_path: Path, scenario: Path, overrides: list[str], rounds: int) -> np.ndarray:
    rs = load_scenario(scenario, [*overrides, f"rounds={rounds}", "output.timeline=false", "output.plots=false",
                                  "output.timing_only=true"])
    out = run_scenario(rs, tmp_path / f"run{len(list(tmp_path.iterdir()))}", progress=False)
    assert out.complete, out.error
    return np.asarray(read_rounds_columns(out.out_dir / "rounds.csv")["latency_s"], dtype=float)


@pytest.mark.parametrize("name", [*VARIANTS, *SERIES])
def test_fading_intervals_contain_a_5000_round_run(tmp_path: Path, name: str) -> None:
    scenario, ov = {**VARIANTS, **SERIES}[name]
    rep = plan(load_scenario(scenario, ov), percentiles=True, max_samples=1600)
    lat = latencies(tmp_path, scenario, ov, 5000)
    assert rep.percentiles.sampling.ci_method.startswith("batch means") == (name in SERIES)
    p = rep.percentiles.round_latency_s
    for q in (50, 95, 99):
        lo, hi = p["ci95"][f"p{q}"]
        assert lo * (1 - 1e-12) <= np.percentile(lat, q) <= hi * (1 + 1e-12), (name, q, lo, hi, np.percentile(lat, q))


@pytest.mark.parametrize("name", list(VARIANTS))
def test_placement_intervals_contain_50_seeds_pooled(tmp_path: Path, name: str) -> None:
    scenario, ov = VARIANTS[name]
    rep = plan(load_scenario(scenario, ov), percentiles=True, over="placements", max_samples=3200)
    pooled = np.concatenate([latencies(tmp_path, scenario, [*ov, f"seed={10_000 + s}"], 100) for s in range(50)])
    p = rep.percentiles.round_latency_s
    assert rep.percentiles.sampling.over == "placements"
    for q in (50, 95, 99):
        lo, hi = p["ci95"][f"p{q}"]
        # 50 placements leave the pooled percentile itself uncertain (placements dominate the spread):
        # its own 95 % interval (cluster bootstrap over the 50 seeds) must meet the plan's
        pooled_ci = cluster_bootstrap_ci(pooled, q, 100, seed=q)
        # (rel. 1e-12: a deadline-capped latency is the deadline up to the clock's rounding)
        assert pooled_ci.low <= hi * (1 + 1e-12) and lo <= pooled_ci.high * (1 + 1e-12), (name, q, lo, hi, pooled_ci)


@pytest.mark.parametrize("name", ["quickstart", "partial-participation"])
def test_max_workers_equals_a_long_brute_force_scan(tmp_path: Path, name: str) -> None:
    scenario, ov = VARIANTS[name]
    rs = load_scenario(scenario, ov)
    field = "workers.per_round" if rs.scenario.workers.per_round is not None else "workers.count"
    ks = range(1, 13)
    p95 = {k: float(np.percentile(latencies(tmp_path, scenario, [*ov, f"{field}={k}"], 2000), 95)) for k in ks}
    # a deadline midway in the widest gap between consecutive K whose p95 rise
    gaps = {k: p95[k + 1] - p95[k] for k in ks if k + 1 in p95}
    k0 = max(gaps, key=gaps.get)
    if gaps[k0] <= 0.05 * p95[k0 + 1]:
        pytest.skip(f"{name}: no K whose p95 is clear of a deadline (largest gap {gaps[k0]:.3g} s)")
    t = (p95[k0] + p95[k0 + 1]) / 2
    brute = next((k for k in ks if p95[k] > t), max(ks) + 1) - 1
    mw = max_workers(Sampler(rs), t, 95.0, 0.05, 200, limit=max(ks))
    assert mw.max_workers == brute == k0 and mw.field == field
