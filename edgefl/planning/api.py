"""``edgefl.planning.plan``: every round-latency answer of ``edgefl plan`` in one call.

The CLI command (``edgefl plan S --percentiles / --deadline T / --coverage``) and the Python API
(``edgefl.plan``) are thin layers over :func:`plan`; :meth:`PlanReport.to_dict` is the JSON the
CLI prints (contract in :mod:`edgefl.planning.answers`). Samples come from the simulator itself
(:mod:`edgefl.planning.samples`), the searches and their stopping rule are in
:mod:`edgefl.planning.questions`, the intervals in :mod:`edgefl.planning.stats`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from edgefl.planning import questions
from edgefl.planning.answers import PlanReport, ScenarioCoverage
from edgefl.planning.coverage import out_of_coverage
from edgefl.planning.progress import PlanProgress
from edgefl.planning.samples import METHODS, OVER
from edgefl.pool_server import jobs_problem
from edgefl.scenario import FieldProblem, ResolvedScenario, ScenarioError

DEFAULT_SAMPLES = 200  # initial samples per point (the p99 interval of i.i.d. samples needs n >= 367: grown)
DEFAULT_MAX_SAMPLES = 6400
DEFAULT_RESOLUTION = 0.05
DEFAULT_PER_PLACEMENT = 10
#: how the last plan() of this process ran: processes ("jobs") and the CPU seconds spent in the pool's
#: children ("pool_cpu_s", as they reported it; "slot_cpu_s" and peak memory "slot_max_rss_mb" by slot;
#: benchmarks/plan_speed.py prints them)
LAST_RUN: dict[str, object] = {}
POOL_MIN_S = 2.0  # estimated seconds of a point's first samples above which plan uses a process pool


class PlanError(ValueError):
    """A planning question asked with options that cannot go together (message names the option)."""


def check_options(*, deadline: float | None = None, coverage: bool = False, over: str = "fading",
                  method: str = "auto", quantile: float = 0.95, resolution: float = DEFAULT_RESOLUTION,
                  samples: int = DEFAULT_SAMPLES, max_samples: int = DEFAULT_MAX_SAMPLES,
                  rounds_per_placement: int = DEFAULT_PER_PLACEMENT, jobs: int | None = None) -> None:
    """Raise :class:`PlanError` naming every option of :func:`plan` out of its range."""
    per_placement = rounds_per_placement
    problems = []
    if method not in METHODS:
        problems.append(f"--method = {method!r}: use one of {', '.join(METHODS)}")
    if over not in OVER:
        problems.append(f"--over = {over!r}: use one of {', '.join(OVER)}")
    if deadline is not None and not (deadline > 0 and math.isfinite(deadline)):
        problems.append(f"--deadline = {deadline!r}: must be a positive number of seconds")
    if coverage and deadline is None:
        problems.append("--coverage needs --deadline T (the largest radius whose round latency meets T)")
    if not 0.0 < quantile < 1.0:
        problems.append(f"--quantile = {100 * quantile!r} %: must be in (0, 100) % (a fraction in (0, 1) in Python)")
    if not 0.0 < resolution < 1.0:
        problems.append(f"--resolution = {resolution!r}: must be in (0, 1) (relative)")
    if not 1 <= samples <= max_samples:
        problems.append(f"--samples = {samples!r}: must be in 1..--max-samples ({max_samples})")
    if per_placement < 1:
        problems.append(f"--rounds-per-placement = {per_placement!r}: must be >= 1")
    if (why := jobs_problem(jobs)) is not None:
        problems.append(why)
    if problems:
        raise PlanError("; ".join(problems))


def timing_only_applies(rs: ResolvedScenario) -> bool:
    """Whether a timing-only run of ``rs`` draws no gradients: its scheme's bits do not depend on the
    gradient values (:func:`edgefl.sim.bits_only.applies`), so a trained model costs nothing to sample."""
    from edgefl.sim import bits_only
    from edgefl.sim.build import compressor_for, gradient_source

    src = gradient_source(rs)
    return bool(bits_only.applies(src, compressor_for(rs, src)))


def check_scenario(rs: ResolvedScenario) -> None:
    """Raise ScenarioError (naming the field) for a scenario whose rounds the planner cannot sample
    cheaply: every round of a trained model or of bit-true coding would be computed in full, unless
    the scheme's bits do not depend on the gradient values (none, signsgd, ef-signsgd: timing only)."""
    scn = rs.scenario
    synthetic_analytic = scn.model is None and scn.gradients is not None and scn.fidelity == "analytic"
    if synthetic_analytic or timing_only_applies(rs):
        return
    if scn.model is not None:
        raise ScenarioError(rs.source, [FieldProblem(
            "model", scn.model.model, f"plan samples many rounds; with compression.scheme "
            f"{scn.compression.scheme!r} every round would train the model. Use a scheme whose bits do not "
            "depend on the gradients (none, signsgd, ef-signsgd), or fidelity: analytic and a 'gradients' "
            "(synthetic) source")])
    raise ScenarioError(rs.source, [FieldProblem("fidelity", scn.fidelity, "plan samples many rounds; use "
                                                 "fidelity: analytic (same timing model, no BP decoding)")])


def assumptions(rs: ResolvedScenario) -> dict[str, Any]:
    """What every answer about ``rs`` assumes (the scenario's choices the latency depends on)."""
    s = rs.scenario
    ch = s.channel
    return {"scheme": s.compression.scheme, "allocation": s.rate_allocation.scheme, "access": ch.access,
            "link": getattr(ch.link, "model", None), "fading": getattr(ch.fading, "model", None),
            "correlation": ch.correlation.kind, "upload_order": s.upload_order,
            "workers": s.workers.count, "per_round": s.workers.participants,
            "round_deadline_s": s.round_deadline_s, "uplink_bandwidth_hz": ch.uplink_bandwidth_hz,
            "server": s.server.profile, "seed": s.seed}


def plan(rs: ResolvedScenario, *, deadline: float | None = None, percentiles: bool = False, coverage: bool = False,
         over: str = "fading", method: str = "auto", quantile: float = 0.95, resolution: float = DEFAULT_RESOLUTION,
         samples: int = DEFAULT_SAMPLES, max_samples: int = DEFAULT_MAX_SAMPLES,
         rounds_per_placement: int = DEFAULT_PER_PLACEMENT, seed: int | None = None,
         max_workers_limit: int | None = None, max_memory: float | None = None,
         jobs: int | None = None, progress: bool | None = False) -> PlanReport:
    """Answer the round-latency questions about ``rs``.

    * ``percentiles``: p50/p95/p99 with 95 % intervals (also given when nothing else is asked);
    * ``deadline`` T (s): the largest worker count and the smallest uplink bandwidth whose
      ``quantile`` (a fraction, 0.95 = p95) meets T;
    * ``coverage`` (with ``deadline``): the largest cell radius meeting T over placements and
      fading, and the share of placed workers out of coverage there.

    ``over``: "fading" (the scenario's placement; samples are rounds) or "placements" (placement,
    shadowing, LOS, O2I redrawn: ``rounds_per_placement`` rounds per seed drawn from ``seed``,
    default the scenario's). ``method``: the engine path producing the samples ("auto", "fast",
    "simpy"). ``samples``: initial samples per point, doubled up to ``max_samples`` until the
    deadline is outside the 95 % interval or the interval is narrower than ``resolution`` (relative
    to the deadline, else to the percentile); ``resolution`` is also the relative resolution of the
    bandwidth and radius searches. ``jobs``: processes sampling the points concurrently
    (:mod:`edgefl.planning.pool`; the answers are the same for every value); default every CPU,
    or 1 when the plan is estimated to be quick (:func:`auto_jobs`) or samples one point only
    (percentiles without a deadline). ``progress``: a bar of the rounds sampled on stderr
    (:mod:`edgefl.planning.progress`; None: on a terminal only). Raises :class:`PlanError` for
    bad options, ScenarioError for a scenario the planner cannot sample (naming the field).
    """
    check_options(deadline=deadline, coverage=coverage, over=over, method=method, quantile=quantile,
                  resolution=resolution, samples=samples, max_samples=max_samples,
                  rounds_per_placement=rounds_per_placement, jobs=jobs)
    check_scenario(rs)
    q = 100.0 * quantile  # the questions and the report speak percent (p95)
    sp = questions.Sampler(rs, method, over, max_samples, rounds_per_placement, seed, max_memory)
    asked: list[tuple[str, Callable[[questions.Sampler], object]]] = []
    if percentiles or deadline is None:
        asked.append(("percentiles", lambda v: questions.percentiles(v, q, resolution, samples, deadline)))
    if deadline is not None:
        asked.append(("max_workers", lambda v: questions.max_workers(v, deadline, q, resolution, samples,
                                                                     max_workers_limit)))
        asked.append(("min_bandwidth", lambda v: questions.min_bandwidth(v, deadline, q, resolution, samples)))
        if coverage:
            asked.append(("coverage", lambda v: questions.max_radius(v, deadline, q, resolution, samples)))
    single = deadline is None  # percentiles alone: one point, one simulation - nothing to run beside it
    n_jobs = jobs if jobs is not None else 1 if single else auto_jobs(rs, samples)
    with PlanProgress(sp._points, progress):
        answers, oc = answer_all(sp, [f for _, f in asked], n_jobs, meanwhile=lambda: out_of_coverage(rs))
    report = PlanReport(
        scenario=rs.scenario.name, method=method, over=over, quantile=q, resolution=resolution,
        deadline_s=deadline, assumes=assumptions(rs),
        out_of_coverage=ScenarioCoverage([int(w) for w in oc.workers], [float(d) for d in oc.distances_m],
                                         oc.placed, oc.fraction))
    for name, answer in zip([a for a, _ in asked], answers):
        setattr(report, name, answer)
    return report


def auto_jobs(rs: ResolvedScenario, samples: int) -> int:
    """Processes of a plan when ``jobs`` is not given: 1 when a point's first ``samples`` rounds are
    estimated (:func:`edgefl.estimate.estimate_scenario`, +-3x) under :data:`POOL_MIN_S` - the pool's
    start-up (a fork server importing edgefl, numba functions loaded per child, ~2 s) would cost more
    than the plan (the quickstart's whole plan takes ~1 s) - else every CPU this process may use."""
    from edgefl.estimate import estimate_scenario
    from edgefl.pool_server import default_jobs
    from edgefl.planning.samples import timing_run

    if estimate_scenario(timing_run(rs, samples).scenario, rs.base_dir).wall_s < POOL_MIN_S:
        return 1
    return default_jobs()


def answer_all(sp: questions.Sampler, asked: list[Callable[[questions.Sampler], object]], jobs: int,
               meanwhile: Callable[[], object] = lambda: None) -> tuple[list[object], object]:
    """Each question's answer, asked of its own view of the sample store: in turn (``jobs`` 1) or,
    with a pool of ``jobs`` processes, in threads (each mostly waits for its points' samples) whose
    searches take the same decisions from the same numbers; and what ``meanwhile`` (the report's own
    work) returns, run in this thread while the pool samples. The first question that raises (in the
    order asked) raises here; on any error or Ctrl-C the pool's processes are stopped."""
    if (why := jobs_problem(jobs)) is not None:
        raise PlanError(why)
    LAST_RUN.clear()
    LAST_RUN.update(jobs=jobs, pool_cpu_s=0.0)
    if jobs == 1:
        extra = meanwhile()
        return [f(sp.view()) for f in asked], extra
    from edgefl.planning.pool import PointPool

    pool = PointPool(sp.options(), jobs)
    sp.pool = pool
    threads = ThreadPoolExecutor(len(asked), thread_name_prefix="edgefl-plan")
    try:
        futures = [threads.submit(f, sp.view()) for f in asked]
        extra = meanwhile()
        return [f.result() for f in futures], extra
    finally:
        pool.close()  # threads waiting on a sample get an error and end
        threads.shutdown(wait=True, cancel_futures=True)
        sp.pool = None
        LAST_RUN["pool_cpu_s"] = float(sum(pool.cpu_s))
        LAST_RUN["slot_cpu_s"] = [float(c) for c in pool.cpu_s]
        LAST_RUN["slot_max_rss_mb"] = [float(m) for m in pool.max_rss_mb]
