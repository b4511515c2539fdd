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
def _solve_layer(log_mu_target, tau0, scale, a, s, c, z_out, e_out, tol, max_iter):
    """Find tau with mu(tau) = exp(log_mu_target): bracketed Newton in tau, bisection in
    t = asinh(tau / scale) so that the bracket can span many orders of magnitude.

    Returns (tau, u, du/dtau, dlogmu/dtau, iterations)."""
    t = math.asinh(tau0 / scale)
    f, df, u, du = _log_mu(tau0, a, s, c, z_out, e_out)
    f -= log_mu_target
    it = 0
    # bracket [t_lo, t_hi] with f(t_lo) < 0 < f(t_hi)
    step = 0.5
    t_lo = -np.inf
    t_hi = np.inf
    if f < 0.0:
        t_lo = t
    else:
        t_hi = t
    while (t_lo == -np.inf or t_hi == np.inf) and it < max_iter:
        it += 1
        if t_hi == np.inf:
            t = t_lo + step
        else:
            t = t_hi - step
        step *= 2.0
        tau = scale * math.sinh(t)
        f, df, u, du = _log_mu(tau, a, s, c, z_out, e_out)
        f -= log_mu_target
        if f < 0.0:
            t_lo = t
        else:
            t_hi = t
    tau = scale * math.sinh(t)
    f_prev = np.inf
    while it < max_iter:
        it += 1
        if abs(f) <= tol:
            break
        newton_ok = False
        # Newton only while it at least halves |f|, else bisect (keeps the bracket shrinking)
        if df > 0.0 and f > -1e299 and abs(f) <= 0.5 * f_prev:
            tau_n = tau - f / df
            t_n = math.asinh(tau_n / scale)
            if t_lo < t_n < t_hi:
                t = t_n
                tau = tau_n
                newton_ok = True
        f_prev = abs(f) if newton_ok else np.inf
        if not newton_ok:
            t = 0.5 * (t_lo + t_hi)
            tau = scale * math.sinh(t)
        f, df, u, du = _log_mu(tau, a, s, c, z_out, e_out)
        f -= log_mu_target
        if f < 0.0:
            t_lo = t
        else:
            t_hi = t
        if t_hi - t_lo <= 4e-16 * abs(t) + 1e-300:
            break
    # leave z_out consistent with the returned tau
    f, df, u, du = _log_mu(tau, a, s, c, z_out, e_out)
    return tau, u, du, df, it


@njit(cache=True)
def _layers_at_mu(log_mu, taus, scales, a, s, c, z, e, tol, max_iter):
    """Solve every layer for a common multiplier; returns (sum D_l, d sum D_l / d log mu, iters)."""
    L = s.shape[1]
    total = 0.0
    dtotal = 0.0
    iters = 0
    for l in range(L):
        tau, u, du, dlogmu, it = _solve_layer(
            log_mu, taus[l], scales[l], a, s[:, l], c[l], z[:, l], e[:, l], tol, max_iter
        )
        taus[l] = tau
        iters += it
        if u <= 0.0:  # nobody transmits: D_l is infinite, mu is too small
            total = np.inf
            continue
        total += 1.0 / u
        if dlogmu > 0.0:
            # dD/dlogmu = (dD/dtau) / (dlogmu/dtau), dD/dtau = -du/u^2
            dtotal += -du / (u * u) / dlogmu
    return total, dtotal, iters


@njit(cache=True)
def solve_sorted(a, s, c, D, tol, max_iter):
    """P1 for workers sorted by alpha descending.

    a: (K,) alphas, s: (K, L) noise variances, c: (L,) 1/sigma_X^2, D > sum_l D_min,l.
    Returns (z (K, L), e = 1 - s z (K, L), taus (L,), log_mu, iterations, converged). The outer equation
    sum_l D_l(mu) = D is solved in m = log mu by bracketed Newton.
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
    total, dtotal, iters = _layers_at_mu(m, taus, scales, a, s, c, z, e, tol, max_iter)
    g = math.log(total) - log_d  # decreasing in m
    m_lo = -np.inf
    m_hi = np.inf
    if g > 0.0:
        m_lo = m
    else:
        m_hi = m
    step = 2.0
    n_outer = 0
    while (m_lo == -np.inf or m_hi == np.inf) and n_outer < max_iter:
        n_outer += 1
        if m_hi == np.inf:
            m = m_lo + step
        else:
            m = m_hi - step
        step *= 2.0
        total, dtotal, it = _layers_at_mu(m, taus, scales, a, s, c, z, e, tol, max_iter)
        iters += it
        g = math.log(total) - log_d
        if g > 0.0:
            m_lo = m
        else:
            m_hi = m
    g_prev = np.inf
    while n_outer < max_iter:
        n_outer += 1
        if abs(g) <= tol:
            break
        dg = dtotal / total
        m_n = m - g / dg if (dg < 0.0 and abs(g) <= 0.5 * g_prev) else np.nan
        if m_lo < m_n < m_hi:
            m = m_n
            g_prev = abs(g)
        else:
            m = 0.5 * (m_lo + m_hi)
            g_prev = np.inf
        total, dtotal, it = _layers_at_mu(m, taus, scales, a, s, c, z, e, tol, max_iter)
        iters += it
        g = math.log(total) - log_d
        if g > 0.0:
            m_lo = m
        else:
            m_hi = m
        if m_hi - m_lo <= 1e-15 * (1.0 + abs(m)):
            break
    return z, e, taus, m, iters + n_outer, n_outer < max_iter
