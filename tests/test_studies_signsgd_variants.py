"""studies/signsgd_variants.py on a small budget (digits MLP, 3 rounds, 2 variants, 2 seeds):
the table's columns, its bits against rounds.csv sums and against the schemes' closed-form bit
costs, and its accuracy statistics against the runs' summaries."""

import csv
import importlib.util
import json
import math
import sys
from pathlib import Path

import onnx
import pytest

ROOT = Path(__file__).resolve().parents[1]
ROUNDS, SEEDS, WORKERS = 3, (1, 2), 10


def _study():
    spec = importlib.util.spec_from_file_location("signsgd_variants", ROOT / "studies" / "signsgd_variants.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["signsgd_variants"] = mod  # the process pool pickles run_one by module name
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def study_out(tmp_path_factory):
    sv = _study()
    out = tmp_path_factory.mktemp("signsgd_variants")
    rows = sv.study(out, ROUNDS, SEEDS, ["uncoded", "majority-vote-per-layer"],
                    scenario=ROOT / "scenarios" / "digits_mlp.yaml", jobs=2, target=0.0)
    return sv, out, rows


def _column_sum(path: Path, column: str) -> float:
    with open(path, newline="") as fh:
        return sum(float(r[column]) for r in csv.DictReader(fh))


def test_table_columns_and_files(study_out):
    sv, out, rows = study_out
    with open(out / "table.csv", newline="") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == sv.TABLE_COLUMNS
        assert [r["variant"] for r in reader] == ["uncoded", "majority-vote-per-layer"]
    md = (out / "table.md").read_text().splitlines()
    assert md[0].startswith("| variant | final test accuracy (%) | uplink Mbit | downlink Mbit")
    assert len(md) == 2 + len(rows)
    assert (out / "curves.png").stat().st_size > 0
    with open(out / "curves.csv", newline="") as fh:
        curve = list(csv.DictReader(fh))
    # eval_every 10 over 3 rounds: round 1 and the last round, per run
    assert len(curve) == 2 * 2 * len(SEEDS)


def test_bits_match_rounds_csv_and_closed_forms(study_out):
    _, out, rows = study_out
    shapes = [list(i.dims) for i in onnx.load(ROOT / "models" / "mlp.onnx").graph.initializer]
    p = sum(math.prod(s) for s in shapes)
    layers = len(shapes)
    by = {r["variant"]: r for r in rows}
    for variant in by:
        up = [_column_sum(out / "runs" / f"{variant}_s{s}" / "rounds.csv", "bits_total") for s in SEEDS]
        down = [_column_sum(out / "runs" / f"{variant}_s{s}" / "rounds.csv", "downlink_bits") for s in SEEDS]
        assert by[variant]["uplink_mbit"] == pytest.approx(sum(up) / len(SEEDS) / 1e6, rel=1e-12)
        assert by[variant]["downlink_mbit"] == pytest.approx(sum(down) / len(SEEDS) / 1e6, rel=1e-12)
        assert by[variant]["total_mbit"] == pytest.approx(by[variant]["uplink_mbit"] + by[variant]["downlink_mbit"])
        assert by[variant]["rounds"] == ROUNDS and by[variant]["seeds"] == len(SEEDS)
    # uncoded: 32 P per worker up, the 32-bit model down, every round
    assert by["uncoded"]["uplink_mbit"] * 1e6 == ROUNDS * WORKERS * 32 * p
    assert by["uncoded"]["downlink_mbit"] * 1e6 == ROUNDS * 32 * p
    # majority vote, scale per layer (Bernstein et al. 2019, Alg. 1): P + 32 L up per worker;
    # the model opens round 1, then the vote broadcast of P + 32 L bits
    mv = by["majority-vote-per-layer"]
    assert mv["uplink_mbit"] * 1e6 == ROUNDS * WORKERS * (p + 32 * layers)
    assert mv["downlink_mbit"] * 1e6 == 32 * p + (ROUNDS - 1) * (p + 32 * layers)
    # target 0: reached at the first evaluation (round 1), after round 1's uplink and the model broadcast
    assert by["uncoded"]["rounds_to_target"] == mv["rounds_to_target"] == 1.0
    assert by["uncoded"]["total_mbit_to_target"] * 1e6 == WORKERS * 32 * p + 32 * p
    assert mv["total_mbit_to_target"] * 1e6 == WORKERS * (p + 32 * layers) + 32 * p


def test_target_never_reached(study_out):
    sv, out, rows = study_out
    curves = [{"round": 1, "test_accuracy": 0.5, "uplink_bits_cum": 10.0, "downlink_bits_cum": 5.0},
              {"round": 10, "test_accuracy": 0.8, "uplink_bits_cum": 100.0, "downlink_bits_cum": 50.0}]
    assert sv.to_target(curves, 0.7) == (10.0, 150.0)
    assert all(math.isnan(x) for x in sv.to_target(curves, 0.81))
    never = [dict(r, rounds_to_target=float("nan"), total_mbit_to_target=float("nan")) for r in rows]
    assert sv.markdown(never).splitlines()[2].endswith("| never | never |")


def test_accuracy_statistics_from_runs(study_out):
    _, out, rows = study_out
    summary = json.loads((out / "summary.json").read_text())
    acc = {v: [r["final_accuracy"] for r in summary["runs"] if r["variant"] == v] for v in ("uncoded",
                                                                                          "majority-vote-per-layer")}
    for r in rows:
        a = acc[r["variant"]]
        assert r["final_accuracy_mean"] == pytest.approx(sum(a) / len(a))
        assert r["final_accuracy_halfrange"] == pytest.approx((max(a) - min(a)) / 2)
        with open(out / "runs" / f"{r['variant']}_s{SEEDS[0]}" / "rounds.csv", newline="") as fh:
            last = list(csv.DictReader(fh))[-1]
        assert float(last["test_accuracy"]) == a[0]
    ref = sum(acc["uncoded"]) / len(SEEDS)
    assert rows[0]["gap_to_uncoded_pp"] == 0.0
    assert rows[1]["gap_to_uncoded_pp"] == pytest.approx(100 * (ref - rows[1]["final_accuracy_mean"]))


def test_unknown_variant_is_named(tmp_path):
    sv = _study()
    with pytest.raises(ValueError, match="unknown variant.*'signsgd-typo'.*allowed"):
        sv.study(tmp_path, 1, (1,), ["signsgd-typo"])
