"""`edgefl plan`: bandwidth-optimal rates for a scenario without training.

Takes the scenario's mean link budget (path loss + shadowing, no fading), turns it
into alpha_k = 1/SE(SNR_k) with the spectral efficiency SE of the channel's link model
(:mod:`edgefl.radio.link`; gap and cap included, as in the simulator) and solves P1 (RD paper eq. 20) for the target
distortion, then adds the round's other phases with the pure timing formulas of
:mod:`edgefl.sim.timing`: model broadcast at the multicast rate, local compute on
each device, the uploads (TDMA serial in Lemma 1 order / FDMA split) and the last
decode, for P1, the equal allocation and uncoded float32 gradients.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from edgefl.compress.base import FLOAT_BITS
from edgefl.radio.link_registry import make_link
from edgefl.radio.rate import equal_finish_fdma_shares
from edgefl.scenario import FieldProblem, ResolvedScenario, ScenarioError
from edgefl.sim.build import gradient_source, layout, radio_environment
from edgefl.sim.timing import compute_seconds, serial_pipeline
from edgefl.theory import plan_report, signsgd_distortion


def plan_scenario(rs: ResolvedScenario, D: float | None = None) -> dict[str, Any]:
    """Plan report of a scenario (JSON-ready), see the module docstring."""
    scn = rs.scenario
    ra = scn.rate_allocation
    D = D if D is not None else ra.target_distortion
    if scn.gradients is not None:
        sx, sn = scn.gradients.sigma_x2, scn.gradients.sigma_n2
    elif ra.initial_sigma_x2 is not None and ra.initial_sigma_n2 is not None:
        sx, sn = ra.initial_sigma_x2, ra.initial_sigma_n2
    else:
        raise ScenarioError(rs.source, [FieldProblem(
            "rate_allocation.initial_sigma_x2", None, "plan of a model scenario needs initial_sigma_x2/_n2")])
    d_source = "given"
    if D is None:  # the distortion signSGD itself reaches (RD paper Sec. VI-A): what DSC must match
        D, d_source = signsgd_distortion(scn.workers.count, sx, sn), "signsgd"
    if not D > sn / scn.workers.count:
        raise ScenarioError(rs.source, [FieldProblem(
            "rate_allocation.target_distortion", D, f"must exceed sigma_n2 / K = {sn / scn.workers.count!r}")])
    ch = scn.channel
    radio = radio_environment(rs, layout(rs))
    snr = 10.0 ** (np.asarray(radio.mean_uplink_snr_db(ch.uplink_bandwidth_hz), dtype=float) / 10.0)
    source = gradient_source(rs)
    p = source.num_params
    link = make_link(ch)
    report = plan_report(snr, ch.uplink_bandwidth_hz, sx, sn, D, p, access=ch.access, alpha=link.alpha(snr))

    # the rest of the round: broadcast, compute, the last decode
    dl_snr = 10.0 ** (np.asarray(radio.mean_downlink_snr_db(ch.downlink_bandwidth_hz), dtype=float) / 10.0)
    t_bc = FLOAT_BITS * p / float(link.rate_bps(ch.downlink_bandwidth_hz, dl_snr.min()))
    flops = np.array([d.flops_per_s for d in rs.worker_devices])
    ready = t_bc + compute_seconds(source.flops_per_gradient, flops)
    rate_full = link.rate_bps(ch.uplink_bandwidth_hz, snr)
    decoder = rs.server_profile.decoder.throughput_bps
    order_p1 = np.asarray(report["order"])[::-1]  # Lemma 1: smallest alpha decoded first
    for name, sch in report["schemes"].items():
        bits = np.asarray(sch["bits"], dtype=float)
        decode = bits / decoder if name != "uncoded" else np.zeros_like(bits)
        # successive decoding order: Lemma 1's for P1, else completion order (as the simulator)
        order = order_p1 if name == "p1" else np.argsort(ready, kind="stable")
        if ch.access == "tdma":
            _, up_end, dec_end = serial_pipeline(ready, order, bits / rate_full, decode)
        else:
            shares = equal_finish_fdma_shares(bits, snr, se=link.spectral_efficiency) \
                if name == "p1" else np.full(bits.size, 1.0 / bits.size)
            s = np.maximum(shares, 1e-300)
            rate = link.rate_bps(ch.uplink_bandwidth_hz * s, snr / s)
            up_end = ready + np.where(bits > 0, bits / rate, 0.0)
            _, _, dec_end = serial_pipeline(up_end, order, np.zeros_like(bits), decode)
        sch["round_latency_s"] = float(max(dec_end.max(), up_end.max()))
    base = report["schemes"]
    for key, ref in (("p1_vs_equal", "equal"), ("p1_vs_uncoded", "uncoded")):
        report["saving_percent"][key]["round_latency_s"] = 100.0 * (
            1.0 - base["p1"]["round_latency_s"] / base[ref]["round_latency_s"])
    report["broadcast_s"] = t_bc
    report["D_source"] = d_source
    report["scenario"] = scn.name
    return report


def format_plan(rep: dict[str, Any]) -> str:
    """Human-readable table of a plan report."""
    k = rep["K"]
    lines = [
        f"plan for {rep['scenario']}: K={k}, P={rep['params']}, D={rep['D']:g} ({rep['D_source']}), "
        f"sigma_x2={rep['sigma_x2']:g}, sigma_n2={rep['sigma_n2']}, {rep['access'].upper()} "
        f"{rep['bandwidth_hz'] / 1e6:g} MHz",
        "",
        f"{'worker':>6} {'SNR dB':>8} {'alpha':>8} {'P1 bit/par':>11} {'eq bit/par':>11}",
    ]
    s = rep["schemes"]
    for w in range(k):
        lines.append(f"{w:>6} {rep['snr_db'][w]:>8.2f} {rep['alpha_hz_per_bps'][w]:>8.4f} "
                     f"{s['p1']['bits_per_param'][w]:>11.4f} {s['equal']['bits_per_param'][w]:>11.4f}")
    unit = "airtime_s" if rep["access"] == "tdma" else "bandwidth_hz"
    lines += ["", f"{'scheme':>8} {'bits/round':>12} {'upload s*':>10} {'round s':>10} {unit:>14} (sum)"]
    for name in ("p1", "equal", "uncoded"):
        sch = s[name]
        lines.append(f"{name:>8} {sch['bits_per_round']:>12.4g} {sch['latency_s']:>10.4g} "
                     f"{sch['round_latency_s']:>10.4g} {sum(sch[unit]):>14.4g}")
    sv = rep["saving_percent"]
    lines += ["* upload s: sum_k alpha_k b_k / B (RD paper's linear bandwidth cost); round s: full round "
              "with the exact rates (FDMA: sub-band SNR gain)"]
    lines += ["", "P1 vs equal:   " + ", ".join(_change(k, v) for k, v in sv["p1_vs_equal"].items()),
              "P1 vs uncoded: " + ", ".join(_change(k, v) for k, v in sv["p1_vs_uncoded"].items())]
    return "\n".join(lines)


_QUANTITY = {"bits_per_round": "bits per round", "latency_s": "upload time*", "round_latency_s": "round time"}


def _change(key: str, saving_percent: float) -> str:
    """A saving (100 (1 - P1/ref), JSON's sign convention) in words: "uses 16.1 % more bits per round"."""
    what = _QUANTITY.get(key, key)
    if abs(saving_percent) < 0.05:
        return f"same {what}"
    fewer = "fewer" if key.startswith("bits") else "less"
    return f"{abs(saving_percent):.1f} % {fewer if saving_percent > 0 else 'more'} {what}"
