"""Rate controller (DSC paper eq. 42-46) against closed forms and brute force."""

import itertools

import numpy as np
import pytest

from edgefl.coding.quantizer import UniformQuantizer
from edgefl.coding.rate_controller import (
    RateController,
    binary_entropy,
    bitplane_entropies,
    semi_analytic_rates,
    traditional_mc_rates,
)
from edgefl.coding.statistics import GradientStatistics, x_nodes


@pytest.mark.parametrize("ratio", [0.5, 10.0, 100.0])
def test_one_bit_second_worker_closed_form(ratio):
    """Two signs of a bivariate Gaussian with correlation rho differ w.p. arccos(rho)/pi (eq. 9)."""
    rho = ratio / (1 + ratio)
    rates = semi_analytic_rates(GradientStatistics(ratio, 1.0), 2, UniformQuantizer(1))
    assert rates[0, 0] == pytest.approx(1.0, abs=1e-9)
    assert rates[1, 0] == pytest.approx(binary_entropy(np.arccos(rho) / np.pi), abs=2e-4)


def test_first_worker_rate_is_entropy_of_index():
    """Chain rule eq. (35): the bit-plane rates of worker 1 sum to H(J)."""
    q = UniformQuantizer(4)
    stats = GradientStatistics(3.0, 1.0)
    rates = semi_analytic_rates(stats, 1, q)
    from scipy.stats import norm

    edges = q.edges(np.sqrt(stats.total))
    p = np.diff(norm.cdf(edges / np.sqrt(stats.total)))
    assert rates[0].sum() == pytest.approx(-(p * np.log2(p)).sum(), abs=1e-4)


def test_histogram_sum_equals_brute_force_over_configurations():
    """Eq. (45) summed over all M^(k-1) ordered side configurations equals the histogram form."""
    q = UniformQuantizer(2)
    stats = GradientStatistics(4.0 / 5.0, 1.0 / 5.0)
    k = 3
    rates = semi_analytic_rates(stats, k, q)[k - 1]
    x, w = x_nodes(stats.sigma_x2, stats.sigma_n2)
    Q = q.cell_probabilities(x, np.sqrt(stats.sigma_n2), 1.0)
    joint = np.array([(w * Q[:, a] * Q[:, b]) @ Q for a, b in itertools.product(range(4), repeat=2)])
    np.testing.assert_allclose(rates, bitplane_entropies(joint, 2), atol=1e-10)


def test_rates_decrease_in_position_and_ratio():
    q = UniformQuantizer(1)
    r_lo = semi_analytic_rates(GradientStatistics(1.0, 1.0), 6, q)[:, 0]
    r_hi = semi_analytic_rates(GradientStatistics(20.0, 1.0), 6, q)[:, 0]
    assert np.all(np.diff(r_lo) < 0) and np.all(np.diff(r_hi) < 0)
    assert np.all(r_hi[1:] < r_lo[1:])


def test_semi_analytic_mc_and_traditional_converge_to_grid():
    q = UniformQuantizer(2)
    stats = GradientStatistics(5.0, 1.0)
    exact = semi_analytic_rates(stats, 3, q)
    mc = semi_analytic_rates(stats, 3, q, method="mc", samples=20000, rng=np.random.default_rng(5))
    trad = traditional_mc_rates(stats, 3, q, 400_000, np.random.default_rng(6))
    np.testing.assert_allclose(mc, exact, atol=0.01)
    np.testing.assert_allclose(trad, exact, atol=0.01)


def test_traditional_mc_biased_low_with_few_samples():
    """Fig. 7: with L = 10 samples and 2^9 side configurations the plug-in rate collapses."""
    q = UniformQuantizer(1)
    stats = GradientStatistics(10.0, 1.0)
    truth = semi_analytic_rates(stats, 10, q, positions=[10])[9, 0]
    rng = np.random.default_rng(7)
    trad = np.mean([traditional_mc_rates(stats, 10, q, 10, rng, positions=[10])[9, 0] for _ in range(100)])
    semi = np.mean([semi_analytic_rates(stats, 10, q, "mc", 10, rng, positions=[10])[9, 0] for _ in range(100)])
    assert trad < 0.3 * truth
    assert semi == pytest.approx(truth, rel=0.1)


def test_sampled_outer_sum_matches_exact():
    q = UniformQuantizer(3)
    stats = GradientStatistics(4.0, 1.0)
    exact = semi_analytic_rates(stats, 3, q)
    sampled = semi_analytic_rates(stats, 3, q, max_configurations=1, outer_samples=20000, rng=np.random.default_rng(8))
    np.testing.assert_allclose(sampled[1:], exact[1:], atol=0.02)


def test_rate_controller_top_k_and_margin():
    q = UniformQuantizer(1)
    stats = GradientStatistics(10.0, 1.0)
    full = RateController(q).ideal_rates(stats, 8)
    top = RateController(q, top_k=3, margin=0.05)
    ideal = top.ideal_rates(stats, 8)
    np.testing.assert_allclose(ideal[:3], full[:3], atol=2e-3)  # cache rounds the log-ratio
    np.testing.assert_array_equal(ideal[3:], np.repeat(ideal[2:3], 5, axis=0))
    assert np.all(ideal[3:] >= full[3:])  # conservative
    announced = top.rates(stats, 8)
    assert announced[0, 0] == 1.0  # capped
    np.testing.assert_allclose(announced[1:], ideal[1:] + 0.05)
    sloped = RateController(q, margin=0.02, margin_slope=0.2).rates(stats, 8)
    np.testing.assert_allclose(sloped[1:], full[1:] * 1.2 + 0.02, atol=3e-3)


@pytest.mark.parametrize("kwargs", [dict(margin=-0.1), dict(margin_slope=-0.5), dict(top_k=0), dict(method="foo"),
                                    dict(method="mc")])
def test_rate_controller_bad_config(kwargs):
    with pytest.raises(ValueError):
        RateController(UniformQuantizer(1), **kwargs)
