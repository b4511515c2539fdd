"""``edgefl plan --coverage --deadline T``: the largest cell radius that still meets a deadline.

"Worst worker": a worker at the cell edge. In a disc (or any placement) of radius R around the
server every worker is at most R away, and the round latency only grows when a worker's mean
SNR drops (its upload and, via the weakest-worker multicast, the broadcast get slower), so the
round in which *all* K workers sit at the edge, distance R (at their placement heights, evenly
spread in angle, with their own shadowing and fading draws), is the worst round any placement
of radius R can give. The answer R* is the largest R whose worst round meets T at the q-th
percentile (default p95) of the fading distribution; every placement inside R* then meets it.

Search: R between 1 m and 1,000 km (the placement limit), bracketing from the scenario's
radius by factors of 2, then bisection to a relative resolution (default 1e-3: R* in
[R_lo, R_hi), R_hi / R_lo <= 1.001), assuming path loss grows with distance.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from edgefl.planning.latency import draw, round_latency, round_model
from edgefl.planning.percentiles import DEFAULT_DRAWS
from edgefl.planning.search import boundary
from edgefl.scenario import ResolvedScenario
from edgefl.sim.build import layout

R_MIN_M, R_MAX_M = 1.0, 1e6


def edge_positions(rs: ResolvedScenario, radius_m: float) -> np.ndarray:
    """(K, 3): the scenario's K workers on the circle of ``radius_m`` around the server, evenly
    spread in angle, at their placement heights."""
    lay = layout(rs)
    k = lay.workers.shape[0]
    phi = 2.0 * np.pi * np.arange(k) / k
    return np.column_stack([lay.server[0] + radius_m * np.cos(phi), lay.server[1] + radius_m * np.sin(phi),
                            lay.workers[:, 2]])


def scenario_radius(rs: ResolvedScenario) -> float:
    """Distance of the farthest worker of the scenario's placement (where the search starts)."""
    lay = layout(rs)
    return float(np.max(np.hypot(*(lay.workers[:, :2] - lay.server[:2]).T)))


def max_radius(rs: ResolvedScenario, deadline_s: float, draws: int = DEFAULT_DRAWS, q: float = 95.0,
               rel_resolution: float = 1e-3) -> dict[str, Any]:
    """Largest cell radius whose edge round (see the module docstring) meets ``deadline_s``."""
    base = round_model(rs)
    d = draw(base, draws)

    def p_at(r: float) -> float:
        return float(np.percentile(round_latency(round_model(rs, edge_positions(rs, r)), d), q))

    br = boundary(lambda r: p_at(r) <= deadline_s, max(scenario_radius(rs), R_MIN_M), R_MIN_M, R_MAX_M,
                  rel_resolution)
    out: dict[str, Any] = {
        "question": f"largest cell radius whose worst round (all workers at the edge) has p{q:g} <= {deadline_s:g} s",
        **base.assumptions(), "workers": base.num_workers, "deadline_s": deadline_s, "quantile": q, "draws": draws,
        "worst_worker": "every worker at the cell edge (distance R from the server), own shadowing and fading",
        "resolution": f"relative {rel_resolution:g}: the maximum lies in [lo, hi)"}
    if br is None:
        met = p_at(R_MIN_M) <= deadline_s
        out.update(max_radius_m=R_MAX_M if met else None,
                   reason=(f"met up to the placement limit {R_MAX_M:g} m" if met
                           else f"not met even at {R_MIN_M:g} m: p{q:g} = {p_at(R_MIN_M):.6g} s"))
        return out
    lo, hi = br
    out.update(max_radius_m=lo, bracket_m=[lo, hi], **{f"p{q:g}_at_max_s": p_at(lo)})
    return out
