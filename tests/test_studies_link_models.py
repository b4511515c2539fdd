"""studies/link_models.py runs end to end at a tiny size and reports consistent percentiles."""

from __future__ import annotations

import csv
import importlib.util
import sys
from pathlib import Path

STUDIES = Path(__file__).resolve().parents[1] / "studies"


def _load():
    sys.path.insert(0, str(STUDIES))
    spec = importlib.util.spec_from_file_location("studies_link_models", STUDIES / "link_models.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_link_models_study_writes_its_table_and_figure(tmp_path):
    mod = _load()
    rows = mod.run(tmp_path, rounds=3, params=2000)
    assert [(r["link"], r["access"]) for r in rows] == [(lk, a) for a in mod.ACCESS for lk in mod.LINKS]
    for r in rows:
        assert 0 < r["latency_p50_s"] <= r["latency_p95_s"] and 0 < r["energy_p50_j"] <= r["energy_p95_j"]
        assert r["upload_attempts_per_worker"] >= 1.0
    shannon = {r["access"]: r for r in rows if r["link"] == "shannon"}
    gap = {r["access"]: r for r in rows if r["link"] == "shannon_gap3db"}
    for a in mod.ACCESS:  # a 3 dB gap never makes the air time shorter
        assert gap[a]["energy_transmit_mean_j"] > shannon[a]["energy_transmit_mean_j"]
    assert len(list(csv.DictReader(open(tmp_path / "link_models.csv")))) == 6
    assert (tmp_path / "link_models.png").stat().st_size > 0
