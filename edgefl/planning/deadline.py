"""``edgefl plan --deadline T``: how many workers, and how much uplink bandwidth, meet a deadline.

A configuration meets T when the q-th percentile (default p95) of its round latency over the
fading distribution (:mod:`edgefl.planning.latency`, common random numbers for every point
searched) is <= T.

* **Largest worker count** K*: the scenario with ``workers.count = K`` (re-resolved, so the
  placement rule places K workers; the first K radii do not depend on K) for K = 1, 2, 4, ...
  then bisection: exact to one worker, assuming p95 is nondecreasing in K (TDMA adds one upload
  per worker; FDMA shrinks every share).
* **Smallest uplink bandwidth** B* for the scenario's K: bisection on B between 1 Hz and
  1 THz, to a relative resolution (default 1e-3: B* in (B_lo, B_hi], B_hi / B_lo <= 1.001);
  p95 is nonincreasing in B (more band, shorter uploads; the FDMA SNR loss is outweighed,
  B log2(1 + c/B) grows with B). No B meets T when the broadcast, compute and aggregation
  alone exceed it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from edgefl.planning.latency import Draws, draw, round_latency, round_model
from edgefl.planning.percentiles import DEFAULT_DRAWS
from edgefl.planning.search import boundary, largest_int
from edgefl.scenario import ResolvedScenario

B_MIN_HZ, B_MAX_HZ = 1.0, 1e12


def _quantile(lat: np.ndarray, q: float) -> float:
    return float(np.percentile(lat, q))


def max_workers(resolve_at: Callable[[int], ResolvedScenario], deadline_s: float, draws: int = DEFAULT_DRAWS,
                q: float = 95.0, k_limit: int = 10_000) -> dict[str, Any]:
    """Largest K <= ``k_limit`` with p_q(round latency) <= ``deadline_s``; ``resolve_at(K)`` is the
    scenario with K workers. The draws take 24 x draws x K bytes at the largest K tried."""
    cache: dict[str, Draws] = {}
    seen: dict[int, float] = {}

    def p_at(k: int) -> float:
        model = round_model(resolve_at(k))
        d = cache.get("d")
        if d is None or d.ul_gain.shape[1] < k:  # draws are nested in K: draw once for the largest K
            cache["d"] = d = draw(model, draws)
        sub = Draws(d.ul_gain[:, :k], d.dl_gain[:, :k], d.jitter[:, :k])
        seen[k] = _quantile(round_latency(model, sub), q)
        return seen[k]

    k_star = largest_int(lambda k: p_at(k) <= deadline_s, limit=k_limit)
    if k_star < k_limit and k_star + 1 not in seen:
        p_at(k_star + 1)
    model = round_model(resolve_at(max(k_star, 1)))
    return {"question": f"largest worker count whose p{q:g} round latency <= {deadline_s:g} s",
            **model.assumptions(), "deadline_s": deadline_s, "quantile": q, "draws": draws,
            "max_workers": k_star, f"p{q:g}_at_max_s": seen.get(k_star),
            f"p{q:g}_at_max_plus_1_s": seen.get(k_star + 1),
            "resolution": "exact (1 worker), assuming the percentile is nondecreasing in K",
            "k_limit": k_limit}


def min_bandwidth(rs: ResolvedScenario, deadline_s: float, draws: int = DEFAULT_DRAWS, q: float = 95.0,
                  rel_resolution: float = 1e-3) -> dict[str, Any]:
    """Smallest uplink bandwidth with p_q(round latency) <= ``deadline_s`` for the scenario's K."""
    model = round_model(rs)
    d = draw(model, draws)

    def meets(b: float) -> bool:
        return _quantile(round_latency(model, d, b), q) <= deadline_s

    br = boundary(meets, model.bandwidth_hz, B_MIN_HZ, B_MAX_HZ, rel_resolution)
    out: dict[str, Any] = {
        "question": f"smallest uplink bandwidth whose p{q:g} round latency <= {deadline_s:g} s",
        **model.assumptions(), "workers": model.num_workers, "deadline_s": deadline_s, "quantile": q,
        "draws": draws, "resolution": f"relative {rel_resolution:g}: the minimum lies in (lo, hi]"}
    if br is None:
        met = meets(B_MIN_HZ)
        out.update(min_uplink_bandwidth_hz=B_MIN_HZ if met else None,
                   reason=None if met else f"not met even at {B_MAX_HZ:g} Hz: broadcast, compute and aggregation "
                   f"alone take p{q:g} = {_quantile(round_latency(model, d, B_MAX_HZ), q):.6g} s")
        return out
    lo, hi = br
    out.update(min_uplink_bandwidth_hz=hi, bracket_hz=[lo, hi],
               **{f"p{q:g}_at_min_s": _quantile(round_latency(model, d, hi), q)})
    return out
