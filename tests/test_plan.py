"""`edgefl plan --percentiles/--deadline/--coverage` against brute force with `edgefl run`.

Steady cases (fading off, no straggler jitter): every round of a run has the same latency, so the
planner's percentiles are that latency, their intervals collapse onto it, and the searches must
agree with a brute-force scan of runs over the searched variable, to the search's resolution.
Fading cases: the planner's intervals contain the percentiles of long runs, and its worker count
equals a brute-force scan over K with long runs where their p95 is clear of the deadline. The
brute force goes through :func:`edgefl.runner.run_scenario` (or the CLI), not the planner's code.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from edgefl.cli import app
from edgefl.planning import PlanError, plan
from edgefl.planning.questions import Sampler, max_radius, max_workers, min_bandwidth
from edgefl.planning.samples import placement_seed
from edgefl.runner import run_scenario
from edgefl.scenario import ScenarioError, load_scenario
from edgefl.sweep.tables import read_rounds_columns

ROOT = Path(__file__).resolve().parents[1]
QUICK = ROOT / "scenarios" / "quickstart.yaml"
# uncoded gradients make the uplink a large part of the round, so K, B and R all matter
STEADY = ["gradients.params=20000", "compression.scheme=none", "channel.fading.model=none",
          "workers.compute_jitter=0"]
RUNNER = CliRunner()


def run_latencies(tmp_path: Path, overrides: list[str], rounds: int, scenario: Path = QUICK) -> np.ndarray:
    """Round latencies of a timing-only run written by the runner (as `edgefl run`)."""
    rs = load_scenario(scenario, [*overrides, f"rounds={rounds}", "output.timeline=false", "output.plots=false",
                                  "output.timing_only=true"])
    out = run_scenario(rs, tmp_path / f"run{len(list(tmp_path.iterdir()))}", progress=False)
    assert out.complete, out.error
    return np.asarray(read_rounds_columns(out.out_dir / "rounds.csv")["latency_s"], dtype=float)


def steady(tmp_path: Path, overrides: list[str]) -> float:
    lat = run_latencies(tmp_path, [*STEADY, *overrides], 2)
    assert np.ptp(lat) < 1e-12 * lat[0]
    return float(lat[0])


@pytest.mark.parametrize("access", ["tdma", "fdma"])
def test_steady_percentiles_are_the_run_latency(tmp_path: Path, access: str) -> None:
    ov = [*STEADY, f"channel.access={access}"]
    rep = plan(load_scenario(QUICK, ov), percentiles=True, samples=8, max_samples=8)
    lat = rep.percentiles.round_latency_s
    want = steady(tmp_path, [f"channel.access={access}"])
    for q in ("p50", "p95", "p99", "mean"):
        assert lat[q] == pytest.approx(want, rel=1e-12)
    assert lat["ci95"]["p50"] == pytest.approx([want, want], rel=1e-12)
    assert lat["ci95"]["p99"][1] is None  # 8 samples cannot bound a p99 from above
    assert rep.percentiles.samples == 8 and rep.percentiles.sampling.stopped == "sample cap"


@pytest.mark.parametrize("access", ["tdma", "fdma"])
def test_steady_max_workers_equals_brute_force_over_runs(tmp_path: Path, access: str) -> None:
    lat = {k: steady(tmp_path, [f"channel.access={access}", f"workers.count={k}"]) for k in range(1, 9)}
    assert all(lat[k] < lat[k + 1] for k in range(1, 8))
    t = (lat[5] + lat[6]) / 2
    sp = Sampler(load_scenario(QUICK, [*STEADY, f"channel.access={access}"]), max_samples=72)
    mw = max_workers(sp, t, 95.0, 0.05, 72)
    assert mw.max_workers == 5 and mw.field == "workers.count"
    assert mw.at_max.value_s == pytest.approx(lat[5], rel=1e-12)
    assert mw.at_max_plus_1.value_s == pytest.approx(lat[6], rel=1e-12)
    assert mw.sampling.stopped == "deadline outside the CI"


def test_steady_min_bandwidth_agrees_with_runs_to_the_resolution(tmp_path: Path) -> None:
    t = 1.5 * steady(tmp_path, [])
    rep = plan(load_scenario(QUICK, STEADY), deadline=t, samples=2, max_samples=2, resolution=1e-3)
    b = rep.min_bandwidth
    lo, hi = b.bracket_hz
    assert b.min_uplink_bandwidth_hz == hi and hi / lo <= 1.001 + 1e-12 and b.bounds_hz == [1.0, 1e11]
    assert steady(tmp_path, [f"channel.uplink_bandwidth_hz={hi!r}"]) <= t
    assert steady(tmp_path, [f"channel.uplink_bandwidth_hz={lo!r}"]) > t
    for bw in np.geomspace(hi / 4, hi * 4, 4):  # brute-force grid: monotone with the cut at B*
        assert (steady(tmp_path, [f"channel.uplink_bandwidth_hz={float(bw)!r}"]) <= t) == (bw >= hi)


def test_no_bandwidth_is_enough_for_an_impossible_deadline() -> None:
    rep = plan(load_scenario(QUICK, STEADY), deadline=1e-3, samples=2, max_samples=2)
    assert rep.min_bandwidth.min_uplink_bandwidth_hz is None and "not met" in rep.min_bandwidth.reason
    assert rep.max_workers.max_workers == 0 and rep.max_workers.at_max is None


def test_a_deadline_met_by_every_count_stops_at_the_memory_bound() -> None:
    """--deadline 1e308 used to walk the worker count to 10,000 and exit 2 on the variant's memory refusal
    (a bound the user never set a field for); the search now stops at the largest count whose variant fits
    the bound, says so, and that count is checked against the scenario's own resolution."""
    from edgefl.estimate import parse_memory
    from edgefl.planning.samples import variant
    from edgefl.scenario import ResourceError

    limit = parse_memory("400M")
    rs = load_scenario(QUICK, STEADY, max_memory=limit)
    rep = plan(rs, deadline=1e308, samples=2, max_samples=2, max_memory=limit)
    ans = rep.max_workers
    k = ans.max_workers
    assert 10 < k < 10_000 and ans.limit == k and ans.at_max_plus_1 is None
    assert f"the largest workers.count within the memory bound: workers.count={k + 1} needs" in ans.note
    variant(rs, [f"workers.count={k}"], limit)  # fits
    with pytest.raises(ResourceError):
        variant(rs, [f"workers.count={k + 1}"], limit)
    out = RUNNER.invoke(app, ["plan", str(QUICK), "--deadline", "1e308", "--max-memory", "400M", "--json",
                              "--samples", "2", "--max-samples", "2", *sum((["--set", x] for x in STEADY), [])])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["max_workers"]["max_workers"] == k


def test_an_unreachable_deadline_is_decided_from_the_end_of_the_range(tmp_path: Path) -> None:
    """A deadline just under the round latency at the schema's highest bandwidth (no bandwidth meets it)
    is answered from two points, the scenario's bandwidth and that highest one, not a walk through the
    range; just over it, the answer is a bandwidth that meets it and a lower one that does not."""
    top = steady(tmp_path, ["channel.uplink_bandwidth_hz=1e11"])
    sp = Sampler(load_scenario(QUICK, STEADY), max_samples=2)
    b = min_bandwidth(sp, 0.999 * top, 95.0, 0.05, 2)
    assert b.min_uplink_bandwidth_hz is None and "not met" in b.reason
    assert b.at_min.value_s == pytest.approx(top, rel=1e-12)
    assert len(sp._points) == 2  # the scenario's own bandwidth and 1e11 Hz
    sp = Sampler(load_scenario(QUICK, STEADY), max_samples=2)
    b = min_bandwidth(sp, 1.01 * top, 95.0, 0.05, 2)
    lo, hi = b.bracket_hz
    assert b.min_uplink_bandwidth_hz == hi and hi / lo <= 1.05 + 1e-12
    assert steady(tmp_path, [f"channel.uplink_bandwidth_hz={hi!r}"]) <= 1.01 * top
    assert steady(tmp_path, [f"channel.uplink_bandwidth_hz={lo!r}"]) > 1.01 * top


def test_a_round_deadline_under_the_plan_deadline_is_named_as_the_reason() -> None:
    """Rounds cut at round_deadline_s = T last T plus the aggregation whatever the bandwidth: the plan says
    no bandwidth meets T, from the scenario's bandwidth and the highest one, and names the round deadline."""
    sp = Sampler(load_scenario(QUICK, [*STEADY, "round_deadline_s=0.01"]), max_samples=2)
    b = min_bandwidth(sp, 0.01, 95.0, 0.05, 2)
    assert b.min_uplink_bandwidth_hz is None and "round deadline" in b.reason and len(sp._points) == 2
    assert 0.01 < b.at_min.value_s < 0.0101


def test_steady_coverage_agrees_with_runs_at_the_placement_seeds(tmp_path: Path) -> None:
    """Over placements (one round each, fading off): at R* the p95 over the placements the planner drew
    meets T in runs at those seeds, and just beyond R* it does not."""
    t = 1.3 * steady(tmp_path, [])
    n = 12
    sp = Sampler(load_scenario(QUICK, STEADY), max_samples=n, per_placement=1)
    c = max_radius(sp, t, 95.0, 0.01, n)
    lo, hi = c.bracket_m
    assert c.max_radius_m == lo and hi / lo <= 1.01 + 1e-12 and lo > 10.0
    assert c.field == "workers.placement.radius_m" and c.sampling.over == "placements"
    assert c.out_of_coverage_share == 0.0 and c.placed_workers == 10 * n  # Shannon serves every SNR

    def p95_at(radius: float) -> float:
        lat = [run_latencies(tmp_path, [*STEADY, f"seed={placement_seed(1, i)}", f"workers.placement.radius_m="
                                        f"{radius!r}"], 1)[0] for i in range(n)]
        return float(np.percentile(lat, 95))

    assert p95_at(lo) <= t < p95_at(hi)


def test_percentile_intervals_contain_a_long_run(tmp_path: Path) -> None:
    """Representative fading case: the 95 % intervals of `plan --percentiles` on the quickstart
    contain the p50/p95 of a 2000-round run. The plan's samples are the run's first rounds (same
    seed: `--over fading` is that run's distribution)."""
    ov: list[str] = []
    rep = plan(load_scenario(QUICK, ov), percentiles=True, max_samples=1600)
    p = rep.percentiles
    assert 368 <= p.samples <= 1600 and p.sampling.over == "fading"
    assert p.sampling.ci_method.startswith("distribution-free")
    lat = run_latencies(tmp_path, ov, 2000)
    for q in (50, 95, 99):  # the samples are the run's first rounds
        assert p.round_latency_s[f"p{q}"] == pytest.approx(np.percentile(lat[: p.samples], q), rel=1e-12)
    for q in (50, 95):
        lo, hi = p.round_latency_s["ci95"][f"p{q}"]
        assert lo <= np.percentile(lat, q) <= hi
        assert lo <= p.round_latency_s[f"p{q}"] <= hi


def test_max_workers_equals_a_brute_force_scan_with_fading(tmp_path: Path) -> None:
    """Representative fading case: K* equals the brute-force scan of 300-round runs over K, at a
    deadline midway between two brute-force p95 that are far apart."""
    ov = ["gradients.params=20000", "compression.scheme=none", "gradients.flops_per_gradient=2e8",
          "workers.count=3"]
    p95 = {k: float(np.percentile(run_latencies(tmp_path, [*ov, f"workers.count={k}"], 300), 95))
           for k in range(1, 5)}
    gaps = {k: p95[k + 1] - p95[k] for k in range(1, 4)}
    k0 = max(gaps, key=gaps.get)
    assert gaps[k0] > 0.25 * p95[k0 + 1]  # clear of the deadline on both sides
    t = (p95[k0] + p95[k0 + 1]) / 2
    brute = next(k for k in range(1, 5) if p95[k] > t) - 1
    mw = max_workers(Sampler(load_scenario(QUICK, ov)), t, 95.0, 0.05, 200)
    assert mw.max_workers == brute == k0
    assert mw.sampling.stopped == "deadline outside the CI" and mw.sampling.samples >= 200


def test_json_contract(tmp_path: Path) -> None:
    """The keys scripts rely on (edgefl.planning.answers), from the CLI."""
    args = ["plan", str(QUICK), "--set", "gradients.params=500", "--percentiles", "--deadline", "0.19",
            "--coverage", "--samples", "10", "--max-samples", "20", "--rounds-per-placement", "2", "--json"]
    res = RUNNER.invoke(app, args)
    assert res.exit_code == 0, res.output
    rep = json.loads(res.output)
    lat = rep["percentiles"]["round_latency_s"]
    for q in ("p50", "p95", "p99"):
        assert isinstance(lat[q], float)
        lo, hi = lat["ci95"][q]
        assert lo is None or lo <= lat[q]
        assert hi is None or lat[q] <= hi
    assert isinstance(rep["percentiles"]["samples"], int)
    assert isinstance(rep["max_workers"]["max_workers"], int)
    b = rep["min_bandwidth"]["min_uplink_bandwidth_hz"]
    assert b is None or b > 0
    r = rep["coverage"]["max_radius_m"]
    assert r is None or r > 0
    assert rep["coverage"]["sampling"]["over"] == "placements"
    assert rep["assumes"]["scheme"] == "signsgd" and rep["quantile"] == 95.0 and rep["deadline_s"] == 0.19
    # the text form of the same answers
    res = RUNNER.invoke(app, [a for a in args if a != "--json"])
    assert res.exit_code == 0 and "largest cell radius" in res.output and "95 % CI" in res.output


def test_simpy_and_fast_paths_give_the_same_samples() -> None:
    """--method only chooses the engine path; the reference and the fast path play the same rounds."""
    ov = ["gradients.params=500"]
    fast = plan(load_scenario(QUICK, ov), percentiles=True, method="fast", samples=30, max_samples=30)
    ref = plan(load_scenario(QUICK, ov), percentiles=True, method="simpy", samples=30, max_samples=30)
    assert fast.percentiles.round_latency_s == ref.percentiles.round_latency_s
    assert fast.percentiles.sampling.engine_paths == ["fast"] and ref.percentiles.sampling.engine_paths == ["simpy"]


def test_bad_options_and_scenarios_are_refused() -> None:
    res = RUNNER.invoke(app, ["plan", str(ROOT / "scenarios" / "digits_mlp.yaml"), "--deadline", "1", "--set",
                              "compression.scheme=qsgd"])  # bits depend on the gradients: every round trains
    assert res.exit_code == 2 and "fidelity: analytic" in res.output and "model" in res.output
    res = RUNNER.invoke(app, ["plan", str(QUICK), "--deadline", "-1"])
    assert res.exit_code == 2 and "positive number of seconds" in res.output
    res = RUNNER.invoke(app, ["plan", str(QUICK), "--coverage"])
    assert res.exit_code == 2 and "--coverage needs --deadline" in res.output
    res = RUNNER.invoke(app, ["plan", str(QUICK), "--percentiles", "--quantile", "100", "--resolution", "0",
                              "--over", "space", "--method", "draws"])
    assert res.exit_code == 2
    for word in ("--quantile", "--resolution", "--over", "--method"):
        assert word in res.output
    assert "Traceback" not in res.output
    with pytest.raises(PlanError, match="--samples"):
        plan(load_scenario(QUICK), percentiles=True, samples=10, max_samples=5)
    with pytest.raises(ScenarioError, match="layout"):
        plan(load_scenario(QUICK, ["workers.placement.layout=grid", "workers.placement.spacing_m=10"]),
             deadline=1.0, coverage=True, samples=2, max_samples=2)


def test_nr_cell_out_of_coverage_is_an_answer(tmp_path: Path) -> None:
    """A 1,000-worker NR cell with workers below MCS 0 at their mean SNR: plan answers and names them,
    the same workers a run of the scenario reports in summary.json."""
    nr = ROOT / "scenarios" / "nr_cell.yaml"
    ov = ["workers.count=1000", "channel.trace=null", "workers.trace=null"]
    rep = plan(load_scenario(nr, ov), percentiles=True, samples=20, max_samples=20)
    oc = rep.out_of_coverage
    assert 0 < len(oc.workers) < 100 and oc.placed == 1000 and oc.fraction == len(oc.workers) / 1000
    assert np.isfinite(rep.percentiles.round_latency_s["p50"])
    rs = load_scenario(nr, [*ov, "rounds=1", "output.timeline=false", "output.plots=false",
                            "output.timing_only=true"])
    with pytest.warns(Warning, match="out of coverage"):
        out = run_scenario(rs, tmp_path / "nr", progress=False)
    run_ids = json.loads((out.out_dir / "summary.json").read_text())["coverage"]["workers"]
    assert oc.workers == run_ids
    text = RUNNER.invoke(app, ["plan", str(nr), *[a for o in ov for a in ("--set", o)], "--percentiles",
                               "--samples", "20", "--max-samples", "20"])
    assert text.exit_code == 0, text.output
    assert f"out of coverage at their mean SNR: {len(oc.workers)} of 1000 workers" in text.output
    assert f"{oc.workers[0]} (" in text.output


def test_quantile_and_resolution_are_honoured() -> None:
    """--quantile picks the percentile held (and reported); --resolution decides when sampling stops."""
    rs = load_scenario(QUICK, ["gradients.params=500"])
    rep = plan(rs, percentiles=True, quantile=0.9, samples=80, max_samples=640, resolution=0.5)
    lat = rep.percentiles.round_latency_s
    assert rep.quantile == 90.0 and "p90" in lat and len(lat["ci95"]["p90"]) == 2
    assert rep.percentiles.samples == 368 and rep.percentiles.sampling.stopped == "CI narrower than the resolution"
    fine = plan(rs, percentiles=True, quantile=0.9, samples=80, max_samples=640, resolution=1e-4)
    assert fine.percentiles.samples == 640 and fine.percentiles.sampling.stopped == "sample cap"


def test_progress_shows_the_rounds_sampled(capsys) -> None:
    """plan(progress=True) (edgefl plan --progress) draws a bar of the rounds sampled on stderr; it
    counts every point's rounds, whichever Samples kind holds them; off by default in the API."""
    from edgefl.planning.progress import PlanProgress

    class _Point:
        drawn = 0

    pts = {"a": _Point(), "b": _Point()}
    with PlanProgress(pts, True) as bar:
        pts["a"].drawn, pts["b"].drawn = 300, 100
        pts["c"] = _Point()
        pts["c"].drawn = 7
    assert bar.bar.n == 407
    capsys.readouterr()
    plan(load_scenario(QUICK, STEADY), deadline=0.3, samples=2, max_samples=2, progress=True)
    assert "plan: " in capsys.readouterr().err
    plan(load_scenario(QUICK, STEADY), deadline=0.3, samples=2, max_samples=2)
    assert "plan: " not in capsys.readouterr().err
