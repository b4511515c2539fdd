"""Large-scale path loss (dB): free space, log-distance and 3GPP TR 38.901 Table 7.4.1-1.

All functions are vectorised over distances and antenna heights (numpy broadcasting).
Units follow 38.901: distances and heights in metres, ``fc`` in GHz inside the
formulas (the public function takes Hz).
"""

from __future__ import annotations

import numpy as np

from edgefl.radio.config import (
    RMA_CARRIER_RANGE_HZ,
    TR38901_CARRIER_RANGE_HZ,
    TR38901_MODELS,
    PathLossConfig,
)

SPEED_OF_LIGHT_M_S = 299_792_458.0
#: 38.901 Note 1 of Table 7.4.1-1 uses c = 3.0e8 m/s in the breakpoint distance.
_C_38901 = 3.0e8

#: Default lower distance limits (m): 38.901 validity ranges of Table 7.4.1-1
#: (UMa/UMi: 10 m <= d_2D; InH/InF: 1 m <= d_3D); free space / log-distance: 1 m / d0.
_MIN_D2D_M = {"uma": 10.0, "umi": 10.0, "rma": 10.0}
_MIN_D3D_M = {"inh": 1.0, "inf": 1.0, "free": 1.0}


def free_space_pathloss_db(d_m: np.ndarray, carrier_hz: float) -> np.ndarray:
    """Friis free-space loss PL = 20 log10(4 pi d f_c / c) (Friis; Rappaport, Wireless Communications,
    2nd ed., Sec. 4.2, isotropic antennas)."""
    d = np.asarray(d_m, dtype=float)
    return 20.0 * np.log10(4.0 * np.pi * d * carrier_hz / SPEED_OF_LIGHT_M_S)


def log_distance_pathloss_db(
    d_m: np.ndarray, exponent: float, d0_m: float, pl0_db: float
) -> np.ndarray:
    """PL(d) = PL(d0) + 10 n log10(d / d0) (Rappaport, 2nd ed., Sec. 4.9.1)."""
    return pl0_db + 10.0 * exponent * np.log10(np.asarray(d_m, dtype=float) / d0_m)


def breakpoint_distance_m(
    h_bs_m: np.ndarray, h_ut_m: np.ndarray, carrier_hz: float, h_e_m: float | np.ndarray = 1.0
) -> np.ndarray:
    """38.901 Table 7.4.1-1 Note 1: d'_BP = 4 h'_BS h'_UT f_c / c, h' = h - h_E (f_c in Hz, c = 3e8)."""
    h_e = np.asarray(h_e_m, dtype=float)
    h_bs_eff = np.asarray(h_bs_m, dtype=float) - h_e
    h_ut_eff = np.asarray(h_ut_m, dtype=float) - h_e
    if np.any(h_bs_eff <= 0) or np.any(h_ut_eff <= 0):
        raise ValueError(
            f"antenna heights must exceed the effective environment height h_e_m={h_e_m} m "
            f"for the 38.901 breakpoint distance; got h_bs_m={h_bs_m}, h_ut_m={h_ut_m}"
        )
    return 4.0 * h_bs_eff * h_ut_eff * carrier_hz / _C_38901


#: Two-slope LOS laws (a, b) of 38.901 Table 7.4.1-1: PL1 = a + b log10 d3D + 20 log10 fc for
#: d2D <= d'BP, PL2 = a + 40 log10 d3D + 20 log10 fc - c log10(d'BP^2 + (hBS - hUT)^2) beyond,
#: with c = 9 (UMa LOS: a = 28, b = 22) and c = 9.5 (UMi street canyon LOS: a = 32.4, b = 21).
_TWO_SLOPE_LOS = {"uma": (28.0, 22.0, 9.0), "umi": (32.4, 21.0, 9.5)}


def _two_slope_los(family, d2d, d3d, fc_ghz, h_bs, h_ut, d_bp):
    """UMa / UMi street canyon LOS path loss (38.901 Table 7.4.1-1), PL1 below and PL2 beyond d'BP."""
    a, b, c = _TWO_SLOPE_LOS[family]
    pl1 = a + b * np.log10(d3d) + 20.0 * np.log10(fc_ghz)
    pl2 = a + 40.0 * np.log10(d3d) + 20.0 * np.log10(fc_ghz) - c * np.log10(d_bp**2 + (h_bs - h_ut) ** 2)
    return np.where(d2d <= d_bp, pl1, pl2)


def _uma_nlos_prime(d3d, fc_ghz, h_ut):
    """PL'_UMa-NLOS = 13.54 + 39.08 log10 d3D + 20 log10 fc - 0.6 (hUT - 1.5)."""
    return 13.54 + 39.08 * np.log10(d3d) + 20.0 * np.log10(fc_ghz) - 0.6 * (h_ut - 1.5)


def _umi_nlos_prime(d3d, fc_ghz, h_ut):
    """PL'_UMi-NLOS = 35.3 log10 d3D + 22.4 + 21.3 log10 fc - 0.3 (hUT - 1.5)."""
    return 35.3 * np.log10(d3d) + 22.4 + 21.3 * np.log10(fc_ghz) - 0.3 * (h_ut - 1.5)


def _inh_los(d3d, fc_ghz):
    """InH-Office LOS: PL = 32.4 + 17.3 log10 d3D + 20 log10 fc (1 m <= d3D <= 150 m)."""
    return 32.4 + 17.3 * np.log10(d3d) + 20.0 * np.log10(fc_ghz)


def _inh_nlos_prime(d3d, fc_ghz):
    """PL'_InH-NLOS = 38.3 log10 d3D + 17.30 + 24.9 log10 fc."""
    return 38.3 * np.log10(d3d) + 17.30 + 24.9 * np.log10(fc_ghz)


def _inf_los(d3d, fc_ghz):
    """InF LOS: PL = 31.84 + 21.50 log10 d3D + 19.00 log10 fc (1 m <= d3D <= 600 m)."""
    return 31.84 + 21.50 * np.log10(d3d) + 19.00 * np.log10(fc_ghz)


#: InF NLOS sub-scenario laws PL = a + b log10 d3D + 20 log10 fc (38.901 Table 7.4.1-1).
_INF_NLOS_COEF = {"sl": (33.0, 25.5), "dl": (18.6, 35.7), "sh": (32.4, 23.0), "dh": (33.63, 21.9)}


def _inf_nlos(d3d, fc_ghz, sub: str):
    """InF NLOS: PL = max(PL_sub, PL_LOS); for InF-DL also max with PL_InF-SL."""
    a, b = _INF_NLOS_COEF[sub]
    pl = np.maximum(a + b * np.log10(d3d) + 20.0 * np.log10(fc_ghz), _inf_los(d3d, fc_ghz))
    if sub == "dl":
        a_sl, b_sl = _INF_NLOS_COEF["sl"]
        pl = np.maximum(pl, a_sl + b_sl * np.log10(d3d) + 20.0 * np.log10(fc_ghz))
    return pl


def rma_breakpoint_distance_m(h_bs_m, h_ut_m, carrier_hz: float) -> np.ndarray:
    """RMa d_BP = 2 pi h_BS h_UT f_c / c (38.901 Table 7.4.1-1 Note 5; f_c in Hz, c = 3e8)."""
    return 2.0 * np.pi * np.asarray(h_bs_m, dtype=float) * np.asarray(h_ut_m, dtype=float) * carrier_hz / _C_38901


def _rma_pl1(d3d, fc_ghz, h):
    """RMa PL1 = 20 log10(40 pi d3D fc / 3) + min(0.03 h^1.72, 10) log10 d3D - min(0.044 h^1.72, 14.77)
    + 0.002 log10(h) d3D (38.901 Table 7.4.1-1, fc in GHz)."""
    return (20.0 * np.log10(40.0 * np.pi * d3d * fc_ghz / 3.0) + min(0.03 * h**1.72, 10.0) * np.log10(d3d)
            - min(0.044 * h**1.72, 14.77) + 0.002 * np.log10(h) * d3d)


def _rma_los(d2d, d3d, fc_ghz, carrier_hz, h_bs, h_ut, h):
    """RMa LOS: PL1 for d2D <= d_BP, PL2 = PL1(d_BP) + 40 log10(d3D / d_BP) beyond (Table 7.4.1-1)."""
    d_bp = rma_breakpoint_distance_m(h_bs, h_ut, carrier_hz)
    pl2 = _rma_pl1(d_bp, fc_ghz, h) + 40.0 * np.log10(d3d / d_bp)
    return np.where(d2d <= d_bp, _rma_pl1(d3d, fc_ghz, h), pl2)


def _rma_nlos_prime(d3d, fc_ghz, h_bs, h_ut, h, w):
    """PL'_RMa-NLOS = 161.04 - 7.1 log10 W + 7.5 log10 h - (24.37 - 3.7 (h/hBS)^2) log10 hBS
    + (43.42 - 3.1 log10 hBS)(log10 d3D - 3) + 20 log10 fc - (3.2 (log10(11.75 hUT))^2 - 4.97)."""
    return (161.04 - 7.1 * np.log10(w) + 7.5 * np.log10(h) - (24.37 - 3.7 * (h / h_bs) ** 2) * np.log10(h_bs)
            + (43.42 - 3.1 * np.log10(h_bs)) * (np.log10(d3d) - 3.0) + 20.0 * np.log10(fc_ghz)
            - (3.2 * np.log10(11.75 * h_ut) ** 2 - 4.97))


def check_carrier(model: str, carrier_hz: float) -> None:
    """Raise ValueError when ``carrier_hz`` is outside the validity range of ``model``."""
    if not np.isfinite(carrier_hz) or carrier_hz <= 0:
        raise ValueError(f"carrier_hz must be a positive finite frequency in Hz, got {carrier_hz}")
    lo, hi = TR38901_CARRIER_RANGE_HZ
    if model.startswith("rma"):
        lo, hi = RMA_CARRIER_RANGE_HZ
    if model in TR38901_MODELS and not lo <= carrier_hz <= hi:
        raise ValueError(
            f"carrier_hz={carrier_hz:g} is outside the 3GPP TR 38.901 range [{lo:g}, {hi:g}] Hz "
            f"of path-loss model {model!r}"
        )


def default_min_distance_m(cfg: PathLossConfig) -> float:
    """Lower distance limit used for clamping (m): ``cfg.min_distance_m`` or the model's own."""
    if cfg.min_distance_m is not None:
        return cfg.min_distance_m
    family = cfg.model.split("_")[0]
    if family == "log":
        return cfg.d0_m if cfg.d0_m is not None else 1.0
    return _MIN_D2D_M.get(family, _MIN_D3D_M.get(family, 1.0))


def effective_height_m(
    cfg: PathLossConfig, d2d_m: np.ndarray, h_ut_m: np.ndarray, h_e_m: np.ndarray | float | None = None
) -> np.ndarray | float:
    """h_E for the UMa/UMi breakpoint (38.901 Table 7.4.1-1 Note 1): ``h_e_m`` when given (per-link
    draws, see :func:`edgefl.radio.los.draw_uma_h_e`), a fixed ``cfg.h_e_m``, 1 m for UMi, and for UMa
    with ``"standard"`` 1 m where that is certain (C(d_2D, h_UT) = 0 or h_UT < 13.5 m); otherwise
    h_E is random and must be drawn by the caller."""
    if h_e_m is not None:
        return np.asarray(h_e_m, dtype=float)
    if cfg.h_e_m != "standard":
        return float(cfg.h_e_m)
    if cfg.model.startswith("umi"):
        return 1.0
    from edgefl.radio.los import uma_h_e_pmf_is_one

    if not np.all(uma_h_e_pmf_is_one(d2d_m, h_ut_m)):
        raise ValueError(
            "UMa h_E is random for these links (h_UT >= 13.5 m beyond 18 m, 38.901 Table 7.4.1-1 Note 1): "
            "pass per-link h_e_m drawn with edgefl.radio.los.draw_uma_h_e, or set pathloss.h_e_m to a number"
        )
    return 1.0


def pathloss_db(
    cfg: PathLossConfig,
    d2d_m: np.ndarray,
    carrier_hz: float,
    h_bs_m: np.ndarray | float,
    h_ut_m: np.ndarray | float,
    h_e_m: np.ndarray | float | None = None,
) -> np.ndarray:
    """Path loss in dB for horizontal distances ``d2d_m`` and antenna heights.

    d_3D = sqrt(d_2D^2 + (h_BS - h_UT)^2). NLOS 38.901 models return
    max(PL_LOS, PL'_NLOS) as Table 7.4.1-1 prescribes. UMa/UMi/RMa clamp d_2D, the other
    models clamp d_3D, from below at :func:`default_min_distance_m`. ``h_e_m`` (UMa/UMi):
    per-link effective environment heights overriding ``cfg.h_e_m`` (see :func:`effective_height_m`).
    """
    check_carrier(cfg.model, carrier_hz)
    d2d = np.asarray(d2d_m, dtype=float)
    h_bs = np.asarray(h_bs_m, dtype=float)
    h_ut = np.asarray(h_ut_m, dtype=float)
    for arg, val in (("d2d_m", d2d), ("h_bs_m", h_bs), ("h_ut_m", h_ut)):
        if not np.all(np.isfinite(val)):
            raise ValueError(f"{arg} must be finite, got {val}")
    if np.any(d2d < 0):
        raise ValueError(f"d2d_m must be >= 0, got min {d2d.min()}")
    d_min = default_min_distance_m(cfg)
    model = cfg.model
    fc_ghz = carrier_hz / 1e9
    dh2 = (h_bs - h_ut) ** 2

    if model in ("uma_los", "uma_nlos", "umi_los", "umi_nlos"):
        if np.any(h_bs <= 0) or np.any(h_ut <= 0):
            raise ValueError(f"38.901 heights must be > 0 m, got h_bs_m={h_bs_m}, h_ut_m={h_ut_m}")
        d2d = np.maximum(d2d, d_min)
        d3d = np.sqrt(d2d**2 + dh2)
        d_bp = breakpoint_distance_m(h_bs, h_ut, carrier_hz, effective_height_m(cfg, d2d, h_ut, h_e_m))
        family = model[:3]
        pl = _two_slope_los(family, d2d, d3d, fc_ghz, h_bs, h_ut, d_bp)
        if model == "uma_nlos":
            pl = np.maximum(pl, _uma_nlos_prime(d3d, fc_ghz, h_ut))
        elif model == "umi_nlos":
            pl = np.maximum(pl, _umi_nlos_prime(d3d, fc_ghz, h_ut))
        return pl

    if model in ("rma_los", "rma_nlos"):
        if np.any(h_bs <= 0) or np.any(h_ut <= 0):
            raise ValueError(f"38.901 heights must be > 0 m, got h_bs_m={h_bs_m}, h_ut_m={h_ut_m}")
        d2d = np.maximum(d2d, d_min)
        d3d = np.sqrt(d2d**2 + dh2)
        h = cfg.building_height_m if cfg.building_height_m is not None else 5.0
        pl = _rma_los(d2d, d3d, fc_ghz, carrier_hz, h_bs, h_ut, h)
        if model == "rma_nlos":
            w = cfg.street_width_m if cfg.street_width_m is not None else 20.0
            pl = np.maximum(pl, _rma_nlos_prime(d3d, fc_ghz, h_bs, h_ut, h, w))
        return pl

    d3d = np.maximum(np.sqrt(d2d**2 + dh2), d_min)
    if model == "free_space":
        return free_space_pathloss_db(d3d, carrier_hz)
    if model == "log_distance":
        d0 = cfg.d0_m if cfg.d0_m is not None else 1.0
        pl0 = cfg.pl0_db if cfg.pl0_db is not None else float(free_space_pathloss_db(d0, carrier_hz))
        return log_distance_pathloss_db(d3d, cfg.exponent, d0, pl0)
    if model == "inh_office_los":
        return _inh_los(d3d, fc_ghz)
    if model == "inh_office_nlos":
        return np.maximum(_inh_los(d3d, fc_ghz), _inh_nlos_prime(d3d, fc_ghz))
    if model == "inf_los":
        return _inf_los(d3d, fc_ghz)
    if model == "inf_nlos":
        return _inf_nlos(d3d, fc_ghz, cfg.inf_subscenario or "dl")
    raise ValueError(f"unknown path-loss model {model!r}")  # pragma: no cover - Literal guards it
