"""``edgefl plan``: answers about a scenario without training.

* :func:`plan` (:mod:`.api`): round-latency percentiles with 95 % confidence intervals, the
  largest worker count and the smallest uplink bandwidth that meet a deadline, the largest cell
  radius (``--coverage``), as a typed :class:`PlanReport`; the samples are rounds played by the
  simulator itself (:mod:`.samples`), the searches in :mod:`.questions` and :mod:`.search`, the
  intervals in :mod:`.stats`, the search bounds from the schema (:mod:`.limits`), coverage in
  :mod:`.coverage`, the points sampled concurrently by a local process pool in :mod:`.pool`;
* :func:`plan_scenario` (:mod:`.rates`): P1 bandwidth-optimal rates (RD paper eq. 20) at the
  mean link budget (``edgefl plan`` without options), each row's round played by the engine
  (the same round-timing core) at that link budget.
"""

from edgefl.planning.answers import PlanReport
from edgefl.planning.api import PlanError, check_options, plan
from edgefl.planning.rates import _change, format_plan, plan_scenario
from edgefl.planning.text import format_report

__all__ = ["PlanError", "PlanReport", "_change", "check_options", "format_plan", "format_report", "plan",
           "plan_scenario"]
