"""Numba kernels of the P1 solver (RD paper eq. (20)); see ``p1.py`` for the maths.

Workers are already sorted by alpha descending (Lemma 1 order). For one layer with
c = 1/sigma_X^2, S_k = c + sum_{i>=k} z_i and Delta_k = alpha_{k-1} - alpha_k >= 0, the
stationarity conditions of the inner problem (fixed D_l) read

    alpha_k s_k / (1 - s_k z_k) = T_k,   T_k = 2 lambda + sum_{j=2..k} Delta_j / S_j,

so z_k = max(0, 1/s_k - alpha_k / T_k). Starting from tau = T_K at the bottom of the order
(S_{K+1} = c) the whole layer follows in one backward pass, which yields
u = sum_k z_k = 1/D_l, lambda = T_1 / 2 and the outer multiplier
mu = u^2 (alpha_1 / (2 (c + u)) + lambda) = -dV_l/dD_l. Every quantity is increasing in tau.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_LOG_FLOOR = -1e300


@njit(cache=True)
def _layer_pass(tau, a, s, c, z_out, e_out):
    """One backward pass for a layer; returns (u, lambda, du/dtau, dlambda/dtau).

    Writes z and e = 1 - s z = alpha s / T (exact, no cancellation near z = 1/s)."""
    K = a.shape[0]
    T = tau
    dT = 1.0
    U = 0.0
    dU = 0.0
    for k in range(K - 1, -1, -1):
        ak = a[k]
        sk = s[k]
        if T > ak * sk:
            zk = 1.0 / sk - ak / T
            dz = ak / (T * T) * dT
            e_out[k] = ak * sk / T
        else:
            zk = 0.0
            dz = 0.0
            e_out[k] = 1.0
        z_out[k] = zk
        U += zk
        dU += dz
        if k > 0:
            g = a[k - 1] - ak
            if g != 0.0:
                S = c + U
                T = T - g / S
                dT = dT + g / (S * S) * dU
    return U, 0.5 * T, dU, 0.5 * dT


@njit(cache=True)
def _log_mu(tau, a, s, c, z_out, e_out):
    """log mu(tau) and d log mu / d tau; -inf below the region where the layer transmits."""
    u, lam, du, dlam = _layer_pass(tau, a, s, c, z_out, e_out)
    if u <= 0.0:
        return _LOG_FLOOR, 0.0, u, du
    h = 0.5 * a[0] / (c + u) + lam
    if h <= 0.0:
        return _LOG_FLOOR, 0.0, u, du
    mu = u * u * h
    dmu = 2.0 * u * du * h + u * u * (-0.5 * a[0] * du / ((c + u) * (c + u)) + dlam)
    return math.log(mu), dmu / mu, u, du


@njit(cache=True)
def _root_step(x, f, x_newton, lo, hi, f_prev, step):
    """One step of a bracketed root search for an increasing function f(x).

    Expands the bracket (doubling steps) while one side is open, then takes the Newton
    candidate ``x_newton`` when it lies inside the bracket and |f| at least halved since the
    last Newton step, else bisects. Returns (x_next, lo, hi, f_prev, step)."""
    if f < 0.0:
        lo = x
    else:
        hi = x
    if lo == -np.inf:
        return hi - step, lo, hi, np.inf, 2.0 * step
    if hi == np.inf:
        return lo + step, lo, hi, np.inf, 2.0 * step
    if abs(f) <= 0.5 * f_prev and lo < x_newton < hi:
        return x_newton, lo, hi, abs(f), step
    return 0.5 * (lo + hi), lo, hi, np.inf, step


@njit(cache=True)
def _solve_layer(log_mu_target, tau0, scale, a, s, c, z_out, e_out, tol, max_iter):
    """Find tau with mu(tau) = exp(log_mu_target): Newton in tau, bracket and bisection in
    t = asinh(tau / scale) so that the bracket can span many orders of magnitude.

    Returns (tau, u, du/dtau, dlogmu/dtau, converged); z_out, e_out hold that tau's layer."""
    t = math.asinh(tau0 / scale)
    lo, hi, f_prev, step = -np.inf, np.inf, np.inf, 0.5
    for _ in range(max_iter):
        tau = scale * math.sinh(t)
        f, df, u, du = _log_mu(tau, a, s, c, z_out, e_out)
        f -= log_mu_target
        if abs(f) <= tol:
            return tau, u, du, df, True
        t_newton = math.asinh((tau - f / df) / scale) if df > 0.0 else np.nan
        t_next, lo, hi, f_prev, step = _root_step(t, f, t_newton, lo, hi, f_prev, step)
        if hi - lo <= 4e-16 * abs(t) + 1e-300:  # float resolution of the parameter
            return tau, u, du, df, True
        t = t_next
    return tau, u, du, df, False


@njit(cache=True)
def _layers_at_mu(log_mu, taus, scales, a, s, c, z, e, tol, max_iter):
    """Solve every layer for a common multiplier.

    Returns (sum D_l, d sum D_l / d log mu, all layers converged)."""
    L = s.shape[1]
    total = 0.0
    dtotal = 0.0
    ok = True
    for l in range(L):
        tau, u, du, dlogmu, conv = _solve_layer(
            log_mu, taus[l], scales[l], a, s[:, l], c[l], z[:, l], e[:, l], tol, max_iter
        )
        taus[l] = tau
        ok = ok and conv
        if u <= 0.0:  # nobody transmits: D_l is infinite, mu is too small
            total = np.inf
            continue
        total += 1.0 / u
        if dlogmu > 0.0:
            # dD/dlogmu = (dD/dtau) / (dlogmu/dtau), dD/dtau = -du/u^2
            dtotal += -du / (u * u) / dlogmu
    return total, dtotal, ok


@njit(cache=True)
def solve_sorted(a, s, c, D, tol, max_iter):
    """P1 for workers sorted by alpha descending.

    a: (K,) alphas, s: (K, L) noise variances, c: (L,) 1/sigma_X^2, D > sum_l D_min,l.
    Solves sum_l D_l(mu) = D in m = log mu, i.e. h(m) = log D - log sum_l D_l = 0 (increasing).
    Returns (z (K, L), e = 1 - s z (K, L), log_mu, outer iterations, converged).
    """
    K, L = s.shape
    z = np.zeros((K, L))
    e = np.ones((K, L))
    taus = np.empty(L)
    scales = np.empty(L)
    for l in range(L):
        # tau = T_K; worker K starts to transmit at tau = alpha_K s_K
        scales[l] = a[K - 1] * s[K - 1, l]
        taus[l] = 2.0 * scales[l]
    log_d = math.log(D)
    m = 0.0
    lo, hi, h_prev, step = -np.inf, np.inf, np.inf, 2.0
    for it in range(max_iter):
        total, dtotal, ok = _layers_at_mu(m, taus, scales, a, s, c, z, e, tol, max_iter)
        h = log_d - math.log(total)
        if abs(h) <= tol:
            return z, e, m, it + 1, ok
        dh = -dtotal / total
        m_newton = m - h / dh if dh > 0.0 else np.nan
        m_next, lo, hi, h_prev, step = _root_step(m, h, m_newton, lo, hi, h_prev, step)
        if hi - lo <= 4e-16 * abs(m) + 1e-300:
            return z, e, m, it + 1, ok
        m = m_next
    return z, e, m, max_iter, False
