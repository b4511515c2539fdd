"""The reference recursion of a TDMA round (DSC paper Fig. 5), written out by hand for the tests:
an oracle the engine's and the access schemes' timing is checked against, not a copy the package
computes with (the package's one round timing is :mod:`edgefl.sim.round_timing`)."""

from __future__ import annotations

import numpy as np


def serial_pipeline(ready: np.ndarray, order: np.ndarray, upload_s: np.ndarray,
                    decode_s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """TDMA uploads in ``order`` with pipelined successive decoding (DSC paper Fig. 5).

    Upload i starts at max(ready_i, end of upload i-1); decode i starts at
    max(end of upload i, end of decode i-1). Returns upload start, upload end and
    decode end per worker (indexed by worker).
    """
    k = len(ready)
    up_start = np.empty(k)
    up_end = np.empty(k)
    dec_end = np.empty(k)
    t_air = -np.inf
    t_dec = -np.inf
    for w in order:
        up_start[w] = max(ready[w], t_air)
        up_end[w] = t_air = up_start[w] + upload_s[w]
        dec_end[w] = t_dec = max(up_end[w], t_dec) + decode_s[w]
    return up_start, up_end, dec_end
