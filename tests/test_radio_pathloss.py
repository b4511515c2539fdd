"""Path loss against 3GPP TR 38.901 Table 7.4.1-1 and Friis at hand-computed points.

Common numbers (fc = 3.5 GHz): log10(3.5) = 0.5440680, 20 log10 fc = 10.881361,
21.3 log10 fc = 11.588649, 19 log10 fc = 10.337293.
"""

import numpy as np
import pytest
from pydantic import ValidationError

from edgefl.radio.config import ChannelConfig, PathLossConfig
from edgefl.radio.pathloss import breakpoint_distance_m, free_space_pathloss_db, pathloss_db

FC = 3.5e9


def pl(model, d2d, h_bs, h_ut, **kw):
    return float(pathloss_db(PathLossConfig(model=model, **kw), np.array(d2d), FC, h_bs, h_ut))


def test_free_space_friis():
    # 20 log10(4 pi 100 3.5e9 / 299792458) = 20 log10(14671.2...) = 83.32914 dB
    assert free_space_pathloss_db(100.0, FC) == pytest.approx(83.329144, abs=1e-5)
    # same heights -> d3D = d2D
    assert pl("free_space", 100.0, 1.5, 1.5) == pytest.approx(83.329144, abs=1e-5)
    # +20 dB per decade (inverse square law)
    assert free_space_pathloss_db(1000.0, FC) - free_space_pathloss_db(100.0, FC) == pytest.approx(20.0)


def test_log_distance_default_pl0_is_free_space_at_d0():
    # PL0 = FSPL(1 m) = 20 log10(4 pi 3.5e9 / c) = 43.329144; PL(200) = 43.329144 + 35 log10 200
    #     = 43.329144 + 35 x 2.3010300 = 123.865194 dB
    assert pl("log_distance", 200.0, 1.5, 1.5, exponent=3.5, d0_m=1.0) == pytest.approx(123.865194, abs=1e-5)
    # explicit PL0: 40 + 10 x 2 x log10(100 / 10) = 60
    assert pl("log_distance", 100.0, 1.5, 1.5, exponent=2.0, d0_m=10.0, pl0_db=40.0) == pytest.approx(60.0)


def test_breakpoint_distance():
    # UMa: h'BS = 25 - 1 = 24, h'UT = 1.5 - 1 = 0.5 -> 4 x 24 x 0.5 x 3.5e9 / 3e8 = 560 m
    assert breakpoint_distance_m(25.0, 1.5, FC) == pytest.approx(560.0)
    # UMi: 4 x 9 x 0.5 x 3.5e9 / 3e8 = 210 m
    assert breakpoint_distance_m(10.0, 1.5, FC) == pytest.approx(210.0)
    with pytest.raises(ValueError, match="h_e_m"):
        breakpoint_distance_m(25.0, 1.0, FC)


def test_uma_los_both_sides_of_breakpoint():
    # d2D = 100 < d'BP = 560: d3D = sqrt(100^2 + 23.5^2) = 102.724145, log10 = 2.0116725
    #   PL1 = 28 + 22 x 2.0116725 + 10.881361 = 83.138157
    assert pl("uma_los", 100.0, 25.0, 1.5) == pytest.approx(83.138157, abs=1e-5)
    # d2D = 1000 > d'BP: d3D = 1000.276087, log10 = 3.0001199;
    #   log10(560^2 + 23.5^2) = log10(314152.25) = 5.4971402
    #   PL2 = 28 + 40 x 3.0001199 + 10.881361 - 9 x 5.4971402 = 109.411895
    assert pl("uma_los", 1000.0, 25.0, 1.5) == pytest.approx(109.411895, abs=1e-5)


def test_umi_los_both_sides_of_breakpoint():
    # d2D = 50 < 210: d3D = sqrt(2500 + 8.5^2) = 50.717354, log10 = 1.7051566
    #   PL1 = 32.4 + 21 x 1.7051566 + 10.881361 = 79.089649
    assert pl("umi_los", 50.0, 10.0, 1.5) == pytest.approx(79.089649, abs=1e-5)
    # d2D = 500 > 210: d3D = 500.072245, log10 = 2.6990328; log10(210^2 + 8.5^2) = 4.6450987
    #   PL2 = 32.4 + 40 x 2.6990328 + 10.881361 - 9.5 x 4.6450987 = 107.113750
    assert pl("umi_los", 500.0, 10.0, 1.5) == pytest.approx(107.113750, abs=1e-5)


@pytest.mark.parametrize("model,h_bs", [("uma_los", 25.0), ("umi_los", 10.0)])
def test_los_continuous_at_breakpoint(model, h_bs):
    d_bp = float(breakpoint_distance_m(h_bs, 1.5, FC))
    below = pl(model, d_bp * (1 - 1e-9), h_bs, 1.5)
    above = pl(model, d_bp * (1 + 1e-9), h_bs, 1.5)
    assert abs(above - below) < 1e-6
    # slope changes from ~22 (or 21) to 40 dB/decade past the breakpoint
    far = pl(model, 10 * d_bp, h_bs, 1.5) - pl(model, d_bp * (1 + 1e-9), h_bs, 1.5)
    assert far == pytest.approx(40.0, abs=0.1)


def test_uma_nlos_takes_nlos_prime_when_larger():
    # d2D = 100: PL'_NLOS = 13.54 + 39.08 x 2.0116725 + 10.881361 - 0 = 103.037524 > PL_LOS 83.14
    assert pl("uma_nlos", 100.0, 25.0, 1.5) == pytest.approx(103.037524, abs=1e-5)


def test_uma_nlos_max_rule_takes_los_when_larger():
    # hUT = 22.5, d2D = 20: d3D = sqrt(400 + 2.5^2) = 20.155644, log10 = 1.3043967,
    #   d'BP = 4 x 24 x 21.5 x 3.5e9 / 3e8 = 24080 m, so LOS = PL1
    #   PL_LOS = 28 + 22 x 1.3043967 + 10.881361 = 67.578088
    #   PL'    = 13.54 + 39.08 x 1.3043967 + 10.881361 - 0.6 x 21 = 62.797183  -> max = LOS
    #   (h_E is random at hUT = 22.5 m, so it is fixed here; d2D = 20 m is below d'BP for every h_E)
    assert pl("uma_nlos", 20.0, 25.0, 22.5, h_e_m=1.0) == pytest.approx(67.578088, abs=1e-5)


def test_umi_nlos_both_branches_of_max():
    # d2D = 50, hUT 1.5: PL' = 35.3 x 1.7051566 + 22.4 + 11.588649 = 94.180677 > LOS 79.09
    assert pl("umi_nlos", 50.0, 10.0, 1.5) == pytest.approx(94.180677, abs=1e-5)
    # hBS = 20, hUT = 22.5, d2D = 3 (min distance lowered to 1 m): d3D = sqrt(9 + 6.25) = 3.905125,
    #   log10 = 0.5916349; LOS = 32.4 + 21 x 0.5916349 + 10.881361 = 55.705694;
    #   PL' = 35.3 x 0.5916349 + 22.4 + 11.588649 - 0.3 x 21 = 48.573362  -> max = LOS
    assert pl("umi_nlos", 3.0, 20.0, 22.5, min_distance_m=1.0) == pytest.approx(55.705694, abs=1e-5)


def test_inh_office():
    # d2D = sqrt(20^2 - 2^2) with hBS 3, hUT 1 -> d3D = 20, log10 = 1.3010300
    d2d = np.sqrt(400.0 - 4.0)
    # LOS = 32.4 + 17.3 x 1.30103 + 10.881361 = 65.789180
    assert pl("inh_office_los", d2d, 3.0, 1.0) == pytest.approx(65.789180, abs=1e-5)
    # NLOS' = 38.3 x 1.30103 + 17.3 + 24.9 x 0.544068 = 80.676743 > LOS
    assert pl("inh_office_nlos", d2d, 3.0, 1.0) == pytest.approx(80.676743, abs=1e-5)
    # d3D = 2: LOS = 32.4 + 17.3 x 0.30103 + 10.881361 = 48.489180; NLOS' = 42.376743 -> max = LOS
    assert pl("inh_office_nlos", 0.0, 3.0, 1.0) == pytest.approx(48.489180, abs=1e-5)


def test_inf():
    # d3D = 50 (same heights), log10 = 1.69897:
    #   LOS = 31.84 + 21.5 x 1.69897 + 10.337293 = 78.705148
    assert pl("inf_los", 50.0, 1.5, 1.5) == pytest.approx(78.705148, abs=1e-5)
    #   SL = 33 + 25.5 x 1.69897 + 10.881361 = 87.205096; DL = 18.6 + 35.7 x 1.69897 + 10.881361 = 90.134590
    #   SH = 32.4 + 23 x 1.69897 + 10.881361 = 82.357671; DH = 33.63 + 21.9 x 1.69897 + 10.881361 = 81.718804
    for sub, want in (("sl", 87.205096), ("dl", 90.134590), ("sh", 82.357671), ("dh", 81.718804)):
        assert pl("inf_nlos", 50.0, 1.5, 1.5, inf_subscenario=sub) == pytest.approx(want, abs=1e-5)
    assert pl("inf_nlos", 50.0, 1.5, 1.5) == pytest.approx(90.134590, abs=1e-5)  # default DL
    # d3D = 5 (log10 = 0.69897): DL law 18.6 + 35.7 x 0.69897 + 10.881361 = 54.434590 is below
    #   SL 33 + 25.5 x 0.69897 + 10.881361 = 61.705096 and LOS 57.205148 -> InF-DL returns SL
    assert pl("inf_nlos", 5.0, 1.5, 1.5, inf_subscenario="dl") == pytest.approx(61.705096, abs=1e-5)


def test_nlos_never_below_los_on_a_grid():
    d = np.geomspace(1.0, 5000.0, 400)
    for los, nlos, hb in (("uma_los", "uma_nlos", 25.0), ("umi_los", "umi_nlos", 10.0),
                          ("inh_office_los", "inh_office_nlos", 3.0), ("inf_los", "inf_nlos", 8.0)):
        a = pathloss_db(PathLossConfig(model=los), d, FC, hb, 1.5)
        b = pathloss_db(PathLossConfig(model=nlos), d, FC, hb, 1.5)
        assert np.all(b >= a - 1e-12)
        assert np.all(np.diff(a) >= -1e-12)  # monotone in distance


def test_clamping_below_validity():
    # UMa is valid for d2D >= 10 m: closer workers get the 10 m loss
    assert pl("uma_los", 0.0, 25.0, 1.5) == pl("uma_los", 10.0, 25.0, 1.5)
    assert pl("free_space", 0.0, 1.5, 1.5) == pytest.approx(float(free_space_pathloss_db(1.0, FC)))


def test_bad_inputs():
    cfg = PathLossConfig(model="uma_los")
    with pytest.raises(ValueError, match="d2d_m"):
        pathloss_db(cfg, np.array([-1.0]), FC, 25.0, 1.5)
    with pytest.raises(ValueError, match="d2d_m"):
        pathloss_db(cfg, np.array([np.nan]), FC, 25.0, 1.5)
    with pytest.raises(ValueError, match="carrier_hz"):
        pathloss_db(cfg, np.array([100.0]), 200e9, 25.0, 1.5)
    with pytest.raises(ValidationError, match="exponent"):
        PathLossConfig(model="log_distance")
    with pytest.raises(ValidationError, match="exponent"):
        PathLossConfig(model="uma_los", exponent=3.0)
    with pytest.raises(ValidationError, match="carrier_hz"):
        ChannelConfig(carrier_hz=0.1e9, pathloss={"model": "uma_los"}, noise_figure_db=7,
                      uplink_bandwidth_hz=1e6, downlink_bandwidth_hz=1e6)
