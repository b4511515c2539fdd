"""Antenna heights of a 3GPP TR 38.901 link: where they come from and where the model holds.

Source of the heights (in this order):

1. ``pathloss.h_bs_m`` / ``h_ut_m`` of the channel, when set: a pin that overrides the
   scenario geometry for every worker (e.g. a what-if at the standard's calibration heights).
2. The scenario geometry: the server's z (``server.position[2]``) and each worker's z
   (``workers.placement.height_m``, a 3-D point of an explicit placement, or
   ``workers.overrides[i].position``).
3. Where the scenario gives no height, :func:`nominal_heights_m` fills it in at load time
   (the standard's evaluation heights below), so a scenario that only names a 38.901
   profile gets the geometry the profile was calibrated for, as before the heights moved
   out of the profiles.

Validity (:func:`check_heights`). A height outside the range in which 38.901 Table 7.4.1-1
states its formula applies, or a geometry the formula cannot evaluate, is an **error**; a
height inside that range but different from the standard's nominal evaluation value (Tables
7.2-1 to 7.2-4) is a **warning**: the formula still applies, the calibration of its
shadowing, LOS probability and fading parameters does not.

=========  ======================================  =========================================
model      error (formula outside its range)        warning (calibration height differs)
=========  ======================================  =========================================
RMa        h_BS outside 10-150 m, h_UT outside     h_BS != 35 m, h_UT != 1.5 m
           1-10 m (Table 7.4.1-1)                  (Table 7.2-3)
UMa        h_UT outside 1.5-22.5 m (Table          h_BS != 25 m (Table 7.4.1-1 / 7.2-1)
           7.4.1-1); h_BS <= h_UT (above-rooftop
           BS; h'_BS = h_BS - h_E > 0 for every
           h_E <= h_UT - 1.5 m of Note 1)
UMi        h_UT outside 1.5-22.5 m (Table          h_BS != 10 m (Table 7.4.1-1 / 7.2-1)
           7.4.1-1); h_BS <= h_E (Note 1: d'_BP
           needs h_BS - h_E > 0)
InH        none (PL depends on d_3D only)          h_BS != 3 m (ceiling), h_UT != 1 m
                                                   (Table 7.2-2)
InF        h_BS or h_UT above 25 m (the highest    h_BS != 1.5 m (SL, DL) / 8 m (SH, DH),
           hall ceiling of Table 7.2-4); SH/DH:    h_UT != 1.5 m (Table 7.2-4)
           not h_UT < h_c < h_BS; SL/DL: h_BS >=
           h_c (a low BS is below the clutter)
=========  ======================================  =========================================

Every 38.901 height must be > 0 m (the formulas take logarithms of them). UMa/UMi with a fixed
``pathloss.h_e_m``: both heights must exceed it (Note 1).

38.901 Table 7.2-4 (InF), the rows used here: ceiling height 5-25 m; effective clutter height
h_c 0-10 m and below the ceiling; BS height 1.5 m (InF-SL, InF-DL: "low BS", below the
clutter) and 8 m (InF-SH, InF-DH: "high BS", above the clutter); UT height 1.5 m.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from edgefl.diagnostics import ScenarioWarning
from edgefl.radio.config import TR38901_MODELS, ChannelConfig


class HeightWarning(ScenarioWarning):
    """An antenna height inside the 38.901 formula's range but not the standard's nominal value
    (an error with ``--strict``)."""


@dataclass(frozen=True)
class HeightRule:
    """Nominal heights (first = the default) and the validity ranges of one 38.901 model family."""

    family: str
    nominal_bs_m: tuple[float, ...]
    nominal_ut_m: tuple[float, ...]
    bs_range_m: tuple[float, float]
    ut_range_m: tuple[float, float]
    nominal_source: str
    range_source: str


_INF_CEILING_M = 25.0  # 38.901 Table 7.2-4: ceiling height 5-25 m

RULES = {
    "rma": HeightRule("RMa", (35.0,), (1.5,), (10.0, 150.0), (1.0, 10.0), "38.901 Table 7.4.1-1 defaults / Table 7.2-3",
                      "38.901 Table 7.4.1-1 (RMa: 10 m <= h_BS <= 150 m, 1 m <= h_UT <= 10 m)"),
    "uma": HeightRule("UMa", (25.0,), (1.5,), (0.0, math.inf), (1.5, 22.5), "38.901 Table 7.4.1-1 / 7.2-1",
                      "38.901 Table 7.4.1-1 (UMa: h_BS = 25 m, 1.5 m <= h_UT <= 22.5 m)"),
    "umi": HeightRule("UMi street canyon", (10.0,), (1.5,), (0.0, math.inf), (1.5, 22.5),
                      "38.901 Table 7.4.1-1 / 7.2-1",
                      "38.901 Table 7.4.1-1 (UMi: h_BS = 10 m, 1.5 m <= h_UT <= 22.5 m)"),
    "inh": HeightRule("InH-Office", (3.0,), (1.0,), (0.0, math.inf), (0.0, math.inf), "38.901 Table 7.2-2",
                      "38.901 Table 7.4.1-1 (InH: PL depends on d_3D only)"),
    "inf": HeightRule("InF", (1.5, 8.0), (1.5,), (0.0, _INF_CEILING_M), (0.0, _INF_CEILING_M), "38.901 Table 7.2-4",
                      "38.901 Table 7.2-4 (InF: antennas below the hall ceiling, 5-25 m)"),
}
_INF_LOW, _INF_HIGH = ("inf_sl", "inf_dl"), ("inf_sh", "inf_dh")


def _inf_subscenario(ch: ChannelConfig) -> str | None:
    """inf_sl / inf_dl / inf_sh / inf_dh when the channel says which InF sub-scenario it is."""
    if ch.los_state is not None and ch.los_state.probability.startswith("inf_"):
        return ch.los_state.probability
    if ch.pathloss.model == "inf_nlos":
        return f"inf_{ch.pathloss.inf_subscenario or 'dl'}"
    return None


def height_rule(ch: ChannelConfig) -> HeightRule | None:
    """The height rule of the channel's path-loss model (None: not a 38.901 model or a trace)."""
    if ch.pathloss.model not in TR38901_MODELS or ch.trace is not None:
        return None
    rule = RULES[ch.pathloss.model.split("_")[0]]
    sub = _inf_subscenario(ch)
    if sub in _INF_LOW:
        return HeightRule(**{**rule.__dict__, "family": f"InF-{sub[4:].upper()}", "nominal_bs_m": (1.5,)})
    if sub in _INF_HIGH:
        return HeightRule(**{**rule.__dict__, "family": f"InF-{sub[4:].upper()}", "nominal_bs_m": (8.0,)})
    return rule


def nominal_heights_m(ch: ChannelConfig) -> tuple[float, float] | None:
    """(h_BS, h_UT) the standard evaluates the channel's 38.901 model at; None for other models."""
    rule = height_rule(ch)
    return None if rule is None else (rule.nominal_bs_m[0], rule.nominal_ut_m[0])


def link_heights_m(ch: ChannelConfig, server_z: float, worker_z: np.ndarray) -> tuple[float, np.ndarray]:
    """(h_BS, h_UT per worker): the channel's pins ``pathloss.h_bs_m`` / ``h_ut_m`` where set,
    else the server's and the workers' z."""
    pl = ch.pathloss
    z = np.asarray(worker_z, dtype=float)
    pinned = pl.model in TR38901_MODELS
    h_bs = float(pl.h_bs_m) if pinned and pl.h_bs_m is not None else float(server_z)
    h_ut = np.full(z.shape, float(pl.h_ut_m)) if pinned and pl.h_ut_m is not None else z.copy()
    return h_bs, h_ut


@dataclass(frozen=True)
class HeightIssue:
    """One height problem: which end (``bs`` the server, ``ut`` workers), the workers concerned
    (empty for ``bs``), the offending value, what is allowed, and whether it is an error."""

    end: Literal["bs", "ut"]
    workers: tuple[int, ...]
    value: float
    message: str
    error: bool


def _ut_issue(h_ut: np.ndarray, bad: np.ndarray, message: str, error: bool) -> HeightIssue | None:
    idx = tuple(int(i) for i in np.flatnonzero(bad))
    return HeightIssue("ut", idx, float(h_ut[idx[0]]), message, error) if idx else None


#: Highest indoor UT of ``o2i.indoor_height: floors``: 3 (8 - 1) + 1.5 m (38.901 Table 7.2-1).
MAX_FLOOR_HEIGHT_M = 22.5


def check_heights(ch: ChannelConfig, h_bs_m: float, h_ut_m: np.ndarray, floors: bool = False) -> list[HeightIssue]:
    """Errors and warnings of the heights (h_BS, h_UT per worker) for the channel's 38.901 model
    (see the module docstring for which is which); [] for other models. ``floors``: some workers
    will be put on random floors (``o2i.indoor_height: floors``), up to :data:`MAX_FLOOR_HEIGHT_M`."""
    rule = height_rule(ch)
    if rule is None:
        return []
    h_ut = np.atleast_1d(np.asarray(h_ut_m, dtype=float))
    fam = rule.family
    out: list[HeightIssue | None] = []

    def bs(msg: str, error: bool) -> None:
        out.append(HeightIssue("bs", (), float(h_bs_m), msg, error))

    lo, hi = rule.bs_range_m
    if h_bs_m <= 0 or not lo <= h_bs_m <= hi:
        bs(f"{fam} BS height must be > 0 m and within [{lo:g}, {hi:g}] m, {rule.range_source}", True)
    elif not any(math.isclose(h_bs_m, n) for n in rule.nominal_bs_m):
        nominal = " or ".join(f"{n:g}" for n in rule.nominal_bs_m)
        bs(f"{fam} is calibrated for a {nominal} m BS ({rule.nominal_source}); the path-loss formula "
           "still applies, its shadowing / LOS / fading calibration does not", False)
    lo, hi = rule.ut_range_m
    bad_ut = (h_ut <= 0) | (h_ut < lo) | (h_ut > hi)
    out.append(_ut_issue(h_ut, bad_ut, f"{fam} UT height must be > 0 m and within [{lo:g}, {hi:g}] m, "
                                       f"{rule.range_source}", True))
    off = ~bad_ut & ~np.any([np.isclose(h_ut, n) for n in rule.nominal_ut_m], axis=0)
    out.append(_ut_issue(h_ut, off, f"{fam} is calibrated for {rule.nominal_ut_m[0]:g} m terminals "
                                    f"({rule.nominal_source}); the formula holds within [{lo:g}, {hi:g}] m", False))
    model = ch.pathloss.model
    if model.startswith("uma"):
        out.append(_ut_issue(h_ut, h_ut >= h_bs_m, f"UMa needs the BS above every terminal (h_BS = {h_bs_m:g} m "
                             "must exceed h_UT: above-rooftop macro BS, and h'_BS = h_BS - h_E > 0 for every "
                             "h_E <= h_UT - 1.5 m, 38.901 Table 7.4.1-1 Note 1)", True))
    if model.startswith("uma") and floors and h_bs_m <= MAX_FLOOR_HEIGHT_M:
        bs(f"UMa needs the BS above every terminal; o2i.indoor_height: floors puts indoor terminals up to "
           f"{MAX_FLOOR_HEIGHT_M:g} m (38.901 Table 7.2-1)", True)
    if model[:3] in ("uma", "umi") and (ch.pathloss.h_e_m != "standard" or model.startswith("umi")):
        h_e = 1.0 if ch.pathloss.h_e_m == "standard" else float(ch.pathloss.h_e_m)
        if h_bs_m <= h_e:
            bs(f"the breakpoint distance needs h_BS > h_E = {h_e:g} m (38.901 Table 7.4.1-1 Note 1)", True)
        out.append(_ut_issue(h_ut, h_ut <= h_e, f"the breakpoint distance needs h_UT > h_E = {h_e:g} m "
                                                "(38.901 Table 7.4.1-1 Note 1)", True))
    sub = _inf_subscenario(ch)
    los = ch.los_state
    if sub is not None and los is not None and los.clutter_height_m is not None:
        h_c = los.clutter_height_m
        if sub in _INF_HIGH:
            if h_bs_m <= h_c:
                bs(f"{fam} (high BS) needs h_BS above the clutter height h_c = {h_c:g} m (38.901 Table 7.2-4; "
                   "k_subsce of Table 7.4.2-1 uses (h_BS - h_UT) / (h_c - h_UT))", True)
            out.append(_ut_issue(h_ut, h_ut >= h_c, f"{fam} needs h_UT below the clutter height h_c = {h_c:g} m "
                                 "(38.901 Table 7.2-4 / 7.4.2-1)", True))
        elif h_bs_m >= h_c:
            bs(f"{fam} (low BS) needs h_BS below the clutter height h_c = {h_c:g} m (38.901 Table 7.2-4); "
               "a BS above the clutter is InF-SH / InF-DH", True)
    return [i for i in out if i is not None]
