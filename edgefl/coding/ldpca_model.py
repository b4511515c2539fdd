"""Analytic failure model of the rate-adaptive LDPCA ladder: what a bit-true decode would send.

The analytic fidelity decodes nothing. To charge what the bit-true pipeline charges, each LDPC
frame's *realised* information need is computed from what the simulator knows, the sent bits
``b`` and the decoder's own LLRs ``L = log Pr(B=0 | side) / Pr(B=1 | side)`` (DSC paper eq. 47):
the empirical cross-entropy

    h = (1/n) sum_j -log2 Q(b_j | side) = (1/n) sum_j log2(1 + exp(-(1 - 2 b_j) L_j))

bits per source bit, the Slepian-Wolf rate (DSC paper eq. 34-35, Sec. IV-B) of this frame under
the decoder's probabilities. A finite-length LDPCA code (Varodayan, Aaron and Girod, "Rate-adaptive
codes for distributed source coding", Signal Processing 86(11), 2006) first decodes at a syndrome
rate ``h + gap(h)``, with ``gap`` the mean adaptive rate minus H(p) measured on the BSC at
the frame's block length n (2400, 4800 or 9600: :data:`GAP_TABLES` is keyed by n; other lengths are
refused, the gap is not extrapolated. n = 2400: :mod:`edgefl.coding.ldpc` docstring; ``python
benchmarks/ldpca_gap.py --algorithm sum-product min-sum --ladder single`` / ``--ladder zoned``; 300
frames per H, +-0.003), per zone
of the zoned ladders (a frame climbs the base code of the zone of its *announced* rate, whose gap
grows off its zone: :data:`GAP_TABLES`). That table
is a mean over the 0.01-bit grid the benchmark climbs, so the frame's threshold is half a grid
step below it, ``need = h + gap(h) - 1 / (2 K)``.

A frame announced at grid step ``k0`` decodes at once if ``k0 / K >= need``; otherwise it fails,
asks for ``step`` more grid steps (one feedback message, an increment of syndrome bits, another
decode: DSC paper Sec. IV, Algorithm 1) until the first step ``>= need``, and goes uncoded where
the ladder or ``max_retries`` runs out first (``need > 1`` included; with ``fallback="complete"`` it
sends only the free columns of its last rung's code, :mod:`edgefl.coding.ldpca_completion`), exactly as
:func:`edgefl.coding.slepian_wolf.sw_decode_adaptive` climbs; :func:`sw_predict_adaptive` returns
that function's result and accounting, so the caller fills the same counters either way.

Checked against bit-true decoding (tests/test_dsc_analytic_failures.py; scenarios/mnist_mlp_dsc_history.yaml,
seed 7, ``--set rounds=N`` with and without ``--set fidelity=analytic``): rate policy none, sorted
frames, 20 rounds: bits +0.16 %, retries +4.4 %; fixed margin, sorted frames, 20 rounds: bits +0.65 %,
retries +8 % (without the model -8.2 %, no retries); adaptive, 8 rounds: bits +0.24 %, retries +4.9 %;
fixed margin with contiguous frames (``--set compression.rate_policy=fixed --set
compression.frame_order=contiguous --set compression.uncoded_above=null``), 8 rounds: bits +1.5 %,
retries +55 % (858 bit-true): with the margin only the tail of the frames fails, where one
deterministic threshold per frame on a BSC-measured gap is least accurate (the failure model
analytic without the model: bits -1.5 %, no retries).  n = 4800: tests/test_ldpca_lengths.py (synthetic
persistent source, bits within 0.1 %, retries within 10 %).  n = 9600, the paper set-up's first 5 epochs
(``studies/learning_curves.py --paper --rounds 79 --seeds 1 --bit-true 0 --variants history:none:entropy
--variant-epochs 5 --partitions iid --block-length 9600 --variant-fidelity bit-true|analytic``): sent
saving bit-true 16.2 %, analytic 16.8 % (bits -0.7 %), retries 249 vs 257 per round, 0 undetected errors;
scenarios/mnist_mlp_dsc.yaml, 20 rounds, ``--set compression.block_length=9600``: bits analytic +0.06 % of
bit-true's 18,048,672, retries +1.9 % (140.6 per round bit-true), 0 undetected errors.
"""

from __future__ import annotations

import numpy as np

from edgefl.coding.ldpc import code_at_step, grid_index, ldpca_zone, rate_grid
from edgefl.coding.slepian_wolf import AdaptiveDecodeResult

#: H(p) points of the measured gap tables
GAP_ENTROPIES = tuple(round(0.1 * i, 1) for i in range(1, 10))
#: a table entry where (nearly) every benchmark frame climbed the whole ladder and went uncoded
U = None
#: (ladder family, BP algorithm) -> per zone of the ladder's base code (:data:`edgefl.coding.ldpc.LDPCA_ZONES`;
#: one row for the single ladder), mean adaptive rate minus H(p) at H = 0.1 .. 0.9, n = 2400
#: (benchmarks/ldpca_gap.py, +-0.003 at 300 frames, +-0.005-0.01 at 100). Sum-product: the zone-of-H
#: entries are the 300-frame table of the :mod:`edgefl.coding.ldpc` docstring (``--ladder zoned``); the
#: others, a frame climbing the ladder of another zone (the zone of its announced rate), 100 frames,
#: ``--ladder zoned --algorithm sum-product --frames 100 --zone-slope -1 --zone-margin Z`` with Z = 0.3,
#: 0.6, 0.8, 0.95 for zones 0-3 (zone 1 at H = 0.8: 22 % uncoded; entries below a zone's measured range
#: repeat its lowest one: such frames are announced above their need and decode at once). Min-sum: zone 0
#: is the single ladder's base code (its row), the other zones' rows are the zone-of-H row (not measured
#: off their zone). ``U``: every frame went uncoded.
_GAPS_2400: dict[tuple[str, str], tuple[tuple[float | None, ...], ...]] = {
    ("ldpca", "sum-product"): ((.046, .061, .065, .084, .088, .094, .099, .138, U),),
    ("ldpca", "min-sum"): ((.051, .067, .070, .092, .101, .109, .119, .161, U),),
    ("ldpca-zoned", "sum-product"): (
        (.046, .050, .040, .051, .056, .079, .151, U, U),
        (.078, .078, .078, .085, .077, .052, .056, .144, U),
        (.092, .092, .092, .092, .092, .075, .059, .061, U),
        (.085, .085, .085, .085, .085, .085, .085, .058, .067),
    ),
    ("ldpca-zoned-ms", "min-sum"): (
        (.051, .067, .070, .092, .101, .109, .119, .161, U),
        *((.051, .067, .070, .092, .101, .097, .098, .092, .088),) * 3,
    ),
}
#: block length n -> (ladder family, BP algorithm) -> rows per zone as :data:`_GAPS_2400` describes; a
#: length without a measured table is refused (the gap depends on n: no extrapolation).  n = 4800 and 9600:
#: every entry measured, each row on its zone's ladder whatever H (``python benchmarks/ldpca_gap.py --n N
#: --frames F --target-ci 0.005 --max-frames M --algorithm sum-product|min-sum --ladder zoned --zones 0 1 2 3``
#: and ``--ladder single``, F/M = 60/600 at 4800, 40/400 at 9600: batches of F frames until the 95 %
#: half-width is <= 0.005, so every entry is +-0.005 or better; max_iter 100, code seed 0, frame seeds 100..).
#: ``U``: more than half of the frames went uncoded (all of them in every U entry here).  Entries far
#: below a zone's rates (e.g. zone 3 at H = 0.1-0.5) are real but never charged: such frames are
#: announced far above their need.  Zone-of-H sum-product gap, H = 0.1 .. 0.9 (2400 / 4800 / 9600):
#: .046/.044/.044 .050/.045/.044 .040/.034/.030 .051/.049/.038 .056/.058/.048 .052/.049/.040
#: .056/.052/.048 .061/.054/.056 .067/.066/.064; means .053/.050/.046.  Min-sum does not gain from length.
GAP_TABLES: dict[int, dict[tuple[str, str], tuple[tuple[float | None, ...], ...]]] = {
    2400: _GAPS_2400,
    4800: {
        ("ldpca-zoned", "sum-product"): (
            (.044, .045, .034, .049, .058, .085, .141, U, U),
            (.072, .089, .072, .090, .068, .049, .052, .148, U),
            (.079, .094, .095, .109, .097, .069, .054, .054, U),
            (.111, .128, .154, .160, .133, .115, .084, .056, .066),
        ),
        ("ldpca", "sum-product"): ((.044, .057, .060, .083, .086, .093, .094, .133, U),),
        ("ldpca", "min-sum"): ((.050, .064, .068, .090, .100, .108, .116, .160, U),),
        ("ldpca-zoned-ms", "min-sum"): (
            (.050, .064, .068, .090, .100, .108, .116, .160, U),
            (.075, .093, .091, .106, .098, .097, .094, .113, U),
            (.114, .141, .176, .177, .138, .117, .093, .091, U),
            (.154, .222, .270, .268, .254, .226, .175, .124, .089),
        ),
    },
    9600: {
        ("ldpca-zoned", "sum-product"): (
            (.044, .044, .030, .038, .048, .079, .137, U, U),
            (.077, .085, .072, .078, .068, .040, .048, .143, U),
            (.080, .095, .083, .109, .086, .069, .054, .056, U),
            (.116, .128, .154, .152, .125, .108, .078, .055, .064),
        ),
        ("ldpca", "sum-product"): ((.042, .055, .060, .079, .085, .092, .094, .131, U),),
        ("ldpca", "min-sum"): ((.050, .063, .066, .091, .097, .109, .117, .163, U),),
        ("ldpca-zoned-ms", "min-sum"): (
            (.050, .063, .066, .091, .097, .109, .117, .163, U),
            (.081, .102, .103, .120, .096, .095, .095, .109, U),
            (.128, .157, .200, .188, .156, .130, .102, .088, U),
            (.169, .243, .291, .293, .271, .242, .184, .122, .088),
        ),
    },
}
#: the first-decode rate standing for an all-uncoded entry: above 1, so interpolated needs cross
#: rate 1 between the last entry that decodes and it
UNCODED_RATE = 1.2


def ladder_rate(h: np.ndarray, family: str, algorithm: str, zone_rate: float | None = None,
                n: int = 2400) -> np.ndarray:
    """Mean rate ``h + gap(h)`` at which the ladder ``family`` of block length ``n`` decoded by ``algorithm``
    first decodes a frame of cross-entropy ``h``, on the base code of the zone of ``zone_rate`` (the frame's
    announced rate; zoned families only): the measured table, linear in H between its points,
    ``UNCODED_RATE`` where it went uncoded, constant gap beyond its ends."""
    if n not in GAP_TABLES:
        raise ValueError(f"no measured LDPCA gap at block length n={n}; measured: "
                         f"{', '.join(map(str, sorted(GAP_TABLES)))} (benchmarks/ldpca_gap.py --n N)")
    tables = GAP_TABLES[n]
    key = (family, algorithm)
    if key not in tables:
        raise ValueError(f"no measured LDPCA gap for ladder {family!r} with {algorithm!r} at n={n}; "
                         f"known: {sorted(tables)}")
    rows = tables[key]
    row = rows[0] if len(rows) == 1 or zone_rate is None else rows[ldpca_zone(zone_rate, family)]
    h = np.asarray(h, dtype=np.float64)
    rates = [UNCODED_RATE if g is None else x + g for x, g in zip(GAP_ENTROPIES, row)]
    lo, hi = GAP_ENTROPIES[0], GAP_ENTROPIES[-1]
    inside = np.interp(h, GAP_ENTROPIES, rates)
    below = h + (rates[0] - lo)
    above = np.where(row[-1] is None, UNCODED_RATE, h + (rates[-1] - hi))
    return np.where(h < lo, below, np.where(h > hi, above, inside))


def frame_cross_entropy(bits: np.ndarray, llr: np.ndarray) -> np.ndarray:
    """(F,) empirical cross-entropy ``-mean log2 Q(b | side)`` of each frame's bits (F, n) under the
    decoder's LLRs (F, n) (``log Q(0) / Q(1)``), bits per source bit."""
    s = 1.0 - 2.0 * np.asarray(bits, dtype=np.float64)  # +1 for a 0, -1 for a 1
    return np.logaddexp(0.0, -s * np.asarray(llr, dtype=np.float64)).mean(axis=1) / np.log(2.0)


def needed_rate(bits: np.ndarray, llr: np.ndarray, family: str, algorithm: str,
                zone_rate: float | None = None) -> np.ndarray:
    """(F,) syndrome rate at which each frame first decodes: ``h + gap(h) - 1 / (2 K)`` (module docstring)."""
    n = np.asarray(bits).shape[1]
    h = frame_cross_entropy(bits, llr)
    return ladder_rate(h, family, algorithm, zone_rate, n) - 0.5 / rate_grid(n, "ldpca").size


def sw_predict_adaptive(bits: np.ndarray, llr: np.ndarray, start_rate: float, *, step: int = 1,
                        max_retries: int | None = None, fallback: str = "uncoded", hash_bits: int = 0,
                        seed: int = 0, family: str = "ldpca", zone_rate: float | None = None,
                        algorithm: str = "sum-product",
                        **_decoder_kwargs) -> tuple[AdaptiveDecodeResult, np.ndarray, np.ndarray]:
    """:func:`edgefl.coding.slepian_wolf.sw_decode_adaptive` without decoding: the same ladder, retry
    limits, fallback and bit accounting, with each frame succeeding at the first grid step at or
    above its :func:`needed_rate`. ``bits`` are returned as decoded (no undetected errors) and the BP
    iterations as -1 (not simulated: the timing model then charges the decoder's reference rate)."""
    b = np.asarray(bits)
    frames, n = b.shape
    if fallback not in ("uncoded", "complete"):
        raise ValueError(f"the analytic failure model supports fallback 'uncoded' or 'complete', got {fallback!r}")
    top = rate_grid(n, "ldpca").size
    k0 = grid_index(start_rate, n, "ldpca")
    retries_left = top if max_retries is None else int(max_retries)
    # the ladder's attempts: k0, k0 + step, ... capped at the top, at most 1 + max_retries of them
    ladder = [k0]
    while ladder[-1] < top and len(ladder) <= retries_left:
        ladder.append(min(top, ladder[-1] + int(step)))
    ks = np.array(ladder)
    zone_rate = k0 / top if zone_rate is None else zone_rate  # the zone the frames climb in
    need = needed_rate(b, llr, family, algorithm, zone_rate) * top
    # first attempt whose step reaches the need; len(ks) = none: uncoded after every attempt
    first = np.searchsorted(ks, np.ceil(need - 1e-9), side="left")
    first = np.minimum(first, ks.size)
    uncoded = first >= ks.size
    attempts = np.where(uncoded, ks.size, first + 1).astype(np.int64)
    m = np.array([code_at_step(int(k), n, seed, "ldpca").m for k in ks])  # the same m on every ladder
    last = m[attempts - 1]
    raw = n
    if fallback == "complete":  # the free columns of the last rung's code (edgefl.coding.ldpca_completion)
        from edgefl.coding.ldpca_completion import completion_bits

        raw = completion_bits(code_at_step(int(ks[-1]), n, seed, family, zone_rate))
    bits_sent = int(hash_bits) + last + np.where(uncoded, raw, 0)
    exchanges: list[tuple[int, int, int, int]] = []
    for j in range(int(attempts.max(initial=0))):
        active = int((attempts > j).sum())
        sent_now = m[j] - (m[j - 1] if j else 0)
        exchanges.append((int(sent_now * active + (hash_bits * frames if j == 0 else 0)), active, active, -1))
    if uncoded.any():
        exchanges.append((int(raw * uncoded.sum()), int(uncoded.sum()), 0, 0))
    final_rate = ks[attempts - 1] / top
    result = AdaptiveDecodeResult(
        bits=b.astype(np.uint8), success=np.ones(frames, dtype=np.bool_), iterations=np.full(frames, -1),
        passes=attempts.copy(), attempts=attempts, uncoded=uncoded, undetected=np.zeros(frames, dtype=np.bool_),
        exchanges=exchanges)
    return result, bits_sent.astype(np.int64), final_rate
