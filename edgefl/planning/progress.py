"""Progress of a plan: the rounds sampled so far over every point, on stderr (``edgefl plan``
shows it on a terminal; ``--progress/--no-progress``, ``progress=`` in the Python API).

A plan's searches decide for themselves how many points and samples they need, so there is no
total to count towards: the bar shows the rounds the simulator has played for the plan, the
points sampled and the rate. It polls the sample store from a thread (the searches run in the
main thread or in the question threads of :func:`edgefl.planning.api.answer_all`), reading each
point's ``drawn`` count; samples drawn in a pool's processes count when they reach this process.
"""

from __future__ import annotations

import threading
from types import TracebackType

from tqdm import tqdm

POLL_S = 0.5


def rounds_drawn(points: dict) -> int:
    """Rounds the simulator played for these points (:attr:`Samples.drawn` each)."""
    return sum(int(s.drawn) for s in list(points.values()))


class PlanProgress:
    """A context manager: a tqdm bar of the rounds drawn into ``points`` (a Sampler's store),
    refreshed every :data:`POLL_S` s while the plan runs; ``enabled`` None: on a terminal only."""

    def __init__(self, points: dict, enabled: bool | None) -> None:
        self.points = points
        self.bar = tqdm(desc="plan", unit=" rounds", disable=None if enabled is None else not enabled, leave=False)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="edgefl-plan-progress", daemon=True)

    def _update(self) -> None:
        drawn = rounds_drawn(self.points)
        self.bar.update(drawn - self.bar.n)
        self.bar.set_postfix(points=len(self.points), refresh=False)

    def _poll(self) -> None:
        while not self._stop.wait(POLL_S):
            self._update()

    def __enter__(self) -> PlanProgress:
        if not self.bar.disable:
            self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        if not self.bar.disable:
            self._update()
        self.bar.close()
