"""JSON-ready reports for the ``edgefl bound`` and ``edgefl plan`` commands (numbers in, dict out)."""

from __future__ import annotations

import math

import numpy as np

from ._checks import count, positive
from .allocation import (
    UNCODED_BITS_PER_PARAM,
    alpha_from_snr,
    fdma_bandwidth_for_deadline,
    p1_rates_bits,
    symmetric_rates_bits,
)
from .convergence import iterations_bound, remark6_cost_decreasing, remark6_ratio
from .p1 import solve_p1
from edgefl.radio.access_registry import ACCESS_SCHEMES, make_access

from .sumrate import r_in, r_sum, rho_from_distortion, signsgd_point

ACCESS_MODES = tuple(sorted(ACCESS_SCHEMES))


def bound_report(K: int, sigma_x2: float, sigma_n2: float, D: float | None = None, params: int | None = None,
                 A: float | None = None, beta: float | None = None, eps: float | None = None) -> dict:
    """Theory limits for K identical workers, one layer (RD paper Corollary 2, Remark 4, Cor. 3).

    Keys: R_sum_bits, R_in_bits, gain_bits (= R_in - R_sum), gain_percent, rho, D_min, all per
    gradient entry (sum over workers), and ``signsgd`` (Sec. VI-A at signSGD's own distortion);
    D defaults to that signSGD distortion (``D_source`` says which). With ``params``:
    *_total = params x value; with A, beta and eps (all three): T_bound (eq. (23), real), T_min
    (its ceiling), total_cost_bits (T_bound x params x R_sum, eq. (23) x eq. (24); params = 1
    if not given) and Remark 6."""
    K = count("K", K)
    sign = signsgd_point(K, sigma_x2, sigma_n2)
    D_source = "given" if D is not None else "signsgd"
    D = sign["D"] if D is None else D
    rs = r_sum(K, sigma_x2, sigma_n2, D)
    ri = r_in(K, sigma_x2, sigma_n2, D)
    out = {
        "K": K, "sigma_x2": float(sigma_x2), "sigma_n2": float(sigma_n2), "D": float(D), "D_source": D_source,
        "D_min": float(sigma_n2) / K, "rho": rho_from_distortion(K, sigma_n2, D),
        "R_sum_bits": rs, "R_in_bits": ri, "gain_bits": ri - rs,
        "gain_percent": 100.0 * (ri - rs) / ri,
        "R_sum_bits_per_worker": rs / K,
        "signsgd": {k: sign[k] for k in ("D", "rho", "signsgd_rate", "R_in", "R_sum")},
    }
    if params is not None:
        P = count("params", params)
        out.update(params=P, R_sum_bits_total=P * rs, R_in_bits_total=P * ri, gain_bits_total=P * (ri - rs))
    given = {"A": A, "beta": beta, "eps": eps}
    if any(v is not None for v in given.values()):
        missing = [n for n, v in given.items() if v is None]
        if missing:
            raise ValueError(f"the eq. (23) bound needs A, beta and eps together; missing {missing}")
        T = iterations_bound(D, A, beta, eps)
        P = 1 if params is None else count("params", params)
        out.update(
            A=float(A), beta=float(beta), eps=float(eps), T_bound=T, T_min=int(math.ceil(T)),
            total_cost_bits=T * P * rs,
            remark6_ratio=remark6_ratio(beta, eps, sigma_x2),
            remark6_cost_decreasing_in_D=remark6_cost_decreasing(beta, eps, sigma_x2),
        )
    return out


def _scheme(bits_per_param, alpha, P, bandwidth_hz, deadline_s, access):
    bits = P * np.asarray(bits_per_param, dtype=float)
    per_worker, latency, key = make_access(access).ideal_upload(bits, alpha, bandwidth_hz)
    out = {
        "bits_per_param": [float(v) for v in bits_per_param],
        "bits": [float(v) for v in bits],
        key: [float(v) for v in per_worker],
        "bits_per_round": float(bits.sum()),
        "latency_s": float(latency),
    }
    if deadline_s is not None:
        out["bandwidth_for_deadline_hz"] = float(fdma_bandwidth_for_deadline(bits, alpha, deadline_s).sum())
    return out


def _saving(base: dict, new: dict) -> dict:
    deadline = ["bandwidth_for_deadline_hz"] if "bandwidth_for_deadline_hz" in new else []
    keys = ["bits_per_round", "latency_s", *deadline]
    return {k: 100.0 * (1.0 - new[k] / base[k]) for k in keys}


def plan_report(snr_linear, bandwidth_hz: float, sigma_x2: float, sigma_n2, D: float, params: int,
                deadline_s: float | None = None, access: str = "fdma", alpha=None) -> dict:
    """Upload plan for one round (RD paper Sec. V-A, alpha_k = bandwidth per unit rate): per-worker
    SNR and alpha, P1 rates (RD paper eq. (20), L = 1) and bits, FDMA bandwidth split (all uploads end together, which
    minimises latency for ``bandwidth_hz``) or TDMA airtime, round upload latency, and, with
    ``deadline_s``, the total FDMA bandwidth that meets it. The same for the equal allocation
    (R_sum(D)/K each; for unequal sigma_n2 the minimum sum rate split equally) and uncoded
    float32, with savings of P1 in percent.

    snr_linear (K,) linear SNRs; sigma_n2 scalar or (K,); D per-parameter distortion. ``alpha`` (K,)
    overrides alpha_k = 1/log2(1 + SNR_k) (ideal Shannon), e.g. with ``LinkModel.alpha`` of a link
    with an SNR gap and a cap."""
    if access not in ACCESS_MODES:
        raise ValueError(f"access must be one of {ACCESS_MODES}, got {access!r}")
    snr = positive("snr_linear", snr_linear)
    if snr.ndim != 1:
        raise ValueError(f"snr_linear must have shape (K,), got {snr.shape}")
    K = snr.shape[0]
    P = count("params", params)
    positive("bandwidth_hz", bandwidth_hz)
    if deadline_s is not None:
        positive("deadline_s", deadline_s)
    sn = positive("sigma_n2", sigma_n2)
    if np.ndim(sigma_x2) != 0 or sn.ndim > 1:
        raise ValueError(
            f"plan_report is single-layer: sigma_x2 must be a scalar and sigma_n2 a scalar or (K,), "
            f"got shapes {np.shape(sigma_x2)} and {sn.shape}"
        )
    alpha = alpha_from_snr(snr) if alpha is None else positive("alpha", alpha)
    bits_p1, res = p1_rates_bits(alpha, sigma_x2, sn, D, return_result=True)
    if sn.ndim == 0:
        bits_eq = symmetric_rates_bits(K, sigma_x2, float(sn), D)
    else:
        bits_eq = np.full(K, solve_p1(np.ones(K), sn, sigma_x2, D).objective / K)
    bits_unc = np.full(K, UNCODED_BITS_PER_PARAM)
    schemes = {
        name: _scheme(b, alpha, P, bandwidth_hz, deadline_s, access)
        for name, b in (("p1", bits_p1), ("equal", bits_eq), ("uncoded", bits_unc))
    }
    return {
        "K": K, "params": P, "D": float(D), "sigma_x2": float(sigma_x2),
        "sigma_n2": sn.tolist(), "bandwidth_hz": float(bandwidth_hz), "access": access,
        "deadline_s": None if deadline_s is None else float(deadline_s),
        "snr_linear": snr.tolist(), "snr_db": (10.0 * np.log10(snr)).tolist(),
        "alpha_hz_per_bps": alpha.tolist(), "order": res.order.tolist(),
        "p1_objective": res.objective, "p1_gap": res.gap,
        "schemes": schemes,
        "saving_percent": {
            "p1_vs_equal": _saving(schemes["equal"], schemes["p1"]),
            "p1_vs_uncoded": _saving(schemes["uncoded"], schemes["p1"]),
        },
    }
