"""The AIADE paper's claims (``004``): IADE converges linearly (Theorem 3.1), AIADE needs
~sqrt(kappa) times fewer iterations (Theorem 4.1), bits per iteration stay bounded, IADE-SGD
converges linearly on an interpolation problem (Theorem 5.2); the step-size checks."""

import math
import warnings

import numpy as np
import pytest

from edgefl.compress.base import RoundContext
from edgefl.compress.iade import (
    IADE,
    AIADEConfig,
    IADEConfig,
    IADESGDConfig,
    StepSizeWarning,
)
from edgefl.learning.convex_source import ConvexConfig, build_convex_source

K = 4


def _run(scheme_cfg, cfg, tol=1e-8, max_it=40_000, fidelity="analytic", seed=3):
    """Iterations to suboptimality < tol, per-iteration records."""
    src = build_convex_source(cfg, K, np.random.SeedSequence(seed))
    comp = IADE(scheme_cfg, problem=src.problem_constants)
    rng = np.random.default_rng(0)
    rec = {"dist": [], "up": [], "down": [], "sub": []}
    for k in range(max_it):
        res = comp.compress(src.local_gradients(k), np.arange(K), RoundContext(round=k, rng=rng, fidelity=fidelity))
        m = src.apply_aggregate(k, res.aggregate)
        rec["dist"].append(m["dist_to_opt"])
        rec["sub"].append(m["suboptimality"])
        rec["up"].append(res.upload_bits.max())
        rec["down"].append(res.downlink_bits)
        if m["suboptimality"] < tol:
            return k + 1, rec, src, comp
    return None, rec, src, comp


def _cfg(kappa, **kw):
    return ConvexConfig(kappa=kappa, num_features=20, num_samples=400, **kw)


def test_iade_linear_on_kappa_100_within_theorem_3_1():
    n, rec, src, comp = _run(IADEConfig(), _cfg(100))
    assert n is not None
    pb = src.problem_constants
    c, cp, s = 1 - pb.eta * pb.mu, comp.rate, comp.cfg.s
    x0 = np.linalg.norm(src.pb.x_star)  # x_0 = 0
    xi = max(0.0, x0 - c * s / (cp - c)) + cp * s / (cp - c)
    dist = np.array(rec["dist"])  # dist[k] = ||x_{k+1} - x*||
    bound = cp ** np.arange(1, n + 1) * xi
    assert np.all(dist <= bound * (1 + 1e-9))
    # linear: the log-distance falls on a straight line of slope <= log c'
    k = np.arange(n // 4, n)
    slope = np.polyfit(k, np.log(dist[k]), 1)[0]
    assert slope <= math.log(cp) * 0.9 and slope < 0


def test_aiade_speedup_grows_like_sqrt_kappa():
    ratios = []
    for kappa in (10, 100, 1000):
        n_iade, *_ = _run(IADEConfig(), _cfg(kappa))
        n_aiade, *_ = _run(AIADEConfig(), _cfg(kappa, optimizer="nesterov"))
        assert n_iade is not None and n_aiade is not None
        ratios.append(n_iade / n_aiade)
    assert ratios[0] > 2  # markedly fewer iterations already at kappa = 10
    # each decade of kappa multiplies the ratio by about sqrt(10) = 3.16
    growth = np.diff(np.log10(ratios))
    assert np.all((growth > 0.35) & (growth < 0.65)), ratios


def test_bits_per_iteration_stay_bounded():
    n, rec, *_ = _run(IADEConfig(), _cfg(100))
    up = np.array(rec["up"])
    quarter = n // 4
    assert up[3 * quarter:].mean() <= 1.2 * up[quarter:2 * quarter].mean()
    # Theorem 3.1's proof: the quantised vector is at most zeta_s times the error bound, so the
    # payload is at most Lemma 2.1's bound with eps = 1 / zeta_s (plus the 32-bit norm)
    assert up.max() <= 32 + math.ceil(1.05 * 20 + 20 * math.log2(1e3))
    n, rec, *_ = _run(AIADEConfig(), _cfg(100, optimizer="nesterov"))
    up = np.array(rec["up"])
    # AIADE: O(d ln(k ln k)) bits (Theorem 4.1 (2)), slowly growing at most
    assert up[-(n // 4):].mean() <= 1.5 * up[n // 4:n // 2].mean()


def test_iade_sgd_linear_on_interpolation_problem():
    cfg = ConvexConfig(kappa=10, num_features=10, num_samples=400, interpolation=True, batch_size=16)
    _, rec, src, comp = _run(IADESGDConfig(s=0.01), cfg, tol=-1.0, max_it=1500)
    assert src.rho > 1 and src.pb.f_star < 1e-25
    dist = np.array(rec["dist"])
    assert dist[1499] < 1e-9 * dist[0]
    k = np.arange(100, 1200)
    slope = np.polyfit(k, np.log(dist[k]), 1)[0]
    assert slope < 0 and math.exp(slope) >= comp.rate ** 0.5 * 0.9  # Thm 5.2: E||x-x*||^2 ~ c'^k


def test_bit_true_equals_analytic():
    cfg = _cfg(10)
    a = _run(IADEConfig(), cfg, max_it=30)[1]
    b = _run(IADEConfig(), cfg, max_it=30, fidelity="bit-true")[1]
    assert a["up"] == b["up"] and a["down"] == b["down"]
    np.testing.assert_allclose(a["dist"], b["dist"], rtol=1e-12)


def test_step_size_conditions_are_checked():
    src = build_convex_source(_cfg(10, lr=2.5), K, np.random.SeedSequence(0))
    with pytest.warns(StepSizeWarning, match=r"eta in \(0, 2/\(L\+mu\)\)"):
        IADE(IADEConfig(), problem=src.problem_constants)
    with pytest.raises(ValueError, match="Theorem 3.1"):
        IADE(IADEConfig(strict=True), problem=src.problem_constants)
    gd = build_convex_source(_cfg(10), K, np.random.SeedSequence(0))
    with pytest.warns(StepSizeWarning, match="momentum tau"):
        IADE(AIADEConfig(), problem=gd.problem_constants)
    with pytest.warns(StepSizeWarning, match=r"c' = 0.5 must lie in \(c, 1\)"):
        IADE(IADEConfig(c_prime=0.5), problem=gd.problem_constants)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        IADE(IADEConfig(), problem=gd.problem_constants)
        IADE(AIADEConfig(), problem=build_convex_source(_cfg(10, optimizer="nesterov"), K,
                                                         np.random.SeedSequence(0)).problem_constants)
