"""``edgefl plan --jobs N`` (edgefl.planning.pool): the answers of a plan whose points are sampled
in a process pool, questions in threads and points prefetched, are the serial plan's, to the last
digit of the JSON, whatever N; a child that dies is an error naming the point; errors raised in a
child reach the caller as the serial run raises them; on an error the children are stopped."""

from __future__ import annotations

import json
import os
import pickle
import signal
from pathlib import Path

import pytest
from typer.testing import CliRunner

import edgefl
from edgefl.cli import app
from edgefl.pool_server import default_jobs
from edgefl.planning import PlanError, plan, pool, questions
from edgefl.planning import api as plan_api
from edgefl.scenario import FieldProblem, ScenarioError, load_scenario

ROOT = Path(__file__).resolve().parents[1]
QUICK = ROOT / "scenarios" / "quickstart.yaml"
NR = ROOT / "scenarios" / "nr_cell.yaml"
NR_SMALL = ["channel.trace=null", "workers.trace=null", "workers.count=40"]  # Gauss-Markov fading, HARQ, per_round 10

CASES = {  # name: (scenario, --set, plan options, jobs compared with 1)
    # the quickstart's three questions at once, the radius over batched placements (in the parent)
    "quickstart --deadline --percentiles --coverage": (QUICK, [], {"deadline": 0.3, "percentiles": True,
                                                                   "coverage": True}, 2),
    # Gauss-Markov rounds: each point one live simulation continued in its slot
    "nr --deadline --percentiles (Gauss-Markov series)": (NR, NR_SMALL, {
        "deadline": 0.25, "percentiles": True, "samples": 50, "max_samples": 400}, 2),
    # --over placements on per-placement simulations in the children (coverage bookkeeping returned)
    "nr --coverage (placements simulated in the children)": (NR, NR_SMALL[:2], {
        "deadline": 0.25, "coverage": True, "samples": 20, "max_samples": 80, "rounds_per_placement": 5}, 3),
}


@pytest.mark.parametrize("name", list(CASES))
def test_pool_answers_are_the_serial_answers(name: str) -> None:
    scenario, sets, options, jobs = CASES[name]
    rs = load_scenario(scenario, sets)
    serial = plan(rs, jobs=1, **options).to_dict()
    pooled = plan(rs, jobs=jobs, **options).to_dict()
    assert json.dumps(pooled, sort_keys=True) == json.dumps(serial, sort_keys=True)
    asked = [k for k in ("percentiles", "max_workers", "min_bandwidth", "coverage") if k in serial]
    assert len(asked) >= 2  # the questions ran concurrently, not one alone


def test_cli_jobs_gives_the_same_json_and_refuses_zero() -> None:
    runner = CliRunner()
    args = ["plan", str(QUICK), "--deadline", "0.3", "--json", "--samples", "100", "--max-samples", "200"]
    one, two = runner.invoke(app, [*args, "--jobs", "1"]), runner.invoke(app, [*args, "--jobs", "2"])
    assert one.exit_code == 0 and two.exit_code == 0, one.output + two.output
    assert json.loads(one.stdout) == json.loads(two.stdout)
    bad = runner.invoke(app, [*args, "--jobs", "0"])
    assert bad.exit_code == 2 and "--jobs = 0" in bad.output and "Traceback" not in bad.output
    with pytest.raises(PlanError, match="--jobs = 0"):  # the Python API takes the same option
        edgefl.plan(QUICK, deadline=0.3, jobs=0)


def test_jobs_beyond_what_the_machine_can_run_are_refused_before_any_work(tmp_path) -> None:
    """--jobs 100000 used to start processes until the open files ran out (OSError mid-plan); plan and
    sweep, CLI and API, now refuse more than JOBS_PER_CPU processes per CPU up front, naming the range."""
    from edgefl.pool_server import JOBS_PER_CPU, default_jobs
    from edgefl.sweep.engines import EngineError

    most = JOBS_PER_CPU * default_jobs()
    runner = CliRunner()
    study = ROOT / "scenarios" / "studies" / "dsc_decoder_delay.yaml"
    for argv in (["plan", str(QUICK), "--deadline", "0.3", "--jobs", str(most + 1)],
                 ["sweep", str(study), "--jobs", str(most + 1), "-o", str(tmp_path / "s")]):
        out = runner.invoke(app, argv)
        assert out.exit_code == 2 and f"--jobs = {most + 1}: must be a whole number in 1..{most}" in out.output
        assert "Traceback" not in out.output
    assert not (tmp_path / "s").exists()  # refused before the study directory was made
    with pytest.raises(PlanError, match=f"--jobs = {most + 1}"):
        edgefl.plan(QUICK, deadline=0.3, jobs=most + 1)
    for bad in (0, -3, most + 1, 2.5, True):
        with pytest.raises(EngineError, match="--jobs = "):
            edgefl.sweep(study, jobs=bad, out=tmp_path / "api")
    assert not (tmp_path / "api").exists()


def test_default_jobs_use_the_pool_only_for_long_plans() -> None:
    """The quickstart's plan (~1 s) stays in-process; the 10,000-phone NR cell uses every CPU."""
    assert plan_api.auto_jobs(load_scenario(QUICK), 200) == 1
    big = load_scenario(NR, ["workers.count=10000", "workers.per_round=1000", "channel.trace=null",
                             "workers.trace=null"])
    assert plan_api.auto_jobs(big, 200) == default_jobs() >= 1


def test_a_dead_child_is_an_error_naming_the_point() -> None:
    rs = load_scenario(QUICK)
    sp = questions.Sampler(rs, max_samples=50)
    with pool.PointPool(sp.options(), 1) as pp:
        sp.pool = pp
        point = ("workers.count=4",)
        assert sp.points(point).take(10).size == 10  # the child is up and holds the point
        for proc in list(pp._slots[0]._processes.values()):
            os.kill(proc.pid, signal.SIGKILL)
        with pytest.raises(pool.PoolError, match="workers.count=4.*--jobs 1"):
            sp.points(point).take(50)


def test_errors_in_a_child_reach_the_caller_as_raised() -> None:
    """A ScenarioError crosses the process boundary as one (exit 2 in the CLI, the field named)."""
    exc = ScenarioError("s.yaml", [FieldProblem("channel.uplink_bandwidth_hz", 0.0, "must be > 0")])
    back = pickle.loads(pickle.dumps(exc))
    assert type(back) is ScenarioError and str(back) == str(exc) and back.problems == exc.problems
    rs = load_scenario(QUICK)
    sp = questions.Sampler(rs, method="fast", max_samples=50)
    with pool.PointPool(sp.options(), 1) as pp:
        sp.pool = pp
        reply = pp.submit(0, "fading", ("no.such.field=1",), 5).result()
    assert isinstance(reply.error, ScenarioError) and reply.error.problems[0].field == "no"


def test_an_error_stops_the_children(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first question (in the order asked) that raises raises from plan; the pool's children are
    terminated, the other questions' threads end."""
    made: list[pool.PointPool] = []

    class Recorded(pool.PointPool):
        def __init__(self, *a, **k) -> None:
            super().__init__(*a, **k)
            made.append(self)

    monkeypatch.setattr(pool, "PointPool", Recorded)
    sp = questions.Sampler(load_scenario(QUICK), max_samples=200)

    def long(v: questions.Sampler) -> object:
        return questions.percentiles(v, 95.0, 0.001, 200)

    def bad(v: questions.Sampler) -> object:
        v.points(("workers.count=3",)).take(20)
        raise ValueError("question failed")

    with pytest.raises(ValueError, match="question failed"):
        plan_api.answer_all(sp, [bad, long], 2)
    assert made and sp.pool is None
    assert made[0].stopped and all(not p.is_alive() for p in made[0].stopped)


def test_a_point_moved_to_another_slot_replays_the_same_rounds() -> None:
    """RemoteSamples.move / Sampler.spread: a Gauss-Markov point (a series) moved to another slot is
    rebuilt there and its rounds replayed from the first, or continued by the simulation it left there
    before - the same numbers as the serial sampler's one continued simulation either way."""
    rs = load_scenario(NR, NR_SMALL)
    serial = questions.Sampler(rs, max_samples=60)
    a, b = ("channel.uplink_bandwidth_hz=3e7",), ("channel.uplink_bandwidth_hz=4e7",)
    want = {p: serial.points(p).take(60) for p in (a, b)}
    assert serial.points(a).series  # the rounds depend on each other
    sp = questions.Sampler(rs, max_samples=60)
    with pool.PointPool(sp.options(), 2) as pp:
        sp.pool = pp
        first = {p: sp.points(p).take(20) for p in (a, b)}
        home = sp.points(b).slot
        assert home != sp.points(a).slot  # round robin
        assert sp.points(b).move(sp.points(a).slot)  # b is new there: built and replayed from round 0
        mid = sp.points(b).take(40)
        sp.spread([a, b], 60, 20)  # b (40 <= 2 x 20 samples) leaves a's slot: its old simulation continues
        assert sp.points(b).slot == home
        got = {p: sp.points(p).take(60) for p in (a, b)}
    assert (mid == want[b][:40]).all()
    for p in (a, b):
        assert (first[p] == want[p][:20]).all() and (got[p] == want[p]).all()
