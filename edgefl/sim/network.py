"""What the engine is told about a run: the network (radio and hardware as plain numbers and
callables) and the engine options. Its own module so that the engine (:mod:`edgefl.sim.engine`),
the air phase (:mod:`edgefl.sim.air`), the round record (:mod:`edgefl.sim.round_record`) and the
round-timing core (:mod:`edgefl.sim.round_timing`) share them without importing each other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from edgefl.energy import EnergyProfile
from edgefl.radio.access import AccessScheme
from edgefl.radio.access_registry import make_access
from edgefl.radio.link import LinkModel


@dataclass(frozen=True)
class Network:
    """Everything the engine needs to know about radio and hardware, as plain numbers and callables.

    ``uplink_snr(k, t, round, bandwidth_hz)`` is the linear SNR of worker k's upload attempt
    starting at t on ``bandwidth_hz``; ``link`` turns SNRs into air time (and retransmissions);
    ``downlink_rate(t, round)`` is the multicast rate of the model broadcast in bit/s to all
    workers, ``downlink_rate(t, round, workers)`` to the listed worker ids (partial
    participation). The engine never looks inside the radio model.
    """

    num_workers: int
    worker_flops: np.ndarray  # (K,) FLOP/s
    worker_compute_power_w: np.ndarray  # (K,)
    worker_radio_power_w: np.ndarray  # (K,)
    server_flops: float
    decoder_bps: float  # coded bits per second through the server's LDPC decoder
    uplink_bandwidth_hz: float
    access: AccessScheme  # the uplink access scheme (a channel.access name is turned into it)
    uplink_snr: Callable[[int, float, int, float], float]
    downlink_rate: Callable[[float, int], float]
    link: LinkModel
    energy: EnergyProfile | None = None  # receive/idle/battery/server figures (None: not counted)
    # device trace: t -> (speed factor (K,), wait (K,) s before local work can start at t); None = (1, 0)
    device_state: Callable[[float], tuple[np.ndarray, np.ndarray]] | None = None
    # BP iterations per pass at which decoder_bps holds (decode time scales with the iterations
    # run); None = decode time = coded bits / decoder_bps whatever the iterations
    decoder_reference_iterations: float | None = None
    #: ``uplink_snr`` of many workers at once (workers, t, round, bandwidths) -> SNRs, same values;
    #: optional, used by the analytic fast path (:mod:`edgefl.sim.fast_path`)
    uplink_snr_many: Callable[[np.ndarray, float, int, np.ndarray], list[float]] | None = None
    #: what a compiled upload kernel needs to compute ``uplink_snr`` itself: (workers, round, bandwidths,
    #: reads per upload) -> :class:`edgefl.radio.snr_batch.UplinkSnrBatch` or None; optional
    uplink_snr_batch: Callable[[np.ndarray, int, np.ndarray, int], Any] | None = None
    #: the SNR of an upload depends on its start time (Gauss-Markov fading, a channel trace): the
    #: vectorised core then reads it attempt by attempt at each start, as the SimPy processes do
    snr_depends_on_time: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.access, str):
            object.__setattr__(self, "access", make_access(self.access))


@dataclass
class SimOptions:
    """Engine knobs not tied to radio or hardware."""

    rounds: int
    fidelity: str = "analytic"
    upload_order: str = "completion"  # "completion" | "index"
    compute_jitter: float = 0.0
    aggregate_flops_per_param_worker: float = 1.0  # server aggregation: K*P adds
    per_round: int | None = None  # workers sampled per round (None: all take part)
    sampling_weights: np.ndarray | None = None  # (N,) availability weights; None: uniform sampling
    round_deadline_s: float | None = None  # uploads not ended this long after the round start are dropped
    timeline: bool = True  # keep every interval in ``Simulation.events`` (off: nothing per event kept)
