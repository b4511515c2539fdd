"""Coverage: which workers the link can serve at their mean SNR (``channel.out_of_coverage``).

A worker is out of coverage when its mean SNR (path loss, shadowing, LOS and O2I as drawn for
the run, or the mean of its channel trace; no small-scale fading) is below the link's lowest
serviceable SNR, :meth:`edgefl.radio.link.LinkModel.coverage_snr_linear`, on the uplink or on the
downlink. For NR that is the SNR at which MCS 0 reaches the BLER target (TS 38.214 Sec. 5.2.2.1:
CQI 0, "out of range"); a Shannon link serves every positive SNR. To a planner this is an answer
(how many, which, how far), not an input error: with ``exclude`` (default) such workers never
take part (never sampled, never uploaded) and the run reports them; with ``error`` the
scenario is refused as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from edgefl.diagnostics import ScenarioWarning


class CoverageWarning(ScenarioWarning):
    """Some workers are out of coverage and are left out of every round."""


@dataclass(frozen=True)
class CoverageReport:
    """Per-worker coverage of a placement (arrays indexed by worker id)."""

    in_coverage: np.ndarray  # (K,) bool
    uplink_snr_db: np.ndarray  # (K,) mean uplink SNR over the whole uplink band
    downlink_snr_db: np.ndarray  # (K,) mean downlink SNR over the whole downlink band
    distance_m: np.ndarray  # (K,) 3D distance to the server
    threshold_db: float  # the link's lowest serviceable SNR (-inf: every positive SNR)

    @property
    def out_ids(self) -> np.ndarray:
        """Ids of the workers out of coverage, ascending."""
        return np.flatnonzero(~self.in_coverage)

    @property
    def count(self) -> int:
        return int(self.out_ids.size)

    @property
    def fraction(self) -> float:
        return self.count / max(1, self.in_coverage.size)

    def to_json(self) -> dict[str, Any]:
        """summary.json's ``coverage`` block."""
        out = self.out_ids
        return {"out_of_coverage": self.count, "fraction": self.fraction,
                "threshold_snr_db": None if not np.isfinite(self.threshold_db) else float(self.threshold_db),
                "workers": [int(w) for w in out], "distances_m": [float(d) for d in self.distance_m[out]]}

    def describe(self, limit: int = 8) -> str:
        """'3 of 1000 workers (0.3 %): 17 (212 m, -4.1 dB up), ...' for messages."""
        shown = ", ".join(f"{int(w)} ({self.distance_m[w]:.0f} m, {self.uplink_snr_db[w]:.1f} dB up, "
                          f"{self.downlink_snr_db[w]:.1f} dB down)" for w in self.out_ids[:limit])
        more = " ..." if self.count > limit else ""
        return (f"{self.count} of {self.in_coverage.size} workers ({100 * self.fraction:.3g} %) have a mean SNR "
                f"below the link's lowest serviceable {self.threshold_db:.2f} dB: workers {shown}{more}")


def coverage_report(uplink_snr_db: np.ndarray, downlink_snr_db: np.ndarray, distance_m: np.ndarray,
                    coverage_snr_linear: float) -> CoverageReport:
    """In coverage: both mean SNRs at or above ``coverage_snr_linear`` and above 0 (linear)."""
    ul = np.asarray(uplink_snr_db, dtype=float)
    dl = np.asarray(downlink_snr_db, dtype=float)
    with np.errstate(divide="ignore"):
        th_db = float(10.0 * np.log10(coverage_snr_linear)) if coverage_snr_linear > 0 else -np.inf
    ok = (ul >= th_db) & (dl >= th_db) & np.isfinite(ul) & np.isfinite(dl)
    return CoverageReport(ok, ul, dl, np.asarray(distance_m, dtype=float), th_db)
