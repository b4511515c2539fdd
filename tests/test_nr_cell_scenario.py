"""The shipped NR cell scenario (issue 13): NR link with HARQ, population 100 with 10 per round,
a round deadline and both trace kinds, run from the scenario file."""

from __future__ import annotations

import csv
from pathlib import Path

from edgefl.runner import run_scenario
from edgefl.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]


def test_nr_cell_runs_with_every_feature(tmp_path: Path) -> None:
    rs = load_scenario(ROOT / "scenarios" / "nr_cell.yaml", ["rounds=4"])
    s = rs.scenario
    assert s.channel.link.model == "nr" and s.workers.per_round == 10 and s.workers.count == 100
    assert s.channel.trace is not None and s.workers.trace is not None and s.round_deadline_s == 0.25
    out = run_scenario(rs, tmp_path / "a", progress=False)
    assert out.complete
    rows = list(csv.DictReader(open(out.out_dir / "rounds.csv")))
    assert all(int(r["participants"]) == 10 for r in rows)
    assert all(float(r["latency_s"]) <= 0.25 + 1e-3 for r in rows)  # deadline + aggregation
    assert sum(int(r["dropped"]) for r in rows) > 0  # the deadline bites in this cell
    again = run_scenario(rs, tmp_path / "b", progress=False)
    for f in ("rounds.csv", "timeline.csv"):
        assert (out.out_dir / f).read_bytes() == (again.out_dir / f).read_bytes()
