"""Line-of-sight probability (3GPP TR 38.901 Table 7.4.2-1) and the UMa effective
environment height h_E (38.901 Table 7.4.1-1, Note 1).

Everything is vectorised over distances (numpy broadcasting). Distances are the 2D
distances the table names: d_2D-out for the outdoor scenarios (RMa, UMi street canyon,
UMa; for an indoor terminal only the outdoor part counts), d_2D-in for InH, d_2D for InF.
"""

from __future__ import annotations

from typing import Literal, get_args

import numpy as np

LosScenario = Literal[
    "rma",
    "umi_street_canyon",
    "uma",
    "inh_office_mixed",
    "inh_office_open",
    "inf_sl",
    "inf_dl",
    "inf_sh",
    "inf_dh",
    "inf_hh",
]
LOS_SCENARIOS = frozenset(get_args(LosScenario))
#: InF sub-scenarios whose Pr_LOS depends on the clutter (38.901 Table 7.2-4 parameters).
INF_CLUTTER_SCENARIOS = frozenset({"inf_sl", "inf_dl", "inf_sh", "inf_dh"})

#: 38.901 UMa validity: 1.5 m <= h_UT <= 22.5 m; the C'(h_UT) and C(d_2D, h_UT) terms are
#: defined up to 23 m.
_UMA_MAX_H_UT_M = 23.0


def _d(d2d_m) -> np.ndarray:
    d = np.asarray(d2d_m, dtype=float)
    if not np.all(np.isfinite(d)) or np.any(d < 0):
        raise ValueError(f"2D distances must be finite and >= 0 m, got {d2d_m}")
    return d


def _check_uma_h_ut(h_ut: np.ndarray) -> None:
    if not np.all(np.isfinite(h_ut)) or np.any(h_ut > _UMA_MAX_H_UT_M) or np.any(h_ut <= 0):
        raise ValueError(
            f"UMa h_UT must be in (0, {_UMA_MAX_H_UT_M:g}] m (38.901 Table 7.4.2-1 / Table 7.4.1-1 "
            f"Note 1 define C only up to 23 m), got {h_ut}"
        )


def pr_los_rma(d2d_out_m) -> np.ndarray:
    """RMa: Pr_LOS = 1 for d_2D-out <= 10 m, exp(-(d_2D-out - 10) / 1000) beyond (Table 7.4.2-1)."""
    d = _d(d2d_out_m)
    return np.where(d <= 10.0, 1.0, np.exp(-(d - 10.0) / 1000.0))


def pr_los_umi_street_canyon(d2d_out_m) -> np.ndarray:
    """UMi street canyon: 1 for d <= 18 m, 18/d + exp(-d/36)(1 - 18/d) beyond (Table 7.4.2-1)."""
    d = _d(d2d_out_m)
    ds = np.maximum(d, 18.0)  # the branch below 18 m is discarded; keeps 18/d finite
    return np.where(d <= 18.0, 1.0, 18.0 / ds + np.exp(-ds / 36.0) * (1.0 - 18.0 / ds))


def uma_c_prime(h_ut_m) -> np.ndarray:
    """C'(h_UT) of UMa Pr_LOS: 0 for h_UT <= 13 m, ((h_UT - 13)/10)^1.5 for 13 < h_UT <= 23 m."""
    h = np.asarray(h_ut_m, dtype=float)
    _check_uma_h_ut(h)
    return np.where(h <= 13.0, 0.0, (np.maximum(h - 13.0, 0.0) / 10.0) ** 1.5)


def pr_los_uma(d2d_out_m, h_ut_m) -> np.ndarray:
    """UMa (Table 7.4.2-1): 1 for d <= 18 m, else
    [18/d + exp(-d/63)(1 - 18/d)] [1 + C'(h_UT) (5/4) (d/100)^3 exp(-d/150)]."""
    d = _d(d2d_out_m)
    ds = np.maximum(d, 18.0)
    base = 18.0 / ds + np.exp(-ds / 63.0) * (1.0 - 18.0 / ds)
    boost = 1.0 + uma_c_prime(h_ut_m) * 1.25 * (ds / 100.0) ** 3 * np.exp(-ds / 150.0)
    return np.where(d <= 18.0, 1.0, base * boost)


def pr_los_inh_office_mixed(d2d_in_m) -> np.ndarray:
    """InH mixed office: 1 for d <= 1.2 m, exp(-(d - 1.2)/4.7) for 1.2 < d < 6.5 m,
    0.32 exp(-(d - 6.5)/32.6) for d >= 6.5 m (Table 7.4.2-1)."""
    d = _d(d2d_in_m)
    return np.where(
        d <= 1.2, 1.0, np.where(d < 6.5, np.exp(-(d - 1.2) / 4.7), 0.32 * np.exp(-(d - 6.5) / 32.6))
    )


def pr_los_inh_office_open(d2d_in_m) -> np.ndarray:
    """InH open office: 1 for d <= 5 m, exp(-(d - 5)/70.8) for 5 < d <= 49 m,
    0.54 exp(-(d - 49)/211.7) for d > 49 m (Table 7.4.2-1)."""
    d = _d(d2d_in_m)
    return np.where(
        d <= 5.0, 1.0, np.where(d <= 49.0, np.exp(-(d - 5.0) / 70.8), 0.54 * np.exp(-(d - 49.0) / 211.7))
    )


def inf_k_subscenario(
    sub: str, clutter_size_m: float, clutter_density: float, clutter_height_m: float,
    h_bs_m: float, h_ut_m,
) -> np.ndarray:
    """k_subsce of InF Pr_LOS (Table 7.4.2-1): -d_clutter / ln(1 - r) for InF-SL/DL and
    -d_clutter / ln(1 - r) (h_BS - h_UT) / (h_c - h_UT) for InF-SH/DH."""
    if not 0.0 < clutter_density < 1.0:
        raise ValueError(f"clutter density r must be in (0, 1), got {clutter_density}")
    if clutter_size_m <= 0:
        raise ValueError(f"clutter size d_clutter must be > 0 m, got {clutter_size_m}")
    k = -clutter_size_m / np.log(1.0 - clutter_density)
    h_ut = np.asarray(h_ut_m, dtype=float)
    if sub in ("inf_sl", "inf_dl"):
        return np.broadcast_to(k, h_ut.shape).astype(float)
    if sub in ("inf_sh", "inf_dh"):
        if np.any(h_ut >= clutter_height_m) or h_bs_m <= clutter_height_m:
            raise ValueError(
                f"{sub} needs h_UT < h_c < h_BS (38.901 Table 7.2-4), got h_UT={h_ut_m}, "
                f"h_c={clutter_height_m}, h_BS={h_bs_m}"
            )
        return k * (h_bs_m - h_ut) / (clutter_height_m - h_ut)
    raise ValueError(f"{sub!r} is not an InF sub-scenario with clutter ({sorted(INF_CLUTTER_SCENARIOS)})")


def pr_los_inf(d2d_m, k_subsce) -> np.ndarray:
    """InF-SL/DL/SH/DH: Pr_LOS = exp(-d_2D / k_subsce) (Table 7.4.2-1)."""
    return np.exp(-_d(d2d_m) / np.asarray(k_subsce, dtype=float))


def los_probability(
    scenario: str,
    d2d_m,
    h_ut_m=1.5,
    *,
    h_bs_m: float | None = None,
    clutter: tuple[float, float, float] | None = None,
) -> np.ndarray:
    """Pr_LOS of 38.901 Table 7.4.2-1 for ``scenario`` (see :data:`LosScenario`).

    ``d2d_m`` is d_2D-out (RMa, UMi, UMa), d_2D-in (InH) or d_2D (InF). ``h_ut_m`` is used
    by UMa and InF-SH/DH; ``h_bs_m`` by InF-SH/DH; ``clutter`` = (d_clutter m, r, h_c m) by
    InF-SL/DL/SH/DH. InF-HH is always LOS.
    """
    if scenario == "rma":
        return pr_los_rma(d2d_m)
    if scenario == "umi_street_canyon":
        return pr_los_umi_street_canyon(d2d_m)
    if scenario == "uma":
        return pr_los_uma(d2d_m, h_ut_m)
    if scenario == "inh_office_mixed":
        return pr_los_inh_office_mixed(d2d_m)
    if scenario == "inh_office_open":
        return pr_los_inh_office_open(d2d_m)
    if scenario == "inf_hh":
        return np.ones_like(_d(d2d_m))
    if scenario in INF_CLUTTER_SCENARIOS:
        if clutter is None or (scenario in ("inf_sh", "inf_dh") and h_bs_m is None):
            raise ValueError(f"{scenario} Pr_LOS needs clutter=(d_clutter, r, h_c) and, for SH/DH, h_bs_m")
        k = inf_k_subscenario(scenario, *clutter, h_bs_m if h_bs_m is not None else 0.0, h_ut_m)
        return pr_los_inf(d2d_m, k)
    raise ValueError(f"unknown LOS-probability scenario {scenario!r}; allowed: {sorted(LOS_SCENARIOS)}")


# ---- UMa effective environment height ------------------------------------------------


def uma_c(d2d_m, h_ut_m) -> np.ndarray:
    """C(d_2D, h_UT) of 38.901 Table 7.4.1-1 Note 1: 0 for h_UT < 13 m, else
    ((h_UT - 13)/10)^1.5 g(d_2D), g = 0 for d_2D <= 18 m and (5/4)(d_2D/100)^3 exp(-d_2D/150) beyond."""
    d = _d(d2d_m)
    h = np.asarray(h_ut_m, dtype=float)
    _check_uma_h_ut(h)
    g = np.where(d <= 18.0, 0.0, 1.25 * (d / 100.0) ** 3 * np.exp(-d / 150.0))
    return np.where(h < 13.0, 0.0, (np.maximum(h - 13.0, 0.0) / 10.0) ** 1.5 * g)


def _n_tall_heights(h_ut: np.ndarray) -> np.ndarray:
    """Size of {12, 15, ..., h_UT - 1.5}: the h_E values other than 1 m (0 when h_UT < 13.5 m)."""
    return np.maximum(np.floor((h_ut - 1.5 - 12.0) / 3.0 + 1e-9) + 1.0, 0.0).astype(int)


def uma_h_e_pmf(d2d_m: float, h_ut_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Distribution of h_E for one UMa link (Table 7.4.1-1 Note 1): (values m, probabilities).

    h_E = 1 m with probability 1/(1 + C(d_2D, h_UT)), otherwise uniform over
    {12, 15, ..., h_UT - 1.5}. When that set is empty (h_UT < 13.5 m) h_E = 1 m.
    """
    p1 = float(1.0 / (1.0 + uma_c(d2d_m, h_ut_m)))
    n = int(_n_tall_heights(np.asarray(h_ut_m, dtype=float)))
    if n == 0:
        return np.array([1.0]), np.array([1.0])
    tall = 12.0 + 3.0 * np.arange(n)
    return np.concatenate([[1.0], tall]), np.concatenate([[p1], np.full(n, (1.0 - p1) / n)])


def uma_h_e_pmf_is_one(d2d_m, h_ut_m) -> np.ndarray:
    """True where h_E = 1 m with certainty: C(d_2D, h_UT) = 0 or no taller value (h_UT < 13.5 m)."""
    d = _d(d2d_m)
    h = np.broadcast_to(np.asarray(h_ut_m, dtype=float), d.shape)
    return (uma_c(d, h) == 0.0) | (_n_tall_heights(h) == 0)


def draw_uma_h_e(d2d_m, h_ut_m, u_choice, u_height) -> np.ndarray:
    """Per-link h_E from two uniforms per link (see :func:`uma_h_e_pmf`).

    h_E = 1 m if u_choice < 1/(1 + C), else 12 + 3 floor(u_height n), n = |{12, ..., h_UT - 1.5}|.
    """
    d = _d(d2d_m)
    h = np.broadcast_to(np.asarray(h_ut_m, dtype=float), d.shape)
    p1 = 1.0 / (1.0 + uma_c(d, h))
    n = _n_tall_heights(h)
    tall = 12.0 + 3.0 * np.minimum(np.floor(np.asarray(u_height) * n), np.maximum(n - 1, 0))
    return np.where((np.asarray(u_choice) < p1) | (n == 0), 1.0, tall)
