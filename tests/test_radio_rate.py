"""Thermal noise, Shannon spectral efficiency with gap and cap."""

import numpy as np
import pytest

from edgefl.radio.noise import thermal_noise_dbm
from edgefl.radio.rate import spectral_efficiency


def test_thermal_noise_hand_point():
    # -174 + 10 log10(20e6) + 7 = -174 + 73.010300 + 7 = -93.989700 dBm
    assert float(thermal_noise_dbm(20e6, 7.0)) == pytest.approx(-93.989700, abs=1e-6)
    # 1 Hz, NF 0 -> the density itself
    assert float(thermal_noise_dbm(1.0, 0.0)) == -174.0
    with pytest.raises(ValueError, match="bandwidth_hz"):
        thermal_noise_dbm(-1.0, 7.0)
    with pytest.raises(ValueError, match="noise_figure_db"):
        thermal_noise_dbm(1e6, float("nan"))


def test_shannon_rate_gap_and_cap():
    # SNR 15: log2(16) = 4 bit/s/Hz
    assert float(spectral_efficiency(15.0)) == pytest.approx(4.0)
    # 3 dB gap: Gamma = 10^0.3 = 1.995262; log2(1 + 15/1.995262) = log2(8.517806) = 3.090482
    assert float(spectral_efficiency(15.0, snr_gap_db=3.0)) == pytest.approx(3.090482, rel=1e-6)
    # cap 2 bit/s/Hz binds; a cap above the SE does not
    assert float(spectral_efficiency(15.0, max_spectral_efficiency=2.0)) == pytest.approx(2.0)
    assert float(spectral_efficiency(15.0, max_spectral_efficiency=7.4)) == pytest.approx(4.0)
    # vectorised, zero SNR -> zero rate
    np.testing.assert_allclose(spectral_efficiency(np.array([0.0, 1.0, 3.0])), [0.0, 1.0, 2.0])


@pytest.mark.parametrize(
    "kwargs,field",
    [
        (dict(snr_linear=-1.0), "snr_linear"),
        (dict(snr_linear=np.nan), "snr_linear"),
        (dict(snr_linear=1.0, snr_gap_db=-1.0), "snr_gap_db"),
        (dict(snr_linear=1.0, max_spectral_efficiency=0.0), "max_spectral_efficiency"),
    ],
)
def test_shannon_bad_input(kwargs, field):
    with pytest.raises(ValueError, match=field):
        spectral_efficiency(**kwargs)
