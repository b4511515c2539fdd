"""RD paper Theorem 2 region, Lemma 1 corner points, Corollary 1 (multi-layer)."""

import itertools
import math

import numpy as np
import pytest

import edgefl.theory as th


def _random_layers(seed, n, k_max):
    """n random single-layer cases: (rng, K, sigma_N^2 (K,), sigma_X^2, r (K,), D of r)."""
    rng = np.random.default_rng(seed)
    for _ in range(n):
        K = int(rng.integers(2, k_max + 1))
        sn = np.exp(rng.uniform(-1, 1, K))
        sx = math.exp(rng.uniform(-2, 2))
        r = rng.uniform(0.05, 2.0, K)
        yield rng, K, sn, sx, r, float(th.distortion(r, sn))


def test_corner_point_sum_is_the_same_for_every_order():
    for _, K, sn, sx, r, D in _random_layers(1, 20, 6):
        totals = [th.corner_point(r, sx, sn, order=p).sum() for p in itertools.permutations(range(K))]
        # telescoping: sum_k R_k = sum_k r_k + 1/2 log2(1 + sigma_X^2 / D) (eq. (13), A = all)
        expect = r.sum() / math.log(2) + 0.5 * math.log2(1 + sx / D)
        np.testing.assert_allclose(totals, expect, rtol=1e-12)


def test_corner_points_differ_between_orders():
    sn, sx, r = np.array([1.0, 2.0, 0.5]), 3.0, np.array([0.3, 0.9, 0.4])
    a = th.corner_point(r, sx, sn, order=[0, 1, 2])
    b = th.corner_point(r, sx, sn, order=[2, 1, 0])
    assert not np.allclose(a, b)


def test_lemma1_order_minimises_weighted_rate_among_all_orders():
    for rng, K, sn, sx, r, _ in _random_layers(2, 30, 5):
        alpha = rng.uniform(0.1, 5.0, K)
        best = min(alpha @ th.corner_point(r, sx, sn, order=p) for p in itertools.permutations(range(K)))
        lemma1 = alpha @ th.corner_point(r, sx, sn, order=th.lemma1_order(alpha))
        assert lemma1 == pytest.approx(best, rel=1e-12)


def test_corner_points_lie_on_region_boundary():
    for rng, K, sn, sx, r, D in _random_layers(3, 20, 7):
        R = th.corner_point(r, sx, sn, order=rng.permutation(K))
        assert th.region_slack(R, r, sx, sn, D) == pytest.approx(0.0, abs=1e-12)
        assert th.in_rate_region(R, sx, sn, D, r=r)
        worse = R.copy()
        worse[int(rng.integers(K))] -= 1e-6
        assert not th.in_rate_region(worse, sx, sn, D, r=r)


def _k2_contains_brute(R, sx, sn, D, n=200001):
    """K = 2: scan z_1 over F(D) (eq. (14)), z_2 = 1/D - z_1, check the 3 subset constraints."""
    c = 1.0 / sx
    lo, hi = max(0.0, 1 / D - 1 / sn[1]), min(1 / sn[0], 1 / D)
    z1 = np.linspace(lo, hi, n)[1:-1]
    z2 = 1 / D - z1
    r1, r2 = -0.5 * np.log1p(-sn[0] * z1), -0.5 * np.log1p(-sn[1] * z2)
    head = 0.5 * np.log(c + 1 / D)
    R = np.asarray(R) * math.log(2)
    s1 = R[0] - (r1 + head - 0.5 * np.log(c + z2))
    s2 = R[1] - (r2 + head - 0.5 * np.log(c + z1))
    s12 = R.sum() - (r1 + r2 + head - 0.5 * np.log(c))
    return float(np.max(np.minimum(np.minimum(s1, s2), s12)))


def test_membership_without_r_agrees_with_brute_force_k2():
    rng = np.random.default_rng(4)
    sn, sx, D = np.array([1.0, 2.0]), 4.0, 1.5
    decided = 0
    for _ in range(60):
        R = rng.uniform(0.0, 2.5, 2)
        slack = _k2_contains_brute(R, sx, sn, D)
        if abs(slack) < 1e-3:  # too close to the boundary for the grid
            continue
        assert th.in_rate_region(R, sx, sn, D) == (slack > 0)
        decided += 1
    assert decided > 40


def test_membership_without_r_symmetric_point_and_p1_point():
    R = th.symmetric_point(4, 2.0, 1.0, 0.5)
    assert th.in_rate_region(R, 2.0, 1.0, 0.5)
    assert not th.in_rate_region(R * (1 - 1e-4), 2.0, 1.0, 0.5)
    res = th.solve_p1([3.0, 1.0, 2.0], [0.5, 1.0, 2.0], 1.0, 0.4)
    assert th.in_rate_region(res.R[:, 0], 1.0, [0.5, 1.0, 2.0], 0.4)


def test_membership_without_r_heterogeneous_k10():
    rng = np.random.default_rng(0)
    K = 10
    sn = np.exp(rng.uniform(-1, 1, K))
    sx, D = 2.0, 2 / np.sum(1 / sn)
    a = th.solve_p1(rng.uniform(0.5, 2, K), sn, sx, D).R[:, 0]
    b = th.solve_p1(rng.uniform(0.5, 2, K), sn, sx, D).R[:, 0]
    assert th.in_rate_region(a * 1.01, sx, sn, D)
    assert not th.in_rate_region(a * 0.99, sx, sn, D)
    assert th.in_rate_region(0.5 * (a + b), sx, sn, D)  # the region is convex
    assert not th.in_rate_region(0.5 * (a + b) - 1e-3, sx, sn, D)


def test_corollary1_is_layerwise_theorem2():
    rng = np.random.default_rng(5)
    K, L = 4, 3
    sn = np.exp(rng.uniform(-1, 1, (K, L)))
    sx = np.exp(rng.uniform(-1, 1, L))
    r = rng.uniform(0.1, 1.0, (K, L))
    order = rng.permutation(K)
    R_tot, D, D_l = th.corollary1_point(r, sx, sn, order)
    per_layer = [th.corner_point(r[:, l], sx[l], sn[:, l], order) for l in range(L)]
    np.testing.assert_allclose(R_tot, np.sum(per_layer, axis=0), rtol=1e-13)
    assert D == pytest.approx(sum(float(th.distortion(r[:, l], sn[:, l])) for l in range(L)), rel=1e-13)
    assert D_l.shape == (L,)


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: th.corner_point([0.1, -0.2], 1.0, 1.0), "r must be >= 0"),
        (lambda: th.corner_point([0.1, 0.2], 1.0, 1.0, order=[0, 0]), "order must be a permutation"),
        (lambda: th.in_rate_region([1.0, 1.0], 1.0, 1.0, 0.5), "D must exceed"),
        (lambda: th.in_rate_region([1.0, 1.0], 1.0, 1.0, 0.8, r=[0.1, 0.1]), "r is not in F"),
        (lambda: th.region_slack(np.ones(21), np.ones(21), 1.0, 1.0, 1.0), "K must be <= 20"),
        (lambda: th.r_from_z([2.0], 1.0), "z must satisfy"),
        (lambda: th.distortion([0.0, 0.0], 1.0), "at least one positive"),
    ],
)
def test_bad_region_input_raises(call, match):
    with pytest.raises(ValueError, match=match):
        call()
