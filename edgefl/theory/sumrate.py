"""Sum-rate-distortion functions of the RD paper (Corollary 2, Remark 4) and the signSGD case
of Section VI-A, for K identical workers and one layer. Natural logs inside; ``unit`` picks
bits (default) or nats for the result. All functions broadcast over array arguments."""

from __future__ import annotations

import math

import numpy as np

from ._checks import check_distortion, count, positive, unit_factor

def _common(K, sigma_x2, sigma_n2, D):
    K = count("K", K)
    sx = positive("sigma_x2", sigma_x2)
    sn = positive("sigma_n2", sigma_n2)
    D = positive("D", D)
    check_distortion(D, sn / K)
    return K, sx, sn, D


def _out(value, unit):
    value = value / unit_factor(unit)
    return float(value) if np.ndim(value) == 0 else value


def noise_rate(K: int, sigma_n2, D, unit: str = "bits"):
    """First term of RD paper eq. (22): K/2 log(1 + sigma_N^2 / (K D - sigma_N^2)), the rate of
    quantising the K gradient noises (Remark 4)."""
    K, _, sn, D = _common(K, 1.0, sigma_n2, D)
    return _out(-0.5 * K * np.log1p(-sn / (K * D)), unit)


def r_sum(K: int, sigma_x2, sigma_n2, D, unit: str = "bits"):
    """Sum-rate-distortion function, RD paper Corollary 2 eq. (22), per gradient entry:
    R_sum(D) = K/2 log(1 + sigma_N^2/(K D - sigma_N^2)) + 1/2 log(1 + sigma_X^2 / D).
    Needs D > sigma_N^2 / K (error-free transmission has D = sigma_N^2 / K)."""
    K, sx, sn, D = _common(K, sigma_x2, sigma_n2, D)
    return _out(-0.5 * K * np.log1p(-sn / (K * D)) + 0.5 * np.log1p(sx / D), unit)


def r_in(K: int, sigma_x2, sigma_n2, D, unit: str = "bits"):
    """Sum rate without distributed source coding, RD paper Remark 4:
    R_in(D) = K/2 log(1 + sigma_N^2/(K D - sigma_N^2)) + K/2 log(1 + sigma_X^2 / (K D)).

    The text copy of the paper prints sigma_N^2 in the second term; sigma_X^2 is what the
    derivation gives (each worker sends U_k = Y_k + V_k alone: I(Y_k; U_k) =
    1/2 log((sigma_X^2 + K D) / (K D - sigma_N^2)) with sigma_V^2 = K D - sigma_N^2) and what the
    paper's own signSGD value R_in = K/2 log(1 + pi/(pi - 2)) and gain expression require."""
    K, sx, sn, D = _common(K, sigma_x2, sigma_n2, D)
    return _out(-0.5 * K * np.log1p(-sn / (K * D)) + 0.5 * K * np.log1p(sx / (K * D)), unit)


def dsc_gain(K: int, sigma_x2, sigma_n2, D, unit: str = "bits"):
    """R_in(D) - R_sum(D) = K/2 log(1 + sigma_X^2/(K D)) - 1/2 log(1 + sigma_X^2/D) (Remark 4):
    the saving from exploiting the correlation between workers."""
    K, sx, _, D = _common(K, sigma_x2, sigma_n2, D)
    return _out(0.5 * K * np.log1p(sx / (K * D)) - 0.5 * np.log1p(sx / D), unit)


def rho_from_distortion(K: int, sigma_n2, D):
    """rho = D K / sigma_N^2 - 1 (RD paper Sec. VI-B): quantisation-noise to gradient-noise ratio."""
    K = count("K", K)
    out = positive("D", D) * K / positive("sigma_n2", sigma_n2) - 1.0
    return float(out) if np.ndim(out) == 0 else out


def distortion_from_rho(K: int, sigma_n2, rho):
    """D = sigma_N^2 (1 + rho) / K (RD paper Sec. VI-B); rho > 0."""
    K = count("K", K)
    out = positive("sigma_n2", sigma_n2) * (1.0 + positive("rho", rho)) / K
    return float(out) if np.ndim(out) == 0 else out


def signsgd_distortion(K: int, sigma_x2, sigma_n2):
    """Distortion of signSGD with levels +-sqrt(2/pi) sigma, sigma^2 = sigma_X^2 + sigma_N^2
    (RD paper Sec. VI-A): D = (1/K) [sigma_N^2 + (pi - 2)/pi (sigma_N^2 + sigma_X^2)]."""
    K = count("K", K)
    sx = positive("sigma_x2", sigma_x2)
    sn = positive("sigma_n2", sigma_n2)
    out = (sn + (math.pi - 2.0) / math.pi * (sn + sx)) / K
    return float(out) if np.ndim(out) == 0 else out


def signsgd_point(K: int, sigma_x2: float, sigma_n2: float, unit: str = "bits") -> dict:
    """The signSGD comparison of RD paper Sec. VI-A / Fig. 7 at signSGD's own distortion.

    Returns D, rho and the sum rates per gradient entry: signSGD (K one-bit signs),
    R_in (closed form K/2 log(1 + pi/(pi - 2)), independent of the statistics) and R_sum."""
    K = count("K", K)
    D = signsgd_distortion(K, sigma_x2, sigma_n2)
    f = unit_factor(unit)
    return {
        "D": D,
        "rho": rho_from_distortion(K, sigma_n2, D),
        "signsgd_rate": K * math.log(2.0) / f,
        "R_in": r_in(K, sigma_x2, sigma_n2, D, unit),
        "R_in_closed_form": 0.5 * K * math.log1p(math.pi / (math.pi - 2.0)) / f,
        "R_sum": r_sum(K, sigma_x2, sigma_n2, D, unit),
        "unit": unit,
    }
