"""The uplink SNRs of a round's uploads, handed to a compiled upload kernel in one piece.

A link whose upload takes several passes (NR HARQ) reads the SNR at the start of every pass
(:meth:`edgefl.radio.environment.RadioEnvironment.uplink_snr`). A compiled kernel playing many
uploads at once cannot call back into the radio, so the radio hands it what that method would use:
each row's mean SNR (dB) and the next fading draws of the row's stream (taken ahead without using
them), and gets back how many draws each row used and the stream's new state
(:meth:`UplinkSnrBatch.commit`). The kernel's arithmetic is that of
:meth:`edgefl.radio.fading.FadingStream.raw` and ``power_gain_from_state``, so the SNRs are the
same numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

#: no small-scale fading: the gain is 1
KIND_NONE = 0
#: block fading per round: the first read of a round draws the gain, later reads repeat it
KIND_BLOCK_ROUND = 1
#: Gauss-Markov (Jakes AR(1)) state advanced by the time since the stream's last read
KIND_GAUSS_MARKOV = 2
#: Gauss-Markov gain maps (power_gain_from_state)
GAIN_RAYLEIGH = 0
GAIN_RICIAN = 1


@dataclass
class UplinkSnrBatch:
    """Rows = the round's uploads. SNR of a read at t: 10^(mean_db/10) x gain, the gain by ``kind``:
    block fading per round ``buf[ids[row], 0]`` (real part); Gauss-Markov the state of stream
    ``ids[row]`` (arrays over the radio's workers: draws ``buf[i, pos[i]:]``, state
    (``state_re``, ``state_im``) at ``last_t`` if ``has_last``; :mod:`edgefl.radio.gauss_markov`),
    which the kernel advances in place. The kernel counts the reads per row in ``used``;
    :meth:`commit` then moves the radio on where its state lives elsewhere (block fading)."""

    kind: int
    mean_db: np.ndarray
    ids: np.ndarray
    buf: np.ndarray
    pos: np.ndarray
    state_re: np.ndarray
    state_im: np.ndarray
    last_t: np.ndarray
    has_last: np.ndarray
    gain_map: int = GAIN_RAYLEIGH
    los: float = 0.0
    scale: float = 1.0
    doppler_hz: float = 0.0
    round: int = 0
    used: np.ndarray | None = None
    apply: Callable[[UplinkSnrBatch], None] | None = None

    def __post_init__(self) -> None:
        if self.used is None:
            self.used = np.zeros(self.mean_db.size, dtype=np.int64)

    @classmethod
    def plain(cls, kind: int, mean_db: np.ndarray, buf: np.ndarray, round: int) -> UplinkSnrBatch:
        """A batch whose rows are their own streams (no Gauss-Markov state)."""
        n = mean_db.size
        z = np.zeros(n)
        return cls(kind, mean_db, np.arange(n, dtype=np.int64), buf, np.zeros(n, dtype=np.int64), z, z.copy(),
                   z.copy(), np.zeros(n, dtype=bool), round=round)

    def commit(self) -> None:
        """Move the radio's fading streams to where the kernel's reads left them."""
        if self.apply is not None:
            self.apply(self)
