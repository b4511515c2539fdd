"""`plan --coverage` over placements: the batched placements against the per-placement simulations,
common random numbers (the percentile non-decreasing in the radius) and the radius search against an
independent brute-force scan with fresh samples at every radius."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgefl.planning.placement_batch import BatchSamples, NotBatchable, PlacementBatch, batch_problems, decode_rounds
from edgefl.planning.questions import Sampler, max_radius
from edgefl.planning.samples import PlacementSamples, timing_run, variant
from edgefl.planning.stats import confidence_interval, percentile
from edgefl.radio.access_registry import make_access
from edgefl.scenario import load_scenario
from edgefl.sim.round_timing import one_decode_pass

ROOT = Path(__file__).resolve().parents[1]
QUICK = ROOT / "scenarios" / "quickstart.yaml"
ANNULUS = ['workers.placement={"layout": "annulus", "r_min_m": 20.0, "r_max_m": 150.0, "height_m": 1.5}']


@pytest.mark.parametrize("overrides", [
    [],
    ["channel.access=fdma", "channel.fading.model=rician", "channel.fading.k_factor_db=3"],
    ["upload_order=index", "workers.compute_jitter=0", "compression.scheme=none", "gradients.params=5000"],
    ANNULUS,
], ids=["quickstart", "fdma-rician", "index-order-uncoded", "annulus"])
def test_batch_is_the_per_placement_simulations(overrides: list[str]) -> None:
    """Every sample of the batch equals the latency of the round the engine plays for that placement
    seed and radius (build + run per placement, the other code path), at radii on both sides."""
    rs = load_scenario(QUICK, overrides)
    batch = PlacementBatch(rs, 3, seed=7)
    name = "r_max_m" if overrides == ANNULUS else "radius_m"
    for radius in (40.0, 150.0, 600.0):
        ref = PlacementSamples(variant(rs, [f"workers.placement.{name}={radius}"]), "auto", 3, 7).take(45)
        np.testing.assert_allclose(batch.latencies(radius, 45), ref, rtol=1e-12, atol=0)


def test_common_random_numbers_make_the_percentile_monotone_in_the_radius() -> None:
    """The same draws at every radius: each sample's latency, hence every percentile, is non-decreasing
    in R (a property fresh draws per radius do not have)."""
    batch = PlacementBatch(load_scenario(QUICK), 2, seed=3)
    radii = np.geomspace(20.0, 400.0, 25)
    lat = np.array([batch.latencies(r, 400) for r in radii])
    assert np.all(np.diff(lat, axis=0) >= -1e-12 * lat[1:])
    for q in (50.0, 95.0, 99.0):
        p = np.array([percentile(x, q) for x in lat])
        assert np.all(np.diff(p) >= -1e-12 * p[1:])
    assert lat[-1].mean() > 1.2 * lat[0].mean()  # and the radius matters


def test_radius_search_agrees_with_a_brute_force_scan_with_fresh_samples() -> None:
    """The searched R* (common random numbers, bisection, sample growth to the cap) against a grid of
    radii each sampled with placements of its own (a different seed per radius: no common random
    numbers, no search). On the grid, a radius *clearly meets* T when the 95 % CI of its p95 is below
    T and *clearly misses* it when above. The brute force puts R* in (its largest clearly-met radius,
    its smallest clearly-missed one); the planner's own samples at the same radii give its interval
    for R*, which must contain its answer. No radius may be clearly met by one and clearly missed by
    the other, and the two intervals for R* must overlap."""
    rs = load_scenario(QUICK)
    t, m = 0.3, 10
    sp = Sampler(rs, per_placement=m, seed=11)
    ans = max_radius(sp, t, 95.0, 0.05, 200)
    assert ans.sampling.engine_paths == [BatchSamples.engine_path] and ans.sampling.stopped == "sample cap"
    lo, hi = ans.bracket_m
    assert ans.max_radius_m == lo and hi / lo <= 1.05 + 1e-12
    assert ans.at_max.value_s <= t < sp.value((f"workers.placement.radius_m={hi!r}",), 6400, 95.0, "placements")

    def verdict(ci) -> int:  # +1 clearly meets, -1 clearly misses, 0 undecided
        return 1 if ci.high is not None and ci.high < t else -1 if ci.low is not None and ci.low > t else 0

    grid = np.arange(70.0, 170.0, 10.0)
    brute = np.array([verdict(confidence_interval(PlacementBatch(rs, m, seed=1000 + j).latencies(r, 3200), 95.0, m,
                                                  seed=j)) for j, r in enumerate(grid.tolist())])
    planner = np.array([verdict(sp.estimate((f"workers.placement.radius_m={r!r}",), 6400, 95.0, "placements").ci95)
                        for r in grid.tolist()])
    assert not np.any(brute * planner < 0)
    assert np.all(np.diff(planner) <= 0)  # common random numbers: the verdicts are monotone in R

    def interval(v: np.ndarray) -> tuple[float, float]:
        return float(grid[v > 0].max()), float(grid[v < 0].min())

    (b_lo, b_hi), (p_lo, p_hi) = interval(brute), interval(planner)
    assert p_lo <= lo and hi <= p_hi
    assert max(b_lo, p_lo) < min(b_hi, p_hi)
    assert ans.out_of_coverage_share == 0.0 and ans.placed_workers == 10 * 6400 // m


def test_scenarios_outside_the_batch_keep_the_simulations() -> None:
    """A round deadline (or HARQ, traces, partial participation, ...) is not batched: the sampler falls
    back to per-placement simulations, and the batch says why."""
    rs = load_scenario(QUICK, ["round_deadline_s=0.5", "compression.scheme=none", "gradients.params=5000"])
    assert any("deadline" in p for p in batch_problems(timing_run(rs, 2)))
    with pytest.raises(NotBatchable, match="deadline"):
        PlacementBatch(rs, 2, seed=1)
    sp = Sampler(rs, over="placements", max_samples=4, per_placement=2)
    assert isinstance(sp.points(), PlacementSamples) and sp._batch is False


def test_round_arrays_are_the_per_round_core() -> None:
    """Queue and decode pass over many rounds at once equal the per-round core row by row."""
    rng = np.random.default_rng(5)
    n, k = 50, 7
    ready = rng.uniform(0, 1, (n, k))
    air = rng.exponential(0.1, (n, k))
    dec = np.where(rng.random((n, k)) < 0.3, 0.0, rng.exponential(0.05, (n, k)))
    order = np.argsort(ready, axis=1, kind="stable")
    t0 = rng.uniform(0, 0.1, n)
    for scheme in ("tdma", "fdma"):
        acc = make_access(scheme)
        req = acc.request_times(ready, order)
        start = acc.serve_rounds(req, air, order)
        end = start + air
        now = decode_rounds(t0, order, end, dec)
        for i in range(n):
            assert np.array_equal(req[i], acc.request_times(ready[i], order[i]))
            assert np.array_equal(start[i], acc.serve(req[i], air[i], order[i]))
            sp = one_decode_pass(t0[i], order[i], end[i], np.zeros(k, bool), np.ones(k, bool), dec[i] * 1e9, 1e9,
                                 True, None, 0.0)
            assert now[i] == pytest.approx(sp.end, rel=1e-15)
