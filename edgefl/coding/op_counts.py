"""Operation counts of the DSC pipeline, for the encode and rate-control phases of the DSC
paper's timing diagram (Fig. 5). One operation = one add, multiply, compare, XOR, shift or
table look-up; exp/log/erf count as :data:`TRANSCENDENTAL_OPS`. The counts follow the
algorithms as implemented here (cited per function); the device profiles' FLOP/s turn them
into seconds.
"""

from __future__ import annotations

import math

#: operations charged for one exp, log or erf (a polynomial/rational approximation of ~10 terms)
TRANSCENDENTAL_OPS = 10.0
#: objective evaluations of the statistics ML search (DSC paper eq. 62): bounded Brent
#: (scipy ``minimize_scalar(method="bounded")``, xatol 1e-3) on log-ratio in [ln 1e-3, ln 1e4],
#: golden-section worst case ceil(log(16.1 / 1e-3) / log(1.618)) + 2 evaluations
ML_EVALUATIONS = 22


def histogram_count(num_side: int, levels: int) -> int:
    """Histograms of ``num_side`` indices over ``levels`` cells, C(num_side + levels - 1, levels - 1)."""
    return math.comb(num_side + levels - 1, levels - 1)


def encode_ops(num_params: int, bits: int, mean_var_degree: float, hash_bits: int, scaled_sign: bool) -> float:
    """Worker-side operations of one round of DSC encoding (DSC paper Algorithm 1 lines 9-11):

    * eq. (57) scalar sigma_{X+N,k}^2 = mean g^2: 2 per parameter; for the scaled one-bit
      scheme also mean |g_k|: 2 per parameter;
    * quantisation by binary search over the 2^m - 1 thresholds: m compares per parameter;
    * per bit-plane (eq. 33): bit extraction (shift, and: 2), the LDPCA syndrome (Varodayan et
      al. 2006: base syndrome s0 = H0 b, one XOR per edge of the parity-check graph, then the
      running XOR, one per bit: ``mean_var_degree`` + 1 per bit, edges / n of the base code
      counted from the code itself), and the frame's check hash (``hash_bits`` parities of a
      dense random matrix, half its entries ones: hash_bits / 2 XORs per bit).

    All m planes are counted as coded (planes at rate 1 go uncoded and cost less: an upper bound).
    """
    per_param = 2.0 + (2.0 if scaled_sign else 0.0) + bits
    per_param += bits * (2.0 + mean_var_degree + 1.0 + hash_bits / 2.0)
    return float(num_params) * per_param


def rate_controller_ops(positions: int, levels: int, bits: int, nodes: int,
                        max_configurations: int = 50000, outer_samples: int = 4000) -> float:
    """Server operations of the rate controller, DSC paper eq. (45) with the semi-analytical
    Monte Carlo probabilities of eq. (44) over ``nodes`` samples x^l (L), as computed by
    :func:`edgefl.coding.rate_controller.semi_analytic_rates` for positions 1..``positions``:

    * cell probabilities q(j | x^l): L x M erf;
    * position k with s = k - 1 side workers and C = C(s + M - 1, M - 1) side histograms:
      Pr(c | x^l) = exp(counts @ log q) (C L M multiply-adds + C L exp), weighted sum over l
      (C L multiplies + C L M multiply-adds), chain-rule entropies of eq. (34)-(35)
      ((m + 1) passes over the C x M joint: sum, log, multiply);
    * beyond ``max_configurations`` histograms the outer sum is sampled: per outer sample
      s L adds of log q, L exp, L M multiply-adds, and m entropy passes over M cells.
    """
    L, M = float(nodes), float(levels)
    ops = L * M * TRANSCENDENTAL_OPS
    for s in range(positions):
        c = histogram_count(s, levels)
        if c <= max_configurations:
            ops += c * L * (2 * M + TRANSCENDENTAL_OPS) + c * L * (1 + 2 * M)
            ops += (bits + 1) * c * M * (2 + TRANSCENDENTAL_OPS)
        else:
            ops += outer_samples * (s * L + L * TRANSCENDENTAL_OPS + 2 * L * M + bits * M * (2 + TRANSCENDENTAL_OPS))
    return ops


def ml_estimator_ops(num_workers: int, num_coords: int, levels: int, nodes: int, shared_scale: bool) -> float:
    """Server operations of the online statistics estimator, DSC paper eq. (59)-(62), as computed
    by :func:`edgefl.coding.statistics.online_ml_estimate` on ``num_coords`` coordinates over
    ``nodes`` quadrature points, :data:`ML_EVALUATIONS` likelihood evaluations:

    * shared quantiser scale: per-coordinate histograms (K adds per coordinate), then per
      evaluation U = min(P', C(K + M - 1, M - 1)) distinct histograms x L nodes x M
      multiply-adds plus a log-sum-exp over L (exp and add per node);
    * per-worker scales: per evaluation K P' L adds of log q plus the log-sum-exp.
    """
    L, M, K, P = float(nodes), float(levels), float(num_workers), float(num_coords)
    cells = L * M * TRANSCENDENTAL_OPS
    if shared_scale:
        u = float(min(num_coords, histogram_count(num_workers, levels)))
        per_eval = cells + u * L * (2 * M + TRANSCENDENTAL_OPS + 1)
        return K * P + ML_EVALUATIONS * per_eval
    per_eval = K * cells + K * P * L + P * L * (TRANSCENDENTAL_OPS + 1)
    return ML_EVALUATIONS * per_eval


def offline_estimator_ops(num_workers: int, num_params: int) -> float:
    """DSC paper eq. (48)-(56) on the (K, P) gradients: across-worker mean and variance
    (3 K P) and the mean of squares (2 K P)."""
    return 5.0 * num_workers * num_params


def history_fit_ops(num_workers: int, num_params: int, sorted_frames: bool) -> float:
    """Server operations of the history side-information model's update on one decoded round
    (:meth:`edgefl.coding.sign_history.SignHistoryModel.update`, issue 23), per sign of the K x P:

    * cell of (s, c, o, a, z): running sum of c (1) and the index (4 multiply-adds: 8);
    * scoring the table in force: look-up, select, log (2 + log), per-frame sum (1);
    * refitting: two bincounts (2), the streak and consensus features (3);
    * table normalisation: 4 per cell of the K x K x 2 x (K + 1) x 2 table;
    * ``sorted_frames`` (frame_order entropy): class index (6), class table bincounts (2), own
      streak (2), aggregate bins (5 / K), and the K permutations of the coming round (the server
      sorts each worker's keys as the worker does: :func:`sort_ops`, plus the key look-up).
    """
    K, P = float(num_workers), float(num_params)
    per_sign = 9.0 + 3.0 + TRANSCENDENTAL_OPS + 5.0
    ops = K * P * per_sign + 4.0 * K * K * 2 * (K + 1) * 2
    if sorted_frames:
        ops += K * P * (10.0 + 5.0 / K) + K * (sort_ops(num_params) + P)
    return ops


def sort_ops(num_params: int) -> float:
    """One worker's frame order (frame_order entropy): a comparison sort of its P keys,
    P log2 P compares, and the gather of its signs into that order (P)."""
    P = float(num_params)
    return P * math.log2(max(P, 2.0)) + P
