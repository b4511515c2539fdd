"""Write the two synthetic traces of ``scenarios/nr_cell.yaml`` (100 workers), seeded.

* ``channels/traces/nr_cell_snr.csv``: uplink SNR (dB, whole band) every 1 s for 60 s per
  worker: a per-worker mean drawn uniformly in [0, 25] dB (cell centre to edge) plus 4 dB x a
  unit-variance Gaussian AR(1) with correlation 0.9 between samples (slow shadowing); the
  scenario replays it with linear interpolation and wrap-around.
* ``devices/traces/nr_cell_availability.csv``: FedScale-style client behaviour: alternating
  available / unavailable periods with exponential lengths (means 40 s and 10 s), a speed
  factor per period uniform in [0.5, 1.0] (background load), over 120 s.

Run from the repository root: ``python studies/make_nr_cell_traces.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
WORKERS = 100


def snr_trace(rng: np.random.Generator, workers: int = WORKERS, seconds: int = 60, rho: float = 0.9) -> str:
    """CSV text of the SNR trace (AR(1): x_t = rho x_{t-1} + sqrt(1 - rho^2) e_t, unit variance)."""
    lines = ["# nr_cell uplink SNR trace (synthetic): studies/make_nr_cell_traces.py, SeedSequence(1301).",
             "# per worker: mean U[0, 25] dB + 4 dB x Gaussian AR(1) (rho 0.9 per 1 s sample), 0.01 dB.",
             "time_s,worker,snr_db"]
    for w in range(workers):
        mean = rng.uniform(0.0, 25.0)
        x = rng.standard_normal()
        for t in range(seconds):
            lines.append(f"{float(t)},{w},{mean + 4.0 * x:.2f}")
            x = rho * x + np.sqrt(1.0 - rho**2) * rng.standard_normal()
    return "\n".join(lines) + "\n"


def availability_trace(rng: np.random.Generator, workers: int = WORKERS, seconds: float = 120.0) -> str:
    """CSV text of the availability trace (on/off periods with exponential lengths)."""
    lines = ["# nr_cell device trace (synthetic, FedScale-style): studies/make_nr_cell_traces.py, SeedSequence(1302).",
             "# per worker alternating available (mean 40 s) / unavailable (mean 10 s) periods, speed U[0.5, 1].",
             "time_s,worker,speed_factor,available"]
    for w in range(workers):
        t, on = 0.0, bool(rng.random() < 0.8)
        while t < seconds:
            lines.append(f"{t:.3f},{w},{rng.uniform(0.5, 1.0):.3f},{int(on)}")
            t += rng.exponential(40.0 if on else 10.0)
            on = not on
        lines.append(f"{seconds:.3f},{w},1.000,1")  # closes the trace (wrap period)
    return "\n".join(lines) + "\n"


def main() -> None:
    (ROOT / "channels" / "traces" / "nr_cell_snr.csv").write_text(
        snr_trace(np.random.default_rng(np.random.SeedSequence(1301))))
    (ROOT / "devices" / "traces" / "nr_cell_availability.csv").write_text(
        availability_trace(np.random.default_rng(np.random.SeedSequence(1302))))


if __name__ == "__main__":
    main()
