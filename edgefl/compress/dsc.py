"""The ``dsc`` compression scheme: distributed source coding of quantised gradients.

DSC paper Algorithm 1 with the helpers of Section IV (Fig. 4): each round the server
announces per-worker, per-bit-plane rates from the rate controller (eq. 45) using the
gradient statistics estimated after the previous round (eq. 57-62, or the offline
estimator eq. 48-56, or fixed "oracle" values); each worker quantises its gradient
(``bits = 1``: sign, i.e. DSC-signSGD), sends the syndromes of its bit-planes plus
its scalar ``sigma_{X+N,k}^2`` (eq. 57); the server decodes successively (Wyner-Ziv,
side information = workers already decoded) and forms the linear estimate (eq. 37).

Fidelities (``ctx.fidelity``): ``"bit-true"`` runs real syndromes and BP decoding
(failures, retries and undetected errors counted, decoded bits aggregated);
``"analytic"`` uses the same rates and bit counts but skips decoding and aggregates
the true quantised values. With ``analytic_failures`` (auto: on except for the paper's
Gaussian model with the fixed margin) analytic mode still computes every frame's LLRs and
charges the retries the bit-true LDPCA ladder would need (:mod:`edgefl.coding.ldpca_model`),
so bits, retries, retry time and the adaptive policy's state follow bit-true's; without it
``decode_bits`` is the same in both modes except for retries, which only bit-true mode sees.

Rate control (issue 23): the announced rates are the model's estimate plus a margin chosen by
``rate_policy`` (:mod:`edgefl.coding.margin_policy`: ``fixed`` 0.03 + 20 %, the default;
``adaptive``, following the observed failure fraction across rounds; ``none``, failures paid by
rate-adaptive retries; analytic runs predict them with the failure model). The estimate and the
LLRs come from the paper's Gaussian CEO model (``side_information: gaussian``, eq. 44-47) or, for the signs, from the
history table fitted on the decoded signs of past rounds (``history``,
:mod:`edgefl.coding.sign_history`, one rate per LDPC frame). With ``frame_order: entropy`` each
worker's signs fill the frames sorted by their predicted entropy (the permutation is computed
from the worker's own past signs, the public aggregate and a class table the server broadcasts,
whose bits are added to the next round's broadcast: ``downlink_bits``). ``ladder_fallback: complete``
completes a frame that fails at the ladder's last rung with the bits its syndrome leaves free
(:mod:`edgefl.coding.ldpca_completion`) instead of resending it raw; ``uncoded_rule: realised`` picks
the coded frames per class of estimate from the saving coding them realised (:mod:`edgefl.coding.saving_guard`).
Every simulated round's upload is split into the model's own rate and the losses on top in
``info["ledger"]`` (:mod:`edgefl.coding.dsc_ledger`).

Upload bits = syndrome bits (+ retry bits, + uncoded planes/frames, + per-frame hash
bits) + 32-bit side scalars: ``sigma_{X+N,k}^2`` always, and ``mean |g_k|`` for the
scaled one-bit scheme (the same scale the uncoded signSGD baseline sends, so the
aggregates agree bit for bit wherever decoding is right).
"""

from __future__ import annotations

import time

import numpy as np

from edgefl.coding import op_counts
from edgefl.coding.dsc_ledger import FrameLedger
from edgefl.coding.ldpc import code_at_step, rate_grid
from edgefl.coding.linear_estimator import linear_estimate, linear_estimator_weights
from edgefl.coding.margin_policy import MarginPolicy
from edgefl.coding.quantizer import UniformQuantizer
from edgefl.coding.rate_controller import RateController
from edgefl.coding.saving_guard import SavingGuard
from edgefl.coding.sign_history import HistoryPosterior, SignHistoryModel
from edgefl.coding.statistics import (
    GradientStatistics,
    offline_estimate,
    online_ml_estimate,
    worker_power,
    x_nodes,
)
from edgefl.coding.wyner_ziv import FAMILY, successive_wyner_ziv
from edgefl.compress.base import FLOAT_BITS, CompressionResult, Compressor, DecodeStep, RoundContext
from edgefl.compress.dsc_config import DSCConfig

SCALAR_BITS = FLOAT_BITS  # each side scalar is a float32
#: ladder_zone calibrated: weight of the newest round in the moving average of the decoded frames' climb
ZONE_DECAY = 0.5


class DSCCompressor(Compressor):
    """DSC-signSGD (``bits=1``) and m-bit DSC; stateful across rounds (statistics estimate).

    ``DSCCompressor(cfg)`` as built by the registry, or ``DSCCompressor(bits=1, rate_margin=0.1, ...)``.
    """

    name = "dsc"
    successive = True

    def __init__(self, cfg: DSCConfig | None = None, **overrides) -> None:
        if cfg is None or overrides:
            cfg = DSCConfig(**{**(cfg.model_dump() if cfg is not None else {}), **overrides})
        self.cfg = cfg
        c = self.cfg
        self.quantizer = UniformQuantizer(c.bits, c.clip)
        self.rate_controller = RateController(
            self.quantizer, margin=c.rate_margin, margin_slope=c.rate_margin_slope, top_k=c.top_k,
            method="grid" if c.mc_samples is None else "mc",
            samples=c.mc_samples, seed=c.code_seed,
        )
        self.margins = MarginPolicy(c.rate_policy, c.rate_margin, c.rate_margin_slope, c.retry_target,
                                    c.margin_gain, ceiling=c.uncoded_above)
        self.history = (SignHistoryModel(c.block_length, c.frame_order) if c.side_information == "history"
                        else None)
        self._history_workers: tuple[int, ...] | None = None  # worker ids of the history's rows
        self.guard = SavingGuard() if c.uncoded_rule == "realised" else None
        self.zone_offset = 0.0  # ladder_zone calibrated: moving average of the decoded frames' climb
        self.stats = GradientStatistics(c.sigma_x2, c.sigma_n2)
        self._rates_done: set[tuple[float, int]] = set()  # statistics the rates were computed for
        self._estimated = False  # an online estimate was made after the last round
        self._mean_degree: float | None = None
        self._last_round: tuple | None = None  # (round, indices, scales, powers, statistics before it)

    # ---- costs (DSC paper Fig. 5: encode on the workers, statistics + rate control on the server)
    def encode_flops(self, num_params: int) -> float:
        """:func:`edgefl.coding.op_counts.encode_ops` with the LDPCA base code's mean variable degree."""
        c = self.cfg
        if self._mean_degree is None:
            base = code_at_step(rate_grid(c.block_length, FAMILY).size, c.block_length, c.code_seed, FAMILY)
            self._mean_degree = base.n_edges / base.n
        ops = op_counts.encode_ops(num_params, c.bits, self._mean_degree, c.check_bits, c.bits == 1 and c.scaled)
        if c.frame_order == "entropy" and self.history is not None and self.history.has_table:
            ops += 7.0 * num_params + op_counts.sort_ops(num_params)  # class keys, then the sort into frames
        return ops

    def server_flops(self, num_workers: int, num_params: int) -> float:
        """Statistics estimation for the coming round (online ML eq. 62 on the last round's indices,
        or offline eq. 48-56) plus the rate controller (eq. 44-45) whenever the statistics moved
        to a value the server has no rates for, plus the history model's update on the last
        decoded round (side_information history) (:mod:`edgefl.coding.op_counts`)."""
        c = self.cfg
        levels = 1 << c.bits
        ops = 0.0
        if c.estimator == "offline" and num_workers >= 2:
            ops += op_counts.offline_estimator_ops(num_workers, num_params)
        elif c.estimator == "online" and self._estimated:
            shared = c.bits == 1
            coords = min(num_params, 20000 if shared else 5000)  # online_ml_estimate's max_coords (/4)
            nodes = x_nodes(self.stats.sigma_x2, self.stats.sigma_n2, points_per_sigma_n=2.0, extent=6.0,
                            max_nodes=512)[0].size
            ops += op_counts.ml_estimator_ops(num_workers, coords, levels, nodes, shared)
        key = self._rates_key(self.stats, num_workers)
        if c.estimator == "offline" or key not in self._rates_done:
            kt = num_workers if c.top_k is None else min(c.top_k, num_workers)
            r = float(np.exp(key[0]))  # the rounded ratio the controller evaluates at (unit total)
            nodes = c.mc_samples or x_nodes(r / (1 + r), 1 / (1 + r))[0].size
            ops += op_counts.rate_controller_ops(kt, levels, c.bits, nodes)
        if self.history is not None and self.history.fitted_rounds:
            ops += op_counts.history_fit_ops(num_workers, num_params, c.frame_order == "entropy")
        return ops

    def _rates_key(self, stats: GradientStatistics, num_workers: int) -> tuple[float, int]:
        # the rate controller's own cache key: rates are recomputed only for new statistics
        return round(float(np.log(stats.ratio)), self.rate_controller.cache_decimals), num_workers

    def compress(self, grads: np.ndarray, order: np.ndarray, ctx: RoundContext) -> CompressionResult:
        c = self.cfg
        grads = np.asarray(grads, dtype=np.float64)
        if grads.ndim != 2 or grads.shape[0] < 1 or grads.shape[1] < 1:
            raise ValueError(f"grads must be a non-empty (K, P) array, got shape {grads.shape}")
        if not np.all(np.isfinite(grads)):
            raise ValueError("grads contain NaN or inf")
        K, P = grads.shape
        order = np.asarray(order, dtype=np.int64)
        if sorted(order.tolist()) != list(range(K)):
            raise ValueError(f"order must be a permutation of 0..{K - 1}, got {order.tolist()}")
        if ctx.fidelity not in ("bit-true", "analytic"):
            raise ValueError(f"ctx.fidelity must be 'bit-true' or 'analytic', got {ctx.fidelity!r}")
        t0 = time.perf_counter()

        # worker side: eq. (57) scalar, quantise (Algorithm 1 lines 9-11)
        power = worker_power(grads).astype(np.float32).astype(np.float64)
        power = np.maximum(power, np.finfo(np.float32).tiny)
        scales = np.sqrt(power)
        index = np.stack([self.quantizer.quantize(grads[k], scales[k]) for k in range(K)])

        # server side: statistics for this round and the announced rates (lines 4-6)
        if c.estimator == "offline":
            stats = offline_estimate(grads) if K >= 2 else self.stats
        else:
            stats = self.stats
        gaussian = self.rate_controller.ideal_rates(stats, K)
        self._rates_done.add(self._rates_key(stats, K))
        if self.history is not None:  # the history is per worker: another set of workers starts it afresh
            ids = tuple(np.arange(K).tolist() if ctx.workers is None else np.asarray(ctx.workers).tolist())
            if ids != self._history_workers:
                self.history.reset()
                self._history_workers = ids
        history = self.history is not None and self.history.ready(K, P)
        # the history model's estimates are per LDPC frame: (K, 1, F) rates
        sort = history and c.frame_order == "entropy"
        ideal = self.history.frame_rate_estimate(order)[:, None, :] if history else gaussian
        perms = self.history.permutations(order) if sort else None
        rates = self.margins.rates(ideal)
        probe = None
        if self.guard is not None and history:  # per estimate class, code where coding realised a saving
            free = self.margins.rates(ideal, ceiling=False)
            coded_mask = self.guard.code(ideal, self.margins.ceiling)
            rates, probe = np.where(coded_mask, free, 1.0), np.where(coded_mask, 1.0, free)
        # absolute statistics for the LLRs: the ratio estimate, scaled by the first uploader's scalar
        total = float(power[order[0]])
        llr_stats = GradientStatistics(total * stats.ratio / (1 + stats.ratio), total / (1 + stats.ratio))

        failure_model = ctx.fidelity == "analytic" and c.failure_model
        llrs = ctx.fidelity == "bit-true" or failure_model  # frames go through the (real or predicted) ladder
        side = HistoryPosterior(self.history, P) if history and llrs else None
        ledger = FrameLedger() if llrs else None
        wz = successive_wyner_ziv(index, order, self.quantizer, rates, llr_stats, scales=scales,
                                  mode=ctx.fidelity, options=c, side_information=side, permutations=perms,
                                  failure_model=failure_model, ledger=ledger, probe_rates=probe,
                                  zone_offset=self.zone_offset)
        zone_offset_used = self.zone_offset
        if c.ladder_zone == "calibrated" and ledger is not None and ledger.decoded_frames:
            climb = ledger.climb / ledger.decoded_frames
            self.zone_offset = float(np.clip(ZONE_DECAY * climb + (1 - ZONE_DECAY) * self.zone_offset, 0.0, 1.0))
        if probe is not None and ledger is not None:
            n = c.block_length
            sizes = np.full(ideal.shape[2], n, dtype=np.float64)
            sizes[-1] = P - (sizes.size - 1) * n
            cost = np.stack([ledger.frame_cost[s] for s in range(K)])[:, None, :]
            self.guard.observe(ideal, cost, np.broadcast_to(sizes, cost.shape))
        coded = int(sum(p["frames"] for p in wz.planes if p["coded"]))
        scale_used = self.margins.scale
        self.margins.observe(coded, min(wz.decode_failures, coded))
        aggregate, recon, weights = self._reconstruct(wz.index, grads, scales, llr_stats)
        downlink = None
        if self.history is not None:
            self.history.update(wz.index, order, aggregate if c.frame_order == "entropy" else None)
            if c.frame_order == "entropy" and self.history.table_bits:  # the class table rides on the broadcast
                # (and, ladder_zone calibrated, the zone offset: one float32)
                downlink = float(FLOAT_BITS * P + self.history.table_bits
                                 + (FLOAT_BITS if c.ladder_zone == "calibrated" else 0))
        scalars = 2 if (c.bits == 1 and c.scaled) else 1
        upload = wz.upload_bits + scalars * SCALAR_BITS

        estimate = None
        # what the statistics update needs again if the server ends up with fewer uploads
        self._last_round = (ctx.round, wz.index, scales, power, self.stats)
        if c.estimator == "online" and K >= 2:
            # statistics ML problem (eq. 62) on the decoded indices, used next round
            estimate = online_ml_estimate(wz.index, self.quantizer, scales, float(power.mean()),
                                          rng=np.random.default_rng(ctx.round))
            self.stats = estimate
        self._estimated = estimate is not None
        info = {
            "ratio_used": float(stats.ratio),
            "ratio_estimate": None if estimate is None else float(estimate.ratio),
            "ideal_rate_sum": _rate_sum(ideal, P, c.block_length),
            "gaussian_rate_sum": float(gaussian.sum()),
            "side_information_used": "history" if history else "gaussian",
            # the history table in force this round scored on the decoded signs: its own rate without margin
            "history_rate_sum": (float(self.history.last_cross_entropy.sum())
                                 if history and self.history.last_cross_entropy is not None else None),
            "margin_scale": scale_used,
            "zone_offset": zone_offset_used,
            "coded_frames": coded,
            "announced_rate_sum": _rate_sum(rates, P, c.block_length),
            "bits_per_param": float(upload.sum() / (K * P)),
            "uncoded_frames": wz.uncoded_frames,
            "frame_order": "entropy" if sort else "contiguous",
            # the upload split into the model's own rate and the losses on top (edgefl.coding.dsc_ledger)
            "ledger": (None if ledger is None
                       else {**ledger.as_dict(), "bits_scalars": float(scalars * SCALAR_BITS * K)}),
            # the rate controller sets DSC's rates; P1's Gaussian test-channel rates do not apply
            "allocator_rates_ignored": getattr(ctx.allocation, "rates_bits", None) is not None,
            "compute_seconds": time.perf_counter() - t0,
        }
        return CompressionResult(
            upload_bits=upload, decode_bits=wz.decode_bits, aggregate=aggregate,
            decode_failures=wz.decode_failures, undetected_errors=wz.undetected_errors, retries=wz.retries,
            decode_schedule=[[DecodeStep(*st) for st in steps] for steps in wz.schedule],
            info=info, reconstructions=recon, weights=weights, downlink_bits=downlink,
        )

    def uploads_dropped(self, rows: np.ndarray) -> None:
        """The server decoded only ``rows`` of the last round (round deadline): the online
        statistics estimate (eq. 62) is redone on their indices alone, or with fewer than two
        the statistics stay those the round started with."""
        if self.history is not None:
            self.history.reset()  # the decoded history has holes: refit from complete rounds
        if self.cfg.estimator != "online" or self._last_round is None:
            return
        rnd, index, scales, power, before = self._last_round
        rows = np.asarray(rows, dtype=np.int64)
        if rows.size >= 2:
            self.stats = online_ml_estimate(index[rows], self.quantizer, scales[rows], float(power[rows].mean()),
                                            rng=np.random.default_rng(rnd))
        else:
            self.stats = before
        self._estimated = rows.size >= 2

    def _reconstruct(self, index: np.ndarray, grads: np.ndarray, scales: np.ndarray,
                     stats: GradientStatistics) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Dequantise and combine (Algorithm 1 line 16, eq. 37). Returns the aggregate, the
        per-worker reconstructions and their combination weights (None: equal)."""
        c = self.cfg
        if c.bits == 1:
            signs = np.where(index == 1, 1.0, -1.0)
            if c.scaled:  # the signSGD scale mean|g_k|, sent as a float32
                mag = np.abs(grads).mean(axis=1, keepdims=True).astype(np.float32).astype(np.float64)
            else:
                mag = np.ones((grads.shape[0], 1))
            u = signs * mag
            return u.mean(axis=0), u, None
        u = np.stack([self.quantizer.dequantize(index[k], scales[k]) for k in range(index.shape[0])])
        sigma_w2 = np.array([self.quantizer.noise_variance(s) for s in scales])
        # eq. (37)'s weights are normalised 1/(sigma_N^2 + sigma_Wk^2): a subset renormalises them
        weights = linear_estimator_weights(stats.sigma_n2, sigma_w2, len(u))
        return linear_estimate(u, stats.sigma_n2, sigma_w2), u, weights


def _rate_sum(rates: np.ndarray, num_params: int, n: int) -> float:
    """Sum over positions and bit-planes of the rates (bits per parameter); per-frame rates
    (K, m, F) are averaged over the frames weighted by their sizes (the last may be partial)."""
    if rates.ndim == 2:
        return float(rates.sum())
    sizes = np.full(rates.shape[2], n, dtype=np.float64)
    sizes[-1] = num_params - (sizes.size - 1) * n
    return float((rates @ sizes).sum() / num_params)
