"""Monotone searches behind ``edgefl plan --deadline`` and ``--coverage``.

Both assume the answer's predicate is monotone in the searched variable (stated with each
answer): bracket by doubling/halving, then bisect. Integers are found exactly; positive reals
to a relative resolution: the returned bracket (lo, hi) has hi / lo <= 1 + rel.
"""

from __future__ import annotations

from collections.abc import Callable


def largest_int(ok: Callable[[int], bool], start: int = 1, limit: int = 10**6) -> int:
    """Largest n in [1, limit] with ok(n), for ok true up to some n* and false after; 0 if ok(1) is false."""
    if not ok(1):
        return 0
    lo = 1
    hi = max(2, start)
    while hi <= limit and ok(hi):
        lo, hi = hi, 2 * hi
    if hi > limit:
        if ok(limit):
            return limit
        hi = limit
    while hi - lo > 1:  # ok(lo), not ok(hi)
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if ok(mid) else (lo, mid)
    return lo


def boundary(ok: Callable[[float], bool], start: float, lowest: float, highest: float,
             rel: float, ok_above: bool | None = None) -> tuple[float, float] | None:
    """(lo, hi), hi / lo <= 1 + rel, around the point where ok changes value, for ok monotone
    on [lowest, highest] (either direction); None when ok keeps its value from ``start`` to the end
    of the range it would change towards. Brackets outward from ``start`` by factors of 2 (the ends
    of the range are evaluated only when reached), then bisects in log space. ``ok_above``: the
    value of ok above the change when known: the walk then goes one way only, and the far end of
    the range on that side is evaluated first, so a change that is not there (ok keeping its value
    to that end: an unreachable deadline) costs two evaluations instead of a walk of ~log2(range)
    of them; a change that is there lies between ``start`` and that end, which are then bisected in
    log space directly (ceil(log2(ln(end / start) / ln(1 + rel))) evaluations: 8 from 20 MHz to the
    schema's 100 GHz at 5 %, instead of a doubling walk of up to 12 points then ~4 bisections); for a
    monotone ok the bracket holds the same change as the walk's, to the resolution. An end that
    cannot be evaluated (ok raises ValueError, e.g. a bandwidth or radius at which no worker is in
    coverage) is skipped and the walk decides."""
    if not rel > 0:
        raise ValueError(f"resolution must be > 0, got {rel}")
    x = min(max(start, lowest), highest)
    at_x = ok(x)
    if ok_above is not None:  # one end decides whether there is a change at all (monotone ok)
        end = highest if at_x != ok_above else lowest
        try:
            at_end = ok(end) if end != x else None
        except ValueError:  # the end is no scenario (e.g. no worker in coverage there): walk instead
            at_end = None
        if at_end == at_x:
            return None
        if at_end is not None:  # the change lies between x and the far end: bisect there directly
            lo, hi = (x, end) if end > x else (end, x)
            return _bisect(ok, lo, hi, at_x if lo == x else bool(at_end), rel)
    # walk up first; if ok keeps its value up to ``highest``, the change (if any) is below
    lo = hi = None
    y = x if ok_above is None or at_x != ok_above else highest  # known direction: skip the walk up
    while y < highest:
        z = min(2 * y, highest)
        if ok(z) != at_x:
            lo, hi, low_value = y, z, at_x
            break
        y = z
    if lo is None:
        y = x
        while y > lowest:
            z = max(y / 2, lowest)
            if ok(z) != at_x:
                lo, hi, low_value = z, y, not at_x
                break
            y = z
    if lo is None or hi is None:
        return None
    return _bisect(ok, lo, hi, low_value, rel)


def _bisect(ok: Callable[[float], bool], lo: float, hi: float, low_value: bool, rel: float) -> tuple[float, float]:
    """Bisect [lo, hi] (ok(lo) == ``low_value`` != ok(hi)) in log space until hi / lo <= 1 + rel."""
    while hi / lo > 1 + rel:
        mid = (lo * hi) ** 0.5
        lo, hi = (mid, hi) if ok(mid) == low_value else (lo, mid)
    return float(lo), float(hi)


def refine_int(ok: Callable[[int], bool], hint: int, limit: int) -> int:
    """Largest n in [0, limit] with ok(n) (ok(0) taken as true), searched outward from ``hint``
    (a previous answer) by steps 1, 2, 4, ... then bisection: cheap when the answer moved little."""
    def good(n: int) -> bool:
        return n <= 0 or ok(n)

    k = min(max(hint, 0), limit)
    if good(k):
        lo, step = k, 1
        while lo < limit and good(min(lo + step, limit)):
            lo, step = min(lo + step, limit), 2 * step
        hi = min(lo + step, limit + 1)  # not good (or past the limit)
    else:
        hi, step = k, 1
        while not good(max(hi - step, 0)):
            hi, step = max(hi - step, 0), 2 * step
        lo = max(hi - step, 0)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if good(mid) else (lo, mid)
    return lo


def refine_boundary(ok: Callable[[float], bool], bracket: tuple[float, float], low_value: bool, lowest: float,
                    highest: float, rel: float) -> tuple[float, float] | None:
    """(lo, hi) with ok(lo) == ``low_value`` != ok(hi) and hi / lo <= 1 + rel, searched outward from a
    previous ``bracket`` by ratios (1 + rel), (1 + rel)^2, (1 + rel)^4, ... within [lowest, highest];
    None when ok is ``low_value`` (or not) everywhere reached."""
    lo, hi = bracket
    if ok(lo) != low_value:  # the boundary moved down
        hi, ratio = lo, 1.0 + rel
        while True:
            if hi <= lowest:
                return None
            x = max(hi / ratio, lowest)
            if ok(x) == low_value:
                lo = x
                break
            hi, ratio = x, ratio * ratio
    elif ok(hi) == low_value:  # the boundary moved up
        lo, ratio = hi, 1.0 + rel
        while True:
            if lo >= highest:
                return None
            x = min(lo * ratio, highest)
            if ok(x) != low_value:
                hi = x
                break
            lo, ratio = x, ratio * ratio
    while hi / lo > 1 + rel:
        mid = (lo * hi) ** 0.5
        lo, hi = (mid, hi) if ok(mid) == low_value else (lo, mid)
    return float(lo), float(hi)
