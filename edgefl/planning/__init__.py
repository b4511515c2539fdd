"""`edgefl plan`: answers about a scenario without training.

* :mod:`.rates`: P1 bandwidth-optimal rates and the round latency they give (RD paper eq. 20);
* :mod:`.latency`: the round latency over many channel draws, vectorised;
* :mod:`.percentiles`, :mod:`.deadline`, :mod:`.coverage`: round-latency percentiles, the
  largest worker count / smallest uplink bandwidth meeting a deadline, the largest cell radius
  (``edgefl plan --method draws``).
"""

from edgefl.planning.rates import _change, format_plan, plan_scenario

__all__ = ["_change", "format_plan", "plan_scenario"]
