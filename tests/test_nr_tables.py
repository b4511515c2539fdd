"""NR tables: every row reproduces TS 38.214 (Tables 5.1.3.1-1/-2, 5.2.2.1-2/-3)."""

from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pytest

from edgefl.radio.nr_tables import TABLES, load_table, parse_table

# Spectral-efficiency columns as printed in TS 38.214 V17.4.0.
STANDARD_SE = {
    "mcs1": [0.2344, 0.3066, 0.3770, 0.4902, 0.6016, 0.7402, 0.8770, 1.0273, 1.1758, 1.3262,
             1.3281, 1.4766, 1.6953, 1.9141, 2.1602, 2.4063, 2.5703, 2.5664, 2.7305, 3.0293,
             3.3223, 3.6094, 3.9023, 4.2129, 4.5234, 4.8164, 5.1152, 5.3320, 5.5547],
    "mcs2": [0.2344, 0.3770, 0.6016, 0.8770, 1.1758, 1.4766, 1.6953, 1.9141, 2.1602, 2.4063,
             2.5703, 2.7305, 3.0293, 3.3223, 3.6094, 3.9023, 4.2129, 4.5234, 4.8164, 5.1152,
             5.3320, 5.5547, 5.8906, 6.2266, 6.5703, 6.9141, 7.1602, 7.4063],
    "cqi1": [0.1523, 0.2344, 0.3770, 0.6016, 0.8770, 1.1758, 1.4766, 1.9141, 2.4063, 2.7305,
             3.3223, 3.9023, 4.5234, 5.1152, 5.5547],
    "cqi2": [0.1523, 0.3770, 0.8770, 1.4766, 1.9141, 2.4063, 2.7305, 3.3223, 3.9023, 4.5234,
             5.1152, 5.5547, 6.2266, 6.9141, 7.4063],
}
# (index, Q_m, R x 1024) spot rows of the standard, incl. the half-integer rates of table 2
STANDARD_ROWS = {
    "mcs1": [(0, 2, 120), (9, 2, 679), (10, 4, 340), (16, 4, 658), (17, 6, 438), (28, 6, 948)],
    "mcs2": [(0, 2, 120), (5, 4, 378), (11, 6, 466), (20, 8, 682.5), (26, 8, 916.5), (27, 8, 948)],
    "cqi1": [(1, 2, 78), (6, 2, 602), (7, 4, 378), (15, 6, 948)],
    "cqi2": [(1, 2, 78), (4, 4, 378), (12, 8, 711), (15, 8, 948)],
}


@pytest.mark.parametrize("name", sorted(TABLES))
def test_spectral_efficiency_of_every_index(name):
    t = load_table(name)
    assert t.spectral_efficiency.tolist() == STANDARD_SE[name]
    first = 0 if name.startswith("mcs") else 1
    assert t.index.tolist() == list(range(first, first + len(STANDARD_SE[name])))


@pytest.mark.parametrize("name", sorted(TABLES))
def test_rows_and_printed_se_is_qm_times_rate(name):
    t = load_table(name)
    for idx, qm, r1024 in STANDARD_ROWS[name]:
        i = int(np.flatnonzero(t.index == idx)[0])
        assert (t.modulation_order[i], t.code_rate[i] * 1024) == (qm, r1024)
    for qm, r, se in zip(t.modulation_order, t.code_rate, t.spectral_efficiency):
        exact = Decimal(int(qm)) * Decimal(repr(float(r * 1024))) / 1024
        assert float(exact.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)) == se


@pytest.mark.parametrize("name", ["mcs1", "mcs2"])
def test_mcs_tables_increase_in_spectral_efficiency_except_the_standards_overlap(name):
    se = load_table(name).spectral_efficiency
    drops = np.flatnonzero(np.diff(se) < 0)
    # Table 1 repeats ~2.57 bit/s/Hz at the 16QAM->64QAM switch (I_MCS 16 -> 17); table 2 never drops
    assert drops.tolist() == ([16] if name == "mcs1" else [])


def test_malformed_table_is_a_clear_error():
    with pytest.raises(ValueError, match="header"):
        parse_table("a,b\n1,2\n", "bad", "x")
    with pytest.raises(ValueError, match="consecutive"):
        parse_table("mcs_index,modulation_order,target_code_rate_x1024,spectral_efficiency\n"
                    "0,2,120,0.2344\n2,2,193,0.377\n", "bad", "x")
    with pytest.raises(ValueError, match="unknown NR table"):
        load_table("mcs9")
