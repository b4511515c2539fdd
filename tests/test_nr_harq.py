"""NR HARQ: combining rules, static-channel expectations, pass-by-pass upload against hand formulas."""

import math

import numpy as np
import pytest

from edgefl.radio.nr import (
    HarqTransfer,
    combined_snr,
    failure_probabilities,
    payload_rate_bps,
    snr_thresholds_db,
    static_expectations,
    transport_blocks,
)
from edgefl.radio.nr_config import NRLinkConfig


def test_chase_adds_snr_and_ir_adds_gap_capacity():
    snrs = np.array([2.0, 5.0, 0.5])
    chase, ir = NRLinkConfig(harq="chase"), NRLinkConfig(harq="ir")
    assert combined_snr(chase, snrs) == pytest.approx(7.5)
    g = ir.gap_linear
    mi = sum(math.log2(1 + s / g) for s in snrs)
    assert combined_snr(ir, snrs) == pytest.approx(g * (2**mi - 1))
    assert combined_snr(ir, snrs) > combined_snr(chase, snrs)
    for p in (chase, ir):
        assert combined_snr(p, snrs[:1]) == pytest.approx(2.0)


def test_static_expectation_is_the_renewal_formula():
    p = NRLinkConfig(harq="chase", max_harq=3, bler_slope_per_db=2.0)
    snr = 10 ** ((snr_thresholds_db(p)[0] - 2.0) / 10)  # below MCS 0: several transmissions
    row, n_tx, rtts = static_expectations(p, snr)
    q = failure_probabilities(p, int(row), np.full(3, snr))
    assert n_tx == pytest.approx((1 + q[0] + q[1]) / (1 - q[2]))
    assert rtts == pytest.approx(n_tx - 1)
    assert 1.5 < n_tx < 5


@pytest.mark.parametrize("harq", ["chase", "ir"])
def test_monte_carlo_transmissions_match_the_expectation(harq):
    p = NRLinkConfig(harq=harq, max_harq=2, bler_slope_per_db=1.5, transport_block_bits=100)
    snr = 10 ** ((snr_thresholds_db(p)[0] - 1.0) / 10)
    _, n_tx, _ = static_expectations(p, snr)
    h = HarqTransfer(p, bits=100 * 20_000, rng=np.random.default_rng(np.random.SeedSequence(7)))
    while not h.start_pass(snr) or not h.end_pass():
        pass
    per_tb = h.transmissions / 20_000
    assert per_tb == pytest.approx(float(n_tx), rel=0.02)


def _run_static(p, bits, snr, bandwidth_hz):
    """Play a HarqTransfer on a static channel: (air time, latency, passes)."""
    h = HarqTransfer(p, bits, np.random.default_rng(0))
    t = air = 0.0
    while True:
        on_air, row = h.start_pass(snr)
        dt = on_air / payload_rate_bps(p, bandwidth_hz, row)
        t += dt
        air += dt
        if h.end_pass():
            return air, t, h.passes
        t += p.harq_rtt_s
        assert h.passes < 50


def test_chase_upload_needs_exactly_three_passes_three_db_below_mcs0():
    # steep waterfall: BLER ~ 1 up to x_0 - 1 dB, ~ 0 from x_0 + 0.7 dB on
    p = NRLinkConfig(harq="chase", max_harq=4, bler_slope_per_db=30.0, harq_rtt_s=2e-3,
                 overhead=0.1, transport_block_bits=1000)
    x0 = snr_thresholds_db(p)[0]
    snr = 10 ** ((x0 - 4.0) / 10)  # 2 copies: x0 - 0.99 dB (fail), 3 copies: x0 + 0.77 dB (decoded)
    bits, b_hz = 12_345.0, 1e6
    air, latency, passes = _run_static(p, bits, snr, b_hz)
    rate = b_hz * 0.2344 * (1 - 0.1)
    assert passes == 3
    assert air == pytest.approx(3 * bits / rate, rel=1e-12)
    assert latency == pytest.approx(3 * bits / rate + 2 * 2e-3, rel=1e-12)


def test_ir_never_needs_more_transmissions_than_chase():
    snr = 10 ** (np.linspace(-12, 5, 200) / 10)
    _, n_ir, _ = static_expectations(NRLinkConfig(harq="ir", bler_slope_per_db=3.0), snr)
    _, n_cc, _ = static_expectations(NRLinkConfig(harq="chase", bler_slope_per_db=3.0), snr)
    assert np.all(n_ir <= n_cc * (1 + 1e-12))
    assert np.any(n_ir < n_cc * 0.99)


def test_max_harq_restarts_the_process_without_combining_until_the_rlc_limit():
    p = NRLinkConfig(harq="chase", max_harq=2, max_rlc_retx=4, bler_slope_per_db=30.0, transport_block_bits=1000)
    snr = 10 ** ((snr_thresholds_db(p)[0] - 4.0) / 10)  # needs 3 combined copies: never within 2
    h = HarqTransfer(p, 3000.0, np.random.default_rng(1))
    ends = []
    for _ in range(10):  # 1 + 4 processes of 2 transmissions
        h.start_pass(snr)
        ends.append(h.end_pass())
    assert ends == [False] * 9 + [True]
    assert h.lost and not h.done and h.processes == 5 and h.transmissions == 30
    with pytest.raises(RuntimeError, match="over"):
        h.start_pass(snr)


def test_transport_blocks_split_the_message():
    p = NRLinkConfig(transport_block_bits=1000)
    assert transport_blocks(p, 2500.0).tolist() == [1000.0, 1000.0, 500.0]
    assert transport_blocks(p, 0.0).size == 0
    with pytest.raises(ValueError, match="bits"):
        transport_blocks(p, -1.0)
