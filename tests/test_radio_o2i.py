"""Outdoor-to-indoor penetration loss, 3GPP TR 38.901 Sec. 7.4.3.1 (Tables 7.4.3-1, 7.4.3-2)."""

import math

import numpy as np
import pytest

from edgefl.radio.o2i import (
    O2I_SIGMA_DB,
    draw_indoor_distance,
    material_loss_db,
    penetration_loss_db,
    wall_loss_db,
)


def test_material_losses_table_7_4_3_1():
    # 3.5 GHz: glass 2 + 0.7 = 2.7, IRR glass 23 + 1.05 = 24.05, concrete 5 + 14 = 19, wood 4.85 + 0.42 = 5.27
    assert float(material_loss_db("glass", 3.5)) == pytest.approx(2.7)
    assert float(material_loss_db("irr_glass", 3.5)) == pytest.approx(24.05)
    assert float(material_loss_db("concrete", 3.5)) == pytest.approx(19.0)
    assert float(material_loss_db("wood", 3.5)) == pytest.approx(5.27)
    with pytest.raises(ValueError, match="unknown material"):
        material_loss_db("brick", 3.5)


def test_wall_loss_hand_computed():
    # low-loss, 3.5 GHz: 0.3 x 10^-0.27 + 0.7 x 10^-1.9 = 0.16110960 + 0.00881249 = 0.16992209
    #   -> 5 - 10 log10(0.16992209) = 5 + 7.69750 = 12.69750 dB
    assert float(wall_loss_db("low_loss", 3.5)) == pytest.approx(12.697503, abs=1e-5)
    # high-loss, 3.5 GHz: 0.7 x 10^-2.405 + 0.3 x 10^-1.9 = 0.00275485 + 0.00377678 = 0.00653163
    #   -> 5 + 21.84979 = 26.84979 dB
    assert float(wall_loss_db("high_loss", 3.5)) == pytest.approx(26.849786, abs=1e-5)
    # 28 GHz: low 0.3 x 10^-0.76 + 0.7 x 10^-11.7 -> 17.828787; high 0.7 x 10^-3.14 + 0.3 x 10^-11.7 -> 37.949020
    assert float(wall_loss_db("low_loss", 28.0)) == pytest.approx(17.828787, abs=1e-5)
    assert float(wall_loss_db("high_loss", 28.0)) == pytest.approx(37.949020, abs=1e-5)
    # at 100 GHz concrete (405 dB) passes nothing: low-loss -> 5 + L_glass - 10 log10 0.3
    assert float(wall_loss_db("low_loss", 100.0)) == pytest.approx(5 + 22 - 10 * math.log10(0.3), abs=1e-3)


def test_penetration_loss_formula_points():
    # indoor distance term 0.5 d_2D-in, plus sigma_P z
    hi = np.array([False, True, False])
    d_in = np.array([0.0, 10.0, 4.0])
    z = np.array([0.0, 0.0, 1.0])
    got = penetration_loss_db(hi, 3.5, d_in, z)
    assert got == pytest.approx([12.697503, 26.849786 + 5.0, 12.697503 + 2.0 + 4.4], abs=1e-5)


def test_indoor_distance_distribution():
    # min of two U(0, 25): CDF 1 - (1 - x/25)^2, mean 25/3
    rng = np.random.default_rng(5)
    n = 50_000
    d = draw_indoor_distance(rng.random(n), rng.random(n), 25.0)
    assert d.min() >= 0 and d.max() < 25.0
    assert abs(d.mean() - 25.0 / 3.0) < 4 * d.std() / math.sqrt(n)
    for x in (2.0, 8.0, 16.0):
        p = 1 - (1 - x / 25.0) ** 2
        assert abs(np.mean(d <= x) - p) < 3.29 * math.sqrt(p * (1 - p) / n)


@pytest.mark.parametrize("building", ["low_loss", "high_loss"])
def test_spread_of_drawn_penetration_loss_matches_sigma(building):
    """Through the environment: indoor workers' O2I loss minus PL_tw + 0.5 d_in has std sigma_P
    (99.9 % CI of a sample std: sigma (1 +- 3.29 / sqrt(2 n))) and mean 0."""
    from edgefl.radio.config import ChannelConfig
    from edgefl.radio.environment import RadioEnvironment

    cfg = ChannelConfig(carrier_hz=3.5e9, pathloss={"model": "umi_nlos"}, noise_figure_db=5.0,
                        uplink_bandwidth_hz=1e6, downlink_bandwidth_hz=1e6,
                        o2i={"indoor_fraction": 1.0, "high_loss_fraction": 1.0 if building == "high_loss" else 0.0})
    n = 2000
    phi = np.linspace(0, 2 * np.pi, n, endpoint=False)
    pos = np.column_stack([80 * np.cos(phi), 80 * np.sin(phi), np.full(n, 1.5)])
    env = RadioEnvironment(cfg, pos, np.array([0.0, 0.0, 10.0]), np.full(n, 23.0), 30.0, seed=2)
    lk = env.links
    assert lk.indoor.all() and (lk.high_loss == (building == "high_loss")).all()
    resid = lk.o2i_loss_db - float(wall_loss_db(building, 3.5)) - 0.5 * lk.d2d_in_m
    sigma = O2I_SIGMA_DB[building]
    assert abs(resid.std() - sigma) < 3.29 * sigma / math.sqrt(2 * n)
    assert abs(resid.mean()) < 4 * sigma / math.sqrt(n)
    assert abs(lk.d2d_in_m.mean() - 25.0 / 3.0) < 0.5
    # the O2I loss is on top of the outdoor path loss
    from edgefl.radio.pathloss import pathloss_db

    outdoor = pathloss_db(cfg.pathloss, env.distance_2d_m, 3.5e9, 10.0, 1.5)
    assert env.pathloss_db == pytest.approx(outdoor + lk.o2i_loss_db)
