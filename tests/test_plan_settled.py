"""The planner's 'settled to the resolution' stop (edgefl.planning.questions, module docstring) on
synthetic latency samples with an atom at the deadline (rounds cut at round_deadline_s = T): the
share of cut rounds crosses 5 % exactly at the true boundary, so the p95 there sits on T for
every sample count and only the search's resolution can decide. The search must stop before the
sample cap, with the deadline outside the intervals one resolution step beyond the boundary, and
the answer must hold the true boundary to that resolution."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgefl.planning.questions import STOP_CAP, STOP_SETTLED, Sampler, max_workers, min_bandwidth
from edgefl.planning.answers import Estimate
from edgefl.planning.stats import Interval, confidence_interval
from edgefl.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
T = 0.25
CUT = 0.2501  # a round cut at the round deadline, then aggregated


@dataclass
class _Atom:
    """Independent round latencies: CUT with probability p, else uniform on [0.1, 0.2]; the same
    uniforms at every point (common random numbers, as the planner's seeds give)."""

    p: float
    engine_paths: set[str] = field(default_factory=lambda: {"synthetic"})
    series: bool = False  # independent rounds: order-statistic intervals

    def cluster_size(self, n: int) -> int:
        return 1

    def take(self, n: int) -> np.ndarray:
        rng = np.random.default_rng(0)
        u, v = rng.random(n), rng.random(n)
        return np.where(u < self.p, CUT, 0.1 + 0.1 * v)


class _Synthetic(Sampler):
    def __init__(self, rs, share) -> None:
        super().__init__(rs, max_samples=102_400)
        self.share = share  # value of the searched field -> share of cut rounds

    def points(self, overrides=(), over=None):
        key = (over or self.over, *overrides)
        if key not in self._points:
            self._points[key] = _Atom(self.share(float(overrides[0].split("=")[1])))
        return self._points[key]


def test_min_bandwidth_settles_at_the_resolution() -> None:
    rs = load_scenario(ROOT / "scenarios" / "quickstart.yaml", [])
    b_true = 3.1e9
    sp = _Synthetic(rs, lambda b: min(1.0, 0.05 * (b_true / b) ** 6))
    ans = min_bandwidth(sp, T, 95.0, 0.05, 200)
    assert ans.sampling.stopped == STOP_SETTLED and ans.sampling.samples < sp.max_samples
    lo, hi = ans.bracket_hz
    n = ans.sampling.samples
    below, above = sp.points((f"channel.uplink_bandwidth_hz={lo / 1.05!r}",)), sp.points(
        (f"channel.uplink_bandwidth_hz={hi * 1.05!r}",))
    assert confidence_interval(below.take(n), 95.0).low > T > confidence_interval(above.take(n), 95.0).high
    assert lo / 1.05 < b_true < hi * 1.05  # the true boundary, to the resolution
    # the boundary estimates alone would never have stopped the search
    assert confidence_interval(sp.points((f"channel.uplink_bandwidth_hz={b_true!r}",)).take(sp.max_samples),
                               95.0).contains(T)


def test_max_workers_settles_with_one_undecidable_count() -> None:
    rs = load_scenario(ROOT / "scenarios" / "quickstart.yaml", [])
    sp = _Synthetic(rs, lambda k: min(1.0, 0.05 * (k / 10.0) ** 4))  # K = 10 sits on T
    ans = max_workers(sp, T, 95.0, 0.05, 200)
    assert ans.sampling.stopped == STOP_SETTLED and ans.sampling.samples < sp.max_samples
    assert ans.max_workers in (9, 10)


def test_a_clear_boundary_still_stops_on_the_boundary_estimates() -> None:
    rs = load_scenario(ROOT / "scenarios" / "quickstart.yaml", [])
    sp = _Synthetic(rs, lambda k: 0.0 if k <= 7 else 0.5)  # a jump: K* = 7 is clear
    ans = max_workers(sp, T, 95.0, 0.05, 200)
    assert ans.max_workers == 7 and ans.sampling.stopped not in (STOP_SETTLED, STOP_CAP)



class _Canned:
    """A sampler stub: estimates by (point, n) from a table, each request recorded."""

    def __init__(self, table) -> None:
        self.table, self.asked = table, []

    def estimate(self, point, n, q):
        self.asked.append((point, n))
        v, lo, hi = self.table[(point, n)]
        return Estimate(q, v, Interval(lo, hi), n)

    def prefetch(self, point, n):
        self.asked.append(("prefetch", point, n))


def test_settled_pretest_skips_a_point_that_cannot_pass() -> None:
    """settled()'s pre-test (questions module docstring): a point tested on m samples is grown to n
    only when its interval of m samples, narrowed by sqrt(n / m), already passes the test; a new
    point is tested at n directly; the pre-test only ever turns a test into False, never into True."""
    from edgefl.planning.questions import _Beyond, _misses

    flat = ("flat",)  # on the atom's shoulder: its estimate below T, its interval up to CUT (nr_cell's 11.7 GHz)
    rising = ("rising",)  # estimate on the atom, interval closing in on it from below
    table = {(flat, 200): (0.2449, 0.2389, CUT), (flat, 400): (0.2449, 0.2385, CUT),
             (rising, 200): (CUT, 0.24998, CUT), (rising, 400): (CUT, 0.25005, CUT)}
    sp = _Canned(table)
    b = _Beyond(sp, 95.0, T)
    assert b(flat, 200, _misses) is False and b(rising, 200, _misses) is False  # first tests: sampled at n
    assert sp.asked == [(flat, 200), (rising, 200)]
    assert b(flat, 400, _misses) is False  # 0.2449 - 0.006 / sqrt 2 < T: not grown
    assert (flat, 400) not in sp.asked
    assert b.prefetch(flat, 400, _misses) is False and ("prefetch", flat, 400) not in sp.asked
    assert b(rising, 400, _misses) is True  # CUT - 0.00012 / sqrt 2 > T: grown, and it passes there
    assert (rising, 400) in sp.asked
    # the pre-test never makes a pass: whenever it lets a test through, the test is the plain one
    for (point, n), (v, lo, hi) in table.items():
        plain = _misses(Estimate(95.0, v, Interval(lo, hi), n), T)
        assert not (_Beyond(_Canned(table), 95.0, T)(point, n, _misses) and not plain)
