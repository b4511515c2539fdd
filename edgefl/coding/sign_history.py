"""History side-information model of DSC-signSGD: the conditional sign probabilities learnt
from the decoded signs of the previous rounds, in place of the Gaussian CEO model.

The Gaussian model (DSC paper eq. 40-45) explains the signs of the K workers by one shared
Gaussian x per parameter and independent Gaussian noise; it misses what the real sign
distribution shows: each worker's own sign persists across rounds (non-IID shards bias each
worker's gradient the same way round after round), the consensus of the last round persists,
and parameters whose gradient is exactly zero (dead ReLUs, constant input pixels) are +1 for
every worker round after round. The server holds every decoded sign, so it fits, online, the
table

    Q_s(B = 1 | c, o, a, z)

for the worker at position s + 1 of the decoding order, with ``c`` the number of +1 signs
among the s workers decoded before it this round (the Wyner-Ziv side information of eq. 45),
``o`` the worker's own decoded sign last round, ``a`` the number of +1 signs of all K workers
last round and ``z`` whether all K signs were +1 in each of the last two rounds. Counts are
Krichevsky-Trofimov smoothed (add 1/2). The table replaces, for one-bit planes,

* the rate controller's conditional entropy (DSC paper eq. 45): the estimate for position s is
  the cross-entropy ``-mean log2 Q_s(b | features)`` that the table fitted one round earlier
  scored on the last decoded round (an out-of-sample one-step-ahead estimate; the in-sample
  entropy of the table when only one fitted round exists), per position and, with a
  ``frame_length``, per LDPC frame of the vector (the entropy differs by orders of magnitude
  between frames: constant input pixels give frames of near-zero entropy, so one rate per
  bit-plane would over-code those and send the others through many retries);
* the LLR computer (DSC paper eq. 47, a-posteriori form): ``log Q_s(0 | .) / Q_s(1 | .)``.

Rates and LLRs need three decoded rounds (features, a fit, and a round to score the fit on:
the in-sample entropy of the first fit misses the drift between rounds); before that the
caller uses the Gaussian model.

Frame order (``frame_order``, issue 23). ``"contiguous"``: frame f of a worker holds the
parameters ``f n .. (f + 1) n - 1``; the rates are the per-frame cross-entropies of the last round.
``"entropy"``: each worker's signs are sorted into frames by their predicted conditional entropy,
so frames are homogeneous: near-deterministic signs (persistent signs, parameters every worker
has signed alike round after round) fill low-rate frames, where the finite-length LDPCA gap is
small against the saving, and near-one-bit signs fill frames that go uncoded (they offered
almost nothing). The permutation must be computable by the encoder, which does not know this
round's other signs (``c``), so it is built only from what the worker holds and the server can
reproduce exactly:

* the worker's own decoded signs of the past rounds: ``o`` and its streak ``r`` (rounds in a row
  its sign did not change, capped at ``OWN_STREAK_CAP``);
* the public aggregate of the last round (the server's broadcast: a worker recovers it from the
  two last broadcast models and the known optimiser, by the same float operations the server can
  replay): ``a~ = round(K (1 + g_j / max_j |g_j|) / 2)`` in 0..K (the consensus a, weighted by the
  workers' scales) and ``z~`` = whether ``a~ = K`` in each of the last two rounds;
* a table broadcast by the server each round (counted in the downlink bits,
  :attr:`SignHistoryModel.table_bits`): per decoding position s and class ``(o, r, a~, z~)`` the
  mean out-of-sample log-loss ``-log2 Q_s(b | c, o, a, z)`` its signs had on the last round,
  clipped to [0, 1] and quantised to ``TABLE_BITS`` bits.

Worker k at position s sorts its signs by the table value of their class (stable: ties keep the
parameter order); the frame rate estimate is the mean table value over the frame. The rates and
LLRs themselves still come from the full table ``Q_s(. | c, o, a, z)`` at the server.
"""

from __future__ import annotations

import numpy as np

#: Krichevsky-Trofimov smoothing of the counts
KT = 0.5
#: probability floor of the table (bounds the LLRs well inside the decoders' clip)
P_FLOOR = 1e-6
#: frame orders: parameter order, or sorted by predicted conditional entropy
FRAME_ORDERS: tuple[str, ...] = ("contiguous", "entropy")
#: own-sign streak cap of the ordering classes
OWN_STREAK_CAP = 3
#: bits per entry of the broadcast class table (rates in [0, 1] quantised to 2^TABLE_BITS - 1 steps)
TABLE_BITS = 8


class SignHistoryModel:
    """Online fit of the history table; ``update`` after each round with the decoded signs."""

    def __init__(self, frame_length: int | None = None, frame_order: str = "contiguous") -> None:
        if frame_length is not None and frame_length < 1:
            raise ValueError(f"frame_length must be a positive integer or None, got {frame_length!r}")
        if frame_order not in FRAME_ORDERS:
            raise ValueError(f"frame_order must be one of {FRAME_ORDERS}, got {frame_order!r}")
        self.frame_length = frame_length
        self.frame_order = frame_order
        self.reset()

    def reset(self) -> None:
        """Forget everything (e.g. a round decoded only in part): Gaussian until three full rounds."""
        self._prev: np.ndarray | None = None  # (K, P) decoded sign indices of the last round
        self._streak: np.ndarray | None = None  # (P,) rounds in a row (capped at 2) all K signs were +1
        self._table: np.ndarray | None = None  # (K, K, 2, K+1, 2): Q_s(1 | c, o, a, z)
        self._estimate: np.ndarray | None = None  # (K, F) rate estimate per position and frame
        #: per position (and (K, F) per frame), cross-entropy in bits per sign of the table in force
        #: on the last decoded round: the history model's own rate without margin
        self.last_cross_entropy: np.ndarray | None = None
        self.last_frame_cross_entropy: np.ndarray | None = None
        # frame_order "entropy": worker-side ordering features and the broadcast class table
        self._own_streak: np.ndarray | None = None  # (K, P) rounds in a row each own sign did not change
        self._pub: np.ndarray | None = None  # (2, P): a~ of the last round, z~ streak (capped at 2)
        self._class_table: np.ndarray | None = None  # (K, C) quantised mean log-loss per position and class

    def ready(self, num_workers: int, num_params: int) -> bool:
        """Whether rates and LLRs are available for a round of this shape (a table scored out of sample)."""
        return (self.last_cross_entropy is not None and self._prev is not None
                and self._prev.shape == (num_workers, num_params)
                and (self.frame_order == "contiguous" or self._class_table is not None))

    @property
    def fitted_rounds(self) -> bool:
        """Whether a decoded round has been folded in (the server ran an update since the last reset)."""
        return self._prev is not None

    @property
    def has_table(self) -> bool:
        """Whether a class table is in force (frame_order entropy: the workers sort their signs)."""
        return self._class_table is not None

    @property
    def num_classes(self) -> int:
        """Ordering classes (o, r, a~, z~) of ``frame_order="entropy"`` for the fitted K."""
        K = self._prev.shape[0]
        return 2 * (OWN_STREAK_CAP + 1) * (K + 1) * 2

    @property
    def table_bits(self) -> int:
        """Downlink bits of the class table broadcast for the coming round (0 without one)."""
        return 0 if self._class_table is None else int(self._class_table.size * TABLE_BITS)

    def _order_classes(self) -> np.ndarray:
        """(K, P) ordering class of each worker's signs for the coming round, from worker-side features."""
        K = self._prev.shape[0]
        a_t, z_t = self._pub[0], (self._pub[1] >= 2).astype(np.int64)
        return ((self._prev * (OWN_STREAK_CAP + 1) + self._own_streak) * (K + 1) + a_t[None]) * 2 + z_t[None]

    def _keys(self, order: np.ndarray) -> np.ndarray:
        """(K, P) quantised table value of each sign (rows by worker) for the decoding ``order``."""
        pos = np.empty(order.size, np.int64)
        pos[order] = np.arange(order.size)
        return np.take_along_axis(self._class_table[pos], self._order_classes(), axis=1)

    def permutations(self, order: np.ndarray) -> np.ndarray:
        """(K, P) per worker (rows by worker), the parameters in frame order: ascending predicted
        entropy, ties in parameter order (``frame_order="entropy"``)."""
        if self.frame_order != "entropy" or self._class_table is None:
            raise RuntimeError("permutations need frame_order='entropy' and a fitted class table")
        return np.argsort(self._keys(np.asarray(order, np.int64)), axis=1, kind="stable")

    def rate_estimate(self, order: np.ndarray | None = None) -> np.ndarray:
        """(K,) estimated rate per position (bits per sign), without margin."""
        return self._frame_means(self.frame_rate_estimate(order))

    def frame_rate_estimate(self, order: np.ndarray | None = None) -> np.ndarray:
        """(K, F) estimated rate per position and frame of ``frame_length`` signs (F = 1 without).
        ``frame_order="entropy"`` needs the decoding ``order``: the mean table value of each frame of
        the sorted signs of the worker at each position."""
        if self._estimate is None:
            raise RuntimeError("no history fitted yet (needs two decoded rounds)")
        if self.frame_order == "contiguous":
            return self._estimate.copy()
        if order is None:
            raise ValueError("frame_order 'entropy' needs the decoding order for the frame rate estimate")
        order = np.asarray(order, np.int64)
        keys = np.sort(self._keys(order), axis=1)[order] / float((1 << TABLE_BITS) - 1)
        return self._per_frame(keys)

    def _frame_sizes(self, num_params: int) -> np.ndarray:
        n = self.frame_length or num_params
        sizes = np.full(-(-num_params // n), n)
        sizes[-1] = num_params - (sizes.size - 1) * n
        return sizes

    def _frame_means(self, per_frame: np.ndarray) -> np.ndarray:
        sizes = self._frame_sizes(self._prev.shape[1])
        return per_frame @ sizes / sizes.sum()

    def _per_frame(self, loss: np.ndarray) -> np.ndarray:
        """(K, P) log-losses -> (K, F) means per frame."""
        K, P = loss.shape
        sizes = self._frame_sizes(P)
        padded = np.zeros((K, sizes.size * sizes[0]))
        padded[:, :P] = loss
        return padded.reshape(K, sizes.size, sizes[0]).sum(axis=2) / sizes

    def _features(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per-round features from the last round: own sign o (K, P), consensus a (P,), zero flag z (P,)."""
        prev = self._prev
        return prev, prev.sum(axis=0), (self._streak >= 2).astype(np.int64)

    def _cells(self, s: int, c: np.ndarray, o: np.ndarray, a: np.ndarray, z: np.ndarray, K: int) -> np.ndarray:
        """Flat cell index of (position s, c, o, a, z) in the (K, K, 2, K+1, 2) table."""
        return (((s * K + c) * 2 + o) * (K + 1) + a) * 2 + z

    def posterior(self, worker: int, position: int, ones_before: np.ndarray) -> np.ndarray:
        """(P, 2) ``[Q(B=0 | .), Q(B=1 | .)]`` of ``worker`` decoded at ``position`` (0-based) with
        ``ones_before`` (P,) +1 signs among the workers decoded before it."""
        if self._table is None:
            raise RuntimeError("no history fitted yet (needs two decoded rounds)")
        o, a, z = self._features()
        K = o.shape[0]
        p1 = self._table.ravel()[self._cells(position, np.asarray(ones_before, np.int64), o[worker], a, z, K)]
        return np.stack([1.0 - p1, p1], axis=1)

    def update(self, index: np.ndarray, order: np.ndarray, aggregate: np.ndarray | None = None) -> None:
        """Fold in one decoded round: score the table in force, refit it, advance the features.

        ``index`` (K, P) are the decoded sign indices (1 = +), rows by worker; ``order`` the
        decoding order of the round; ``aggregate`` (P,) the round's public aggregate (needed by
        ``frame_order="entropy"``)."""
        index = np.asarray(index, dtype=np.int64)
        order = np.asarray(order, dtype=np.int64)
        if index.ndim != 2 or index.min(initial=0) < 0 or index.max(initial=0) > 1:
            raise ValueError("index must be a (K, P) array of sign indices 0/1")
        K, P = index.shape
        entropy = self.frame_order == "entropy"
        if entropy and (aggregate is None or np.shape(aggregate) != (P,)):
            raise ValueError(f"frame_order 'entropy' needs the round's ({P},) aggregate, got "
                             f"{None if aggregate is None else np.shape(aggregate)}")
        if self._prev is not None and self._prev.shape != (K, P):
            self.reset()
        if self._prev is not None:
            o, a, z = self._features()
            ones = np.concatenate([np.zeros((1, P), np.int64), np.cumsum(index[order], axis=0)[:-1]])
            cells = np.stack([self._cells(s, ones[s], o[order[s]], a, z, K) for s in range(K)])
            bits = index[order]
            if self._table is not None:  # how well the table in force coded this round
                p1 = self._table.ravel()[cells]
                out_of_sample = self._per_frame(-np.log2(np.where(bits == 1, p1, 1.0 - p1)))
            size = K * K * 2 * (K + 1) * 2
            n = np.bincount(cells.ravel(), minlength=size).astype(np.float64)
            n1 = np.bincount(cells.ravel(), weights=bits.ravel().astype(np.float64), minlength=size)
            table = np.clip((n1 + KT) / (n + 2 * KT), P_FLOOR, 1.0 - P_FLOOR)
            if entropy:  # the class table the server broadcasts for the coming round
                if self._table is not None:
                    p1 = self._table.ravel()[cells]
                else:  # in-sample, first fit
                    p1 = table[cells]
                self._fit_class_table(-np.log2(np.where(bits == 1, p1, 1.0 - p1)), self._order_classes()[order])
            p1 = table[cells]
            if self._table is None:
                out_of_sample = self._per_frame(-np.log2(np.where(bits == 1, p1, 1.0 - p1)))  # in-sample, first fit
            else:
                self.last_cross_entropy = (out_of_sample @ self._frame_sizes(P)) / P
                self.last_frame_cross_entropy = out_of_sample
            self._estimate = out_of_sample
            self._table = table.reshape(K, K, 2, K + 1, 2)
        allplus = np.all(index == 1, axis=0)
        streak = np.zeros(P, np.int64) if self._streak is None or self._streak.shape != (P,) else self._streak
        self._streak = np.where(allplus, np.minimum(streak + 1, 2), 0)
        if entropy:
            own = np.zeros((K, P), np.int64) if self._own_streak is None else self._own_streak
            self._own_streak = (np.where(index == self._prev, np.minimum(own + 1, OWN_STREAK_CAP), 0)
                                if self._prev is not None else own)
            g = np.asarray(aggregate, dtype=np.float64)
            top = float(np.max(np.abs(g)))
            a_t = np.clip(np.rint(K * (1.0 + g / top) / 2.0), 0, K).astype(np.int64) if top > 0 else np.full(P, K // 2)
            z_prev = np.zeros(P, np.int64) if self._pub is None else self._pub[1]
            self._pub = np.stack([a_t, np.where(a_t == K, np.minimum(z_prev + 1, 2), 0)])
        self._prev = index.copy()

    def _fit_class_table(self, loss: np.ndarray, classes: np.ndarray) -> None:
        """Class table from one round's per-sign log-losses and ordering classes, both (K, P) by position:
        mean loss per (position, class), then clipped to [0, 1] and quantised (unseen classes: the position's mean)."""
        K, P = loss.shape
        C = self.num_classes
        flat = (np.arange(K)[:, None] * C + classes).ravel()
        total = np.bincount(flat, weights=loss.ravel(), minlength=K * C).reshape(K, C)
        count = np.bincount(flat, minlength=K * C).reshape(K, C)
        fallback = loss.mean(axis=1, keepdims=True)
        mean = np.where(count > 0, total / np.maximum(count, 1), fallback)
        levels = (1 << TABLE_BITS) - 1
        self._class_table = np.rint(np.clip(mean, 0.0, 1.0) * levels).astype(np.int64)


class HistoryPosterior:
    """The successive decoder's side-information tracker (the interface of
    :class:`edgefl.coding.llr.SideInformationPosterior`) backed by a :class:`SignHistoryModel`."""

    def __init__(self, model: SignHistoryModel, num_params: int) -> None:
        self.model = model
        self._ones = np.zeros(num_params, dtype=np.int64)
        self.num_side = 0

    def add(self, index: np.ndarray, scale: float = 1.0) -> None:
        """Fold one decoded worker's sign indices into the side information."""
        self._ones += np.asarray(index, dtype=np.int64)
        self.num_side += 1

    def posterior(self, scale: float = 1.0, worker: int | None = None) -> np.ndarray:
        """(P, 2) posterior of ``worker``'s sign, decoded next (position = signs folded in so far)."""
        if worker is None:
            raise ValueError("the history model needs the worker whose sign is decoded")
        return self.model.posterior(worker, self.num_side, self._ones)
