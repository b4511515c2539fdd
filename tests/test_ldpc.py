"""LDPCA code construction, rate grid, nesting and syndromes (edgefl.coding.ldpc)."""

import numpy as np
import pytest

from edgefl.coding import ldpc
from edgefl.coding.ldpc import code_at_step, get_code, rate_grid, sent_positions, syndrome

N = 1200  # reduced block length: K = 60 steps, 20 row blocks


def test_rate_grids_ldpca_hundredths_peg_four_times_finer():
    grid = rate_grid(2400, "ldpca")
    assert grid.size == 100
    assert np.all(np.diff(grid) > 0)
    np.testing.assert_allclose(grid, np.arange(1, 101) / 100)
    fine = rate_grid(2400)  # default family "peg"
    np.testing.assert_allclose(fine, np.arange(1, 401) / 400)
    np.testing.assert_allclose(fine[3::4], grid)  # every LDPCA rate is a PEG rate
    # the refinement shrinks to what n allows: n = 1200 -> K = 60 for LDPCA, 240 for PEG;
    # n = 2 * 3 * 97: LDPCA K = 6 (97 blocks), PEG x 1 (no larger divisor of 582 fits 4 * 6)
    assert (rate_grid(1200, "ldpca").size, rate_grid(1200, "peg").size) == (60, 240)
    assert (rate_grid(582, "ldpca").size, rate_grid(582, "peg").size) == (6, 6)


def test_get_code_picks_smallest_grid_rate_not_below_request():
    grid = rate_grid(N)
    for rate in (1e-3, 0.3, grid[17], grid[17] + 1e-6, 0.999, 1.0):
        code = get_code(rate, n=N)
        assert code.rate >= rate - 1e-12
        assert np.isclose(code.rate, grid[np.searchsorted(grid, rate - 1e-12)])
        assert code.m == round(code.rate * N)


@pytest.mark.parametrize("rate", [0.0, -0.1, 1.01, np.nan, np.inf])
def test_invalid_rate_raises(rate):
    with pytest.raises(ValueError, match="rate"):
        get_code(rate, n=N)


def test_unsupported_block_length_raises():
    with pytest.raises(ValueError, match="n="):
        rate_grid(1201)  # prime: no ladder with equal blocks


@pytest.mark.parametrize("family", ldpc.FAMILIES)
def test_edge_arrays_are_consistent_with_dense_matrix(family):
    code = get_code(0.5, n=N, family=family)
    h = code.dense()
    assert h.shape == (code.m, code.n)
    assert h.sum() == code.n_edges  # no (check, var) pair twice, i.e. no cancelled edges
    np.testing.assert_array_equal(np.diff(code.chk_ptr), h.sum(axis=1))
    np.testing.assert_array_equal(np.diff(code.var_ptr), h.sum(axis=0))
    # var_edges lists each variable's edges
    for v in (0, 7, N - 1):
        edges = code.var_edges[code.var_ptr[v]:code.var_ptr[v + 1]]
        assert np.all(code.edge_var[edges] == v)
        np.testing.assert_array_equal(np.sort(code.edge_chk[edges]), np.flatnonzero(h[:, v]))
    # variable degrees follow the design distribution
    degrees, fractions = {"ldpca": (ldpc.VAR_DEGREES, ldpc.VAR_FRACTIONS), "peg": ldpc.peg_distribution(0.5),
                          **{f: zones[ldpc.ldpca_zone(0.5, f)][1:] for f, zones in ldpc.LDPCA_ZONES.items()}}[family]
    counts = np.bincount(np.diff(code.var_ptr), minlength=max(degrees) + 1)
    for d, frac in zip(degrees, fractions):
        assert abs(counts[d] - frac * N) <= 1


def four_cycles(code):
    h = code.dense().astype(np.float64)  # BLAS; the counts are small integers, exact in float64
    overlap = np.rint(h.T @ h).astype(np.int64)
    np.fill_diagonal(overlap, 0)
    return int((overlap * (overlap - 1) // 2).sum() // 2)


def test_peg_codes_have_concentrated_checks_and_no_four_cycles():
    # below ~0.4 at this reduced n the degree-20 variables cannot all avoid 4-cycles
    for rate in (0.5, 0.6, 0.8):
        code = get_code(rate, n=N, family="peg")
        deg = np.diff(code.chk_ptr)
        assert deg.max() - deg.min() <= 2
        assert four_cycles(code) == 0
        assert not code.nested


def test_peg_distribution_is_valid_at_every_grid_rate():
    # node fractions are a distribution, degree-2 variables stay fewer than the checks
    # (a cycle of them would be a low-weight codeword) and the anchors are reproduced
    for rate in rate_grid(2400):
        degrees, fractions = ldpc.peg_distribution(rate)
        assert len(degrees) == len(fractions) and min(fractions) >= 0
        assert sum(fractions) == pytest.approx(1.0)
        assert fractions[degrees.index(2)] < rate
    for i, rate in enumerate(ldpc._PEG_ANCHORS):
        degrees, fractions = ldpc.peg_distribution(float(rate))
        assert fractions[0] == pytest.approx(ldpc._PEG_F2_OVER_R[i] * rate)
        for d, f in ldpc._PEG_HIGH.items():
            assert fractions[degrees.index(d)] == pytest.approx(f[i])


def test_degree_sequence_counts_are_within_one_of_fractions():
    fractions = (0.1234, 0.5, 0.3766)
    deg = ldpc._degree_sequence(997, np.random.default_rng(3), (2, 3, 7), fractions)
    counts = np.bincount(deg, minlength=8)[[2, 3, 7]]
    assert counts.sum() == 997
    assert np.all(np.abs(counts - np.array(fractions) * 997) < 1)


def test_ldpca_avoids_four_cycles_at_high_rates():
    for rate in (0.7, 0.8):
        assert four_cycles(get_code(rate, n=N, family="ldpca")) == 0


def test_unknown_family_raises():
    with pytest.raises(ValueError, match="family"):
        get_code(0.5, n=N, family="turbo")


def test_base_rows_are_balanced_and_segments_about_two_to_one():
    base = np.diff(code_at_step(rate_grid(N, "ldpca").size, n=N, family="ldpca").chk_ptr)
    assert base.max() - base.min() <= 2
    for k in (1, 13, 30, 47, 60):
        rows_per_check = np.bincount(ldpc.segment_map(N, k))
        assert rows_per_check.size == code_at_step(k, n=N, family="ldpca").m
        # a nested ladder cannot split evenly at every k; greedy halving of the
        # longest segment keeps lengths within 2:1 up to one row (3:1, 7:3)
        assert rows_per_check.max() <= 2 * rows_per_check.min() + 1


@pytest.mark.parametrize("family", ldpc.FAMILIES)
def test_syndrome_matches_dense_product(family):
    rng = np.random.default_rng(1)
    bits = rng.integers(0, 2, size=(5, N), dtype=np.uint8)
    code = get_code(0.37, n=N, family=family)
    expect = (bits.astype(np.int64) @ code.dense().T.astype(np.int64)) % 2
    np.testing.assert_array_equal(syndrome(code, bits), expect)


def test_syndromes_are_differenced_accumulated_base_syndromes():
    """LDPCA encoder: accumulate s0 = H0 b, sample, difference == merged-code syndrome."""
    rng = np.random.default_rng(2)
    bits = rng.integers(0, 2, size=(3, N), dtype=np.uint8)
    base = code_at_step(rate_grid(N, "ldpca").size, n=N, family="ldpca")  # k = K: the square base code H0
    assert base.m == N
    acc = np.bitwise_xor.accumulate(syndrome(base, bits), axis=1)
    previous = np.zeros(0, dtype=np.int64)
    for k in (1, 2, 5, 31, 59):
        pos = sent_positions(N, k)
        assert np.isin(previous, pos).all()  # nested: earlier uploads are reused
        previous = pos
        sent = acc[:, pos]
        diff = np.diff(np.concatenate([np.zeros((3, 1), np.uint8), sent], axis=1), axis=1) % 2
        np.testing.assert_array_equal(diff, syndrome(code_at_step(k, n=N, family="ldpca"), bits))


@pytest.mark.parametrize("family", ldpc.FAMILIES)
def test_construction_is_seeded_and_cached(tmp_path, monkeypatch, family):
    monkeypatch.setenv("EDGEFL_CACHE", str(tmp_path))
    ldpc._base_code.cache_clear()
    ldpc._code_at.cache_clear()
    a = get_code(0.5, n=N, seed=3, family=family)
    assert a is get_code(0.5, n=N, seed=3, family=family)
    assert list((tmp_path / "ldpc").glob(f"{family}*.npz"))
    ldpc._base_code.cache_clear()
    ldpc._code_at.cache_clear()
    b = get_code(0.5, n=N, seed=3, family=family)  # from disk
    np.testing.assert_array_equal(a.edge_var, b.edge_var)
    np.testing.assert_array_equal(a.edge_chk, b.edge_chk)
    c = get_code(0.5, n=N, seed=4, family=family)
    assert not np.array_equal(a.edge_var, c.edge_var)
    ldpc._base_code.cache_clear()
    ldpc._code_at.cache_clear()


@pytest.mark.parametrize(
    "bits, match",
    [
        (np.zeros((2, N), dtype=np.float64), "dtype"),
        (np.full((2, N), 2, dtype=np.uint8), "0 and 1"),
        (np.zeros((2, N + 1), dtype=np.uint8), "columns"),
        (np.zeros(N, dtype=np.uint8), "shape"),
    ],
)
def test_syndrome_rejects_bad_bits(bits, match):
    with pytest.raises(ValueError, match=match):
        syndrome(get_code(0.5, n=N), bits)


@pytest.mark.parametrize("family", list(ldpc.LDPCA_ZONES))
def test_ldpca_zones_cover_all_rates_with_valid_distributions(family):
    zones = ldpc.LDPCA_ZONES[family]
    tops = [z[0] for z in zones]
    assert tops == sorted(tops) and tops[-1] == 1.0
    for _, degrees, fractions in zones:
        assert sum(fractions) == pytest.approx(1.0) and min(fractions) > 0 and max(degrees) <= 20
    # each zone's own rates, its lower end included, map to it; rate 1 to the last zone
    for z, top in enumerate(tops):
        low = tops[z - 1] if z else 0.01
        assert ldpc.ldpca_zone(low, family) == z and ldpc.ldpca_zone(top - 1e-9, family) == z
    assert ldpc.ldpca_zone(1.0, family) == len(tops) - 1
    with pytest.raises(ValueError, match="rate"):
        ldpc.ldpca_zone(float("nan"), family)
    with pytest.raises(ValueError, match="family"):
        ldpc.ldpca_zone(0.5, "ldpca")


@pytest.mark.parametrize("family", list(ldpc.LDPCA_ZONES))
def test_zoned_ladder_is_nested_in_the_base_code_of_the_announced_rate(family):
    """A frame's whole ladder is the one of its first rate's zone: retries above the zone's
    end keep that base code (the upload increments stay valid), and the zoned codes are
    LDPCA codes (differenced accumulated syndromes of their base code)."""
    rng = np.random.default_rng(5)
    bits = rng.integers(0, 2, size=(3, N), dtype=np.uint8)
    steps = rate_grid(N, family).size
    for zone_rate in (0.2, 0.6, 0.8, 0.95):
        zone = ldpc.ldpca_zone(zone_rate, family)
        base = code_at_step(steps, n=N, family=family, zone_rate=zone_rate)
        assert base.zone == zone and base.nested and base.m == N
        acc = np.bitwise_xor.accumulate(syndrome(base, bits), axis=1)
        for k in (1, 7, 30, 59):
            code = code_at_step(k, n=N, family=family, zone_rate=zone_rate)
            assert code.zone == zone and code.m == k * N // steps
            sent = acc[:, sent_positions(N, k)]
            diff = np.diff(np.concatenate([np.zeros((3, 1), np.uint8), sent], axis=1), axis=1) % 2
            np.testing.assert_array_equal(diff, syndrome(code, bits))
    # default zone: the code's own rate; distinct zones are distinct codes of equal length
    assert code_at_step(30, n=N, family=family).zone == ldpc.ldpca_zone(0.5, family)
    a = code_at_step(45, n=N, family=family, zone_rate=0.3)
    b = code_at_step(45, n=N, family=family, zone_rate=0.95)
    assert a.m == b.m and a.n_edges != b.n_edges


@pytest.mark.parametrize("family", list(ldpc.LDPCA_ZONES))
def test_zoned_ldpca_avoids_four_cycles_at_high_rates(family):
    for zone_rate in (0.6, 0.8, 0.95):
        assert four_cycles(code_at_step(48, n=N, family=family, zone_rate=zone_rate)) == 0


def test_zoned_min_sum_low_zone_is_the_single_base_code():
    single = code_at_step(20, n=N, family="ldpca")
    zoned = code_at_step(20, n=N, family="ldpca-zoned-ms")
    np.testing.assert_array_equal(single.edge_var, zoned.edge_var)
    np.testing.assert_array_equal(single.edge_chk, zoned.edge_chk)
