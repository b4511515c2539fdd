"""alpha from the radio, P1 vs equal allocation bandwidth, bound and plan reports."""

import json
import math

import numpy as np
import pytest

import edgefl.theory as th


def test_alpha_from_snr():
    assert th.alpha_from_snr(1.0) == pytest.approx(1.0)
    assert th.alpha_from_snr(3.0) == pytest.approx(0.5)
    np.testing.assert_allclose(th.alpha_from_snr(np.array([1.0, 15.0])), [1.0, 0.25])
    # alpha x rate = bandwidth: 1 Mbit/s at SNR 15 needs 250 kHz
    assert th.alpha_from_snr(15.0) * 1e6 == pytest.approx(2.5e5)
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="snr_linear must be positive"):
            th.alpha_from_snr(bad)


def test_symmetric_rates_sum_to_r_sum():
    b = th.symmetric_rates_bits(10, 10.0, 1.0, 0.2)
    assert b.shape == (10,) and np.allclose(b, b[0])
    assert b.sum() == pytest.approx(th.r_sum(10, 10.0, 1.0, 0.2), rel=1e-14)


def test_p1_rates_bits_is_mean_over_layers():
    a = th.alpha_from_snr(np.array([1.0, 10.0, 100.0]))
    bits, res = th.p1_rates_bits(a, np.array([1.0, 3.0]), 1.0, 2.0, return_result=True)
    np.testing.assert_allclose(bits, res.R.mean(axis=1))
    single = th.p1_rates_bits(np.ones(4), 10.0, 1.0, 0.5)
    assert single.sum() == pytest.approx(th.r_sum(4, 10.0, 1.0, 0.5), rel=1e-10)


def test_p1_total_bandwidth_not_above_equal_allocation_random_snr():
    rng = np.random.default_rng(21)
    strictly_better = 0
    for _ in range(100):
        K = int(rng.integers(2, 40))
        snr = 10 ** (rng.uniform(-10, 30, K) / 10)
        sx, sn = math.exp(rng.uniform(-2, 3)), math.exp(rng.uniform(-1, 1))
        D = sn / K * math.exp(rng.uniform(0.01, 4))
        alpha = th.alpha_from_snr(snr)
        P, deadline = 100_000, 0.05
        w_p1 = th.fdma_bandwidth_for_deadline(P * th.p1_rates_bits(alpha, sx, sn, D), alpha, deadline).sum()
        w_eq = th.fdma_bandwidth_for_deadline(P * th.symmetric_rates_bits(K, sx, sn, D), alpha, deadline).sum()
        assert w_p1 <= w_eq * (1 + 1e-12)
        strictly_better += w_p1 < w_eq * (1 - 1e-6)
    assert strictly_better > 90  # heterogeneous SNR: P1 actually saves


def test_fdma_split_and_tdma_airtime_agree():
    bits, alpha = np.array([1e5, 2e5, 0.0]), np.array([0.5, 1.0, 2.0])
    share, latency = th.fdma_split_for_bandwidth(bits, alpha, 1e6)
    assert share.sum() == pytest.approx(1e6)
    # every upload ends at the same time: bits / (W_k log2(1 + SNR_k)) = latency
    np.testing.assert_allclose(alpha[:2] * bits[:2] / share[:2], latency)
    assert share[2] == 0.0
    assert th.tdma_airtime(bits, alpha, 1e6).sum() == pytest.approx(latency)
    assert latency == pytest.approx((0.5e5 + 2e5) / 1e6)


def test_bound_report_keys_values_and_json():
    rep = th.bound_report(10, 10.0, 1.0, 0.2, params=1000, A=1.0, beta=1.0, eps=0.1)
    json.dumps(rep)
    assert rep["R_sum_bits"] == pytest.approx(th.r_sum(10, 10, 1, 0.2))
    assert rep["R_in_bits"] == pytest.approx(th.r_in(10, 10, 1, 0.2))
    assert rep["gain_bits"] == pytest.approx(rep["R_in_bits"] - rep["R_sum_bits"])
    assert rep["R_sum_bits_total"] == pytest.approx(1000 * rep["R_sum_bits"])
    assert rep["T_bound"] == pytest.approx(th.iterations_bound(0.2, 1, 1, 0.1))
    assert rep["T_min"] == math.ceil(rep["T_bound"])
    assert rep["total_cost_bits"] == pytest.approx(rep["T_bound"] * rep["R_sum_bits_total"])
    small = th.bound_report(10, 10.0, 1.0, 0.2)
    assert "T_bound" not in small and "R_sum_bits_total" not in small
    assert small["D_source"] == "given" and small["signsgd"]["signsgd_rate"] == 10
    default = th.bound_report(10, 10.0, 1.0)  # D defaults to signSGD's distortion
    assert default["D_source"] == "signsgd"
    assert default["D"] == pytest.approx(th.signsgd_distortion(10, 10.0, 1.0))
    assert default["R_in_bits"] == pytest.approx(5 * math.log2(1 + math.pi / (math.pi - 2)))
    with pytest.raises(ValueError, match="missing"):
        th.bound_report(10, 10.0, 1.0, 0.2, A=1.0)
    with pytest.raises(ValueError, match="D must exceed"):
        th.bound_report(10, 10.0, 1.0, 0.1)


@pytest.mark.parametrize("access", ["fdma", "tdma"])
def test_plan_report(access):
    snr = 10 ** (np.array([0.0, 10.0, 20.0, 5.0]) / 10)
    rep = th.plan_report(snr, 1e6, 10.0, 1.0, 0.5, 100_000, deadline_s=0.1, access=access)
    json.dumps(rep)
    p1, eq, unc = (rep["schemes"][k] for k in ("p1", "equal", "uncoded"))
    assert p1["latency_s"] <= eq["latency_s"] < unc["latency_s"]
    assert p1["bandwidth_for_deadline_hz"] <= eq["bandwidth_for_deadline_hz"]
    assert sum(eq["bits_per_param"]) == pytest.approx(th.r_sum(4, 10.0, 1.0, 0.5))
    assert unc["bits_per_round"] == 4 * 32 * 100_000
    # P1 latency = P * objective / W (objective = sum alpha_k R_k)
    assert p1["latency_s"] == pytest.approx(1e5 * rep["p1_objective"] / 1e6, rel=1e-12)
    s = rep["saving_percent"]["p1_vs_equal"]
    assert s["latency_s"] == pytest.approx(100 * (1 - p1["latency_s"] / eq["latency_s"]))
    assert 0 <= s["latency_s"] < 100
    key = "bandwidth_hz" if access == "fdma" else "airtime_s"
    assert len(p1[key]) == 4


def test_plan_report_bad_input():
    with pytest.raises(ValueError, match="access must be one of"):
        th.plan_report(np.ones(3), 1e6, 1.0, 1.0, 1.0, 10, access="cdma")
    with pytest.raises(ValueError, match="snr_linear must be positive"):
        th.plan_report(np.array([1.0, -1.0]), 1e6, 1.0, 1.0, 1.0, 10)
    with pytest.raises(ValueError, match="bandwidth_hz must be positive"):
        th.plan_report(np.ones(3), 0.0, 1.0, 1.0, 1.0, 10)
    with pytest.raises(ValueError, match="D must exceed"):
        th.plan_report(np.ones(3), 1e6, 1.0, 1.0, 0.2, 10)
    with pytest.raises(ValueError, match="single-layer"):
        th.plan_report(np.ones(3), 1e6, np.ones(2), np.ones((3, 2)), 5.0, 10)


def test_plan_report_unequal_noise_equal_baseline_is_min_sum_rate():
    snr, sn = np.array([1.0, 10.0, 100.0]), np.array([0.5, 1.0, 2.0])
    rep = th.plan_report(snr, 1e6, 3.0, sn, 0.5, 1000)
    total = th.solve_p1(np.ones(3), sn, 3.0, 0.5).objective
    np.testing.assert_allclose(rep["schemes"]["equal"]["bits_per_param"], total / 3)
