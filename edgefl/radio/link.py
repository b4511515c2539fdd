"""Link models: how many bits per second per hertz a worker gets at an SNR, and how an upload
plays out on the air (one attempt, or several with retransmissions).

Everything that turns an SNR into a rate goes through a :class:`LinkModel`: the simulated
uploads and the model broadcast (:mod:`edgefl.sim.engine`), the bandwidth costs alpha_k of
P1 (RD paper Sec. V-A: alpha_k = bandwidth consumed per unit rate = 1 / spectral efficiency),
the FDMA shares and ``edgefl plan``. So the alpha that P1 optimises is the cost the
simulator really charges, SNR gap and cap included.

Adding a link model: a file with its config (a pydantic model with a ``model`` literal tag)
and its :class:`LinkModel` subclass (with ``from_config(cfg, channel)``), plus one entry in
:data:`edgefl.radio.link_registry.LINK_MODELS` (a separate module, so that a link model's
file can import this one without an import cycle).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import simpy
from edgefl.config_model import StrictModel
from edgefl.radio.rate import shannon_spectral_efficiency

if TYPE_CHECKING:
    from edgefl.radio.config import ChannelConfig


@dataclass(frozen=True)
class UploadOutcome:
    """How one upload went. ``intervals`` holds (start, end, bits) of every attempt on the air
    (one for a plain link; HARQ adds one per retransmission)."""

    start: float  # when the first attempt got the channel
    end: float  # when the last attempt left the air (plus any feedback delay the link charges)
    airtime_s: float  # sum of the attempts' air times (what the radio's energy is charged for)
    attempts: int
    bits_on_air: float  # all bits transmitted, retransmissions included
    intervals: tuple[tuple[float, float, float], ...] = ()
    delivered: bool = True


SnrAt = Callable[[float], float]
UploadProcess = Generator[simpy.Event, Any, UploadOutcome]


class LinkModel(ABC):
    """One worker-to-server (or server-to-workers) link technology."""

    name: str = "abstract"
    #: the link can give up on an upload (UploadOutcome.delivered False), so rounds.csv reports
    #: how many uploads were aggregated
    may_lose_uploads: bool = False

    @classmethod
    def from_config(cls, cfg: Any, channel: ChannelConfig) -> LinkModel:
        """The link of a scenario's ``channel.link`` block ``cfg`` (``channel`` for shared fields)."""
        raise NotImplementedError(f"{cls.__name__} must define from_config(cfg, channel) to be named in channel.link")

    @abstractmethod
    def spectral_efficiency(self, snr_linear: np.ndarray) -> np.ndarray:
        """Effective bit/s/Hz at linear SNR (what the link delivers on average per hertz)."""

    def coverage_snr_linear(self) -> float:
        """Lowest linear SNR the link serves: a worker whose mean SNR is below it is out of coverage
        (:mod:`edgefl.sim.coverage`). 0 for a link with a positive rate at every positive SNR."""
        return 0.0

    def alpha(self, snr_linear: np.ndarray) -> np.ndarray:
        """alpha_k = 1 / spectral efficiency, Hz per bit/s (RD paper Sec. V-A, P1's weights)."""
        return 1.0 / self.spectral_efficiency(np.asarray(snr_linear, dtype=float))

    def rate_bps(self, bandwidth_hz: float | np.ndarray, snr_linear: float | np.ndarray) -> np.ndarray:
        """R = B x spectral efficiency (bit/s)."""
        return np.asarray(bandwidth_hz, dtype=float) * self.spectral_efficiency(np.asarray(snr_linear, dtype=float))

    def airtime_s(self, bits: float, bandwidth_hz: float, snr_linear: float) -> float:
        """Air time of one attempt carrying ``bits`` (block fading: the SNR holds for the attempt)."""
        return bits / float(self.rate_bps(bandwidth_hz, snr_linear))

    def transmit(self, env: simpy.Environment, channel: simpy.Resource | None, bits: float,
                 bandwidth_hz: float, snr_at: SnrAt) -> Generator[simpy.Event, Any, tuple[float, float, float]]:
        """SimPy process of one attempt: take the band (``channel``, if shared), send ``bits`` at
        the SNR of the moment the attempt starts, release the band. Returns (start, end, air
        time); the air time is the exact duration (end - start can differ in the last bit).
        The building block of :meth:`upload`; a link with retransmissions calls it per attempt,
        so each retransmission queues for the band again."""
        req = channel.request() if channel is not None else None
        if req is not None:
            yield req
        start = env.now
        # no bits, no draw from the fading stream
        dur = self.airtime_s(bits, bandwidth_hz, snr_at(start)) if bits > 0 else 0.0
        yield env.timeout(dur)
        if req is not None:
            channel.release(req)  # type: ignore[union-attr]
        return start, env.now, dur

    def upload(self, env: simpy.Environment, channel: simpy.Resource | None, bits: float,
               bandwidth_hz: float, snr_at: SnrAt, rng: np.random.Generator) -> UploadProcess:
        """SimPy process of one upload of ``bits`` on ``bandwidth_hz``; returns an :class:`UploadOutcome`.

        ``channel`` is the shared uplink band (TDMA: a capacity-1 resource, requested afresh for
        every attempt so that a retransmission queues behind other workers) or None (FDMA: the
        worker owns its sub-band). ``snr_at(t)`` is the linear SNR of an attempt starting at
        ``t``. The default is a single error-free attempt at B x spectral efficiency; links with
        retransmissions (HARQ) override this, e.g. a loop of :meth:`transmit` attempts with a
        feedback delay (``env.timeout``) between them, drawing their errors from ``rng``.
        """
        start, end, air = yield from self.transmit(env, channel, bits, bandwidth_hz, snr_at)
        return UploadOutcome(start, end, air, 1, float(bits), ((start, end, float(bits)),))

    #: SNR reads one upload makes at most (the fading draws a batched kernel needs at hand per row)
    max_reads_per_upload: int = 1

    def upload_batch(self, queued: bool, requested: np.ndarray, order: np.ndarray, bits: np.ndarray,
                     bandwidth_hz: np.ndarray, snr: Any, draws: Any, deadline: float | None) -> UploadArrays | None:
        """Every row's :meth:`upload` of one round at once, with the same numbers as the processes
        played on a band of one (``queued``, requests at ``requested``, ties in ``order``) or on own
        sub-bands, uploads that cannot start before ``deadline`` not played; ``snr`` an
        :class:`edgefl.radio.snr_batch.UplinkSnrBatch`, ``draws`` the rows' keyed streams
        (:class:`edgefl.radio.keyed_draws.KeyedDraws`). None: the link has no batched form (the
        caller plays the processes)."""
        return None


@dataclass(frozen=True)
class UploadArrays:
    """Many uploads at once (:meth:`LinkModel.upload_batch`): per row when its process ended, its
    air time and whether it was delivered; the attempts on the air (row, start, end, bits), rows
    ascending and each row's attempts in time order. A row never played (its first attempt would
    start after the round deadline) has end = inf and no attempt."""

    end: np.ndarray
    airtime: np.ndarray
    delivered: np.ndarray
    attempt_row: np.ndarray
    attempt_start: np.ndarray
    attempt_end: np.ndarray
    attempt_bits: np.ndarray


class _LinkConfig(StrictModel):
    """Base of every link model's config (``channel.link``)."""


class ShannonLinkConfig(_LinkConfig):
    """Shannon capacity with the channel's ``snr_gap_db`` and ``max_spectral_efficiency``."""

    model: Literal["shannon"] = "shannon"


class ShannonLink(LinkModel):
    """B min(log2(1 + SNR / Gamma), eta_max): capacity with the SNR-gap approximation of practical
    coded modulation (Forney and Ungerboeck, "Modulation and coding for linear Gaussian
    channels", IEEE Trans. IT 44(6), 1998; gap 0 dB = capacity) and a cap eta_max (e.g. NR
    256QAM at code rate 948/1024: 7.4063 bit/s/Hz, 3GPP TS 38.214 Table 5.1.3.1-2, MCS 27).
    One attempt per upload, never in error. SE > 0 at every SNR > 0, so an attempt is finite
    however deep the fade (fading gains are > 0, traces >= -100 dB); under Rayleigh block fading
    its mean is nonetheless infinite (E[1 / log2(1 + s g)] diverges at g -> 0), so the mean round
    latency of such a run does not settle while its percentiles do. SNR 0 is an error."""

    name = "shannon"

    def __init__(self, gap_db: float = 0.0, max_spectral_efficiency: float | None = None) -> None:
        if not (math.isfinite(gap_db) and gap_db >= 0):
            raise ValueError(f"gap_db must be finite and >= 0 dB, got {gap_db}")
        if max_spectral_efficiency is not None and not max_spectral_efficiency > 0:
            raise ValueError(f"max_spectral_efficiency must be > 0 bit/s/Hz or None, got {max_spectral_efficiency}")
        self.gap_db = float(gap_db)
        self.max_spectral_efficiency = max_spectral_efficiency
        self._gap = 10.0 ** (self.gap_db / 10.0)

    @classmethod
    def from_config(cls, cfg: ShannonLinkConfig, channel: ChannelConfig) -> ShannonLink:
        return cls(channel.snr_gap_db, channel.max_spectral_efficiency)

    def spectral_efficiency(self, snr_linear: np.ndarray) -> np.ndarray:
        return shannon_spectral_efficiency(snr_linear, self._gap, self.max_spectral_efficiency)

    def airtime_s(self, bits: float, bandwidth_hz: float, snr_linear: float) -> float:
        # scalar fast path of the same formula: one call per simulated upload
        se = math.log2(1.0 + snr_linear / self._gap)
        if self.max_spectral_efficiency is not None and se > self.max_spectral_efficiency:
            se = self.max_spectral_efficiency
        if not se > 0.0:  # SNR 0 (or NaN): no rate at all; any SNR > 0 gives a finite (if long) attempt
            raise ValueError(f"Shannon link: SNR {snr_linear!r} gives no rate; an upload would never end")
        return bits / (bandwidth_hz * se)
