"""``edgefl plan`` answers as text (the JSON form is :meth:`PlanReport.to_dict`)."""

from __future__ import annotations

from edgefl.planning.answers import Estimate, PlanReport, Sampling


def _ci(e: Estimate | None) -> str:
    if e is None:
        return "-"
    lo, hi = e.ci95.as_list()
    return (f"p{e.quantile:g} {e.value_s:.4g} s, 95 % CI [{'?' if lo is None else f'{lo:.4g}'}, "
            f"{'?' if hi is None else f'{hi:.4g}'}] s")


def _sampling(s: Sampling | None) -> str:
    if s is None:
        return ""
    return f"    ({s.samples} samples per point over {s.over}; stopped: {s.stopped}; engine {'/'.join(s.engine_paths)})"


def format_report(rep: PlanReport) -> str:
    """The answers of ``rep``, one block per question."""
    a = rep.assumes
    lines = [f"{rep.scenario}: {a['scheme']}, allocation {a['allocation']}, {a['access']}, link {a['link']}, "
             f"fading {a['fading']} ({a['correlation']}), {a['per_round']} of {a['workers']} workers per round, "
             f"seed {a['seed']}; samples from the simulator (--method {rep.method})"]
    oc = rep.out_of_coverage
    if oc is not None and oc.workers:
        shown = ", ".join(f"{w} ({d:.0f} m)" for w, d in zip(oc.workers[:10], oc.distances_m[:10]))
        lines.append(f"  out of coverage at their mean SNR: {len(oc.workers)} of {oc.placed} workers "
                     f"({100 * oc.fraction:.2g} %): {shown}{' ...' if len(oc.workers) > 10 else ''}")
    p = rep.percentiles
    if p is not None:
        lat = p.round_latency_s
        lines.append(f"  round latency over {p.samples} samples ({p.sampling.over}), with 95 % CIs:")
        for q in ("p50", "p95", "p99"):
            lo, hi = lat["ci95"][q]
            lines.append(f"    {q}: {lat[q]:.4g} s  [{'?' if lo is None else f'{lo:.4g}'}, "
                         f"{'?' if hi is None else f'{hi:.4g}'}]")
        lines.append(f"    mean {lat['mean']:.4g} s")
        lines.append(_sampling(p.sampling))
    q = f"p{rep.quantile:g}"
    k = rep.max_workers
    if k is not None:
        lines.append(f"  largest {k.field} with {q} <= {rep.deadline_s:g} s: {k.max_workers}"
                     + (f" ({k.note})" if k.note else ""))
        lines.append(f"    at {k.max_workers}: {_ci(k.at_max)}; at {k.max_workers + 1}: {_ci(k.at_max_plus_1)}")
        lines.append(_sampling(k.sampling))
    b = rep.min_bandwidth
    if b is not None:
        lines.append(f"  smallest uplink bandwidth for {a['per_round']} workers: "
                     + (f"{b.min_uplink_bandwidth_hz:.4g} Hz" if b.min_uplink_bandwidth_hz is not None else "none")
                     + (f" (misses at {b.bracket_hz[0]:.4g} Hz)" if b.bracket_hz else "")
                     + (f"; {b.reason}" if b.reason else ""))
        lines.append(f"    {_ci(b.at_min)}")
        lines.append(_sampling(b.sampling))
    c = rep.coverage
    if c is not None:
        lines.append(f"  largest cell radius ({c.field}) over placements: "
                     + (f"{c.max_radius_m:.4g} m" if c.max_radius_m is not None else "none")
                     + (f" (misses at {c.bracket_m[1]:.4g} m)" if c.bracket_m else "")
                     + (f"; {c.reason}" if c.reason else ""))
        if c.out_of_coverage_share is not None:
            lines.append(f"    out of coverage there: {100 * c.out_of_coverage_share:.3g} % of "
                         f"{c.placed_workers} workers placed")
        lines.append(f"    {_ci(c.at_max)}")
        lines.append(_sampling(c.sampling))
    return "\n".join(line for line in lines if line)
