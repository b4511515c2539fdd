"""Small-scale fading: unit-mean power-gain samplers and a Gauss-Markov (Jakes AR(1)) process.

Power gains g = |h|^2 with E[g] = 1, so received SNR = mean SNR x g.

Envelope distributions as in Goldsmith, *Wireless Communications*, Sec. 3.2.1:

* Rayleigh: h ~ CN(0, 1), g ~ Exp(1); amplitude |h| ~ Rayleigh(scale 1/sqrt 2).
* Rician: h = sqrt(K/(K+1)) + sqrt(1/(K+1)) CN(0, 1); |h| ~ Rice with
  nu^2 = K/(K+1), 2 sigma^2 = 1/(K+1).
* Nakagami-m: g ~ Gamma(m, 1/m) (mean power Omega = 1).

Time correlation: a complex-Gaussian first-order autoregressive state
h(t + dt) = rho h(t) + sqrt(1 - rho^2) w, w ~ CN(0, 1), rho = J0(2 pi f_d dt), the
Clarke/Jakes autocorrelation of the uniform-scattering model (Goldsmith Sec. 3.2.1;
Jakes, *Microwave Mobile Communications*, 1974) at the sampling lag. Rician
adds the constant LOS term to the scattered state; Nakagami maps the state's
Exp(1) power through the Gaussian-copula transform g = F_Gamma^-1(F_Exp(|h|^2)),
which keeps the Gamma(m, 1/m) marginal exactly and the correlation approximately.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import gammainccinv, j0

from edgefl.radio.config import CorrelationConfig, FadingConfig

_BATCH = 256


def rician_k_linear(k_factor_db: float) -> float:
    """K = 10^(K_dB / 10)."""
    return 10.0 ** (k_factor_db / 10.0)


def complex_normal(rng: np.random.Generator, size) -> np.ndarray:
    """CN(0, 1) samples (unit total power, 1/2 per real dimension)."""
    z = rng.standard_normal((2,) + tuple(np.atleast_1d(size)))
    return (z[0] + 1j * z[1]) * math.sqrt(0.5)


def rician_los_and_scale(k_factor_db: float) -> tuple[float, float]:
    """LOS amplitude sqrt(K/(K+1)) and scattered amplitude scale sqrt(1/(K+1))."""
    k = rician_k_linear(k_factor_db)
    return math.sqrt(k / (k + 1.0)), math.sqrt(1.0 / (k + 1.0))


def sample_power_gain(cfg: FadingConfig, rng: np.random.Generator, size: int) -> np.ndarray:
    """``size`` i.i.d. unit-mean fading power gains for ``cfg`` (see module docstring)."""
    if size < 0:
        raise ValueError(f"size must be >= 0, got {size}")
    if cfg.model == "none":
        return np.ones(size)
    if cfg.model == "rayleigh":
        return np.abs(complex_normal(rng, size)) ** 2
    if cfg.model == "rician":
        los, scale = rician_los_and_scale(cfg.k_factor_db)
        return np.abs(los + scale * complex_normal(rng, size)) ** 2
    if cfg.model == "nakagami":
        return rng.gamma(cfg.m, 1.0 / cfg.m, size)
    raise ValueError(f"unknown fading model {cfg.model!r}")  # pragma: no cover


def jakes_correlation(doppler_hz: float, dt_s: float | np.ndarray) -> np.ndarray:
    """rho(dt) = J0(2 pi f_d dt) (Clarke/Jakes uniform scattering, Goldsmith Sec. 3.2.1)."""
    return j0(2.0 * np.pi * doppler_hz * np.asarray(dt_s, dtype=float))


def power_gain_from_state(cfg: FadingConfig, h: complex | np.ndarray) -> np.ndarray:
    """Map a CN(0, 1) Gauss-Markov state to the unit-mean power gain of ``cfg``."""
    if cfg.model == "none":
        return np.ones_like(np.abs(h))
    if cfg.model == "rayleigh":
        return np.abs(h) ** 2
    if cfg.model == "rician":
        los, scale = rician_los_and_scale(cfg.k_factor_db)
        return np.abs(los + scale * h) ** 2
    if cfg.model == "nakagami":
        # Upper-tail inverse keeps precision for large |h|^2: P(G > g) = P(E > |h|^2) = exp(-|h|^2).
        # |h|^2 is clipped at 700 (an event of probability e^-700) so exp() stays > 0.
        return gammainccinv(cfg.m, np.exp(-np.minimum(np.abs(h) ** 2, 700.0))) / cfg.m
    raise ValueError(f"unknown fading model {cfg.model!r}")  # pragma: no cover


class FadingStream:
    """Fading power gains of one link of one worker, from its own generator.

    The gains depend only on the seed and on this stream's own sequence of calls,
    never on other streams. Draws are taken from the generator in batches; the
    sequence is the same whatever the call timing.
    """

    def __init__(
        self, fading: FadingConfig, correlation: CorrelationConfig, seed: np.random.SeedSequence
    ) -> None:
        self._fading = fading
        self._corr = correlation
        self._seed = seed
        self._rng: np.random.Generator | None = None  # made at the first draw
        self._buf = np.empty(0)
        self._pos = 0
        self._last_round: int | None = None
        self._last_gain = 1.0
        self._last_t: float | None = None
        self._state = 0j

    def _batch(self) -> np.ndarray:
        """The next ``_BATCH`` draws of this stream's generator."""
        if self._rng is None:
            self._rng = np.random.default_rng(self._seed)
        if self._corr.kind == "gauss_markov":
            return complex_normal(self._rng, _BATCH)
        return sample_power_gain(self._fading, self._rng, _BATCH)

    def _next(self):
        if self._pos >= self._buf.size:
            self._buf = self._batch()
            self._pos = 0
        x = self._buf[self._pos]
        self._pos += 1
        return x

    def raw(self, t: float, round: int) -> float | complex:
        """Advance the stream for a transmission at time ``t`` in round ``round``.

        Returns the power gain for block kinds and the CN(0, 1) state for gauss_markov
        (map it with :func:`power_gain_from_state`; vectorised callers batch that step).
        """
        if self._fading.model == "none":
            return 1.0
        kind = self._corr.kind
        if kind == "block_upload":
            return float(self._next())
        if kind == "block_round":
            if self._last_round is not None and round < self._last_round:
                raise ValueError(
                    f"round must not decrease on a fading stream: got {round} after {self._last_round}"
                )
            if round != self._last_round:
                self._last_round = round
                self._last_gain = float(self._next())
            return self._last_gain
        if not math.isfinite(t):
            raise ValueError(f"t must be finite, got {t}")
        if self._last_t is None:
            self._state = complex(self._next())  # stationary start
        else:
            dt = t - self._last_t
            if dt < 0:
                raise ValueError(f"t must not decrease on a fading stream: got {t} after {self._last_t}")
            if dt > 0:
                rho = float(j0(2.0 * math.pi * self._corr.doppler_hz * dt))
                self._state = rho * self._state + math.sqrt(max(0.0, 1.0 - rho * rho)) * complex(self._next())
        self._last_t = t
        return self._state

    @property
    def returns_state(self) -> bool:
        """True when :meth:`raw` returns a Gauss-Markov state rather than a gain."""
        return self._fading.model != "none" and self._corr.kind == "gauss_markov"

    def gain(self, t: float, round: int) -> float:
        """Power gain for a transmission starting at simulated time ``t`` in round ``round``."""
        x = self.raw(t, round)
        if self.returns_state:
            return float(power_gain_from_state(self._fading, x))
        return x


class FadingBank:
    """The fading streams of K workers (one link direction), with the values and order of K
    separate :class:`FadingStream` objects, advanced together where the correlation allows.

    For block fading (``block_round``, ``block_upload``) and no fading, the state of all
    streams lives in (K,) arrays and a vector of gains comes out in a few numpy steps; each
    worker's draws still come from its own generator in batches of ``_BATCH``
    (``sample_power_gain(fading, rng_k, _BATCH)``, as :meth:`FadingStream._next`), so worker k's
    gains depend only on its seed and its own calls. Gauss-Markov keeps one stream per worker.
    """

    _NEVER = np.iinfo(np.int64).min

    def __init__(self, fading: FadingConfig, correlation: CorrelationConfig,
                 seeds: list[np.random.SeedSequence]) -> None:
        self._fading = fading
        self._corr = correlation
        k = len(seeds)
        self.size = k
        self.vectorised = fading.model == "none" or correlation.kind != "gauss_markov"
        if not self.vectorised:
            self._streams = [FadingStream(fading, correlation, s) for s in seeds]
            return
        self._seeds = seeds  # indexed at a worker's first draw (a list, or a lazy sequence)
        self._rngs: list[np.random.Generator | None] = [None] * k  # created at the first draw
        self._buf = np.empty((k, _BATCH))
        self._pos = np.full(k, _BATCH)
        self._last_round = np.full(k, self._NEVER, dtype=np.int64)
        self._last_gain = np.ones(k)

    @classmethod
    def of_streams(cls, streams: list) -> FadingBank:
        """A bank over ready-made per-worker streams (objects with ``gain(t, round)``,
        ``raw(t, round)`` and ``returns_state``, e.g. LOS/NLOS switching streams), advanced one
        by one."""
        bank = cls.__new__(cls)
        bank.size = len(streams)
        bank.vectorised = False
        bank._streams = list(streams)
        bank._fading = bank._corr = None
        return bank

    def __getitem__(self, k: int):
        """Worker ``k``'s stream (banks over ready-made streams only)."""
        if self.vectorised:
            raise TypeError("a vectorised FadingBank keeps no per-worker stream objects")
        return self._streams[k]

    @property
    def returns_state(self) -> bool:
        """True when :meth:`raw` returns Gauss-Markov states rather than gains."""
        if not self.vectorised:
            return bool(self._streams[0].returns_state)
        return self._fading.model != "none" and self._corr.kind == "gauss_markov"

    def _draw(self, workers: np.ndarray) -> np.ndarray:
        """The next draw of each of ``workers`` (distinct indices)."""
        for w in workers[self._pos[workers] >= _BATCH].tolist():  # a refill every _BATCH draws per worker
            rng = self._rngs[w]
            if rng is None:
                rng = self._rngs[w] = np.random.default_rng(self._seeds[w])
            self._buf[w] = sample_power_gain(self._fading, rng, _BATCH)
            self._pos[w] = 0
        g = self._buf[workers, self._pos[workers]]
        self._pos[workers] += 1
        return g

    def gains(self, workers: np.ndarray, t: float, round: int) -> np.ndarray:
        """Power gains of ``workers`` (distinct indices) for transmissions at ``t`` in ``round``:
        element i equals ``FadingStream.gain(t, round)`` of worker ``workers[i]``."""
        workers = np.asarray(workers, dtype=np.int64)
        if not self.vectorised:
            return np.array([self._streams[w].gain(t, round) for w in workers.tolist()], dtype=float)
        if self._fading.model == "none":
            return np.ones(workers.size)
        if self._corr.kind == "block_upload":
            return self._draw(workers)
        last = self._last_round[workers]
        if np.any((last != self._NEVER) & (round < last)):
            raise ValueError(f"round must not decrease on a fading stream: got {round} after {int(last.max())}")
        new = workers[last != round]
        if new.size:
            self._last_gain[new] = self._draw(new)
            self._last_round[new] = round
        return self._last_gain[workers]

    def _draw_one(self, k: int) -> float:
        """The next draw of worker ``k`` (scalar twin of :meth:`_draw`: one call per upload in SimPy)."""
        pos = int(self._pos[k])
        if pos >= _BATCH:
            rng = self._rngs[k]
            if rng is None:
                rng = self._rngs[k] = np.random.default_rng(self._seeds[k])
            self._buf[k] = sample_power_gain(self._fading, rng, _BATCH)
            pos = 0
        self._pos[k] = pos + 1
        return float(self._buf[k, pos])

    def gain(self, k: int, t: float, round: int) -> float:
        """Power gain of worker ``k`` (see :meth:`FadingStream.gain`)."""
        if not self.vectorised:
            return self._streams[k].gain(t, round)
        if self._fading.model == "none":
            return 1.0
        if self._corr.kind == "block_upload":
            return self._draw_one(k)
        last = int(self._last_round[k])
        if last != self._NEVER and round < last:
            raise ValueError(f"round must not decrease on a fading stream: got {round} after {last}")
        if round != last:
            self._last_gain[k] = self._draw_one(k)
            self._last_round[k] = round
        return float(self._last_gain[k])

    def peek_round_gains(self, workers: np.ndarray, round: int) -> np.ndarray:
        """Block fading per round (vectorised bank): the gain each of ``workers`` (distinct) would get
        at its first transmission in ``round``, without drawing it (:meth:`gains` for those that
        do transmit takes the same values)."""
        workers = np.asarray(workers, dtype=np.int64)
        out = self._last_gain[workers].copy()
        new = workers[self._last_round[workers] != round]
        for w in new[self._pos[new] >= _BATCH].tolist():  # the refill _draw would make, made now
            rng = self._rngs[w]
            if rng is None:
                rng = self._rngs[w] = np.random.default_rng(self._seeds[w])
            self._buf[w] = sample_power_gain(self._fading, rng, _BATCH)
            self._pos[w] = 0
        out[self._last_round[workers] != round] = self._buf[new, self._pos[new]]
        return out

    def raw(self, t: float, round: int) -> np.ndarray:
        """Every worker's :meth:`FadingStream.raw`: gains, or Gauss-Markov states (complex)."""
        if not self.vectorised:
            vals = [s.raw(t, round) for s in self._streams]
            return np.array(vals, dtype=complex if self.returns_state else float)
        return self.gains(np.arange(self.size), t, round)
