"""`edgefl plan`: bandwidth-optimal rates for a scenario without training.

Takes the scenario's mean link budget (path loss + shadowing, no fading), turns it
into alpha_k = 1/SE(SNR_k) with the spectral efficiency SE of the channel's link model
(:mod:`edgefl.radio.link`; gap and cap included, as in the simulator) and solves P1 (RD paper eq. 20) for the target
distortion, for P1, the equal allocation (RD paper Corollary 2) and uncoded float32 gradients.

The round latency of each is not computed here: it is one round played by the engine itself
(:class:`edgefl.sim.fast_path.FastSimulation`, i.e. the round-timing core
:mod:`edgefl.sim.round_timing`, DSC paper Fig. 5 and Sec. IV-D/E) on the scenario's network
at its mean link budget (:func:`mean_network`: no fading, the mean SNR on every band, nominal
device speeds: no straggler jitter, no device trace), every worker taking part, no deadline:
broadcast, local work, rate control, encoding, uploads under the scenario's access scheme and
link (a link with its own upload process, NR HARQ, plays its passes with the draws of a run at
the scenario's seed), successive decoding and aggregation. A run of the scenario with that coder
and allocation, no fading and no jitter plays the very same round on SimPy and on the vectorised
path (``tests/test_cli_theory.py``).

Which bits: the report's rows are the rate-distortion plan (RD paper Sec. V), so the round is
played with the coder that sends exactly those bits: ``rd-ideal`` (R_k P bits, the engine's
own P1 / equal allocation at the mean SNRs, which are the report's rates) for ``p1`` and
``equal``, ``none`` (32 P bits) for ``uncoded``. A scenario whose own scheme is a practical
coder (``dsc``: its rate controller's syndromes, ``signsgd``, ...) sends other bits; its own
measured round latency is what ``edgefl plan --percentiles`` answers, not this report.
"""

from __future__ import annotations

from typing import Any

import dataclasses

import numpy as np

from edgefl.compress.base import Compressor
from edgefl.compress.rd_ideal import RDIdeal
from edgefl.compress.simple import NoCompression
from edgefl.radio.environment import RadioEnvironment
from edgefl.radio.link import LinkModel
from edgefl.radio.link_registry import make_link
from edgefl.scenario import FieldProblem, ResolvedScenario, ScenarioError
from edgefl.sim.allocation import RateAllocator
from edgefl.sim.bits_only import BitsOnly, NoGradients
from edgefl.sim.build import gradient_source, layout, network, radio_environment, seeds
from edgefl.sim.fast_path import FastSimulation
from edgefl.sim.gradient_source import GradientSource
from edgefl.sim.network import Network, SimOptions
from edgefl.theory import plan_report, signsgd_distortion


def plan_scenario(rs: ResolvedScenario, D: float | None = None) -> dict[str, Any]:
    """Plan report of a scenario (JSON-ready), see the module docstring."""
    scn = rs.scenario
    ra = scn.rate_allocation
    D = D if D is not None else ra.target_distortion
    g = scn.gradients
    if g is not None and g.source == "gaussian-ceo":
        sx, sn = g.sigma_x2, g.sigma_n2
    elif ra.initial_sigma_x2 is not None and ra.initial_sigma_n2 is not None:
        sx, sn = ra.initial_sigma_x2, ra.initial_sigma_n2
    else:
        raise ScenarioError(rs.source, [FieldProblem(
            "rate_allocation.initial_sigma_x2", None, "plan of a scenario without a gaussian-ceo source (a model "
            "or the convex test bed) needs initial_sigma_x2/_n2")])
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

    # the round of each row, played by the engine at the mean link budget
    net = mean_network(network(rs, radio, link), radio, ch.downlink_bandwidth_hz)
    for name, sch in report["schemes"].items():
        sim = mean_round(net, source, name, D, (sx, sn), link, snr, scn.upload_order, scn.seed)
        row = sim.rounds[0]
        sch["round_latency_s"] = float(row["latency_s"])
        sch["engine_bits_per_round"] = float(row["bits_total"])
    report["broadcast_s"] = float(sim.rounds[0]["broadcast_s"])
    base = report["schemes"]
    for key, ref in (("p1_vs_equal", "equal"), ("p1_vs_uncoded", "uncoded")):
        report["saving_percent"][key]["round_latency_s"] = 100.0 * (
            1.0 - base["p1"]["round_latency_s"] / base[ref]["round_latency_s"])
    report["D_source"] = d_source
    report["scenario"] = scn.name
    return report


def mean_network(net: Network, radio: RadioEnvironment, downlink_bandwidth_hz: float) -> Network:
    """``net`` at its mean link budget: every upload attempt on a band of B Hz at the mean uplink
    SNR over B (path loss + shadowing, no fading), the broadcast at the link's rate for the weakest
    receiver's mean downlink SNR, nominal device speeds (no device trace)."""
    link = net.link
    uplink: dict[float, list[float]] = {}

    def mean_uplink(bandwidth_hz: float) -> list[float]:
        snr = uplink.get(bandwidth_hz)
        if snr is None:
            db = np.asarray(radio.mean_uplink_snr_db(bandwidth_hz), dtype=float)
            snr = uplink[bandwidth_hz] = (10.0 ** (db / 10.0)).tolist()
        return snr

    down = 10.0 ** (np.asarray(radio.mean_downlink_snr_db(downlink_bandwidth_hz), dtype=float) / 10.0)

    def uplink_snr(k: int, _t: float, _round: int, bandwidth_hz: float) -> float:
        return mean_uplink(float(bandwidth_hz))[int(k)]

    def uplink_snr_many(workers: np.ndarray, _t: float, _round: int, bandwidth_hz: np.ndarray) -> list[float]:
        ids = np.asarray(workers, dtype=np.int64)
        bws = np.broadcast_to(np.asarray(bandwidth_hz, dtype=float), ids.shape)
        return [mean_uplink(b)[w] for w, b in zip(ids.tolist(), bws.tolist())]

    def downlink_rate(_t: float, _round: int, workers: np.ndarray | None = None) -> float:
        snr = down if workers is None else down[np.asarray(workers, dtype=np.int64)]
        return float(link.rate_bps(downlink_bandwidth_hz, snr.min()))

    return dataclasses.replace(net, uplink_snr=uplink_snr, uplink_snr_many=uplink_snr_many,
                               downlink_rate=downlink_rate, snr_depends_on_time=False, device_state=None)


class _PlannedStatistics(NoGradients):
    """No gradients drawn; the gradient statistics the plan assumes (sigma_X^2, sigma_N^2)."""

    def __init__(self, inner: GradientSource, stats: tuple[float, float]) -> None:
        super().__init__(inner)
        self._planned = stats

    def statistics(self) -> tuple[float, float]:
        return self._planned


def _no_current_snr(*_args: object) -> np.ndarray:
    raise AssertionError("the plan allocates at the mean SNR")


def mean_round(net: Network, source: GradientSource, row: str, D: float, stats: tuple[float, float],
               link: LinkModel, mean_snr: np.ndarray, upload_order: str,
               seed: int) -> FastSimulation:
    """One round of the report's ``row`` played by the engine on ``net`` (every worker, no deadline,
    no jitter): ``p1`` / ``equal`` with the ``rd-ideal`` coder at the engine's allocation of that
    name for distortion ``D`` at the full-band ``mean_snr`` (RD paper eq. 20 / Corollary 2: R_k P
    bits, P1's Lemma 1 decoding order and FDMA split), ``uncoded`` with ``none`` (32 P bits,
    completion order, equal shares). The engine's streams are those of a run at ``seed``."""
    compressor: Compressor
    if row == "uncoded":
        compressor, allocator = NoCompression(), None
    elif row in ("p1", "equal"):
        compressor = RDIdeal()
        allocator = RateAllocator(row, D, "mean", "round", lambda: mean_snr, _no_current_snr, link,
                                  impose_order=compressor.successive)
    else:
        raise ValueError(f"plan row must be p1, equal or uncoded, got {row!r}")
    opts = SimOptions(rounds=1, upload_order=upload_order, timeline=False)
    sim = FastSimulation(net, _PlannedStatistics(source, stats), BitsOnly(compressor, source.num_params), opts,
                         seeds(seed)["engine"], allocator=allocator)
    sim.run()
    return sim


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
    unit = next(u for u in ("airtime_s", "bandwidth_hz") if u in s["p1"])  # the access scheme's figure
    lines += ["", f"{'scheme':>8} {'bits/round':>12} {'upload s*':>10} {'round s':>10} {unit:>14} (sum)"]
    for name in ("p1", "equal", "uncoded"):
        sch = s[name]
        lines.append(f"{name:>8} {sch['bits_per_round']:>12.4g} {sch['latency_s']:>10.4g} "
                     f"{sch['round_latency_s']:>10.4g} {sum(sch[unit]):>14.4g}")
    sv = rep["saving_percent"]
    lines += ["* upload s: sum_k alpha_k b_k / B (RD paper's linear bandwidth cost); round s: one round played by "
              "the engine at the mean link budget (no fading, no jitter), every phase, these bits sent by the "
              "rd-ideal coder (uncoded: none); the scenario's own scheme: edgefl plan --percentiles"]
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
