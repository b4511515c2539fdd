"""workers.csv: each worker's large-scale link as the run drew it (one row per worker).

Columns: 2D/3D distance, antenna height, effective environment height h_E (blank for
models without one), LOS probability and the LOS state drawn at placement (``los`` /
``nlos``; a fixed profile gives its model's state with Pr_LOS 1 or 0, ``n/a`` and a blank
Pr_LOS for log-distance, which has no LOS notion), whether the state is
redrawn during the run, the indoor flag with building type, indoor distance and O2I loss
(3GPP TR 38.901 Sec. 7.4.3), path loss (O2I included), shadowing, the mean uplink SNR
over the whole uplink band and whether the worker is in coverage (1) or left out of every round
as out of coverage (0; :mod:`edgefl.sim.coverage`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgefl.radio.environment import RadioEnvironment
from edgefl.results.writer import write_csv

WORKER_COLUMNS = [
    "worker", "d2d_m", "d3d_m", "h_ut_m", "h_e_m", "pr_los", "state", "state_redrawn", "indoor",
    "building", "d2d_in_m", "o2i_loss_db", "pathloss_db", "shadowing_db", "mean_uplink_snr_db",
    "in_coverage",
]


def _states(env: RadioEnvironment) -> list[str]:
    cfg = env.cfg
    if cfg.los_state is None and cfg.pathloss.model == "log_distance":
        return ["n/a"] * env.n_workers
    return ["los" if s else "nlos" for s in env.links.los]


def worker_rows(env: RadioEnvironment, in_coverage: np.ndarray | None = None) -> list[list]:
    """Rows of workers.csv for ``env`` (see the module docstring); ``in_coverage`` None: everyone."""
    cov = np.ones(env.n_workers, dtype=bool) if in_coverage is None else np.asarray(in_coverage, dtype=bool)
    lk = env.links
    redrawn = int(env.cfg.los_state is not None and env.cfg.los_state.redraw == "correlation")
    snr = env.mean_uplink_snr_db(env.cfg.uplink_bandwidth_hz)
    h_ut = np.broadcast_to(env.h_ut_m, (env.n_workers,))
    h_e = ["" if np.isnan(h) else h for h in lk.h_e_m]  # blank: the model has no breakpoint height
    return [
        [k, env.distance_2d_m[k], env.distance_3d_m[k], h_ut[k], h_e[k], "" if st == "n/a" else lk.pr_los[k],
         st, redrawn,
         int(lk.indoor[k]), ("high_loss" if lk.high_loss[k] else "low_loss") if lk.indoor[k] else "",
         lk.d2d_in_m[k], lk.o2i_loss_db[k], env.pathloss_db[k], env.shadowing_db[k], snr[k],
         int(cov[k])]
        for k, st in enumerate(_states(env))
    ]


def write_workers(out_dir: Path, env: RadioEnvironment, in_coverage: np.ndarray | None = None) -> None:
    """Write ``out_dir/workers.csv`` (see the module docstring)."""
    write_csv(Path(out_dir) / "workers.csv", WORKER_COLUMNS, worker_rows(env, in_coverage))
