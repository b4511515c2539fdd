"""Uplink access schemes: how the workers of a round share the uplink band.

An :class:`AccessScheme` answers two questions, for the SimPy engine (:mod:`edgefl.sim.air`)
and for the vectorised round-timing core (:mod:`edgefl.sim.round_timing`) alike:

* the bandwidth share of each worker (:meth:`AccessScheme.shares`), and
* when uploads are on the air: :attr:`AccessScheme.capacity` uploads at once on a band served
  first come, first served in the order the workers ask for it (TDMA: one at a time on the
  full band, DSC paper Sec. IV-D, Fig. 5), or no queue at all (``None``: FDMA, each worker
  owns its sub-band); :meth:`AccessScheme.serve` gives the start times of single attempts of
  known air time, the closed form of that queue.

Adding a scheme (e.g. OFDMA resource blocks): one file with its :class:`AccessScheme`
subclass and one entry in :data:`edgefl.radio.access_registry.ACCESS_SCHEMES`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

import numpy as np
import simpy

#: rows from which sequential loops over a round's uploads run compiled (numba); below, a Python loop
#: over lists beats numba's first-call cost (about a second per process)
COMPILED_FROM_ROWS = 4096
#: rows a kernel's Python source may play in one process before the kernel runs compiled whatever the
#: round's size (~0.2 s of Python loops, numba's first call from its cache): many rounds of a
#: thousand rows (a plan) pay the first call once instead of the Python loop every round
COMPILED_AFTER_ROWS = 500_000
_python_rows: dict[Any, int] = {}


def run_sequential(kernel: Any, rows: int, *args: Any) -> Any:
    """Call the numba ``kernel`` for a round of ``rows`` >= :data:`COMPILED_FROM_ROWS` rows, once it has
    been compiled (or loaded) in this process, or once its Python source has played
    :data:`COMPILED_AFTER_ROWS` rows; otherwise its own Python source (``kernel.py_func``) on Python lists
    (arrays ``tolist()``-ed): the same operations, without numba's first-call cost."""
    if rows >= COMPILED_FROM_ROWS or kernel.signatures:
        return kernel(*args)
    played = _python_rows.get(kernel, 0) + rows
    if played > COMPILED_AFTER_ROWS:
        return kernel(*args)
    _python_rows[kernel] = played
    return run_python(kernel, *args)


def run_python(kernel: Any, *args: Any) -> Any:
    """The numba ``kernel``'s own Python source on Python lists (arrays ``tolist()``-ed)."""
    return kernel.py_func(*(a.tolist() if isinstance(a, np.ndarray) else a for a in args))
#: how a scheme that splits the band asks the rate allocator for unequal shares: bits -> shares
ShareRule = Callable[[np.ndarray], np.ndarray]


class AccessScheme(ABC):
    """One way of sharing the uplink band among the uploads of a round."""

    name: str = "abstract"
    #: uploads on the air at once on the shared band (None: no shared band, no queue)
    capacity: int | None = None
    #: the scheme gives workers unequal bandwidth shares when the allocator asks (P1's FDMA split)
    splits_band: bool = False

    @abstractmethod
    def shares(self, bits: np.ndarray, rule: ShareRule | None = None) -> np.ndarray:
        """Fraction of the uplink band each of the round's uploads (``bits``, one per row) is sent on;
        ``rule`` is the rate allocator's split (None: the scheme's default)."""

    def band(self, env: simpy.Environment) -> simpy.Resource | None:
        """The SimPy resource the uploads request for each attempt (None: no queue)."""
        return None if self.capacity is None else simpy.Resource(env, capacity=self.capacity)

    def request_times(self, ready: np.ndarray, order: np.ndarray) -> np.ndarray:
        """When each row asks for the band: on a shared band worker ``order[i]`` asks only after
        ``order[i-1]`` has asked (so the queue serves the first attempts in ``order``); without a
        shared band as soon as it is ready."""
        if self.capacity is None:
            return ready
        t = np.empty_like(ready)
        if ready.ndim == 2:  # many rounds at once (rows: rounds, as :meth:`serve_rounds`)
            asked = np.maximum.accumulate(np.take_along_axis(ready, order, axis=1), axis=1) if order.size else ready
            np.put_along_axis(t, order, asked, axis=1)
            return t
        t[order] = np.maximum.accumulate(ready[order]) if order.size else ready[order]
        return t

    @abstractmethod
    def ideal_upload(self, bits: np.ndarray, alpha: np.ndarray, bandwidth_hz: float) -> tuple[np.ndarray, float, str]:
        """Upload phase of one round in the RD paper's linear bandwidth-cost model (Sec. V-A: worker
        k's upload of b_k bits costs alpha_k b_k Hz s): per-worker figure, upload latency and the
        figure's name (``airtime_s`` or ``bandwidth_hz``)."""

    @abstractmethod
    def serve(self, requested: np.ndarray, airtime: np.ndarray, order: np.ndarray) -> np.ndarray:
        """Start times of single uploads of ``airtime`` seconds asked for at ``requested`` (rows; the
        queue, if any, in ``order``), with SimPy's arithmetic (end = start + air time)."""

    def serve_rounds(self, requested: np.ndarray, airtime: np.ndarray, order: np.ndarray) -> np.ndarray:
        """:meth:`serve` of many independent rounds at once: (N, K) arrays, one round per row, the same
        numbers as N calls (schemes may override it with a compiled loop)."""
        return np.stack([self.serve(a, b, o) for a, b, o in zip(requested, airtime, order)]) if len(requested) \
            else np.empty_like(np.asarray(requested, dtype=float))
