"""The SimPy engine against hand-derived latency formulas (DSC paper Fig. 5, Sec. IV-E)."""

from __future__ import annotations

import numpy as np
import pytest
from pipeline_reference import serial_pipeline

from edgefl.radio.link import ShannonLink
from edgefl.compress.base import CompressionResult, Compressor, RoundContext
from edgefl.sim.ceo_source import GaussianCEOSource
from edgefl.sim.engine import Network, SimOptions, Simulation


class FixedBits(Compressor):
    """Test scheme: fixed upload bits, and the server decodes ``decode_fraction`` of them."""

    name = "fixed"

    def __init__(self, bits: float, decode_bits: float) -> None:
        self.bits, self.dbits = bits, decode_bits

    def compress(self, grads, order, ctx: RoundContext) -> CompressionResult:
        k = grads.shape[0]
        return CompressionResult(np.full(k, self.bits), np.full(k, self.dbits), grads.mean(axis=0))


def make_net(k: int, flops: np.ndarray, r_ul: float, r_dl: float, decoder_bps: float,
             access: str = "tdma", server_flops: float = 1e12) -> Network:
    return Network(
        num_workers=k, worker_flops=flops, worker_compute_power_w=np.ones(k), worker_radio_power_w=np.ones(k),
        server_flops=server_flops, decoder_bps=decoder_bps, uplink_bandwidth_hz=1e6, access=access,
        # Shannon at SNR 2^(r_ul/1 MHz) - 1: r_ul bit/s on the full 1 MHz, proportional to the share
        uplink_snr=lambda w, t, r, bw: 2.0 ** (r_ul / 1e6) - 1.0,
        downlink_rate=lambda t, r: r_dl,
        link=ShannonLink(),
    )


def run(k: int, decode_bits: float, *, seed: int = 3, access: str = "tdma", p: int = 1000,
        flops: np.ndarray | None = None, rounds: int = 2, order: str = "completion") -> Simulation:
    rng = np.random.default_rng(seed)
    flops = rng.uniform(1e8, 1e9, k) if flops is None else flops
    net = make_net(k, flops, r_ul=2e6, r_dl=5e6, decoder_bps=1e7, access=access)
    src = GaussianCEOSource(k, p, 10.0, 1.0, flops_per_gradient=1e8, seed=seed)
    sim = Simulation(net, src, FixedBits(bits=4e4, decode_bits=decode_bits), SimOptions(rounds=rounds,
                                                                                          upload_order=order), seed)
    sim.run()
    return sim


@pytest.mark.parametrize("k", [1, 3, 10, 25])
def test_tdma_latency_matches_hand_formula(k: int) -> None:
    p, bits, dbits = 1000, 4e4, 2e4
    sim = run(k, dbits, seed=k, p=p)
    rng = np.random.default_rng(k)
    flops = rng.uniform(1e8, 1e9, k)
    t_bc = 32 * p / 5e6
    c = np.sort(1e8 / flops)  # completion order
    u = bits / 2e6
    # slowest path: the i-th finisher (1-based) is followed by K-i+1 serial uploads
    t_air_end = t_bc + max(c[i] + (k - i) * u for i in range(k))
    d = dbits / 1e7  # decoder (1e7 b/s) is faster per upload than the uplink: only the last decode shows
    agg = k * p / 1e12
    expected = t_air_end + d + agg
    for row in sim.rounds:
        assert row["latency_s"] == pytest.approx(expected, rel=0, abs=1e-9)


@pytest.mark.parametrize("k", [2, 5, 17, 40])
def test_extra_delay_of_decoding_is_last_decode(k: int) -> None:
    with_dec = run(k, decode_bits=3e4, seed=11)
    without = run(k, decode_bits=0.0, seed=11)
    for a, b in zip(with_dec.rounds, without.rounds):
        assert a["latency_s"] - b["latency_s"] == pytest.approx(3e4 / 1e7, abs=1e-9)


def test_slow_decoder_accumulates() -> None:
    """A decoder slower than the uplink is the bottleneck: its delays add up (counter-check)."""
    k = 6
    flops = np.full(k, 1e9)
    net = make_net(k, flops, r_ul=2e6, r_dl=5e6, decoder_bps=1e6)
    src = GaussianCEOSource(k, 100, 1.0, 1.0, 1e8, seed=0)
    sim = Simulation(net, src, FixedBits(4e4, 4e4), SimOptions(rounds=1), 0)
    sim.run()
    ready = np.full(k, 32 * 100 / 5e6 + 0.1)
    _, _, dec_end = serial_pipeline(ready, np.arange(k), np.full(k, 0.02), np.full(k, 0.04))
    assert sim.rounds[0]["latency_s"] == pytest.approx(dec_end.max() + k * 100 / 1e12, abs=1e-12)
    assert sim.rounds[0]["latency_s"] > ready[0] + k * 0.02 + 0.04 + 1e-3


def test_fdma_parallel_uploads() -> None:
    k, p = 4, 500
    flops = np.array([1e9, 5e8, 2.5e8, 1e9])
    sim = run(k, 0.0, access="fdma", p=p, flops=flops)
    t_bc = 32 * p / 5e6
    # each worker gets 1/K of the band: rate 2e6 / K
    up = 4e4 / (2e6 / k)
    expected = t_bc + max(1e8 / flops) + up + k * p / 1e12
    assert sim.rounds[0]["latency_s"] == pytest.approx(expected, abs=1e-9)


def test_events_cover_diagram_and_order_is_completion() -> None:
    k = 5
    flops = np.array([5e8, 1e9, 2e8, 8e8, 3e8])
    sim = run(k, 1e4, flops=flops, rounds=1)
    ups = sorted((e for e in sim.events if e.phase == "upload"), key=lambda e: e.start)
    assert [int(e.actor[6:]) for e in ups] == list(np.argsort(1e8 / flops))
    for a, b in zip(ups, ups[1:]):  # serial: no overlap on the air
        assert b.start >= a.end - 1e-15
    phases = {e.phase for e in sim.events}
    assert {"broadcast", "compute", "upload", "decode", "aggregate"} <= phases
    index_order = run(k, 1e4, flops=flops, rounds=1, order="index")
    ups = sorted((e for e in index_order.events if e.phase == "upload"), key=lambda e: e.start)
    assert [int(e.actor[6:]) for e in ups] == list(range(k))
