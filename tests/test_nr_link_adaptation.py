"""NR link adaptation: thresholds, TB BLER model, MCS selection against its BLER target."""

import math

import numpy as np
import pytest

from edgefl.radio.nr import (
    bler10_snr_db,
    expected_spectral_efficiency,
    select_mcs,
    snr_thresholds_db,
    tb_bler,
)
from edgefl.radio.nr_config import DEFAULT_GAP_DB, NRLinkConfig
from edgefl.radio.nr_tables import load_table

# Vienna 5G Link Level Simulator (Pratschner et al., EURASIP JWCN 2018:226), SimulationParameters.m:
# SNR (dB) of 10 % BLER for CQI 1..15 of TS 38.214 Table 5.2.2.1-2.
VIENNA_CQI1_SNR_DB = [-5.6, -3.5, -1.5, 0.7, 2.6, 4.6, 6.5, 8.5, 10.5, 12.5, 14.3, 16.1, 18.1, 20.3, 22.0]


def test_default_gap_is_the_least_squares_fit_to_a_link_level_mapping():
    se = load_table("cqi1").spectral_efficiency
    shannon_db = 10 * np.log10(2.0**se - 1.0)
    residual = np.array(VIENNA_CQI1_SNR_DB) - shannon_db
    assert DEFAULT_GAP_DB == pytest.approx(residual.mean(), abs=0.05)
    assert np.max(np.abs(residual - DEFAULT_GAP_DB)) < 1.1


@pytest.mark.parametrize("target", [0.01, 0.1, 0.3])
def test_bler_equals_the_target_at_the_threshold_and_falls_with_snr(target):
    p = NRLinkConfig(table="mcs2", bler_target=target)
    th = snr_thresholds_db(p)
    rows = np.arange(th.size)
    assert np.allclose(tb_bler(p, rows, 10 ** (th / 10)), target, rtol=1e-12)
    snr = 10 ** (np.linspace(-10, 35, 400) / 10)
    b = tb_bler(p, 5, snr)
    assert np.all(np.diff(b) <= 0) and b[0] > 0.999 and b[-1] < 1e-12


def test_waterfall_width_is_two_ln9_over_slope():
    p = NRLinkConfig(bler_slope_per_db=5.0)
    g = bler10_snr_db(p)[3]
    lo = g - 2 * math.log(9) / 5.0
    assert tb_bler(p, 3, 10 ** (lo / 10)) == pytest.approx(0.9, rel=1e-12)
    assert tb_bler(p, 3, 10 ** (g / 10)) == pytest.approx(0.1, rel=1e-12)


@pytest.mark.parametrize("table", ["mcs1", "mcs2"])
def test_selection_is_monotone_and_meets_the_target_at_every_snr(table):
    p = NRLinkConfig(table=table)
    snr_db = np.linspace(-15, 40, 5501)
    rows = select_mcs(p, 10 ** (snr_db / 10))
    se = p.mcs_table.spectral_efficiency[rows]
    assert np.all(np.diff(se) >= 0)
    assert se[-1] == p.mcs_table.spectral_efficiency.max()
    covered = snr_db >= snr_thresholds_db(p).min()
    assert np.all(tb_bler(p, rows[covered], 10 ** (snr_db[covered] / 10)) <= p.bler_target + 1e-12)
    assert np.all(rows[~covered] == 0)


def test_simulated_tb_sequence_meets_the_bler_target():
    p = NRLinkConfig(table="mcs1", bler_target=0.1)
    rng = np.random.default_rng(np.random.SeedSequence(13))
    th = snr_thresholds_db(p)
    # SNR of each TB: uniform over the adaptation range; TB lost with its model BLER
    snr_db = rng.uniform(th.min(), th.max() + 3.0, 200_000)
    rows = select_mcs(p, 10 ** (snr_db / 10))
    lost = rng.random(snr_db.size) < tb_bler(p, rows, 10 ** (snr_db / 10))
    assert lost.mean() <= p.bler_target
    # TBs sent exactly at a threshold are lost at the target rate (binomial, 4 sigma)
    at = rng.integers(0, th.size, 100_000)
    lost_at = rng.random(at.size) < tb_bler(p, at, 10 ** (th[at] / 10))
    sigma = math.sqrt(0.1 * 0.9 / at.size)
    assert abs(lost_at.mean() - 0.1) < 4 * sigma


def test_expected_spectral_efficiency_at_high_snr_is_the_top_mcs_minus_overhead():
    p = NRLinkConfig(table="mcs2", overhead=0.08)
    assert expected_spectral_efficiency(p, 1e5) == pytest.approx(7.4063 * 0.92, rel=1e-9)


def test_bad_parameters_are_clear_errors():
    with pytest.raises(ValueError, match="bler_target"):
        NRLinkConfig(bler_target=1.0)
    with pytest.raises(ValueError, match="max_harq"):
        NRLinkConfig(max_harq=0)
    with pytest.raises(ValueError, match="table"):
        NRLinkConfig(table="mcs7")
    with pytest.raises(ValueError, match="overhead"):
        NRLinkConfig(overhead=1.0)
