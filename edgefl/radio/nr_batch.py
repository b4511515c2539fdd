"""NR HARQ/RLC uploads of a whole round in one compiled event loop (the batched twin of
:meth:`edgefl.radio.nr_link.NRLink.upload` on the round-timing core's event loop).

Every row (upload) goes through the states of the per-upload process: ask for the band (TDMA: a
first-come-first-served band of one, asked afresh for every pass; FDMA: none), start a pass at the
SNR of its start (:mod:`edgefl.radio.snr_batch`: the radio's own arithmetic), stay on the air
``pass_bits / (B SE_m (1 - overhead))``, release the band, draw which TBs failed
(:mod:`edgefl.radio.nr_pass`, the same functions :class:`edgefl.radio.nr.HarqTransfer` calls;
draws from the upload's keyed stream, :mod:`edgefl.radio.keyed_draws`), then either stop
(decoded, or lost after ``max_rlc_retx`` fresh HARQ processes) or wait ``harq_rtt_s`` and ask
again. Events at equal times run in the order they were scheduled, as in SimPy and the core's
event loop; an upload that would begin after the round deadline (or at it, with bits) is not
played. The passes of a row depend on the previous ones (combined SNR, the fading state at each
start, the queue), so the loop is sequential and compiled (numba).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from edgefl.radio.gauss_markov import gm_gain, gm_read
from edgefl.radio.keyed_draws import next_double, seed_state
from edgefl.radio.nr_pass import mcs_row, undecoded_probability
from edgefl.radio.prefetch import prefetch1, prefetch2

#: linear SNR read by passes starting at or after the round deadline (round_timing.PAST_DEADLINE_SNR)
PAST_DEADLINE_SNR = 1e3


# _nrt=False: no reference counting in this helper (it allocates nothing and only reads and writes arrays its
# caller holds); the kernels call it per pass, where counting each array argument in and out cost more
# than the arithmetic
@njit(cache=True, _nrt=False)
def _snr(w, t, has_deadline, deadline, kind, mean_db, base_of, ids, buf, pos, st_re, st_im, last_t, has_last, used,
         gain_map, los, scale, doppler, fused, two):
    """SNR of row w's pass starting at t (RadioEnvironment.uplink_snr via round_timing.snr_reader); the row's
    10^(mean_db/10) is worked out at its first read and kept in ``base_of`` (negative: not yet)."""
    if has_deadline and t >= deadline:
        return PAST_DEADLINE_SNR
    base = base_of[w]
    if not base >= 0.0:
        base = 10.0 ** (mean_db[w] / 10.0)
        base_of[w] = base
    used[w] += 1
    if kind == 0:
        return base * 1.0
    i = ids[w]
    if kind == 1:
        return base * buf[i, 0].real
    gm_read(i, t, buf, pos, st_re, st_im, last_t, has_last, doppler)
    return base * gm_gain(i, st_re, st_im, gain_map, los, scale, fused, two)


@njit(cache=True, _nrt=False)
def _hpush(ht, hs, hr, n, t, s, r):
    """Push event (time t, sequence s, row r) on the binary heap of n events ordered by (t, s)."""
    i = n
    while i > 0:
        p = (i - 1) >> 1
        if ht[p] < t or (ht[p] == t and hs[p] < s):
            break
        ht[i] = ht[p]
        hs[i] = hs[p]
        hr[i] = hr[p]
        i = p
    ht[i] = t
    hs[i] = s
    hr[i] = r
    return n + 1


@njit(cache=True, _nrt=False)
def _hpop(ht, hs, hr, n):
    """Pop the earliest event (smallest (t, s)): returns (t, s, r, events left)."""
    t0 = ht[0]
    s0 = hs[0]
    r0 = hr[0]
    n -= 1
    t = ht[n]
    s = hs[n]
    r = hr[n]
    i = 0
    while True:
        c = 2 * i + 1
        if c >= n:
            break
        if c + 1 < n and (ht[c + 1] < ht[c] or (ht[c + 1] == ht[c] and hs[c + 1] < hs[c])):
            c += 1
        if t < ht[c] or (t == ht[c] and s < hs[c]):
            break
        ht[i] = ht[c]
        hs[i] = hs[c]
        hr[i] = hr[c]
        i = c
    if n > 0:
        ht[i] = t
        hs[i] = s
        hr[i] = r
    return t0, s0, r0, n


@njit(cache=True, _nrt=False)
def _pass_band_on(ht, hs, hr, hn, t, seq, qbuf, q_head, q_len):
    """The band is released at t: the first row queued for it (ring buffer ``qbuf``) is granted it now,
    as a SimPy resource would. Returns the new holder (-1: none waiting), heap size, sequence and queue."""
    holder = -1
    if q_len > 0:
        holder = qbuf[q_head]
        q_head = (q_head + 1) % qbuf.size
        q_len -= 1
        hn = _hpush(ht, hs, hr, hn, t, seq, holder)
        seq += 1
    return holder, hn, seq, q_head, q_len


@njit(cache=True)
def _by_request_time(requested, order):
    """``order`` stably sorted by request time (the order in which a heap of (time, position in ``order``)
    events pops them); ``order`` itself when its times are already non-decreasing."""
    for j in range(1, order.size):
        if requested[order[j]] < requested[order[j - 1]]:
            return order[np.argsort(requested[order], kind="mergesort")]
    return order


@njit(cache=True)
def stable_order_by_row(row, k):
    """``np.argsort(row, kind="stable")`` for rows in 0..k-1, by counting (attempts of a row keep their order)."""
    start = np.zeros(k + 1, dtype=np.int64)
    for j in range(row.size):
        start[row[j] + 1] += 1
    for r in range(k):
        start[r + 1] += start[r]
    out = np.empty(row.size, dtype=np.int64)
    for j in range(row.size):
        r = row[j]
        out[start[r]] = j
        start[r] += 1
    return out


@njit(cache=True)
def nr_round(requested, order, bits, n_full, rest, bandwidth, queued, has_deadline, deadline,
             kind, mean_db, ids, buf, pos, st_re, st_im, last_t, has_last, used, gain_map, los, scale, doppler,
             fused, two, thresholds_db, se, gamma_db, slope, gap, chase, keep, max_harq, max_rlc, rtt, tb_bits,
             prefix, rnd, workers, upload):
    """Play every row's upload; returns (end, airtime, delivered, attempt row, start, end, bits) with
    the attempts in the order they ended. See the module docstring."""
    k = bits.size
    end = np.full(k, np.inf)
    air = np.zeros(k)
    delivered = np.ones(k, dtype=np.bool_)
    max_passes = max_harq * (max_rlc + 1)
    cap = k * max_passes + 1
    iv_row = np.empty(cap, dtype=np.int64)
    iv_s = np.empty(cap)
    iv_e = np.empty(cap)
    iv_b = np.empty(cap)
    n_iv = 0
    phase = np.zeros(k, dtype=np.int64)  # 0 ask for the band, 1 granted, 2 NR pass on the air, 3 no-bit attempt
    started = np.zeros(k, dtype=np.bool_)
    out_full = n_full.copy()
    out_rest = rest > 0
    row_mcs = np.zeros(k, dtype=np.int64)
    snrs = np.empty((k, max_harq))
    n_snrs = np.zeros(k, dtype=np.int64)
    q_prev = np.ones(k)
    processes = np.ones(k, dtype=np.int64)
    pass_start = np.zeros(k)
    pass_bits = np.zeros(k)
    rng = np.zeros((k, 4), dtype=np.uint64)
    seeded = np.zeros(k, dtype=np.bool_)
    base_of = np.full(k, -1.0)
    qbuf = np.empty(k + 1, dtype=np.int64)
    q_head = 0
    q_len = 0
    holder = -1
    # events (time, sequence, row), earliest first, ties in the order scheduled; a row has at most one pending
    ht = np.empty(2 * k + 2)
    hs = np.empty(2 * k + 2, dtype=np.int64)
    hr = np.empty(2 * k + 2, dtype=np.int64)
    hn = 0
    # the rows' first requests (sequence numbers 0.. in ``order``) wait in a list sorted by (time, sequence)
    # instead of the heap: they come before every later event of equal time (whose sequence numbers are
    # larger), so taking the earlier of the list's head and the heap's top is the heap's own order
    first = _by_request_time(requested, order)
    n_first = first.size
    nxt = 0
    seq = n_first
    if kind == 2:  # each row's next fading draws and state, fetched side by side (hints: no value changes)
        last_col = buf.shape[1] - 1
        for w in range(k):
            i = ids[w]
            if bits[w] > 0 and pos[i] <= last_col:
                prefetch2(buf, i, pos[i])
                prefetch2(buf, i, min(pos[i] + 3, last_col))
                prefetch1(st_re, i)
                prefetch1(st_im, i)
                prefetch1(last_t, i)
                prefetch1(has_last, i)
    while hn > 0 or nxt < n_first:
        if nxt < n_first and (hn == 0 or requested[first[nxt]] <= ht[0]):
            w = first[nxt]
            t = requested[w]
            nxt += 1
        else:
            t, _, w, hn = _hpop(ht, hs, hr, hn)
        if not started[w] and has_deadline and (t > deadline or (t == deadline and bits[w] > 0)):
            if queued and holder == w:  # granted but not begun: pass the band on
                holder, hn, seq, q_head, q_len = _pass_band_on(ht, hs, hr, hn, t, seq, qbuf, q_head, q_len)
            end[w] = np.inf
            started[w] = True  # over: no further event of this row exists
            phase[w] = -1
            continue
        ph = phase[w]
        if ph == 0:
            if queued:
                if holder < 0:
                    holder = w
                    hn = _hpush(ht, hs, hr, hn, t, seq, w)
                    seq += 1
                else:
                    qbuf[(q_head + q_len) % (k + 1)] = w
                    q_len += 1
                phase[w] = 1
                continue
            ph = 1
        if ph == 1:
            if bits[w] > 0:
                snr = _snr(w, t, has_deadline, deadline, kind, mean_db, base_of, ids, buf, pos, st_re, st_im, last_t,
                           has_last, used, gain_map, los, scale, doppler, fused, two)
                if n_snrs[w] == 0:
                    row_mcs[w] = mcs_row(snr, thresholds_db, se)
                snrs[w, n_snrs[w]] = snr
                n_snrs[w] += 1
                on_air = 0.0
                for _ in range(out_full[w]):
                    on_air += tb_bits
                if out_rest[w]:
                    on_air += rest[w]
                rate = bandwidth[w] * se[row_mcs[w]] * keep
                dur = on_air / rate
                pass_bits[w] = on_air
                phase[w] = 2
            else:  # LinkModel.upload: one attempt of no bits, no SNR read
                dur = 0.0
                pass_bits[w] = bits[w]
                phase[w] = 3
            pass_start[w] = t
            started[w] = True
            hn = _hpush(ht, hs, hr, hn, t + dur, seq, w)
            seq += 1
            continue
        # a pass ends: release the band, then the HARQ outcome
        if queued:
            holder, hn, seq, q_head, q_len = _pass_band_on(ht, hs, hr, hn, t, seq, qbuf, q_head, q_len)
        iv_row[n_iv] = w
        iv_s[n_iv] = pass_start[w]
        iv_e[n_iv] = t
        iv_b[n_iv] = pass_bits[w]
        n_iv += 1
        if ph == 3:
            end[w] = t
            air[w] = 0.0
            phase[w] = -1
            continue
        air[w] += t - pass_start[w]
        r = row_mcs[w]
        q = undecoded_probability(snrs[w], n_snrs[w], gamma_db[r], slope, gap, chase)
        if q > q_prev[w]:
            q = q_prev[w]
        c = 0.0 if q_prev[w] <= 0.0 else min(1.0, q / q_prev[w])
        if not seeded[w]:
            seed_state(prefix, rnd, workers[w], upload, rng[w])
            seeded[w] = True
        kept = 0
        for _ in range(out_full[w]):
            if next_double(rng[w]) < c:
                kept += 1
        out_full[w] = kept
        if out_rest[w]:
            out_rest[w] = next_double(rng[w]) < c
        q_prev[w] = q
        done = out_full[w] == 0 and not out_rest[w]
        lost = False
        if n_snrs[w] == max_harq and not done:
            if processes[w] > max_rlc:
                lost = True
            else:  # RLC retransmission: a fresh HARQ process
                n_snrs[w] = 0
                q_prev[w] = 1.0
                processes[w] += 1
        if done or lost:
            end[w] = t
            delivered[w] = done
            phase[w] = -1
        else:
            phase[w] = 0
            hn = _hpush(ht, hs, hr, hn, t + rtt, seq, w)
            seq += 1
    return end, air, delivered, iv_row[:n_iv], iv_s[:n_iv], iv_e[:n_iv], iv_b[:n_iv]
