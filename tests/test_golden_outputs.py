"""Golden outputs: shipped scenarios (and a DSC bit-true, a P1 FDMA and a model run) must give
byte-identical rounds.csv and timeline.csv across refactors.

The files under ``tests/golden/<case>/`` were written by the code *before* the issue-16
refactor. Regenerate them only for an intended output change, with
``EDGEFL_REGEN_GOLDEN=case1,case2 python -m pytest tests/test_golden_outputs.py`` and say why
in :data:`CHANGED`.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

from edgefl.runner import run_scenario
from edgefl.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).resolve().parent / "golden"
QUICK = ROOT / "scenarios" / "quickstart.yaml"
DIGITS = ROOT / "scenarios" / "digits_mlp.yaml"
FAST = ["output.plots=false", "gradients.params=2000"]

#: case -> (scenario file, overrides)
CASES: dict[str, tuple[Path, list[str]]] = {
    "quickstart": (QUICK, [*FAST, "rounds=4"]),
    "quickstart_fdma_none_gm": (QUICK, [*FAST, "rounds=3", "channel.access=fdma", "compression.scheme=none",
                                        "channel.correlation.kind=gauss_markov", "channel.correlation.doppler_hz=5",
                                        "upload_order=index"]),
    "digits_mlp": (DIGITS, ["output.plots=false", "rounds=3"]),
    # the single LDPCA ladder (default before issue 23): its round 1 has two retries, which the
    # retry columns and the timeline's feedback / upload_retry intervals are checked on
    "dsc_bit_true": (QUICK, ["output.plots=false", "gradients.params=4800", "rounds=3", "compression.scheme=dsc",
                             "fidelity=bit-true", "compression.ldpca_ladder=single"]),
    "p1_fdma_rd_ideal": (QUICK, [*FAST, "rounds=3", "channel.access=fdma", "compression.scheme=rd-ideal",
                                 "rate_allocation.scheme=p1", "rate_allocation.target_distortion=0.2"]),
    "p1_tdma_dsc_digits": (DIGITS, ["output.plots=false", "rounds=2", "compression.scheme=dsc",
                                    "rate_allocation.scheme=p1"]),
}
# the P1 cases once more without the spectral-efficiency cap, where alpha did not change
NOCAP = "channel.max_spectral_efficiency=null"
CASES.update({f"{n}_nocap": (CASES[n][0], [*CASES[n][1], NOCAP]) for n in ("p1_fdma_rd_ideal", "p1_tdma_dsc_digits")})

#: cases whose golden files were regenerated, and why (every other file is the pre-refactor output)
CHANGED = {
    "p1_fdma_rd_ideal": "issue 16 item 1: P1's alpha = 1/SE of the link, cap included; the 7.4063 bit/s/Hz cap "
                        "binds for workers 1 and 6 (log2(1+SNR) = 7.989, 8.641), so their alpha rises from "
                        "0.1252, 0.1157 to 0.1350 and P1's rates, order and FDMA shares move",
    "p1_tdma_dsc_digits": "issue 16 item 1: as above; capped workers tie on alpha, so P1's upload order changes",
}
#: issue 13 item 4 regenerated every rounds.csv: energy columns added (energy_compute_j, energy_transmit_j,
#: energy_receive_j, energy_idle_j, server_decoder_energy_j, server_compute_energy_j, uploads_lost,
#: battery_dropouts) and worker_energy_j now includes receive and idle energy; every other column and
#: every timeline.csv are byte-identical to the files before that change
ENERGY_COLUMNS_CHANGE = "issue 13 item 4: rounds.csv energy columns (see ENERGY_COLUMNS_CHANGE)"
for _case in CASES:
    CHANGED[_case] = f"{CHANGED[_case]}; {ENERGY_COLUMNS_CHANGE}" if _case in CHANGED else ENERGY_COLUMNS_CHANGE
CHANGED["dsc_bit_true"] += ("; issue 13 item 3: the two retries of round 1 are now a downlink feedback interval "
                            "(1 request bit) and an upload_retry interval (48 bits) between two decodes, the "
                            "first uploads carry 48 bits less; round latencies unchanged, receive energy grows")


#: cases whose compressor has real encode / rate-control costs since issue 16 item 3; the golden
#: comparison runs them with those costs set to 0, test_dsc_costs_are_the_only_change lists the rest
COSTLY = {"dsc_bit_true", "p1_tdma_dsc_digits", "p1_tdma_dsc_digits_nocap"}
#: rounds.csv column added by issue 16 (bits of the model broadcast); dropped before comparing
NEW_COLUMNS = ("downlink_bits",)
#: rounds.csv columns added by issue 23 for schemes with a decode schedule (DSC): the retry increments'
#: bits and the server time retries took; dropped (when present) before comparing, checked against the timeline
RETRY_COLUMNS = ("retry_bits", "retry_time_s")


def run_case(name: str, out: Path) -> Path:
    path, sets = CASES[name]
    outcome = run_scenario(load_scenario(path, sets), out, progress=False)
    assert outcome.complete, outcome.error
    return outcome.out_dir


def without_columns(text: str, names: tuple[str, ...]) -> tuple[str, dict[str, list[str]]]:
    """CSV text (no quoted fields) without the named columns, and those columns' values."""
    lines = text.splitlines(keepends=True)
    header = lines[0].rstrip("\n").split(",")
    names = tuple(n for n in names if n in header)
    drop = [header.index(n) for n in names]
    kept, dropped = [], {n: [] for n in names}
    for line in lines:
        cells = line.rstrip("\n").split(",")
        for n, i in zip(names, drop):
            dropped[n].append(cells[i])
        kept.append(",".join(c for i, c in enumerate(cells) if i not in drop) + "\n")
    return "".join(kept), {n: v[1:] for n, v in dropped.items()}


def zero_costs(monkeypatch: pytest.MonkeyPatch) -> None:
    from edgefl.compress.dsc import DSCCompressor

    monkeypatch.setattr(DSCCompressor, "encode_flops", lambda self, p: 0.0)
    monkeypatch.setattr(DSCCompressor, "server_flops", lambda self, k, p: 0.0)


def params_of(name: str) -> int:
    from edgefl.sim.build import gradient_source

    path, sets = CASES[name]
    return gradient_source(load_scenario(path, sets)).num_params


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_output(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if name in COSTLY:
        zero_costs(monkeypatch)
    out = run_case(name, tmp_path / name)
    rounds, new = without_columns((out / "rounds.csv").read_text(), (*NEW_COLUMNS, *RETRY_COLUMNS))
    # no scheme compresses the downlink yet: every broadcast is the float32 model
    assert {float(v) for v in new["downlink_bits"]} == {32.0 * params_of(name)}
    if "retry_bits" in new:  # the retry columns add up the timeline's retry exchanges
        timeline = list(csv.DictReader(open(out / "timeline.csv")))
        for r, (bits, secs) in enumerate(zip(new["retry_bits"], new["retry_time_s"], strict=True)):
            up = [e for e in timeline if e["round"] == str(r) and e["phase"] == "upload_retry"]
            assert float(bits) == pytest.approx(sum(float(e["bits"]) for e in up), rel=1e-12)
            fb = [e for e in timeline if e["round"] == str(r) and e["phase"] == "feedback"]
            spent = sum(float(e["end"]) - float(e["start"]) for e in up + fb)
            assert (float(secs) >= spent * (1 - 1e-9)) and (float(secs) > 0) == bool(up)
    files = {"rounds.csv": rounds, "timeline.csv": (out / "timeline.csv").read_text()}
    if name in os.environ.get("EDGEFL_REGEN_GOLDEN", "").split(","):
        (GOLDEN / name).mkdir(parents=True, exist_ok=True)
        for f, text in files.items():
            (GOLDEN / name / f).write_text(text)
    for f, text in files.items():
        assert text == (GOLDEN / name / f).read_text(), f"{name}/{f} differs"


def test_dsc_costs_are_the_only_change(tmp_path: Path) -> None:
    """dsc_bit_true with its real costs against the golden (cost-free) run. Hand count
    (edgefl.coding.op_counts), P = 4800, one-bit scaled DSC, 16 hash bits, LDPCA base code
    n = 2400 with 600/1080/360/360 variables of degree 2/3/4/8 (mean 3.65):

    * encode: 4800 x (2 + 2 + 1 + (2 + 3.65 + 1 + 16/2)) = 94320 ops on a Raspberry Pi 4
      (1.46e10 FLOP/s) = 6.460273972602739e-06 s per worker per round;
    * rate control, round 0 (initial sigma_x2 = sigma_n2 = 1, 97 grid nodes, M = 2, positions
      1..10 with 1..10 side histograms, 55 in all): 97 x 2 x 10 + 55 x 97 x 14 + 55 x 97 x 5
      + 2 x 55 x 2 x 12 = 105945 ops on 1e12 FLOP/s = 1.05945e-07 s; later rounds add the ML
      estimator (eq. 62) and stay far below broadcast + compute.

    All workers share one device, so every ready time and hence every later interval moves by
    exactly the encode time; rounds.csv changes only in its start/end/latency columns.
    """
    out = run_case("dsc_bit_true", tmp_path / "d")
    enc_s, rc0_s = 94320 / 1.46e10, 105945 / 1e12
    assert enc_s == pytest.approx(6.460273972602739e-06, rel=1e-15)
    new = list(csv.DictReader(open(out / "timeline.csv")))
    old = list(csv.DictReader(open(GOLDEN / "dsc_bit_true" / "timeline.csv")))
    added = [e for e in new if e["phase"] in ("encode", "rate_control")]
    assert not [e for e in old if e["phase"] in ("encode", "rate_control")]
    assert sorted((e["round"], e["actor"], e["phase"]) for e in added) == sorted(
        [(str(r), f"worker{w}", "encode") for r in range(3) for w in range(10)]
        + [(str(r), "server", "rate_control") for r in range(3)])
    for e in added:
        dur = float(e["end"]) - float(e["start"])
        if e["phase"] == "encode":
            assert dur == pytest.approx(enc_s, rel=1e-9)
        elif e["round"] == "0":
            assert dur == pytest.approx(rc0_s, rel=1e-6)
    rest = [e for e in new if e not in added]
    key = lambda e: (e["round"], e["actor"], e["phase"], e["bits"])  # noqa: E731
    assert sorted(map(key, rest)) == sorted(map(key, old))
    for a, b in zip(sorted(rest, key=lambda e: (key(e), float(e["start"]))),
                    sorted(old, key=lambda e: (key(e), float(e["start"])))):
        moved = float(a["start"]) - float(b["start"])  # each round starts later by all earlier encodes
        rounds_before = int(a["round"]) + (a["phase"] in ("upload", "decode", "aggregate", "feedback", "upload_retry"))
        assert moved == pytest.approx(enc_s * rounds_before, rel=1e-6, abs=1e-15)
    rows_new = list(csv.DictReader(open(out / "rounds.csv")))
    rows_old = list(csv.DictReader(open(GOLDEN / "dsc_bit_true" / "rounds.csv")))
    # energy follows the times: encoding is compute (10 workers x enc_s x 6.4 W), rate control is server
    # compute, and the longer round shifts idle energy
    timed = ("start_s", "end_s", "latency_s", "worker_energy_j", "energy_compute_j", "energy_idle_j",
             "server_compute_energy_j")
    for a, b in zip(rows_new, rows_old, strict=True):
        assert float(a["latency_s"]) - float(b["latency_s"]) == pytest.approx(enc_s, rel=1e-6)
        assert float(a["energy_compute_j"]) - float(b["energy_compute_j"]) == pytest.approx(10 * enc_s * 6.4, rel=1e-6)
        assert {k: v for k, v in a.items() if k not in (*timed, *NEW_COLUMNS, *RETRY_COLUMNS)} == {
            k: v for k, v in b.items() if k not in timed}
