"""RD paper Corollary 2, Remark 4, signSGD case (Sec. VI-A), Corollary 3 / Remark 6."""

import math

import numpy as np
import pytest

import edgefl.theory as th

LN2 = math.log(2.0)


@pytest.mark.parametrize("K,sx,sn,D",
                         [(10, 10.0, 1.0, 0.2), (1, 2.0, 3.0, 4.0), (50, 0.01, 5.0, 0.2), (3, 1e4, 1e-3, 1e-3)])
def test_corollary2_equals_theorem2_symmetric_point_summed(K, sx, sn, D):
    R = th.symmetric_point(K, sx, sn, D)
    assert np.sum(R) == pytest.approx(th.r_sum(K, sx, sn, D), rel=1e-13)
    # the symmetric r solves eq. (14) exactly and the point lies on the region boundary
    r = np.full(K, 0.5 * math.log(K * D / (K * D - sn)))
    assert th.distortion(r, sn) == pytest.approx(D, rel=1e-13)
    if K <= 12:
        assert th.region_slack(R, r, sx, sn, D) == pytest.approx(0.0, abs=1e-12)
        assert th.region_slack(R * (1 - 1e-6), r, sx, sn, D) < 0


def test_r_sum_units_and_formula_by_hand():
    # K=10, sx=10, sn=1, D=0.2: 5 log2(2) + 0.5 log2(51)
    assert th.r_sum(10, 10, 1, 0.2) == pytest.approx(5.0 + 0.5 * math.log2(51.0), rel=1e-14)
    assert th.r_sum(10, 10, 1, 0.2, unit="nats") == pytest.approx(th.r_sum(10, 10, 1, 0.2) * LN2, rel=1e-14)
    assert th.noise_rate(10, 1, 0.2) == pytest.approx(5.0, rel=1e-14)


def test_r_in_is_independent_coding_of_each_worker():
    # R_in = K I(Y_k; U_k) with U_k = Y_k + V_k, sigma_V^2 = K D - sigma_N^2 (Theorem 2 scheme)
    K, sx, sn, D = 7, 3.0, 2.0, 0.5
    sv = K * D - sn
    mi = 0.5 * math.log2((sx + sn + sv) / sv)
    assert th.r_in(K, sx, sn, D) == pytest.approx(K * mi, rel=1e-13)
    gain = 0.5 * K * math.log2(1 + sx / (K * D)) - 0.5 * math.log2(1 + sx / D)
    assert th.dsc_gain(K, sx, sn, D) == pytest.approx(gain, rel=1e-13)
    assert th.dsc_gain(K, sx, sn, D) == pytest.approx(th.r_in(K, sx, sn, D) - th.r_sum(K, sx, sn, D), rel=1e-12)


def test_r_sum_monotone_and_vectorised():
    D = np.linspace(0.11, 20, 300)
    v = th.r_sum(10, 10, 1, D)
    assert v.shape == D.shape and np.all(np.diff(v) < 0) and np.all(v > 0)
    assert np.all(th.r_in(10, 10, 1, D) >= v)
    assert th.r_sum(1, 1.0, 1.0, 3.0) == pytest.approx(th.r_in(1, 1.0, 1.0, 3.0), rel=1e-14)  # K=1: no gain


@pytest.mark.parametrize("K,sx,sn", [(10, 10.0, 1.0), (10, 0.1, 1.0), (3, 5.0, 0.2), (100, 1.0, 1.0)])
def test_signsgd_closed_forms(K, sx, sn):
    p = th.signsgd_point(K, sx, sn)
    D = (sn + (math.pi - 2) / math.pi * (sn + sx)) / K
    assert p["D"] == pytest.approx(D, rel=1e-14)
    # paper: substituting signSGD's D gives R_in = K/2 log(1 + pi/(pi-2)), whatever the statistics
    assert p["R_in"] == pytest.approx(0.5 * K * math.log2(1 + math.pi / (math.pi - 2)), rel=1e-12)
    assert p["R_in_closed_form"] == pytest.approx(p["R_in"], rel=1e-12)
    assert p["signsgd_rate"] == K
    # ordering of Fig. 7: R_sum < R_in < signSGD (1 bit per entry per worker)
    assert p["R_sum"] < p["R_in"] < p["signsgd_rate"]
    assert p["rho"] == pytest.approx((math.pi - 2) / math.pi * (1 + sx / sn), rel=1e-12)


def test_rho_round_trip():
    assert th.distortion_from_rho(10, 2.0, th.rho_from_distortion(10, 2.0, 0.7)) == pytest.approx(0.7, rel=1e-14)
    assert th.rho_from_distortion(10, 1.0, 0.1 * 101) == pytest.approx(100.0)


def test_iterations_bound_meets_theorem1_with_equality():
    D, A, beta, eps = 0.3, 2.0, 5.0, 0.01
    T = th.iterations_bound(D, A, beta, eps)
    assert A * math.sqrt(2 * D / T) + beta * A * A / T == pytest.approx(eps, rel=1e-12)  # eq. (25)
    assert A * math.sqrt(2 * D / (0.99 * T)) + beta * A * A / (0.99 * T) > eps
    assert th.total_cost_bits(10, 1.0, 1.0, D, A, beta, eps, params=100) == pytest.approx(
        T * 100 * th.r_sum(10, 1.0, 1.0, D), rel=1e-14
    )


def test_remark6_sufficient_condition_holds_on_random_cases():
    rng = np.random.default_rng(6)
    n_checked = 0
    for _ in range(300):
        K = int(rng.integers(1, 60))
        sx, sn, A = np.exp(rng.uniform(-3, 3, 3))
        eps = math.exp(rng.uniform(-3, 1))
        beta = 0.5 * sx / eps * math.exp(rng.uniform(0.01, 3))  # ratio > 0.5
        assert th.remark6_cost_decreasing(beta, eps, sx)
        D = sn / K * (1 + np.logspace(-4, 6, 400))
        c = th.total_cost_bits(K, sx, sn, D, A, beta, eps)
        assert np.all(np.diff(c) < 0)
        n_checked += 1
    assert n_checked == 300


def test_remark6_condition_not_vacuous():
    # small beta eps / sigma_X^2: the cost is not monotone, an interior distortion is best
    K, sx, sn, A, beta, eps = 10, 100.0, 1.0, 1.0, 0.01, 0.01
    assert not th.remark6_cost_decreasing(beta, eps, sx)
    rho, cost = th.optimal_rho(K, sx, sn, A, beta, eps)
    assert 1e-3 < rho < 1e6
    for f in (0.8, 1.25):
        D = th.distortion_from_rho(K, sn, rho * f)
        assert th.total_cost_bits(K, sx, sn, D, A, beta, eps) > cost


def test_optimal_rho_matches_dense_grid():
    K, sx, sn, A, beta, eps = 10, 50.0, 1.0, 1.0, 0.05, 0.02
    rho, cost = th.optimal_rho(K, sx, sn, A, beta, eps)
    grid = np.logspace(-3, 6, 200001)
    costs = th.total_cost_bits(K, sx, sn, th.distortion_from_rho(K, sn, grid), A, beta, eps)
    assert cost <= costs.min() * (1 + 1e-9)
    assert rho == pytest.approx(grid[np.argmin(costs)], rel=1e-3)


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: th.r_sum(10, 10, 1, 0.1), "D must exceed"),
        (lambda: th.r_sum(10, 10, 1, 0.05), "D must exceed"),
        (lambda: th.r_in(10, 10, 1, np.array([0.2, 0.09])), "D must exceed"),
        (lambda: th.r_sum(0, 10, 1, 0.2), "K must be a positive integer"),
        (lambda: th.r_sum(2.5, 10, 1, 0.2), "K must be a positive integer"),
        (lambda: th.r_sum(10, -1, 1, 0.2), "sigma_x2 must be positive"),
        (lambda: th.r_sum(10, 10, float("nan"), 0.2), "sigma_n2 must be positive"),
        (lambda: th.r_sum(10, 10, 1, 0.2, unit="bytes"), "unit must be one of"),
        (lambda: th.iterations_bound(0.2, 1, 1, 0), "eps must be positive"),
        (lambda: th.symmetric_point(4, 1, 1, 0.25), "D must exceed"),
        (lambda: th.optimal_rho(3, 1, 1, 1, 1, 1, rho_range=(5, 1)), "rho_range"),
    ],
)
def test_infeasible_or_bad_input_raises(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_no_nan_near_the_error_free_limit():
    v = th.r_sum(10, 10.0, 1.0, 0.1 * (1 + 1e-12))
    assert np.isfinite(v) and v > 100
