"""DSC feedback on the air (issue 13 item 3): a failed frame's request for more syndrome bits is a
downlink `feedback` interval and the increment an `upload_retry` interval, at hand-checked times;
decoder time scales with the BP iterations run; the Wyner-Ziv schedule accounts every bit."""

from __future__ import annotations

import numpy as np
import pytest

from edgefl.coding.quantizer import UniformQuantizer
from edgefl.coding.rate_controller import RateController
from edgefl.coding.statistics import GradientStatistics
from edgefl.coding.wyner_ziv import successive_wyner_ziv
from edgefl.coding.wyner_ziv_options import WynerZivOptions
from edgefl.compress.base import CompressionResult, Compressor, DecodeStep
from edgefl.radio.link import ShannonLink
from edgefl.sim.ceo_source import GaussianCEOSource
from edgefl.sim.engine import Network, SimOptions, Simulation


class Scheduled(Compressor):
    """Worker 0: 1000 bits first, decode 4800 coded bits (2 passes, 40 iterations), a request from
    3 frames answered by 300 bits, decode 2400 (1 pass, 30 iterations). Worker 1: 1000 bits, one
    decode of 4800 bits (2 passes, 10 iterations)."""

    name = "scheduled"

    def compress(self, grads, order, ctx) -> CompressionResult:
        sched = [[DecodeStep("decode", 4800.0, 2, 40), DecodeStep("retry", 300.0, 3, 0),
                  DecodeStep("decode", 2400.0, 1, 30)],
                 [DecodeStep("decode", 4800.0, 2, 10)]]
        return CompressionResult(np.array([1300.0, 1000.0]), np.array([7200.0, 4800.0]), grads.mean(axis=0),
                                 retries=3, decode_schedule=sched)


def _sim(ref_iterations=None):
    k = 2
    net = Network(num_workers=k, worker_flops=np.array([1e9, 1e9]), worker_compute_power_w=np.ones(k),
                  worker_radio_power_w=np.ones(k), server_flops=1e15, decoder_bps=1e6, uplink_bandwidth_hz=1e6,
                  access="tdma", uplink_snr=lambda w, t, r, bw: 1.0, downlink_rate=lambda t, r: 1e3,
                  link=ShannonLink(), decoder_reference_iterations=ref_iterations)
    src = GaussianCEOSource(k, 10, 10.0, 1.0, flops_per_gradient=1e6, seed=0)
    sim = Simulation(net, src, Scheduled(), SimOptions(rounds=1, upload_order="index"), 0)
    sim.run()
    return sim


def test_feedback_and_retry_intervals_at_hand_checked_times():
    sim = _sim()
    ev = {(e.actor, e.phase, i): e for i, e in enumerate(sim.events)}
    by = lambda actor, phase: [e for (a, p, _), e in ev.items() if a == actor and p == phase]  # noqa: E731
    t_bc = 32 * 10 / 1e3  # model broadcast at 1 kbit/s
    ready = t_bc + 1e-3  # 1e6 FLOP at 1e9 FLOP/s
    (u0,), (u1,) = by("worker0", "upload"), by("worker1", "upload")
    assert (u0.start, u0.end, u0.bits) == pytest.approx((ready, ready + 1000 / 1e6, 1000.0))  # 1 bit/s/Hz
    assert (u1.start, u1.end) == pytest.approx((ready + 1e-3, ready + 2e-3))  # TDMA: after worker 0
    d = by("server", "decode")
    assert [x.bits for x in d] == [4800.0, 2400.0, 4800.0]
    assert (d[0].start, d[0].end) == pytest.approx((u0.end, u0.end + 4.8e-3))
    (fb,) = by("server", "feedback")
    assert (fb.start, fb.end, fb.bits) == pytest.approx((d[0].end, d[0].end + 3 / 1e3, 3.0))  # 3 request bits
    (rt,) = by("worker0", "upload_retry")
    assert (rt.start, rt.end, rt.bits) == pytest.approx((fb.end, fb.end + 300 / 1e6, 300.0))
    assert (d[1].start, d[1].end) == pytest.approx((rt.end, rt.end + 2.4e-3))
    assert (d[2].start, d[2].end) == pytest.approx((d[1].end, d[1].end + 4.8e-3))  # worker 1 waits its turn
    row = sim.rounds[0]
    assert row["upload_airtime_s"] == pytest.approx(2.3e-3)
    # the worker receives the broadcast and its feedback: receive energy at idle draw 0 (no profile)
    assert row["energy_transmit_j"] == pytest.approx(2.3e-3)


def test_decoder_time_scales_with_the_iterations_run():
    sim = _sim(ref_iterations=10.0)
    d = [e for e in sim.events if e.phase == "decode"]
    # coded bits / throughput x (iterations per pass / reference iterations)
    assert [e.end - e.start for e in d] == pytest.approx([4.8e-3 * 20 / 10, 2.4e-3 * 30 / 10, 4.8e-3 * 5 / 10])


def test_wyner_ziv_schedule_accounts_every_bit():
    q = UniformQuantizer(1)
    stats = GradientStatistics(10.0, 1.0)
    rng = np.random.default_rng(5)
    x = rng.normal(0, np.sqrt(10.0), 4 * 2400)
    idx = (x[None] + rng.normal(0, 1.0, (3, x.size)) >= 0).astype(np.int64)
    rates = RateController(q, margin=0.0).rates(stats, 3)
    first = successive_wyner_ziv(idx, np.arange(3), q, rates, stats, mode="analytic")
    for opts in (WynerZivOptions(), WynerZivOptions(guesses=4)):
        res = successive_wyner_ziv(idx, np.arange(3), q, rates, stats, options=opts)
        assert res.retries > 0
        for w in range(3):
            steps = res.schedule[w]
            assert sum(b for kind, b, _, _ in steps if kind == "decode") == res.decode_bits[w]
            retry = sum(b for kind, b, _, _ in steps if kind == "retry")
            assert res.upload_bits[w] - retry == first.upload_bits[w]  # the first upload is the analytic one
            assert all(it > 0 for kind, _, _, it in steps if kind == "decode")
        asked = sum(c for s in res.schedule for kind, _, c, _ in s if kind == "retry")
        assert asked == res.retries + res.uncoded_frames
