"""RadioEnvironment: per-worker large-scale link budget plus seeded fading streams.

Mean SNR (dB) = P_tx - PL(d) - X_sigma - N(B), with N(B) = -174 + 10 log10 B + NF
(see :mod:`edgefl.radio.noise`) and X_sigma ~ N(0, sigma^2) per-worker log-normal
shadowing drawn once and shared by uplink and downlink (reciprocal large-scale
channel). Instantaneous SNR = mean SNR x fading power gain (unit mean).

A channel trace (:mod:`edgefl.radio.trace`), when given, replaces path loss, shadowing and
fading: SNR = P + G(t) - N(B) both ways with the trace's gain G, and the mean SNR uses the
worker's average trace gain in dB.

Randomness: every random quantity of worker k comes from its own generator,
``SeedSequence(seed, spawn_key=(stream, k))`` with stream 0 = shadowing,
1 = uplink fading, 2 = downlink fading. Worker k's values therefore depend only on
(seed, k, its own call sequence): not on K, not on other workers' calls.
"""

from __future__ import annotations

import math

import numpy as np

from edgefl.radio.config import TR38901_MODELS, ChannelConfig
from edgefl.radio.fading import FadingBank, power_gain_from_state
from edgefl.radio.gauss_markov import GAIN_PYTHON, GaussMarkovBank, SeedList
from edgefl.radio.link_state import fading_streams, shadow_normals, worker_links
from edgefl.radio.noise import NOISE_DENSITY_DBM_HZ, thermal_noise_dbm
from edgefl.radio import snr_batch as sb
from edgefl.radio.trace import ChannelTrace

_SHADOW, _UPLINK, _DOWNLINK = 0, 1, 2
#: fading draws of one upload a compiled upload kernel can be handed (NR: max_harq (max_rlc_retx + 1),
#: 20 by default); uploads that may read more are played by their processes
UPLINK_DRAWS_AHEAD = 64


class RadioEnvironment:
    """Link budget and fading of K workers around one server.

    ``worker_pos`` (K, 3) and ``server_pos`` (3,) are metres; heights are the z
    coordinates unless the path-loss config sets ``h_bs_m`` / ``h_ut_m``.
    ``cfg.tx_power_dbm``, when set, replaces ``worker_tx_dbm`` for every worker.
    ``indoor`` = (indoor fraction, high-loss fraction) of the placement (None: the
    channel's ``o2i`` defaults). Mixed LOS/NLOS and indoor workers: see
    :mod:`edgefl.radio.link_state`; the mean SNR is then that of each worker's state drawn
    at placement, and with ``los_state.redraw: correlation`` the fading gain carries the
    change of state.
    """

    def __init__(
        self,
        cfg: ChannelConfig,
        worker_pos: np.ndarray,
        server_pos: np.ndarray,
        worker_tx_dbm: np.ndarray,
        server_tx_dbm: float,
        seed: int,
        trace: ChannelTrace | None = None,
        indoor: tuple[float | None, float | None] = (None, None),
    ) -> None:
        wp = np.asarray(worker_pos, dtype=float)
        sp = np.asarray(server_pos, dtype=float)
        if wp.ndim != 2 or wp.shape[1] != 3 or wp.shape[0] < 1:
            raise ValueError(f"worker_pos must have shape (K, 3) with K >= 1, got {wp.shape}")
        if sp.shape != (3,):
            raise ValueError(f"server_pos must have shape (3,), got {sp.shape}")
        if not (np.all(np.isfinite(wp)) and np.all(np.isfinite(sp))):
            raise ValueError("worker_pos and server_pos must be finite")
        k = wp.shape[0]
        tx = np.broadcast_to(np.asarray(worker_tx_dbm, dtype=float), (k,)).copy()
        if cfg.tx_power_dbm is not None:
            tx[:] = cfg.tx_power_dbm
        if not np.all(np.isfinite(tx)) or not math.isfinite(server_tx_dbm):
            raise ValueError(
                f"transmit powers must be finite dBm, got worker_tx_dbm={worker_tx_dbm}, "
                f"server_tx_dbm={server_tx_dbm}"
            )
        if int(seed) != seed or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed}")

        self.cfg = cfg
        self.n_workers = k
        self.worker_tx_dbm = tx
        self.server_tx_dbm = float(server_tx_dbm)
        self.distance_2d_m = np.hypot(wp[:, 0] - sp[0], wp[:, 1] - sp[1])
        pl_cfg = cfg.pathloss
        is_38901 = pl_cfg.model in TR38901_MODELS
        self.h_bs_m = pl_cfg.h_bs_m if (is_38901 and pl_cfg.h_bs_m is not None) else float(sp[2])
        self.h_ut_m = (
            np.full(k, pl_cfg.h_ut_m) if (is_38901 and pl_cfg.h_ut_m is not None) else wp[:, 2].copy()
        )
        seed = int(seed)
        # Per-worker LOS state, indoor / O2I loss and h_E (38.901 Tables 7.4.2-1, 7.4.1-1, Sec. 7.4.3).
        self.links = worker_links(cfg, self.distance_2d_m, self.h_bs_m, self.h_ut_m, seed, *indoor)
        self.h_ut_m = self.links.h_ut_m  # indoor workers may be placed on a floor (o2i.indoor_height)
        self.distance_3d_m = np.sqrt(self.distance_2d_m**2 + (self.h_bs_m - self.h_ut_m) ** 2)
        self.pathloss_db = self.links.pathloss_db
        # plain: Generator.normal(0, sigma) of each worker's shadowing generator = 0 + sigma z, z its standard normal
        self.shadowing_db = self.links.shadowing_db if not self.links.plain else (
            0.0 + cfg.shadowing_sigma_db * shadow_normals(seed, k))
        # Received power at 0 dB noise reference; SNR = rx - noise(B).
        self._ul_rx_dbm = tx - self.pathloss_db - self.shadowing_db
        self._dl_rx_dbm = self.server_tx_dbm - self.pathloss_db - self.shadowing_db
        self._dl_nf_db = (
            cfg.downlink_noise_figure_db
            if cfg.downlink_noise_figure_db is not None
            else cfg.noise_figure_db
        )
        self._trace = trace
        if trace is not None:  # the trace replaces path loss, shadowing and fading (mean: its average)
            self._ul_noise_full_dbm = thermal_noise_dbm(cfg.uplink_bandwidth_hz, cfg.noise_figure_db)
            g = np.array([trace.mean_gain_db(i, tx[i], self._ul_noise_full_dbm) for i in range(k)])
            self._ul_rx_dbm = tx + g
            self._dl_rx_dbm = self.server_tx_dbm + g
        if not self.links.plain:
            self._ul = FadingBank.of_streams(fading_streams(cfg, self.links, seed, downlink=False))
            self._dl = FadingBank.of_streams(fading_streams(cfg, self.links, seed, downlink=True))
            return
        # plain links: one bank per direction, arrays over the workers (Gauss-Markov: compiled)
        bank = GaussMarkovBank if cfg.fading.model != "none" and cfg.correlation.kind == "gauss_markov" \
            else FadingBank
        self._ul = bank(cfg.fading, cfg.correlation, SeedList(seed, _UPLINK, k), *(
            (UPLINK_DRAWS_AHEAD,) if bank is GaussMarkovBank else ()))
        self._dl = bank(cfg.fading, cfg.correlation, SeedList(seed, _DOWNLINK, k))

    # ---- mean (large-scale) SNR -------------------------------------------------
    def mean_uplink_snr_db(self, bandwidth_hz: float | np.ndarray) -> np.ndarray:
        """(K,) mean uplink SNR (dB) at the server, no small-scale fading; B scalar or (K,)."""
        return self._ul_rx_dbm - thermal_noise_dbm(bandwidth_hz, self.cfg.noise_figure_db)

    def mean_downlink_snr_db(self, bandwidth_hz: float | np.ndarray) -> np.ndarray:
        """(K,) mean downlink SNR (dB) at each worker, no small-scale fading."""
        return self._dl_rx_dbm - thermal_noise_dbm(bandwidth_hz, self._dl_nf_db)

    # ---- instantaneous SNR --------------------------------------------------------
    def _noise_dbm_scalar(self, bandwidth_hz: float, noise_figure_db: float) -> float:
        if not (math.isfinite(bandwidth_hz) and bandwidth_hz > 0):
            raise ValueError(f"bandwidth_hz must be positive and finite, got {bandwidth_hz}")
        return NOISE_DENSITY_DBM_HZ + 10.0 * math.log10(bandwidth_hz) + noise_figure_db

    def uplink_snr(self, k: int, t: float, round: int, bandwidth_hz: float) -> float:
        """Linear SNR of worker ``k``'s upload starting at time ``t`` (s) in round ``round``.

        block_round: one fading draw per (k, round); block_upload: a new draw per call;
        gauss_markov: worker k's AR(1) state advanced by the time since its last call.
        """
        if not (isinstance(k, (int, np.integer)) and 0 <= k < self.n_workers):
            raise ValueError(f"k must be a worker index in [0, {self.n_workers}), got {k!r}")
        if self._trace is not None:
            g = self._trace.gain_db(int(k), t, self.worker_tx_dbm[k], self._ul_noise_full_dbm)
            snr_db = self.worker_tx_dbm[k] + g - self._noise_dbm_scalar(float(bandwidth_hz), self.cfg.noise_figure_db)
            return float(10.0 ** (snr_db / 10.0))
        mean_db = self._ul_rx_dbm[k] - self._noise_dbm_scalar(float(bandwidth_hz), self.cfg.noise_figure_db)
        return float(10.0 ** (mean_db / 10.0) * self._ul.gain(k, t, round))

    def uplink_snr_many(self, workers: np.ndarray, t: float, round: int, bandwidth_hz: np.ndarray) -> list[float]:
        """:meth:`uplink_snr` of each of ``workers`` (distinct indices) on its ``bandwidth_hz``, all
        starting at ``t``: the same values (same scalar arithmetic per worker), the fading drawn for
        all workers at once (block fading; Gauss-Markov: worker by worker)."""
        workers = np.asarray(workers, dtype=np.int64)
        if self._trace is not None:  # the trace's gain depends on t: worker by worker
            return [self.uplink_snr(int(w), t, round, float(b))
                    for w, b in zip(workers, np.broadcast_to(bandwidth_hz, workers.shape))]
        gains = self._ul.gains(workers, t, round).tolist()
        nf = self.cfg.noise_figure_db
        noise = {b: self._noise_dbm_scalar(b, nf) for b in set(np.asarray(bandwidth_hz, dtype=float).tolist())}
        rx = self._ul_rx_dbm[workers]
        return [float(10.0 ** ((r - noise[b]) / 10.0) * g)
                for r, b, g in zip(rx, np.broadcast_to(bandwidth_hz, workers.shape).tolist(), gains)]

    def uplink_snr_batch(self, workers: np.ndarray, round: int, bandwidth_hz: np.ndarray,
                         reads: int) -> sb.UplinkSnrBatch | None:
        """What a compiled kernel needs to compute :meth:`uplink_snr` of each of ``workers`` (distinct)
        for up to ``reads`` reads each in ``round`` (:class:`edgefl.radio.snr_batch.UplinkSnrBatch`);
        None where the SNR cannot be handed over (a channel trace, LOS/NLOS switching streams,
        per-upload block fading, Nakagami Gauss-Markov fading): the caller reads it call by call."""
        workers = np.asarray(workers, dtype=np.int64)
        bank = self._ul
        if self._trace is not None or not isinstance(bank, (FadingBank, GaussMarkovBank)) or bank._fading is None:
            return None
        bw = np.broadcast_to(np.asarray(bandwidth_hz, dtype=float), workers.shape)
        nf = self.cfg.noise_figure_db
        # the noise of each distinct bandwidth once (a round's rows mostly share one);
        # a bandwidth no upload can use (0: a row without bits) is never read: NaN
        widths, which = np.unique(bw, return_inverse=True)
        noise = np.array([self._noise_dbm_scalar(b, nf) if math.isfinite(b) and b > 0 else math.nan
                          for b in widths.tolist()], dtype=float)
        mean_db = self._ul_rx_dbm[workers] - noise[which.reshape(workers.shape)]
        n = workers.size
        if isinstance(bank, GaussMarkovBank):
            if bank.gain_map == GAIN_PYTHON or reads > bank.ahead:
                return None
            bank.lookahead(workers, max(1, int(reads)))
            return sb.UplinkSnrBatch(sb.KIND_GAUSS_MARKOV, mean_db, workers, bank.buf, bank.pos, bank.state_re,
                                     bank.state_im, bank.last_t, bank.has_last, bank.gain_map, bank.los,
                                     bank.scale, bank.doppler_hz, int(round))
        fading, corr = bank._fading, bank._corr
        if fading.model == "none":
            return sb.UplinkSnrBatch.plain(sb.KIND_NONE, mean_db, np.zeros((n, 1), dtype=complex), int(round))
        if corr.kind != "block_round":
            return None
        ahead = bank.peek_round_gains(workers, int(round)).astype(complex).reshape(n, 1)

        def apply_block(b: sb.UplinkSnrBatch) -> None:
            read = workers[b.used > 0]
            if read.size:
                bank.gains(read, 0.0, int(round))

        out = sb.UplinkSnrBatch.plain(sb.KIND_BLOCK_ROUND, mean_db, ahead, int(round))
        out.apply = apply_block
        return out

    def downlink_snr(self, t: float, round: int, bandwidth_hz: float, workers: np.ndarray | None = None) -> np.ndarray:
        """Linear SNR of a broadcast starting at time ``t`` in round ``round``: (K,) for all workers,
        or for the listed ``workers`` only (partial participation: only the receivers' fading is drawn)."""
        ids = np.arange(self.n_workers) if workers is None else np.asarray(workers, dtype=np.int64)
        if self._trace is not None:
            g = np.array([self._trace.gain_db(int(i), t, self.worker_tx_dbm[i], self._ul_noise_full_dbm)
                          for i in ids])
            return np.power(10.0, (self.server_tx_dbm + g - self._noise_dbm_scalar(float(bandwidth_hz),
                                                                                   self._dl_nf_db)) / 10.0)
        mean_db = self._dl_rx_dbm - self._noise_dbm_scalar(float(bandwidth_hz), self._dl_nf_db)
        if workers is not None:
            return np.power(10.0, mean_db[ids] / 10.0) * self._dl.gains(ids, t, round)
        raw = self._dl.raw(t, round)
        gains = power_gain_from_state(self.cfg.fading, raw) if self._dl.returns_state else raw
        return np.power(10.0, mean_db / 10.0) * gains
