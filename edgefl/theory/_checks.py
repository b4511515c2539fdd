"""Argument checks and unit conversion shared by the theory functions."""

from __future__ import annotations

import math

import numpy as np

LN2 = math.log(2.0)
UNITS = ("bits", "nats")


def positive(name: str, value) -> np.ndarray:
    """Return ``value`` as a float array; ValueError unless every entry is finite and > 0."""
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a positive number or array of numbers, got {value!r}") from None
    bad = ~(arr > 0) | np.isinf(arr)
    if np.any(bad):
        shown = arr[bad].ravel()[:3].tolist()
        raise ValueError(f"{name} must be positive and finite, got {shown} (shape {arr.shape})")
    return arr


def count(name: str, value) -> int:
    """A positive integer count (K, params)."""
    try:
        ok = not isinstance(value, bool) and int(value) == value and int(value) >= 1
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def unit_factor(unit: str) -> float:
    """Divide a value in nats by this factor to express it in ``unit``."""
    if unit == "bits":
        return LN2
    if unit == "nats":
        return 1.0
    raise ValueError(f"unit must be one of {UNITS}, got {unit!r}")


def check_distortion(D, d_min, what: str = "sigma_N^2 / K") -> None:
    """ValueError unless D > d_min (the distortion of error-free transmission)."""
    D_arr = np.asarray(D, dtype=float)
    if np.any(~(D_arr > d_min)):
        raise ValueError(
            f"D must exceed the error-free distortion {what} = {np.max(d_min):.6g}, got {D}; "
            "no finite rate reaches it (RD paper, Corollary 2 needs K D > sigma_N^2)"
        )
