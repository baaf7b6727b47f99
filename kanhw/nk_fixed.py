"""Compiled integer Newton-Kaczmarz kernels: the bit-exact reference of the
generated hardware.

Every operation is the one the hardware performs, in the order it performs
it, on int64 carriers saturated to the contract's widths
(:mod:`kanhw.contract` documents each format). Layer 0 takes grid
coordinates (mapped by the host); layers above map their argument with the
function's ``lo`` and reciprocal. Only the constant step rule exists in
fixed point.

Counters (``counts``), as the hardware keeps them: 0 records during which
any value saturated, 1 hidden arguments clamped (frozen mode), 2 domains
stretched (training mode); slot 3 is scratch (saturation events of the
current record).
"""

from __future__ import annotations

import numpy as np

from .contract import (
    K_FRAC,
    K_GMULT,
    K_GSHIFT,
    K_GUARD,
    K_MBITS,
    K_MULT,
    K_RBITS,
    K_RSHIFT,
    K_SBITS,
    K_SFRAC,
    K_SHIFT,
    K_VBITS,
)
from .jit import njit

_JIT = {"cache": True, "nogil": True, "boundscheck": False}

C_SAT, C_CLAMP, C_STRETCH, C_EVENTS = 0, 1, 2, 3
N_COUNTS = 4


@njit(**_JIT)
def rshift_round(x, s):
    """Round half up: ``floor((x + 2^(s-1)) / 2^s)``; identity for s == 0."""
    if s <= 0:
        return x
    return (x + (np.int64(1) << (s - 1))) >> s


@njit(**_JIT)
def sat(x, bits, counts):
    hi = (np.int64(1) << (bits - 1)) - 1
    lo = -(np.int64(1) << (bits - 1))
    if x > hi:
        counts[C_EVENTS] += 1
        return hi
    if x < lo:
        counts[C_EVENTS] += 1
        return lo
    return x


@njit(**_JIT)
def clip(x, bits):
    """Saturate without counting: an offset clipped here is out of the domain
    anyway (the domain width is kept below the clip range, see stretch)."""
    hi = (np.int64(1) << (bits - 1)) - 1
    lo = -(np.int64(1) << (bits - 1))
    return hi if x > hi else (max(x, lo))


@njit(**_JIT)
def offset(d, c):
    """A domain offset as a multiplier operand: guard bits dropped, clipped."""
    return clip(rshift_round(d, c[K_GUARD]), c[K_MBITS])


@njit(**_JIT)
def close_record(counts):
    """Fold the record's saturation events into the per-record counter."""
    if counts[C_EVENTS] > 0:
        counts[C_SAT] += 1
        counts[C_EVENTS] = 0


@njit(**_JIT)
def reciprocal(width, P, c, counts):
    """``floor((P-1) * 2^(F + rcp_shift) / width)``, saturated to rcp_bits
    (a width below 1, possible only after saturated bounds, counts as 1)."""
    if width < 1:
        width = np.int64(1)
    num = np.int64(P - 1) << (c[K_FRAC] + c[K_RSHIFT] + c[K_GUARD])
    q = num // width
    top = (np.int64(1) << c[K_RBITS]) - 1
    if q > top:
        counts[C_EVENTS] += 1
        return top
    if q < 1:
        counts[C_EVENTS] += 1
        return np.int64(1)
    return q


@njit(**_JIT)
def stretch(F, a, P, lo, hi, rcp, c, counts):
    """Training-mode domain growth: move the violated bound onto ``a``, widen by
    the margin on both sides, recompute the reciprocal."""
    vb = c[K_VBITS]
    if a < lo[F]:
        lo[F] = a
    elif a >= hi[F]:
        hi[F] = a
    gap = rshift_round((hi[F] - lo[F]) * c[K_GMULT], c[K_GSHIFT])
    gap = max(gap, 1)
    lo[F] = sat(lo[F] - gap, vb, counts)
    hi[F] = sat(hi[F] + gap, vb, counts)
    if hi[F] - lo[F] >= np.int64(1) << (c[K_MBITS] - 1 + c[K_GUARD]):
        counts[C_EVENTS] += 1  # wider than a multiplier operand: offsets would clip
    rcp[F] = reciprocal(hi[F] - lo[F], P, c, counts)
    counts[C_STRETCH] += 1


@njit(**_JIT)
def coordinate(F, a, P, lo, hi, rcp, c, counts, train):
    """Grid coordinate of hidden argument ``a`` for function F (layers >= 1)."""
    F_ = c[K_FRAC]
    top = (np.int64(P - 1) << F_) - 1
    t = rshift_round(offset(a - lo[F], c) * rcp[F], c[K_RSHIFT])
    if t < 0 or t > top:
        if train:
            stretch(F, a, P, lo, hi, rcp, c, counts)
            t = rshift_round(offset(a - lo[F], c) * rcp[F], c[K_RSHIFT])
            if t < 0:  # only after a saturated bound
                t = np.int64(0)
            elif t > top:
                t = top
        else:
            counts[C_CLAMP] += 1
            t = np.int64(0) if t < 0 else top
    return t


@njit(**_JIT)
def log_stretch(slog, F):
    """Append function ``F`` to the stretch log: ``slog[0]`` counts the
    stretches, ``slog[1:]`` holds as many of their functions as fit (a log
    of one element only counts)."""
    n = slog[0]
    if n + 1 < slog.size:
        slog[n + 1] = F
    slog[0] = n + 1


@njit(**_JIT)
def forward(u, act, sizes, points, fbase, nbase, abase, values, lo, hi, rcp, c, counts,
            node, frac, slope, train, slog):
    """One record forward. ``u`` holds layer-0 grid coordinates; ``act`` gets
    every unit's value (layer-0 entries unused). Every function whose domain
    stretches is logged in ``slog`` (:func:`log_stretch`), in the order the
    hardware meets them: the cycle model needs to know which addends
    stretched, not only how many."""
    F_ = c[K_FRAC]
    fmask = (np.int64(1) << F_) - 1
    vb = c[K_VBITS]
    sshift = F_ + c[K_RSHIFT] - c[K_SFRAC]
    for l in range(points.size):
        n_in = sizes[l]
        n_out = sizes[l + 1]
        P = points[l]
        F = fbase[l]
        base = nbase[l]
        for o in range(n_out):
            acc = np.int64(0)
            for i in range(n_in):
                if l == 0:
                    t = u[i]
                else:
                    before = counts[C_STRETCH]
                    t = coordinate(F, act[abase[l] + i], P, lo, hi, rcp, c, counts, train)
                    if counts[C_STRETCH] != before:
                        log_stretch(slog, F)
                j = t >> F_
                f = t & fmask
                k = base + j
                v0 = values[k]
                dv = sat(rshift_round(values[k + 1] - v0, c[K_GUARD]), c[K_MBITS], counts)
                acc += v0 + rshift_round(f * dv, F_ - c[K_GUARD])
                node[F] = k
                frac[F] = f
                if l > 0:
                    slope[F] = sat(rshift_round(dv * rcp[F], sshift), c[K_SBITS], counts)
                F += 1
                base += P
            act[abase[l + 1] + o] = sat(acc, vb, counts)


@njit(**_JIT)
def backward(sizes, points, fbase, abase, values, node, frac, slope, delta, c, counts):
    """Apply the steps in ``delta`` (last layer's units filled by the caller)
    and push them down through the slopes, layer by layer."""
    F_ = c[K_FRAC]
    vb = c[K_VBITS]
    eb = min(c[K_VBITS], c[K_MBITS])
    for l in range(points.size - 1, -1, -1):
        n_in = sizes[l]
        n_out = sizes[l + 1]
        d_in = abase[l]
        d_out = abase[l + 1]
        if l > 0:
            for i in range(n_in):
                delta[d_in + i] = 0
        for o in range(n_out):
            e = delta[d_out + o]
            F = fbase[l] + o * n_in
            for i in range(n_in):
                k = node[F]
                up = rshift_round(e * frac[F], F_)
                values[k] = sat(values[k] + (e - up), vb, counts)
                values[k + 1] = sat(values[k + 1] + up, vb, counts)
                if l > 0:
                    delta[d_in + i] += e * slope[F]  # summed exactly, rounded once below
                F += 1
        if l > 0:
            for i in range(n_in):
                delta[d_in + i] = sat(rshift_round(delta[d_in + i], c[K_SFRAC]), eb, counts)


@njit(**_JIT)
def train_records(U, Yq, order, sizes, points, fbase, nbase, abase, values, lo, hi, rcp, c,
                  counts, pred_out, resid_out, stretch_out, slog):
    """Train on records ``order``; writes each record's prediction and residual
    (value format, before the update), as the hardware's result stream does,
    and the number of domains it stretched; ``slog`` logs which
    (:func:`log_stretch`)."""
    n_funcs = fbase[fbase.size - 1]
    n_units = abase[abase.size - 1]
    L = points.size
    n_out = sizes[L]
    out0 = abase[L]
    vb = c[K_VBITS]
    eb = min(c[K_VBITS], c[K_MBITS])
    act = np.zeros(n_units, dtype=np.int64)
    delta = np.zeros(n_units, dtype=np.int64)
    node = np.empty(n_funcs, dtype=np.int64)
    frac = np.empty(n_funcs, dtype=np.int64)
    slope = np.zeros(n_funcs, dtype=np.int64)
    for r in range(order.size):
        rec = order[r]
        before = counts[C_STRETCH]
        forward(U[rec], act, sizes, points, fbase, nbase, abase, values, lo, hi, rcp, c, counts,
                node, frac, slope, True, slog)
        stretch_out[r] = counts[C_STRETCH] - before
        for q in range(n_out):
            res = sat(Yq[rec, q] - act[out0 + q], vb, counts)
            pred_out[r, q] = act[out0 + q]
            resid_out[r, q] = res
            delta[out0 + q] = sat(rshift_round(res * c[K_MULT], c[K_SHIFT]), eb, counts)
        backward(sizes, points, fbase, abase, values, node, frac, slope, delta, c, counts)
        close_record(counts)


@njit(**_JIT)
def predict_records(U, Yq, sizes, points, fbase, nbase, abase, values, lo, hi, rcp, c, counts,
                    out, resid_out):
    """Frozen (inference) mode: no updates, hidden arguments clamped. With
    targets (``Yq`` non-empty) it also forms the residuals, as the hardware's
    result stream does in frozen mode."""
    n_funcs = fbase[fbase.size - 1]
    act = np.zeros(abase[abase.size - 1], dtype=np.int64)
    node = np.empty(n_funcs, dtype=np.int64)
    frac = np.empty(n_funcs, dtype=np.int64)
    slope = np.zeros(n_funcs, dtype=np.int64)
    no_log = np.zeros(1, dtype=np.int64)  # frozen: nothing stretches
    L = points.size
    out0 = abase[L]
    for r in range(U.shape[0]):
        forward(U[r], act, sizes, points, fbase, nbase, abase, values, lo, hi, rcp, c, counts,
                node, frac, slope, False, no_log)
        for q in range(sizes[L]):
            out[r, q] = act[out0 + q]
            if Yq.shape[0] > 0:
                resid_out[r, q] = sat(Yq[r, q] - act[out0 + q], c[K_VBITS], counts)
        close_record(counts)
