"""A test-only link model: Shannon attempts that are lost with probability ``loss``; a lost
attempt costs its air time plus a feedback delay, then the band is requested again.

It exists to show that a link model needs only its own file plus one entry in
``edgefl.radio.link.LINK_MODELS`` (see tests/test_link.py).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from edgefl.radio.link import LinkModel, UploadOutcome


class LossyLinkConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    model: Literal["lossy"] = "lossy"
    loss: float = Field(0.5, ge=0, lt=1)
    feedback_s: float = Field(1e-3, ge=0)


class LossyLink(LinkModel):
    """Each attempt delivers with probability 1 - loss: effective SE = (1 - loss) log2(1 + SNR)."""

    name = "lossy"

    def __init__(self, loss: float, feedback_s: float) -> None:
        self.loss, self.feedback_s = loss, feedback_s

    @classmethod
    def from_config(cls, cfg: LossyLinkConfig, channel) -> LossyLink:
        return cls(cfg.loss, cfg.feedback_s)

    def spectral_efficiency(self, snr_linear):
        return (1.0 - self.loss) * np.log2(1.0 + np.asarray(snr_linear, dtype=float))

    def airtime_s(self, bits, bandwidth_hz, snr_linear):
        return bits / (bandwidth_hz * np.log2(1.0 + snr_linear))  # each attempt at the full Shannon rate

    def upload(self, env, channel, bits, bandwidth_hz, snr_at, rng):
        intervals, air = [], 0.0
        while True:
            s, e, dur = yield from self.transmit(env, channel, bits, bandwidth_hz, snr_at)
            intervals.append((s, e, float(bits)))
            air += dur
            if bits == 0 or rng.random() >= self.loss:
                break
            yield env.timeout(self.feedback_s)
        return UploadOutcome(intervals[0][0], env.now, air, len(intervals), float(bits) * len(intervals),
                             tuple(intervals))
