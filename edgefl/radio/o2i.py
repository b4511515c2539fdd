"""Outdoor-to-indoor building penetration loss, 3GPP TR 38.901 Sec. 7.4.3.1.

PL = PL_b + PL_tw + PL_in + N(0, sigma_P^2) (38.901 eq. 7.4-2): PL_b is the outdoor
path loss of Table 7.4.1-1 (over the whole d_3D), PL_tw the loss through the external
wall, PL_in = 0.5 d_2D-in the indoor loss, sigma_P the standard deviation of the
penetration loss. ``f`` is the carrier in GHz inside the formulas.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

BuildingType = Literal["low_loss", "high_loss"]

#: Standard deviation sigma_P of the penetration loss, 38.901 Table 7.4.3-2 (dB).
O2I_SIGMA_DB = {"low_loss": 4.4, "high_loss": 6.5}

#: Indoor loss per metre of d_2D-in, 38.901 Table 7.4.3-2 (both models).
INDOOR_LOSS_DB_PER_M = 0.5


def material_loss_db(material: str, fc_ghz) -> np.ndarray:
    """Penetration loss of one material, 38.901 Table 7.4.3-1: standard multi-pane glass
    2 + 0.2 f, IRR glass 23 + 0.3 f, concrete 5 + 4 f, wood 4.85 + 0.12 f (dB, f in GHz)."""
    f = np.asarray(fc_ghz, dtype=float)
    coef = {"glass": (2.0, 0.2), "irr_glass": (23.0, 0.3), "concrete": (5.0, 4.0), "wood": (4.85, 0.12)}
    if material not in coef:
        raise ValueError(f"unknown material {material!r}; allowed: {sorted(coef)}")
    a, b = coef[material]
    return a + b * f


def wall_loss_db(building: str, fc_ghz) -> np.ndarray:
    """External-wall loss PL_tw, 38.901 Table 7.4.3-2:
    low-loss  5 - 10 log10(0.3 10^(-L_glass/10) + 0.7 10^(-L_concrete/10)),
    high-loss 5 - 10 log10(0.7 10^(-L_IRRglass/10) + 0.3 10^(-L_concrete/10))."""
    if building == "low_loss":
        mix = (("glass", 0.3), ("concrete", 0.7))
    elif building == "high_loss":
        mix = (("irr_glass", 0.7), ("concrete", 0.3))
    else:
        raise ValueError(f"unknown building type {building!r}; allowed: ['high_loss', 'low_loss']")
    lin = sum(w * 10.0 ** (-material_loss_db(m, fc_ghz) / 10.0) for m, w in mix)
    return 5.0 - 10.0 * np.log10(lin)


def draw_indoor_distance(u1, u2, max_m: float) -> np.ndarray:
    """d_2D-in = min(U1, U2) max_m with U1, U2 ~ U[0, 1) independent (38.901 Sec. 7.4.3.1)."""
    return np.minimum(np.asarray(u1, dtype=float), np.asarray(u2, dtype=float)) * max_m


def penetration_loss_db(high_loss, fc_ghz: float, d2d_in_m, z) -> np.ndarray:
    """PL_tw + 0.5 d_2D-in + sigma_P z per link (Table 7.4.3-2), z ~ N(0, 1); ``high_loss``
    is a boolean array choosing the high-loss model per link."""
    hi = np.asarray(high_loss, dtype=bool)
    tw = np.where(hi, wall_loss_db("high_loss", fc_ghz), wall_loss_db("low_loss", fc_ghz))
    sigma = np.where(hi, O2I_SIGMA_DB["high_loss"], O2I_SIGMA_DB["low_loss"])
    return tw + INDOOR_LOSS_DB_PER_M * np.asarray(d2d_in_m, dtype=float) + sigma * np.asarray(z, dtype=float)
