"""LOS probability (3GPP TR 38.901 Table 7.4.2-1) at hand-computed points, empirical LOS
fractions against Pr_LOS, and the UMa effective environment height h_E (Table 7.4.1-1 Note 1)."""

import math

import numpy as np
import pytest

from edgefl.radio.config import PathLossConfig
from edgefl.radio.los import (
    draw_uma_h_e,
    inf_k_subscenario,
    los_probability,
    uma_c,
    uma_h_e_pmf,
)
from edgefl.radio.pathloss import pathloss_db


@pytest.mark.parametrize(
    ("scenario", "d", "h_ut", "expected"),
    [
        # RMa: 1 up to 10 m; exp(-(510 - 10)/1000) = e^-0.5 = 0.60653066
        ("rma", 5.0, 1.5, 1.0),
        ("rma", 10.0, 1.5, 1.0),
        ("rma", 510.0, 1.5, 0.60653066),
        # UMi: 1 up to 18 m; d = 36: 18/36 + e^-1 (1 - 1/2) = 0.5 + 0.18393972 = 0.68393972
        ("umi_street_canyon", 18.0, 1.5, 1.0),
        ("umi_street_canyon", 36.0, 1.5, 0.68393972),
        #   d = 100: 0.18 + e^-2.7778 (0.82) = 0.18 + 0.0621765 x 0.82 = 0.23098475
        ("umi_street_canyon", 100.0, 1.5, 0.23098475),
        # UMa, h_UT <= 13 m (C' = 0): d = 63: 18/63 + e^-1 (45/63) = 0.28571429 + 0.26277103 = 0.54848532
        ("uma", 63.0, 1.5, 0.54848532),
        ("uma", 63.0, 13.0, 0.54848532),
        ("uma", 10.0, 20.0, 1.0),
        # UMa, h_UT = 23 m (C' = 1): d = 150: base 0.12 + e^-2.38095 x 0.88 = 0.20136698,
        #   boost 1 + 1.25 x 1.5^3 x e^-1 = 2.55199139 -> 0.51388680
        ("uma", 150.0, 23.0, 0.51388680),
        # UMa, h_UT = 18 m: C' = 0.5^1.5 = 0.35355339; d = 100: base 0.18 + e^-1.5873 x 0.82 = 0.34767084,
        #   boost 1 + 0.35355339 x 1.25 x 1 x e^-0.6667 = 1.22690045 -> 0.42655751
        ("uma", 100.0, 18.0, 0.42655751),
        # InH mixed office: 1 to 1.2 m; exp(-(3.55 - 1.2)/4.7) = e^-0.5; 0.32 at 6.5 m; 0.32 e^-1 at 39.1 m
        ("inh_office_mixed", 1.2, 1.0, 1.0),
        ("inh_office_mixed", 3.55, 1.0, 0.60653066),
        ("inh_office_mixed", 6.5, 1.0, 0.32),
        ("inh_office_mixed", 39.1, 1.0, 0.11772142),
        # InH open office: 1 to 5 m; e^-0.5 at 40.4 m; exp(-44/70.8) = 0.53715482 at 49 m; 0.54 e^-1 at 260.7 m
        ("inh_office_open", 5.0, 1.0, 1.0),
        ("inh_office_open", 40.4, 1.0, 0.60653066),
        ("inh_office_open", 49.0, 1.0, 0.53715482),
        ("inh_office_open", 260.7, 1.0, 0.19865490),
        ("inf_hh", 300.0, 1.5, 1.0),
    ],
)
def test_pr_los_table_points(scenario, d, h_ut, expected):
    assert float(los_probability(scenario, d, h_ut)) == pytest.approx(expected, abs=1e-8)


def test_pr_los_inf_clutter():
    # InF-SL: d_clutter 10 m, r = 0.2: k = -10 / ln 0.8 = 44.814201; Pr(k) = e^-1, Pr(k ln 2) = 1/2
    k_sl = 44.81420118
    assert float(inf_k_subscenario("inf_sl", 10.0, 0.2, 2.0, 1.5, 1.5)) == pytest.approx(k_sl, abs=1e-7)
    assert float(los_probability("inf_sl", k_sl, clutter=(10.0, 0.2, 2.0))) == pytest.approx(math.exp(-1), abs=1e-9)
    assert float(los_probability("inf_sl", k_sl * math.log(2), clutter=(10.0, 0.2, 2.0))) == pytest.approx(0.5)
    # InF-DL: d_clutter 2 m, r = 0.6: k = -2 / ln 0.4 = 2.1827133; Pr(10 m) = exp(-10/2.1827133) = 0.0102399
    assert float(los_probability("inf_dl", 10.0, clutter=(2.0, 0.6, 6.0))) == pytest.approx(
        math.exp(-10.0 / 2.1827133), rel=1e-7)
    # InF-SH: k = 44.814201 x (h_BS - h_UT)/(h_c - h_UT) = 44.814201 x 6.5 / 0.5 = 582.58462
    assert float(los_probability("inf_sh", 582.58462, 1.5, h_bs_m=8.0, clutter=(10.0, 0.2, 2.0))) == pytest.approx(
        math.exp(-1), rel=1e-7)
    # InF-DH: same with DL clutter, h_c = 6 m, h_BS = 8 m, h_UT = 1.5 m: k = 2.1827133 x 6.5 / 4.5 = 3.1528082
    assert float(los_probability("inf_dh", 3.1528082, 1.5, h_bs_m=8.0, clutter=(2.0, 0.6, 6.0))) == pytest.approx(
        math.exp(-1), rel=1e-7)
    with pytest.raises(ValueError, match="h_UT < h_c < h_BS"):
        los_probability("inf_sh", 10.0, 1.5, h_bs_m=1.8, clutter=(10.0, 0.2, 2.0))


def test_pr_los_properties():
    d = np.linspace(0.0, 2000.0, 4001)
    for sc in ("rma", "umi_street_canyon", "uma", "inh_office_mixed", "inh_office_open"):
        p = los_probability(sc, d, 1.5)
        assert np.all((p >= 0) & (p <= 1))
        # non-increasing with distance, except the table's own step at 49 m in open office:
        # exp(-44/70.8) = 0.5372 just below, 0.54 at 49+ m
        jump = np.diff(p) > 1e-15
        assert not np.any(jump) if sc != "inh_office_open" else d[1:][jump].tolist() == [49.5]
    # taller UMa terminals see LOS more often (C'(h_UT) grows with h_UT)
    assert np.all(los_probability("uma", d, 20.0) >= los_probability("uma", d, 1.5))
    with pytest.raises(ValueError, match="UMa h_UT"):
        los_probability("uma", 100.0, 30.0)
    with pytest.raises(ValueError, match="unknown LOS-probability scenario"):
        los_probability("umx", 100.0)


def _ci_halfwidth(p: float, n: int, z: float = 3.29) -> float:
    """99.9 % normal-approximation confidence half-width of a binomial proportion."""
    return z * math.sqrt(p * (1 - p) / n)


@pytest.mark.parametrize(("profile", "d", "h_z"), [
    ("umi_street_canyon", 60.0, 1.5), ("uma", 120.0, 20.0), ("indoor_office_mixed", 12.0, 1.0),
])
def test_empirical_los_fraction_matches_pr_los(profile, d, h_z):
    """N workers on a circle of radius d, each with its own seeded LOS draw: the LOS share
    lies in the 99.9 % CI of Pr_LOS(d)."""
    from edgefl import catalog
    from edgefl.radio.config import ChannelConfig
    from edgefl.radio.environment import RadioEnvironment
    from edgefl.radio.heights import nominal_heights_m

    raw = catalog.load_profile("channels", profile, [])
    raw.pop("o2i", None)  # outdoor workers: Pr_LOS of the full distance
    cfg = ChannelConfig.model_validate(raw)
    n = 1500
    phi = np.linspace(0, 2 * np.pi, n, endpoint=False)
    pos = np.column_stack([d * np.cos(phi), d * np.sin(phi), np.full(n, h_z)])
    h_bs = nominal_heights_m(cfg)[0]  # the profile's model at its nominal BS height
    env = RadioEnvironment(cfg, pos, np.array([0.0, 0.0, h_bs]), np.full(n, 23.0), 30.0, seed=7)
    p = float(los_probability(cfg.los_state.probability, d, h_z))
    assert np.allclose(env.links.pr_los, p)
    assert abs(env.links.los.mean() - p) < _ci_halfwidth(p, n)


# ---- h_E ---------------------------------------------------------------------------------


def test_uma_h_e_pmf_hand_computed():
    # h_UT = 22.5 m, d_2D = 100 m: C = (0.95)^1.5 x 1.25 x 1 x e^-0.6667 = 0.59424531,
    #   P(h_E = 1) = 1/1.59424531 = 0.62725604, the rest uniform over {12, 15, 18, 21}
    vals, probs = uma_h_e_pmf(100.0, 22.5)
    assert vals.tolist() == [1.0, 12.0, 15.0, 18.0, 21.0]
    assert probs[0] == pytest.approx(0.62725604, abs=1e-8)
    assert probs[1:] == pytest.approx([(1 - 0.62725604) / 4] * 4, abs=1e-8)
    assert probs.sum() == pytest.approx(1.0)
    # h_UT < 13 m or d_2D <= 18 m: C = 0, h_E = 1 m surely
    assert float(uma_c(100.0, 12.9)) == 0.0 and float(uma_c(18.0, 22.5)) == 0.0
    assert uma_h_e_pmf(300.0, 10.0)[0].tolist() == [1.0]
    # h_UT = 13.2 m: C > 0 but {12, ..., 11.7} is empty -> 1 m
    assert uma_h_e_pmf(100.0, 13.2)[0].tolist() == [1.0]
    # h_UT = 16.5 m: {12, 15}
    assert uma_h_e_pmf(100.0, 16.5)[0].tolist() == [1.0, 12.0, 15.0]


def test_drawn_h_e_frequencies_match_pmf():
    rng = np.random.default_rng(3)
    n = 40_000
    h = draw_uma_h_e(np.full(n, 100.0), 22.5, rng.random(n), rng.random(n))
    vals, probs = uma_h_e_pmf(100.0, 22.5)
    for v, p in zip(vals, probs):
        assert abs(np.mean(h == v) - p) < _ci_halfwidth(p, n)
    assert set(np.unique(h)) <= set(vals)


@pytest.mark.parametrize(("fc_hz", "d2d", "h_ut"), [
    # d'BP = 4 (25 - h_E)(h_UT - h_E) f_c / c: beyond it for the tall h_E values, below it for h_E = 1 m
    (0.7e9, 300.0, 22.5), (2.0e9, 500.0, 19.5), (3.5e9, 600.0, 22.5), (0.9e9, 400.0, 22.0),
])
def test_mean_uma_los_pathloss_over_drawn_h_e(fc_hz, d2d, h_ut):
    """Mean UMa LOS path loss of many links, each with its own seeded h_E (through the
    environment), equals sum_i P(h_E = h_i) PL(h_i) within 4 standard errors."""
    from edgefl.radio.config import ChannelConfig
    from edgefl.radio.environment import RadioEnvironment

    cfg = ChannelConfig(carrier_hz=fc_hz, pathloss={"model": "uma_los"}, noise_figure_db=5.0,
                        uplink_bandwidth_hz=1e6, downlink_bandwidth_hz=1e6)
    n = 2000
    phi = np.linspace(0, 2 * np.pi, n, endpoint=False)
    pos = np.column_stack([d2d * np.cos(phi), d2d * np.sin(phi), np.full(n, h_ut)])
    env = RadioEnvironment(cfg, pos, np.array([0.0, 0.0, 25.0]), np.full(n, 23.0), 30.0, seed=11)
    vals, probs = uma_h_e_pmf(d2d, h_ut)
    pl_given = np.array([float(pathloss_db(cfg.pathloss, d2d, fc_hz, 25.0, h_ut, h)) for h in vals])
    assert np.ptp(pl_given) > 1.0  # the point is one where h_E matters
    expected = float(probs @ pl_given)
    pl = env.pathloss_db
    assert abs(pl.mean() - expected) < 4 * pl.std() / math.sqrt(n)
    # and every link's loss is the formula at its own drawn h_E
    assert np.allclose(pl, pathloss_db(cfg.pathloss, env.distance_2d_m, fc_hz, 25.0, h_ut, env.links.h_e_m))
    # a fixed h_E = 1 m is biased there (the point): it is the lowest-h_E value
    fixed = float(pathloss_db(PathLossConfig(model="uma_los", h_e_m=1.0), d2d, fc_hz, 25.0, h_ut))
    assert fixed == pytest.approx(pl_given[0])


def test_standard_h_e_without_draws_only_where_certain():
    cfg = PathLossConfig(model="uma_los")
    # h_UT < 13 m: h_E = 1 m exactly, same as the fixed value
    assert float(pathloss_db(cfg, 800.0, 3.5e9, 25.0, 1.5)) == float(
        pathloss_db(PathLossConfig(model="uma_los", h_e_m=1.0), 800.0, 3.5e9, 25.0, 1.5))
    with pytest.raises(ValueError, match="draw_uma_h_e"):
        pathloss_db(cfg, 800.0, 3.5e9, 25.0, 20.0)


def test_fixed_h_e_warns_for_tall_uma_terminals():
    from edgefl.radio.config import ChannelConfig
    from edgefl.radio.environment import RadioEnvironment

    cfg = ChannelConfig(carrier_hz=3.5e9, pathloss={"model": "uma_los", "h_e_m": 1.0}, noise_figure_db=5.0,
                        uplink_bandwidth_hz=1e6, downlink_bandwidth_hz=1e6)
    pos = np.array([[100.0, 0.0, 1.5], [200.0, 0.0, 16.0]])
    with pytest.warns(UserWarning, match="h_UT >= 13 m"):
        RadioEnvironment(cfg, pos, np.array([0.0, 0.0, 25.0]), 23.0, 30.0, seed=1)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        RadioEnvironment(cfg, pos[:1], np.array([0.0, 0.0, 25.0]), 23.0, 30.0, seed=1)
