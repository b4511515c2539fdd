"""Per-round bookkeeping: the energy columns and the row of rounds.csv of a played round.

Pure assembly of what the phases produced (:mod:`edgefl.sim.round_phases`); the only side
effect is draining the batteries (:class:`edgefl.energy.Batteries`) by the round's energy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from edgefl.compress.base import CompressionResult
from edgefl.energy import Batteries, EnergyProfile, server_round_energy, worker_round_energy
from edgefl.results.records import RoundRecord
from edgefl.sim.network import Network
from edgefl.sim.round_phases import AirOutcome, LocalWork


@dataclass(frozen=True)
class RoundInputs:
    """A played round as the records see it: round ``round`` from ``t0`` to ``t_end``, rate control
    ``t_rc`` and aggregation ``aggregate_s`` seconds, the broadcast bits, the participants' (rows
    ``sel``) gradients, local work, compression, air outcome, the aggregate, the coded bits decoded,
    P and the round deadline after ``t0`` (None: none)."""

    round: int
    t0: float
    t_end: float
    t_rc: float
    aggregate_s: float
    downlink_bits: float
    grads: np.ndarray
    work: LocalWork
    res: CompressionResult
    air: AirOutcome
    aggregate: np.ndarray
    decode_bits: float
    sel: np.ndarray
    num_params: int
    deadline_s: float | None


def round_energy(net: Network, en: EnergyProfile, batteries: Batteries, rin: RoundInputs) -> dict[str, Any]:
    """Energy columns of the round (:mod:`edgefl.energy`): the participants by state (workers not
    sampled are not charged), server decoder (bits decoded) and compute (rate control + aggregation);
    ``batteries`` drained, workers that ran out counted. With a round deadline local work still going
    at it stops there, and so does a broadcast longer than the deadline."""
    t0, latency, t_rc, aggregate_s = rin.t0, rin.t_end - rin.t0, rin.t_rc, rin.aggregate_s
    work, decode_bits, air, sel, deadline_s = rin.work, rin.decode_bits, rin.air, rin.sel, rin.deadline_s
    full = sel.size == net.num_workers

    def of(a: np.ndarray) -> np.ndarray:
        return a if full else np.asarray(a)[sel]

    busy = work.compute_s + work.encode_s
    receive = work.t_bc + air.feedback_s
    if deadline_s is not None:  # local work still going at the deadline stops there
        # the same cut as the timeline's compute [t_bc + wait, + c] and encode [ready - e, ready]
        dl = t0 + deadline_s
        wait = work.wait_s if work.wait_s is not None else 0.0
        busy = (np.clip(dl - (t0 + work.t_bc + wait), 0.0, work.compute_s)
                + np.clip(dl - (work.ready - work.encode_s), 0.0, work.encode_s))
        # so does a broadcast longer than the deadline (the round ends at it, nobody uploads)
        receive = min(work.t_bc, deadline_s) + air.feedback_s
    we = worker_round_energy(latency, busy, air.airtime, receive,
                             of(net.worker_compute_power_w), of(net.worker_radio_power_w), of(en.rx_power_w),
                             of(en.idle_power_w))
    e_dec, e_srv = server_round_energy(decode_bits, en.decoder_energy_per_bit_j,
                                       t_rc + aggregate_s, en.server_compute_power_w)
    drained = we.total_j
    if not full:
        drained = np.zeros(net.num_workers)
        drained[sel] = we.total_j
    emptied = batteries.drain(drained)
    return {
        "worker_energy_j": float(we.total_j.sum()),
        "energy_compute_j": float(we.compute_j.sum()),
        "energy_transmit_j": float(we.transmit_j.sum()),
        "energy_receive_j": float(we.receive_j.sum()),
        "energy_idle_j": float(we.idle_j.sum()),
        "server_decoder_energy_j": e_dec,
        "server_compute_energy_j": e_srv,
        # an upload that ended after the deadline is dropped (``dropped``), whatever the link did after it
        "uploads_lost": int((~air.delivered & air.on_time).sum()),
        "battery_dropouts": int(emptied.sum()),
    }


def round_record(rin: RoundInputs, metrics: dict[str, Any], energy: dict[str, Any], *,
                 report_participation: bool) -> RoundRecord:
    """The round's row of rounds.csv (``energy``: the columns of :func:`round_energy`; bits: what
    went on the air, late uploads up to the deadline when there is one; distortion: of the
    aggregate vs the mean gradient of all participants; the participation columns only when
    ``report_participation``)."""
    r, t0, t_end, downlink_bits, grads, work = rin.round, rin.t0, rin.t_end, rin.downlink_bits, rin.grads, rin.work
    res, air, aggregate, decode_bits, sel = rin.res, rin.air, rin.aggregate, rin.decode_bits, rin.sel
    deadline = rin.deadline_s is not None
    k, p = sel.size, rin.num_params
    bits = np.asarray(res.upload_bits, dtype=float)
    extras = dict(metrics)
    if deadline:
        bits = np.where(air.on_time, bits, air.late_bits)
    if res.decode_schedule is not None:  # DSC's retries: bits asked for by feedback, server time they took
        extras["retry_bits"] = float(sum(st.bits for steps in res.decode_schedule for st in steps
                                         if st.kind == "retry"))
        extras["retry_time_s"] = float(np.sum(air.retry_s)) if air.retry_s is not None else 0.0
    if report_participation:
        extras = {"participants": int(k), "dropped": int(np.sum(~air.on_time)),
                  "aggregated": int(air.aggregated.size),
                  "dropped_bits": float(np.sum(air.late_bits[~air.on_time])), **extras}
    return RoundRecord(
        round=r,
        start_s=t0,
        end_s=t_end,
        latency_s=t_end - t0,
        broadcast_s=work.t_bc,
        downlink_bits=downlink_bits,
        bits_total=float(bits.sum()),
        bits_per_worker_mean=float(bits.mean()),
        bits_per_worker_min=float(bits.min()),
        bits_per_worker_max=float(bits.max()),
        bits_per_param=float(bits.sum() / (k * p)),
        decode_bits_total=decode_bits,
        # timing-only runs (edgefl.sim.bits_only) have no gradient values: no distortion
        distortion=float(np.mean((aggregate - grads.mean(axis=0)) ** 2)) if grads.shape[1] else None,
        decode_failures=int(res.decode_failures),
        undetected_errors=int(res.undetected_errors),
        retries=int(res.retries),
        upload_airtime_s=float(air.airtime.sum()),
        **energy,
        extras=extras,
    )
