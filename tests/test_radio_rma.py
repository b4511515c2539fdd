"""3GPP TR 38.901 RMa path loss (Table 7.4.1-1) at hand-computed points and the mixed RMa profile."""

import numpy as np
import pytest
from pydantic import ValidationError

from edgefl import catalog
from edgefl.radio.config import ChannelConfig, PathLossConfig
from edgefl.radio.environment import RadioEnvironment
from edgefl.radio.los import los_probability
from edgefl.radio.pathloss import pathloss_db, rma_breakpoint_distance_m

FC = 3.5e9


def pl(model, d2d, **kw):
    return float(pathloss_db(PathLossConfig(model=model, **kw), np.array(d2d), FC, 35.0, 1.5))


def test_rma_breakpoint():
    # d_BP = 2 pi x 35 x 1.5 x 3.5e9 / 3e8 = 3848.4510 m
    assert float(rma_breakpoint_distance_m(35.0, 1.5, FC)) == pytest.approx(3848.4510, abs=1e-4)


def test_rma_los_and_nlos_points():
    # h = 5: 0.03 h^1.72 = 0.4779139, 0.044 h^1.72 = 0.7009404, 0.002 log10 5 = 0.0013979
    # d2D = 1000: d3D = sqrt(1000^2 + 33.5^2) = 1000.56097, below d_BP -> PL1
    #   20 log10(40 pi x 1000.56097 x 3.5 / 3) = 103.3374; + 0.4779139 x 3.0002436 - 0.7009404
    #   + 0.0013979 x 1000.56097 = 105.459646
    assert pl("rma_los", 1000.0) == pytest.approx(105.459646, abs=1e-5)
    # NLOS': 161.04 - 7.1 log10 20 + 7.5 log10 5 - (24.37 - 3.7 (5/35)^2) log10 35
    #   + (43.42 - 3.1 log10 35)(log10 1000.56097 - 3) + 20 log10 3.5 - (3.2 log10(17.625)^2 - 4.97)
    #   = 130.424306 > LOS -> NLOS = NLOS'
    assert pl("rma_nlos", 1000.0) == pytest.approx(130.424306, abs=1e-5)
    # d2D = 5000 > d_BP: PL2 = PL1(d_BP) + 40 log10(5000.11222 / 3848.4510) = 125.969025
    assert pl("rma_los", 5000.0) == pytest.approx(125.969025, abs=1e-5)
    assert pl("rma_nlos", 5000.0) == pytest.approx(157.418853, abs=1e-5)
    # continuity of the LOS law at d_BP (PL2 is anchored at PL1(d_BP)), up to the d2D/d3D offset
    d_bp = 3848.4510
    assert pl("rma_los", d_bp * (1 - 1e-9)) == pytest.approx(pl("rma_los", d_bp * (1 + 1e-9)), abs=0.01)


def test_rma_parameters_and_carrier_range():
    with pytest.raises(ValidationError, match="street_width_m not used"):
        PathLossConfig(model="rma_los", street_width_m=20.0)
    with pytest.raises(ValidationError, match="building_height_m not used"):
        PathLossConfig(model="uma_los", building_height_m=20.0)
    raw = catalog.load_profile("channels", "rma", [])
    raw["carrier_hz"] = 40e9
    with pytest.raises(ValidationError, match="RMa range"):
        ChannelConfig.model_validate(raw)


def test_mixed_rma_profile_draws_states_from_pr_los():
    cfg = ChannelConfig.model_validate(catalog.load_profile("channels", "rma", []))
    n = 1500
    d = 700.0
    phi = np.linspace(0, 2 * np.pi, n, endpoint=False)
    pos = np.column_stack([d * np.cos(phi), d * np.sin(phi), np.full(n, 1.5)])
    env = RadioEnvironment(cfg, pos, np.array([0.0, 0.0, 35.0]), np.full(n, 23.0), 30.0, seed=12)
    p = float(los_probability("rma", d))  # exp(-0.69) = 0.501576
    assert p == pytest.approx(0.501576, abs=1e-6)
    assert abs(env.links.los.mean() - p) < 3.29 * np.sqrt(p * (1 - p) / n)
    expected = np.where(env.links.los, pl("rma_los", d), pl("rma_nlos", d, street_width_m=20.0))
    assert np.allclose(env.pathloss_db, expected)
