"""Worker placement layouts."""

import numpy as np
import pytest
from pydantic import TypeAdapter, ValidationError
from scipy import stats

from edgefl.radio.placement import PlacementConfig, place_workers

P = TypeAdapter(PlacementConfig)


def test_disc_uniform_in_area():
    lay = P.validate_python({"layout": "disc", "radius_m": 200.0, "center_m": [10.0, -5.0]})
    pos = place_workers(lay, 20_000, np.random.default_rng(0))
    xy = pos[:, :2] - [10.0, -5.0]
    r = np.hypot(*xy.T)
    assert r.max() <= 200.0 and np.all(pos[:, 2] == 1.5)
    # uniform in area <=> (r/R)^2 ~ U(0, 1); uniform in radius would fail this
    assert stats.kstest((r / 200.0) ** 2, "uniform").pvalue > 1e-3
    assert stats.kstest(np.arctan2(xy[:, 1], xy[:, 0]), stats.uniform(-np.pi, 2 * np.pi).cdf).pvalue > 1e-3


def test_annulus():
    lay = P.validate_python({"layout": "annulus", "r_min_m": 35.0, "r_max_m": 500.0, "height_m": 2.0})
    pos = place_workers(lay, 20_000, np.random.default_rng(1))
    r = np.hypot(pos[:, 0], pos[:, 1])
    assert r.min() >= 35.0 and r.max() <= 500.0 and np.all(pos[:, 2] == 2.0)
    assert stats.kstest((r**2 - 35.0**2) / (500.0**2 - 35.0**2), "uniform").pvalue > 1e-3
    with pytest.raises(ValidationError, match="r_min_m"):
        P.validate_python({"layout": "annulus", "r_min_m": 50.0, "r_max_m": 10.0})


def test_grid_and_explicit():
    pos = place_workers(P.validate_python({"layout": "grid", "spacing_m": 10.0}), 5, np.random.default_rng(0))
    # 5 workers -> 3 columns, 2 rows centred on the origin
    np.testing.assert_allclose(pos[:, :2], [[-10, -5], [0, -5], [10, -5], [-10, 5], [0, 5]])
    lay = P.validate_python({"layout": "explicit", "positions_m": [[1, 2], [3, 4, 5]]})
    np.testing.assert_allclose(place_workers(lay, 2, np.random.default_rng(0)), [[1, 2, 1.5], [3, 4, 5]])
    with pytest.raises(ValueError, match="K=3"):
        place_workers(lay, 3, np.random.default_rng(0))
    with pytest.raises(ValidationError, match="radius_m"):
        P.validate_python({"layout": "disc", "radius_m": -1})
    with pytest.raises(ValidationError):
        P.validate_python({"layout": "hexagon"})


def test_seeded():
    lay = P.validate_python({"layout": "disc", "radius_m": 100.0})
    a = place_workers(lay, 10, np.random.default_rng(7))
    assert np.array_equal(a, place_workers(lay, 10, np.random.default_rng(7)))
    assert not np.array_equal(a, place_workers(lay, 10, np.random.default_rng(8)))
