"""The run input digest (resume, sweep point names) covers the contents of the files a scenario
reads: a changed trace gives a new digest, an unchanged one the same."""

from __future__ import annotations

import shutil
from pathlib import Path

from edgefl.scenario import load_scenario
from edgefl.scenario.digest import input_digest, referenced_files
from edgefl.sweep.study import point_key

ROOT = Path(__file__).resolve().parents[1]


def test_digest_follows_trace_contents(tmp_path: Path) -> None:
    shutil.copy(ROOT / "scenarios" / "quickstart.yaml", tmp_path / "q.yaml")
    trace = tmp_path / "snr.csv"
    shutil.copy(ROOT / "channels" / "traces" / "example_snr.csv", trace)
    sets = ["channel.trace=snr.csv", "workers.count=4"]
    rs = load_scenario(tmp_path / "q.yaml", sets)
    assert referenced_files(rs) == {"channel.trace": trace}
    d0, k0 = input_digest(rs), point_key(rs)
    assert input_digest(load_scenario(tmp_path / "q.yaml", sets)) == d0
    trace.write_text(trace.read_text().replace("3.57", "3.58"))
    rs2 = load_scenario(tmp_path / "q.yaml", sets)
    assert input_digest(rs2) != d0 and point_key(rs2) != k0
