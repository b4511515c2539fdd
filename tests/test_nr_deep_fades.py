"""NR in deep fades: a transfer the lowest MCS cannot carry fails, is retried by HARQ, restarted by
RLC and then given up (TS 38.321 Sec. 5.4.2.1, TS 38.322 Sec. 5.3.2), so every round is finite and
below the bound that the HARQ/RLC limits give; never a near-zero rate or an infinite broadcast.

Bound (M = max_harq, R = max_rlc_retx, SE_0 = MCS 0's spectral efficiency, oh = overhead):
every TB is sent at most M (R + 1) times, each at >= B_k SE_0 (1 - oh) bit/s, so

* broadcast (multicast at the weakest participant's expected SE, >= SE_0 (1 - oh) / (M (R + 1))):
  <= b_dl M (R + 1) / (B_dl SE_0 (1 - oh)), attained when a participant is in a deep fade;
* uploads, TDMA (serial on B) and FDMA (equal shares B / K, in parallel):
  <= K M (R + 1) (b / (B SE_0 (1 - oh)) + rtt);
* plus local compute (no jitter), decoding of at most K b bits and the aggregation.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

from edgefl.radio.nr import expected_spectral_efficiency, rlc_processes, static_expectations
from edgefl.radio.nr_config import NRLinkConfig
from edgefl.runner import run_scenario
from edgefl.scenario import load_scenario
from edgefl.sim.build import build_simulation

QUICK = Path(__file__).resolve().parents[1] / "scenarios" / "quickstart.yaml"
K = 4


def _trace(path: Path, rounds_s: float) -> Path:
    """Worker SNRs at 25 dB with a 200 ms fade to -60 dB (far below MCS 0) every 1.2 s, out of phase
    (mean 10.8 dB: every worker is in coverage)."""
    rows = ["time_s,worker,snr_db"]
    times = np.arange(0.0, rounds_s, 0.2)
    for w in range(K):
        for i, t in enumerate(times):
            rows.append(f"{t:.3f},{w},{-60.0 if (i + w) % 6 == 0 else 25.0}")
    path.write_text("\n".join(rows) + "\n")
    return path


def test_expected_transmissions_are_bounded_by_the_rlc_limit() -> None:
    p = NRLinkConfig(max_harq=4, max_rlc_retx=4)
    snr = 10.0 ** (np.linspace(-100, 30, 500) / 10)
    _, n_tx, _ = static_expectations(p, snr)
    assert np.all(np.isfinite(n_tx)) and np.all(n_tx >= 1.0) and np.all(n_tx <= 20.0 + 1e-12)
    assert n_tx[0] == 20.0  # hopeless fade: M (R + 1) transmissions, then the RLC gives up
    se = expected_spectral_efficiency(p, snr)
    floor = p.mcs_table.spectral_efficiency[0] * (1 - p.overhead) / 20.0
    assert se.min() == pytest.approx(floor, rel=1e-12)
    # the geometric sum against its terms
    q = np.array([0.0, 0.3, 0.9, 1.0 - 1e-12, 1.0])
    np.testing.assert_allclose(rlc_processes(q, 4), [sum(x**i for i in range(5)) for x in q], rtol=1e-9)


@pytest.mark.parametrize("access", ["tdma", "fdma"])
def test_deep_fades_give_bounded_finite_rounds(access: str, tmp_path: Path) -> None:
    sets = ["output.plots=false", "gradients.params=2000", f"workers.count={K}", "rounds=40",
            "workers.compute_jitter=0", "channel.link.model=nr", f"channel.access={access}",
            f"channel.trace={{file: {_trace(tmp_path / 'fades.csv', 100.0)}, interpolation: previous, wrap: true}}"]
    rs = load_scenario(QUICK, sets)
    sim = build_simulation(rs)
    net, cfg = sim.net, NRLinkConfig()
    tries = cfg.max_harq * (cfg.max_rlc_retx + 1)
    se0 = float(cfg.mcs_table.spectral_efficiency[0]) * (1 - cfg.overhead)
    b_ul = 2000 * (1 + 0.00032) + 1.0  # signSGD: one bit per parameter plus the scale
    b_dl = 32.0 * 2000
    bc_bound = b_dl * tries / (rs.scenario.channel.downlink_bandwidth_hz * se0)
    up_bound = K * tries * (b_ul / (net.uplink_bandwidth_hz * se0) + cfg.harq_rtt_s)
    compute = float(np.max(rs.scenario.gradients.flops_per_gradient / net.worker_flops))
    server = K * b_ul / net.decoder_bps + sim._aggregate_s(K)
    out = run_scenario(rs, tmp_path / "run", progress=False)
    assert out.complete, out.error
    with open(out.out_dir / "rounds.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 40
    for r in rows:
        assert all(math.isfinite(float(v)) for v in r.values() if v not in ("",)), r
        assert float(r["broadcast_s"]) <= bc_bound * (1 + 1e-9)
        assert float(r["latency_s"]) <= (bc_bound + compute + up_bound + server) * (1 + 1e-9)
    # the fades were deep: some broadcast ran at the floor and some uploads were given up
    assert max(float(r["broadcast_s"]) for r in rows) == pytest.approx(bc_bound, rel=1e-6)
    assert sum(int(r["uploads_lost"]) for r in rows) > 0


def test_p1_fdma_shares_stay_positive_with_a_worker_in_a_deep_fade() -> None:
    from edgefl.radio.rate import equal_finish_fdma_shares

    p = NRLinkConfig()
    bits = np.full(4, 1e5)
    snr = 10.0 ** (np.array([-60.0, 10.0, 15.0, 20.0]) / 10)
    s = equal_finish_fdma_shares(bits, snr, se=lambda x: expected_spectral_efficiency(p, x))
    assert s.sum() == pytest.approx(1.0) and np.all(s > 0)
    t = bits / (s * expected_spectral_efficiency(p, snr / s))  # seconds per hertz of the band
    np.testing.assert_allclose(t, t[0], rtol=1e-6)  # the split under which all end together
    assert np.isfinite(t).all()


def test_a_broadcast_longer_than_the_round_deadline_is_cut_there(tmp_path: Path) -> None:
    nr_cell = QUICK.parent / "nr_cell.yaml"
    rs = load_scenario(nr_cell, ["rounds=2", "round_deadline_s=0.02", "output.plots=false"])
    out = run_scenario(rs, tmp_path / "run", progress=False)
    assert out.complete, out.error
    rx_w = rs.worker_devices[0].radio_rx_power_w
    with open(out.out_dir / "rounds.csv") as f:
        for r in csv.DictReader(f):
            assert float(r["broadcast_s"]) > 0.02 and int(r["aggregated"]) == 0
            # every participant receives until the deadline, not for the whole broadcast
            assert float(r["energy_receive_j"]) == pytest.approx(int(r["participants"]) * rx_w * 0.02, rel=1e-9)


def test_shannon_airtime_is_finite_in_any_fade_and_refuses_a_zero_snr() -> None:
    from edgefl.radio.link import ShannonLink

    link = ShannonLink(gap_db=3.0, max_spectral_efficiency=7.4063)
    for snr_db in (-100.0, -60.0, 0.0, 60.0):  # -100 dB: the lowest a channel trace admits
        snr = 10.0 ** (snr_db / 10)
        t = link.airtime_s(1e5, 1e6, snr)
        assert math.isfinite(t) and t == pytest.approx(1e5 / (1e6 * min(math.log2(1 + snr / 10**0.3), 7.4063)))
    with pytest.raises(ValueError, match="gives no rate"):
        link.airtime_s(1e5, 1e6, 0.0)
