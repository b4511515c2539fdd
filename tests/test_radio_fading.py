"""Fading statistics against scipy.stats (KS, 2x10^4 draws, fixed seeds) and Jakes correlation."""

import numpy as np
import pytest
from pydantic import ValidationError
from scipy import stats
from scipy.special import j0

from edgefl.radio.config import CorrelationConfig, FadingConfig
from edgefl.radio.fading import (
    FadingStream,
    complex_normal,
    jakes_correlation,
    power_gain_from_state,
    sample_power_gain,
)

N = 20_000
ALPHA = 1e-3  # KS p-value threshold; a wrong distribution gives p ~ 0 at this N


def ks_p(x, dist):
    return stats.kstest(x, dist.cdf).pvalue


def test_rayleigh_power_and_amplitude():
    g = sample_power_gain(FadingConfig(model="rayleigh"), np.random.default_rng(1), N)
    assert ks_p(g, stats.expon()) > ALPHA
    assert ks_p(np.sqrt(g), stats.rayleigh(scale=np.sqrt(0.5))) > ALPHA
    # the test can fail: Exp(1) is not Gamma(2, 1/2)
    assert ks_p(g, stats.gamma(2.0, scale=0.5)) < ALPHA


@pytest.mark.parametrize("k_db", [-3.0, 6.0, 10.0])
def test_rician_amplitude(k_db):
    # |h| ~ Rice: nu^2 = K/(K+1), sigma^2 = 1/(2(K+1)) -> scipy b = nu/sigma = sqrt(2K), scale = sigma
    k = 10 ** (k_db / 10)
    g = sample_power_gain(FadingConfig(model="rician", k_factor_db=k_db), np.random.default_rng(2), N)
    sigma = np.sqrt(1 / (2 * (k + 1)))
    assert ks_p(np.sqrt(g), stats.rice(np.sqrt(2 * k), scale=sigma)) > ALPHA
    assert g.mean() == pytest.approx(1.0, abs=0.03)
    # a wrong K is rejected
    assert ks_p(np.sqrt(g), stats.rice(np.sqrt(2 * k * 2), scale=np.sqrt(1 / (2 * (2 * k + 1))))) < ALPHA


@pytest.mark.parametrize("m", [0.5, 1.7, 4.0])
def test_nakagami_amplitude_and_power(m):
    g = sample_power_gain(FadingConfig(model="nakagami", m=m), np.random.default_rng(3), N)
    assert ks_p(np.sqrt(g), stats.nakagami(m)) > ALPHA
    assert ks_p(g, stats.gamma(m, scale=1 / m)) > ALPHA
    assert ks_p(np.sqrt(g), stats.nakagami(m * 1.5)) < ALPHA


def test_state_to_gain_marginals():
    # Gauss-Markov maps a CN(0,1) state to the gain: marginals must match the block samplers
    h = complex_normal(np.random.default_rng(4), N)
    assert ks_p(power_gain_from_state(FadingConfig(model="rayleigh"), h), stats.expon()) > ALPHA
    gn = power_gain_from_state(FadingConfig(model="nakagami", m=2.5), h)
    assert ks_p(gn, stats.gamma(2.5, scale=1 / 2.5)) > ALPHA
    k = 10 ** 0.6
    gr = power_gain_from_state(FadingConfig(model="rician", k_factor_db=6.0), h)
    assert ks_p(np.sqrt(gr), stats.rice(np.sqrt(2 * k), scale=np.sqrt(1 / (2 * (k + 1))))) > ALPHA
    # a huge state power must not overflow to inf/NaN in the Nakagami copula
    assert np.isfinite(power_gain_from_state(FadingConfig(model="nakagami", m=2.0), np.array([30.0 + 0j])))[0]


def test_jakes_rho():
    # J0(0) = 1; first zero of J0 at 2.404826 -> dt = 2.404826 / (2 pi f_d)
    assert jakes_correlation(50.0, 0.0) == pytest.approx(1.0)
    assert jakes_correlation(50.0, 2.404825557695773 / (2 * np.pi * 50.0)) == pytest.approx(0.0, abs=1e-12)


def _stream_gains(fading, doppler, dt, n, seed=5):
    s = FadingStream(fading, CorrelationConfig(kind="gauss_markov", doppler_hz=doppler),
                     np.random.SeedSequence(seed))
    return np.array([s.gain(i * dt, i) for i in range(n)])


@pytest.mark.parametrize("dt", [0.01, 0.05])
def test_gauss_markov_lag1_correlation_matches_j0(dt):
    # Rayleigh: corr(|h_n|^2, |h_{n-1}|^2) = |rho|^2 with rho = J0(2 pi f_d dt)
    # f_d = 10 Hz: dt = 0.01 -> rho = J0(0.6283) = 0.9034; dt = 0.05 -> rho = J0(pi) = -0.3042
    g = _stream_gains(FadingConfig(model="rayleigh"), 10.0, dt, N)
    rho = j0(2 * np.pi * 10.0 * dt)
    emp = np.corrcoef(g[:-1], g[1:])[0, 1]
    assert emp == pytest.approx(rho**2, abs=0.03)
    assert ks_p(g[::50], stats.expon()) > ALPHA  # stationary marginal (thinned to near-independence)


def test_gauss_markov_zero_doppler_is_static_and_time_cannot_go_back():
    g = _stream_gains(FadingConfig(model="rician", k_factor_db=3.0), 0.0, 0.1, 50)
    assert np.all(g == g[0])
    s = FadingStream(FadingConfig(model="rayleigh"), CorrelationConfig(kind="gauss_markov", doppler_hz=5.0),
                     np.random.SeedSequence(0))
    s.gain(1.0, 0)
    with pytest.raises(ValueError, match="t must not decrease"):
        s.gain(0.5, 0)


def test_block_kinds():
    fad = FadingConfig(model="rayleigh")
    br = FadingStream(fad, CorrelationConfig(kind="block_round"), np.random.SeedSequence(9))
    a, b, c = br.gain(0.0, 0), br.gain(3.0, 0), br.gain(4.0, 1)
    assert a == b and c != a
    with pytest.raises(ValueError, match="round must not decrease"):
        br.gain(5.0, 0)
    bu = FadingStream(fad, CorrelationConfig(kind="block_upload"), np.random.SeedSequence(9))
    x = [bu.gain(0.0, 0) for _ in range(3)]
    assert len(set(x)) == 3
    # batching must not change the sequence: a new stream with the same seed repeats it past one batch
    s1 = FadingStream(fad, CorrelationConfig(kind="block_upload"), np.random.SeedSequence(9))
    s2 = FadingStream(fad, CorrelationConfig(kind="block_upload"), np.random.SeedSequence(9))
    assert [s1.gain(0, 0) for _ in range(600)] == [s2.gain(0, 0) for _ in range(600)]


def test_config_errors():
    with pytest.raises(ValidationError, match="k_factor_db"):
        FadingConfig(model="rician")
    with pytest.raises(ValidationError, match="k_factor_db"):
        FadingConfig(model="rayleigh", k_factor_db=3.0)
    with pytest.raises(ValidationError, match="m"):
        FadingConfig(model="nakagami", m=0.3)
    with pytest.raises(ValidationError, match="doppler_hz"):
        CorrelationConfig(kind="gauss_markov")
    with pytest.raises(ValidationError, match="extra"):
        FadingConfig(model="rayleigh", k=1)


def test_gauss_markov_nakagami_copula_keeps_correlation_close_to_rayleigh():
    # the Gamma(m) copula of the Exp(1) power keeps the lag-1 power correlation near rho^2
    # (measured: within 0.025 for m in 0.5..5); f_d = 10 Hz, dt = 0.01 -> rho^2 = 0.8161
    g = _stream_gains(FadingConfig(model="nakagami", m=2.0), 10.0, 0.01, N)
    emp = np.corrcoef(g[:-1], g[1:])[0, 1]
    assert emp == pytest.approx(j0(2 * np.pi * 0.1) ** 2, abs=0.04)
    assert ks_p(g[::50], stats.gamma(2.0, scale=0.5)) > ALPHA
