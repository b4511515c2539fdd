"""Energy of one round: per-worker state energies, server decoder and aggregation, batteries.

Every device is in one state at a time and draws that state's *total* electrical power
(the convention of the device profiles, :class:`edgefl.devices.WorkerProfile`), so
energy = sum over states of time x power:

* worker k: E_k = P_cmp (t_compute + t_encode) + P_tx t_tx + P_rx t_rx + P_idle t_idle,
  t_tx = air time of its uploads (retransmissions included), t_rx = time receiving the
  model broadcast and DSC feedback, t_idle = T_round - (t_compute + t_encode + t_tx + t_rx)
  (the rest of the round: waiting for the broadcast, its upload slot, the other workers);
* server: E_dec = e_bit x decoded bits (e_bit in J per decoded bit from the decoder
  profile, e.g. 22.7 pJ/bit for the 588 Gb/s finite-alphabet ASIC, Ghanaatian et al.,
  IEEE TVLSI 26(2), 2018, abstract) and E_agg = P_server t_aggregate (+ rate control).

A battery of capacity C_k (J) is drained by E_k each round; a worker whose remaining
charge is <= 0 at the start of a round drops out of that and every later round.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class WorkerEnergy:
    """(K,) energy components of one round, J; ``total`` is their sum."""

    compute_j: np.ndarray
    transmit_j: np.ndarray
    receive_j: np.ndarray
    idle_j: np.ndarray

    @property
    def total_j(self) -> np.ndarray:
        return self.compute_j + self.transmit_j + self.receive_j + self.idle_j


def worker_round_energy(
    round_s: float,
    compute_s: np.ndarray,
    transmit_s: np.ndarray,
    receive_s: np.ndarray,
    compute_power_w: np.ndarray,
    tx_power_w: np.ndarray,
    rx_power_w: np.ndarray,
    idle_power_w: np.ndarray,
    active: np.ndarray | None = None,
) -> WorkerEnergy:
    """E_k by state (module docstring); inactive workers (``active`` False) spend the round idle.

    Busy time longer than the round (only by round-off) is an error, so a mis-booked interval
    cannot silently make idle energy negative.
    """
    c, t, r = (np.asarray(x, dtype=float) for x in (compute_s, transmit_s, receive_s))
    busy = c + t + r
    if np.any(busy > round_s * (1 + 1e-9) + 1e-12):
        k = int(np.argmax(busy - round_s))
        raise ValueError(f"worker {k} is busy {busy[k]:g} s in a round of {round_s:g} s")
    idle = np.maximum(round_s - busy, 0.0)
    if active is not None:
        a = np.asarray(active, dtype=bool)
        c, t, r = (np.where(a, x, 0.0) for x in (c, t, r))
        idle = np.where(a, idle, round_s)
    return WorkerEnergy(
        compute_j=c * np.asarray(compute_power_w, dtype=float),
        transmit_j=t * np.asarray(tx_power_w, dtype=float),
        receive_j=r * np.asarray(rx_power_w, dtype=float),
        idle_j=idle * np.asarray(idle_power_w, dtype=float),
    )


def server_round_energy(decoded_bits: float, energy_per_bit_j: float | None, compute_s: float,
                        compute_power_w: float | None) -> tuple[float, float]:
    """(E_dec, E_cmp) = (e_bit x decoded bits, P_server x compute time); 0 where a figure is unknown."""
    e_dec = 0.0 if energy_per_bit_j is None else float(decoded_bits) * energy_per_bit_j
    e_cmp = 0.0 if compute_power_w is None else float(compute_s) * compute_power_w
    return e_dec, e_cmp


class BatteriesExhausted(RuntimeError):
    """No worker with charge left can take part in a round: the run cannot go on."""


class Batteries:
    """Remaining charge per worker; ``None`` capacity = mains powered (never drops out)."""

    def __init__(self, capacity_j: np.ndarray) -> None:
        cap = np.asarray(capacity_j, dtype=float)  # nan = no battery
        if np.any(cap[~np.isnan(cap)] <= 0):
            raise ValueError(f"battery capacities must be > 0 J, got {capacity_j}")
        self.remaining_j = cap.copy()

    def any_battery(self) -> bool:
        """Whether any worker runs on a battery (participation can then change over the run)."""
        return bool(np.any(~np.isnan(self.remaining_j)))

    def alive(self) -> np.ndarray:
        """(K,) True for workers that can take part in the next round."""
        return np.isnan(self.remaining_j) | (self.remaining_j > 0)

    def drain(self, energy_j: np.ndarray) -> np.ndarray:
        """Subtract one round's energy; return the workers that ran out during it."""
        before = self.alive()
        self.remaining_j = np.where(np.isnan(self.remaining_j), np.nan, self.remaining_j - energy_j)
        return before & ~self.alive()


@dataclass(frozen=True)
class EnergyProfile:
    """The power figures the engine charges beyond compute and transmit (which ``Network`` holds).

    ``rx_power_w`` / ``idle_power_w`` (K,) W; ``battery_capacity_j`` (K,) J, nan = mains
    powered; server compute draw (W) and decoder energy per decoded bit (J), None = not counted.
    """

    rx_power_w: np.ndarray
    idle_power_w: np.ndarray
    battery_capacity_j: np.ndarray
    server_compute_power_w: float | None = None
    decoder_energy_per_bit_j: float | None = None

    @classmethod
    def idle_only(cls, k: int) -> EnergyProfile:
        """No receive/idle draw, no batteries, server not counted (engines built without profiles)."""
        return cls(np.zeros(k), np.zeros(k), np.full(k, np.nan))
