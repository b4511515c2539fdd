"""Margin policies of the rate controller: how far above the model's rate estimate the server
announces each bit-plane's rate.

DSC paper eq. (45) gives the Slepian-Wolf rate a perfect code would need; finite-length LDPCA
codes need more (the code gap) and the model's estimate can be off. The LDPCA codes are
rate-adaptive (DSC paper Sec. IV-B, Algorithm 1): a frame that fails to decode costs one
increment of ``retry_step`` bits per source bit, a feedback message on the downlink, another
decode and its latency, not the frame. So the margin trades bits against retries:

* ``fixed``: ``R = R_est (1 + slope) + margin`` (the default; ``0.03 + 20 %``);
* ``none``: ``R = R_est``: announce the estimate, let retries pay the gap;
* ``adaptive``: ``R = R_est + u_t (margin + slope R_est)``, the fixed margin's shape scaled by
  ``u_t >= 0``, which follows the observed failures: after round t,
  ``u_{t+1} = clip(u_t + gain (f_t - target), 0, U_MAX)`` with ``f_t`` the fraction of coded
  frames whose first decode failed (a stochastic-approximation step toward the target retry
  fraction; ``u = 1`` is the fixed policy, ``u = 0`` is ``none``). The state is carried across
  rounds.

Rates are capped at 1 bit per source bit (an uncoded plane or frame). Under the adaptive and
none policies a plane (or frame) goes uncoded where its estimate reaches ``ceiling`` (default:
where the fixed margin reaches 1, ``(1 - margin) / (1 + slope)``): near rate 1 the code gap of
finite-length codes leaves nothing to gain, and a frame that climbs the whole rate ladder
before going uncoded costs up to twice its bits (with ``ladder_fallback: complete`` only its hash
more, :mod:`edgefl.coding.ldpca_completion`; ``rates(..., ceiling=False)`` gives the rates without
the ceiling for :mod:`edgefl.coding.saving_guard`).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

Policy = Literal["fixed", "adaptive", "none"]
POLICIES: tuple[str, ...] = ("fixed", "adaptive", "none")
#: largest scale of the fixed margin the adaptive policy may reach
U_MAX = 4.0


class MarginPolicy:
    """Announced rates from estimated rates; ``observe`` feeds back a round's decoding outcome."""

    def __init__(self, policy: Policy = "fixed", margin: float = 0.03, slope: float = 0.2,
                 target: float = 0.25, gain: float = 1.0, initial_scale: float = 1.0,
                 ceiling: float | None = None) -> None:
        if policy not in POLICIES:
            raise ValueError(f"policy must be one of {POLICIES}, got {policy!r}")
        for name, v, hi in (("margin", margin, 1.0), ("slope", slope, 1.0), ("target", target, 1.0),
                            ("gain", gain, 100.0), ("initial_scale", initial_scale, U_MAX)):
            if not (np.isfinite(v) and 0 <= v <= hi):
                raise ValueError(f"{name} must be in [0, {hi}], got {v!r}")
        self.policy, self.margin, self.slope = policy, float(margin), float(slope)
        self.target, self.gain = float(target), float(gain)
        self.scale = {"fixed": 1.0, "none": 0.0, "adaptive": float(initial_scale)}[policy]
        if ceiling is not None and not (np.isfinite(ceiling) and 0 <= ceiling <= 1):
            raise ValueError(f"ceiling must be in [0, 1] or None, got {ceiling!r}")
        self.ceiling = (1 - self.margin) / (1 + self.slope) if ceiling is None else float(ceiling)

    def rates(self, estimate: np.ndarray, ceiling: bool = True) -> np.ndarray:
        """Announced rates ``min(R_est + u (margin + slope R_est), 1)`` (u = 1 fixed, 0 none); with
        ``ceiling`` (adaptive, none) 1 where the estimate reaches the ceiling."""
        est = np.asarray(estimate, dtype=np.float64)
        if self.policy == "fixed":  # the historical expression, bit for bit
            return np.minimum(est * (1 + self.slope) + self.margin, 1.0)
        rates = np.minimum(est + self.scale * (self.margin + self.slope * est), 1.0)
        return np.where(est >= self.ceiling, 1.0, rates) if ceiling else rates

    def observe(self, coded_frames: int, failed_frames: int) -> None:
        """One round's outcome: ``failed_frames`` of ``coded_frames`` needed a retry (or went
        uncoded). Only the adaptive policy moves. A round without coded frames counts as no
        failure: either the margin sent everything uncoded (and must come down) or nothing
        could be coded anyway (and the uncoded rule of :meth:`rates` still holds)."""
        if coded_frames < 0 or not 0 <= failed_frames <= max(coded_frames, 0):
            raise ValueError(f"need 0 <= failed_frames <= coded_frames, got {failed_frames}, {coded_frames}")
        if self.policy != "adaptive":
            return
        f = failed_frames / coded_frames if coded_frames else 0.0
        self.scale = float(np.clip(self.scale + self.gain * (f - self.target), 0.0, U_MAX))
