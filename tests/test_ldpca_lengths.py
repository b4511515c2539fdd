"""Longer LDPCA codes (block_length 4800, 9600): validation, construction, measured gap tables, and the
analytic failure model against bit-true decoding at n = 4800."""

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse
from pydantic import ValidationError

from edgefl.coding import ldpc
from edgefl.coding.ldpc import code_at_step, rate_grid, sent_positions, syndrome
from edgefl.coding.ldpca_model import GAP_ENTROPIES, GAP_TABLES, ladder_rate, needed_rate
from edgefl.coding.wyner_ziv_options import BLOCK_LENGTHS, WynerZivOptions
from edgefl.compress.dsc import DSCCompressor
from dsc_sources import bsc_ladder, ctx, non_iid_grads

ROOT = Path(__file__).resolve().parents[1]


def test_block_length_takes_the_measured_lengths_only():
    for n in BLOCK_LENGTHS:
        assert WynerZivOptions(block_length=n).block_length == n
        assert rate_grid(n, "ldpca").size == 100  # every length keeps the 0.01-bit ladder
    assert WynerZivOptions().block_length == 2400
    for bad in (1200, 2399, 3600, 19200):
        with pytest.raises(ValidationError, match=f"block_length={bad} is not supported: choose one of "
                                                  "2400, 4800, 9600"):
            WynerZivOptions(block_length=bad)


def test_scenario_names_file_field_and_value_of_a_bad_block_length():
    from edgefl.scenario import load_scenario

    path = ROOT / "scenarios" / "mnist_mlp_dsc.yaml"
    with pytest.raises(Exception) as err:
        load_scenario(path, ["compression.block_length=3000"])
    text = str(err.value)
    assert "mnist_mlp_dsc.yaml" in text and "compression.block_length" in text and "3000" in text
    assert "2400, 4800, 9600" in text
    load_scenario(path, ["compression.block_length=9600"])


def test_cli_rejects_a_bad_block_length_with_exit_2_and_no_traceback(tmp_path):
    from typer.testing import CliRunner

    from edgefl.cli import app

    res = CliRunner().invoke(app, ["run", str(ROOT / "scenarios" / "mnist_mlp_dsc.yaml"), "--set",
                                    "compression.block_length=1201", "-o", str(tmp_path)])
    assert res.exit_code == 2 and "compression.block_length" in res.output and "1201" in res.output
    assert "Traceback" not in res.output


def test_every_allowed_length_and_ladder_has_a_measured_gap_table():
    """Each length the options allow has a table for every (ladder, algorithm) the pipeline can pick,
    one row per base code of the ladder, one entry per H point; nothing else is measured."""
    assert sorted(GAP_TABLES) == sorted(BLOCK_LENGTHS)
    for n, tables in GAP_TABLES.items():
        assert set(tables) == {("ldpca", "sum-product"), ("ldpca", "min-sum"), ("ldpca-zoned", "sum-product"),
                               ("ldpca-zoned-ms", "min-sum")}, n
        for (family, _), rows in tables.items():
            assert len(rows) == (len(ldpc.LDPCA_ZONES[family]) if family in ldpc.LDPCA_ZONES else 1)
            for row in rows:
                assert len(row) == len(GAP_ENTROPIES)
                assert all(g is None or 0.0 < g < 0.3 for g in row)


def test_unmeasured_length_is_refused_not_extrapolated():
    with pytest.raises(ValueError, match="no measured LDPCA gap at block length n=1200; measured: 2400, 4800, 9600"):
        ladder_rate(0.5, "ldpca-zoned", "sum-product", 0.5, n=1200)
    bits = np.zeros((1, 1200), np.uint8)
    with pytest.raises(ValueError, match="n=1200"):
        needed_rate(bits, np.ones((1, 1200)), "ldpca-zoned", "sum-product")


def test_gap_is_looked_up_in_the_table_of_the_frame_length():
    """The same frame statistics need the gap of their own length: at a table point, h + that table's entry."""
    for n in BLOCK_LENGTHS:
        row = GAP_TABLES[n][("ldpca-zoned", "sum-product")][0]
        np.testing.assert_allclose(ladder_rate([0.3, 0.5], "ldpca-zoned", "sum-product", 0.3, n=n),
                                   [0.3 + row[2], 0.5 + row[4]])


def _four_cycles(code: ldpc.LDPCCode) -> int:
    """Pairs of variables sharing two or more checks, counted as in tests/test_ldpc.py (sparse: n = 9600)."""
    h = scipy.sparse.csr_matrix((np.ones(code.n_edges), (code.edge_chk, code.edge_var)), shape=(code.m, code.n))
    overlap = (h.T @ h).tocoo()
    off = overlap.row != overlap.col
    c = np.rint(overlap.data[off]).astype(np.int64)
    return int((c * (c - 1) // 2).sum() // 2)


@pytest.mark.parametrize("n", [4800, pytest.param(9600, marks=pytest.mark.slow)])
@pytest.mark.parametrize("family", list(ldpc.LDPCA_ZONES))
def test_longer_zoned_codes_are_ldpca_ladders(n, family):
    """Every base code of a zoned ladder at n: degree counts within one of the zone's fractions, each
    variable in a row block at most once, row degrees within two; the rate-k/K codes are the differenced
    accumulated base syndromes; no 4-cycles in the high zones' codes at k = 64 (a halving level)."""
    rng = np.random.default_rng(9)
    bits = rng.integers(0, 2, size=(2, n), dtype=np.uint8)
    steps = rate_grid(n, family).size
    for z, (top, degrees, fractions) in enumerate(ldpc.LDPCA_ZONES[family]):
        zone_rate = top - 0.01
        base = code_at_step(steps, n=n, family=family, zone_rate=zone_rate)
        assert base.zone == z and base.m == n
        var_deg = np.diff(base.var_ptr)
        counts = np.array([(var_deg == d).sum() for d in degrees])
        assert np.all(np.abs(counts - np.array(fractions) * n) < 1)
        row_deg = np.diff(base.chk_ptr)
        assert row_deg.max() - row_deg.min() <= 2
        block = base.edge_chk // steps
        assert np.unique(base.edge_var.astype(np.int64) * (n // steps) + block).size == base.n_edges
        acc = np.bitwise_xor.accumulate(syndrome(base, bits), axis=1)
        for k in (1, 37, 64, 99):
            code = code_at_step(k, n=n, family=family, zone_rate=zone_rate)
            sent = acc[:, sent_positions(n, k)]
            diff = np.diff(np.concatenate([np.zeros((2, 1), np.uint8), sent], axis=1), axis=1) % 2
            np.testing.assert_array_equal(diff, syndrome(code, bits))
        if z > 0:
            assert _four_cycles(code_at_step(64, n=n, family=family, zone_rate=zone_rate)) == 0


def test_prediction_matches_the_bit_true_ladder_on_a_bsc_at_4800():
    """Frames at a fixed H between table points on the 4800 ladder: the predicted mean rate is the decoder's
    within the table's noise."""
    real, sent_real, sent_pred = bsc_ladder(4800, 0.0732, 0.3, seed=13)  # H(p) = 0.378
    assert not real.undetected.any() and not real.uncoded.any()
    assert sent_pred.mean() == pytest.approx(sent_real.mean(), rel=0.03)


@pytest.mark.parametrize("kw", [
    dict(side_information="history", rate_policy="none", frame_order="entropy"),
    dict(side_information="history", rate_policy="adaptive"),
])
def test_analytic_failures_predict_bit_true_bits_and_retries_at_4800(kw):
    """As tests/test_dsc_analytic_failures.py at n = 2400, with 4800-bit frames (4 per worker and plane):
    analytic with the failure model sends bit-true's bits within 2 % and predicts its retries and failed
    frames within 25 %; 0 undetected errors."""
    K, P, rounds = 4, 19200, 7
    kw = dict(kw, block_length=4800)
    bt, an = DSCCompressor(**kw), DSCCompressor(**kw)
    tot = np.zeros((2, 3))
    order = np.arange(K)[::-1]
    for r, g in enumerate(non_iid_grads(K, P, rounds)):
        res = [bt.compress(g, order, ctx(r, "bit-true")), an.compress(g, order, ctx(r, "analytic"))]
        assert res[0].undetected_errors == 0
        for i, x in enumerate(res):
            tot[i] += (x.upload_bits.sum(), x.retries, x.decode_failures)
    assert tot[0, 2] > 10
    assert tot[1, 0] == pytest.approx(tot[0, 0], rel=0.02)
    assert tot[1, 1] == pytest.approx(tot[0, 1], rel=0.25)
    assert tot[1, 2] == pytest.approx(tot[0, 2], rel=0.25)


def test_paper_study_variants_take_the_block_length(monkeypatch, capsys):
    """studies/learning_curves.py --block-length: the variants' DSC blocks get it; the flag takes the
    measured lengths only (exit 2, naming the flag and the value)."""
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location("lc_len", ROOT / "studies" / "learning_curves.py")
    lc = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, lc)
    spec.loader.exec_module(lc)
    v = "history:none:entropy"
    assert lc.variant_config(v).block_length == 2400 and lc.variant_config(v, 9600).block_length == 9600
    monkeypatch.setattr(sys, "argv", ["learning_curves.py", "--paper", "--block-length", "1200"])
    with pytest.raises(SystemExit) as stop:
        lc.main()
    err = capsys.readouterr().err
    assert stop.value.code == 2 and "--block-length" in err and "1200" in err
