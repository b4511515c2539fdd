"""Gradient statistics estimators: offline (DSC paper eq. 48-56), online ML (eq. 57-62)."""

import numpy as np
import pytest

from edgefl.coding.quantizer import UniformQuantizer
from edgefl.coding.statistics import (
    GradientStatistics,
    offline_estimate,
    online_ml_estimate,
    quantized_log_likelihood,
    worker_power,
    x_nodes,
)


def ceo(K, P, sx2, sn2, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(0, np.sqrt(sx2), P)
    return x[None] + rng.normal(0, np.sqrt(sn2), (K, P))


def test_offline_estimate_recovers_statistics():
    g = ceo(10, 20000, 3.0, 0.5, 1)
    est = offline_estimate(g)
    assert est.sigma_x2 == pytest.approx(3.0, rel=0.05)
    assert est.sigma_n2 == pytest.approx(0.5, rel=0.02)
    np.testing.assert_allclose(worker_power(g), 3.5, rtol=0.06)


@pytest.mark.parametrize("bits,ratio", [(1, 10.0), (1, 1.0), (3, 10.0)])
def test_online_ml_recovers_ratio(bits, ratio):
    sn2 = 0.2
    g = ceo(10, 20000, ratio * sn2, sn2, 2)
    q = UniformQuantizer(bits)
    scales = np.sqrt(worker_power(g))
    idx = np.stack([q.quantize(g[k], scales[k]) for k in range(10)])
    est = online_ml_estimate(idx, q, scales, float(worker_power(g).mean()))
    assert est.ratio == pytest.approx(ratio, rel=0.2)
    assert est.total == pytest.approx(worker_power(g).mean(), rel=1e-9)


def test_likelihood_peaks_near_truth_and_paths_agree():
    g = ceo(6, 5000, 2.0, 1.0, 3)
    q = UniformQuantizer(2)
    idx = np.stack([q.quantize(row, np.sqrt(3.0)) for row in g])
    ll = [quantized_log_likelihood(idx, q, np.full(6, np.sqrt(3.0)), GradientStatistics(3 * r / (1 + r), 3 / (1 + r)))
          for r in (0.5, 2.0, 8.0)]
    assert ll[1] > ll[0] and ll[1] > ll[2]
    # histogram path (identical scales) vs per-worker path (scales differ by 1e-9)
    s = np.full(6, np.sqrt(3.0))
    s2 = s * (1 + 1e-9 * np.arange(6))
    a = quantized_log_likelihood(idx, q, s, GradientStatistics(2.0, 1.0))
    b = quantized_log_likelihood(idx, q, s2, GradientStatistics(2.0, 1.0))
    assert a == pytest.approx(b, rel=1e-6)


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="sigma_x2"):
        GradientStatistics(0.0, 1.0)
    with pytest.raises(ValueError, match="sigma_n2"):
        x_nodes(1.0, -1.0)
    with pytest.raises(ValueError, match="method"):
        x_nodes(1.0, 1.0, method="quad")
    with pytest.raises(ValueError, match="grads"):
        offline_estimate(np.zeros((1, 4)))
    with pytest.raises(ValueError, match="total_variance"):
        online_ml_estimate(np.zeros((3, 4), int), UniformQuantizer(1), np.ones(3), float("nan"))
