"""Margin policies of the DSC rate controller (edgefl.coding.margin_policy)."""

import numpy as np
import pytest

from edgefl.coding.margin_policy import U_MAX, MarginPolicy
from edgefl.coding.quantizer import UniformQuantizer
from edgefl.coding.rate_controller import RateController
from edgefl.coding.statistics import GradientStatistics


def test_fixed_is_the_rate_controllers_margin_bit_for_bit():
    rc = RateController(UniformQuantizer(1), margin=0.03, margin_slope=0.2)
    pol = MarginPolicy("fixed", 0.03, 0.2)
    for ratio in (0.1, 1.0, 7.0, 300.0):
        st = GradientStatistics(ratio, 1.0)
        np.testing.assert_array_equal(pol.rates(rc.ideal_rates(st, 10)), rc.rates(st, 10))


def test_none_announces_the_estimate_and_adaptive_interpolates():
    est = np.array([[0.0], [0.4], [0.8], [0.95], [1.0]])
    # where the fixed margin reaches 1 (0.8 x 1.2 + 0.03 < 1 <= 0.95 x 1.2 + 0.03) every policy sends uncoded
    np.testing.assert_array_equal(MarginPolicy("none").rates(est), [[0.0], [0.4], [0.8], [1.0], [1.0]])
    half = MarginPolicy("adaptive", 0.03, 0.2, initial_scale=0.5).rates(est)
    np.testing.assert_allclose(half[:3], est[:3] + 0.5 * (0.03 + 0.2 * est[:3]))
    np.testing.assert_array_equal(half[3:], 1.0)
    low = MarginPolicy("none", ceiling=0.5).rates(est)
    np.testing.assert_array_equal(low, [[0.0], [0.4], [1.0], [1.0], [1.0]])


def test_adaptive_steps_toward_the_target_and_stays_in_bounds():
    pol = MarginPolicy("adaptive", target=0.1, gain=2.0)
    pol.observe(100, 30)  # f = 0.3: u = 1 + 2 (0.3 - 0.1)
    assert pol.scale == pytest.approx(1.4)
    pol.observe(100, 0)
    assert pol.scale == pytest.approx(1.2)
    pol.observe(0, 0)  # nothing coded (all sent uncoded): no failure, the margin comes down
    assert pol.scale == pytest.approx(1.0)
    for _ in range(50):
        pol.observe(10, 0)
    assert pol.scale == 0.0
    for _ in range(50):
        pol.observe(10, 10)
    assert pol.scale == U_MAX
    fixed = MarginPolicy("fixed")
    fixed.observe(10, 10)
    assert fixed.scale == 1.0


@pytest.mark.parametrize("kw", [dict(policy="greedy"), dict(margin=-0.1), dict(target=1.5), dict(gain=float("nan")),
                                dict(ceiling=1.2)])
def test_bad_settings_are_refused(kw):
    with pytest.raises(ValueError):
        MarginPolicy(**kw)


def test_bad_observations_are_refused():
    with pytest.raises(ValueError, match="failed_frames"):
        MarginPolicy("adaptive").observe(3, 4)


def test_scenario_refuses_a_retry_policy_without_failures():
    """A retry policy needs failures: bit-true decoding or the analytic failure model (on by default)."""
    from pathlib import Path

    from edgefl.scenario import load_scenario

    quick = Path(__file__).resolve().parents[1] / "scenarios" / "quickstart.yaml"
    with pytest.raises(Exception, match="rate_policy 'none' needs fidelity: bit-true"):
        load_scenario(quick, ["compression.scheme=dsc", "compression.rate_policy=none",
                              "compression.analytic_failures=off"])
    load_scenario(quick, ["compression.scheme=dsc", "compression.rate_policy=none"])
    load_scenario(quick, ["compression.scheme=dsc", "compression.rate_policy=none", "fidelity=bit-true",
                          "compression.analytic_failures=off"])


@pytest.mark.slow  # resolves six mnist-5k scenarios
def test_rate_policy_study_builds_every_point():
    """scenarios/studies/dsc_rate_policy.yaml: 2 side-information models x 3 policies (analytic, failure model)."""
    from pathlib import Path

    from edgefl.sweep.study import load_study

    study = load_study(Path(__file__).resolve().parents[1] / "scenarios" / "studies" / "dsc_rate_policy.yaml")
    assert study.num_grid_points == 6
    combos = {(p.values["compression.side_information"], p.values["compression.rate_policy"]) for p in study.points}
    assert combos == {(s, r) for s in ("gaussian", "history") for r in ("fixed", "adaptive", "none")}
