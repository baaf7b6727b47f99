"""Compiled float64 Newton-Kaczmarz kernels (numba).

One call processes a run of records entirely in compiled code: forward pass
with cached segment index/offset/slope, residual, step rule, updates pushed
back layer by layer through the segment slopes. The Python driver in
:mod:`kanhw.train` only slices the record stream into chunks for progress.

Domain rule while training (the published C++ code's): an argument outside
``[lo, hi]`` moves the violated bound onto it and then widens the domain by 1 %
of its width on both sides; node values are kept. Frozen evaluation clamps.
"""

from __future__ import annotations

import numpy as np

from .jit import njit
from .model import DOMAIN_MARGIN

RULE_CONSTANT = 0
RULE_KACZMARZ = 1

_JIT = {"cache": True, "nogil": True, "boundscheck": False, "error_model": "numpy",
        # every fast-math flag but nnan/ninf, so divergence (NaN) stays detectable
        "fastmath": {"nsz", "arcp", "contract", "afn", "reassoc"}}


def shared_first(lo: np.ndarray, hi: np.ndarray, sizes) -> bool:
    """Whether every unit's function of each input has the same first-layer
    domain (then the kernels find each input's segment once)."""
    n_in, n_out = int(sizes[0]), int(sizes[1])
    lo0 = lo[:n_in * n_out].reshape(n_out, n_in)
    hi0 = hi[:n_in * n_out].reshape(n_out, n_in)
    return bool(np.all(lo0 == lo0[0]) and np.all(hi0 == hi0[0]))


@njit(**_JIT)
def refresh_scale(lo, hi, fbase, points, scale):
    """``scale[F] = (points - 1) / (hi - lo)``: grid steps per input unit."""
    for l in range(points.size):
        for F in range(fbase[l], fbase[l + 1]):
            scale[F] = (points[l] - 1) / (hi[F] - lo[F])


@njit(**_JIT)
def _stretch(F, x, lo, hi, scale, P):
    if x < lo[F]:
        lo[F] = x
    elif x >= hi[F]:
        hi[F] = x
    gap = DOMAIN_MARGIN * (hi[F] - lo[F])
    lo[F] -= gap
    hi[F] += gap
    scale[F] = (P - 1) / (hi[F] - lo[F])


#: Sums and updates in written order with every product rounded (no
#: reassociation, no fused multiply-add), so the shared first-layer path and
#: the per-function path give the same bits whatever the optimiser inlines.
_JIT_ORDERED = {**_JIT, "fastmath": {"nsz", "arcp", "afn"}}


@njit(**_JIT_ORDERED)
def _layer_forward(l, act, sizes, points, fbase, nbase, abase, values, lo, hi, scale,
                   node, frac, slope, train, wsum):
    """Forward pass of layer ``l`` of one record; returns the stretches.

    The grid coordinate ``t = (x - lo) * scale`` is computed first and the
    domain test is made on it (``0 <= t <= P - 1``), so the common in-range
    path reads only ``lo`` and ``scale``. Slopes are cached only for layers
    above the first: nothing is pushed back below layer 0. With a non-empty
    ``wsum`` it also sums ``(1-f)^2 + f^2`` over each unit's functions, the
    squared weights the Kaczmarz rule needs.
    """
    kacz = wsum.size > 0
    stretches = 0
    n_in = sizes[l]
    n_out = sizes[l + 1]
    P = points[l]
    top = P - 1.0
    a_in = abase[l]
    a_out = abase[l + 1]
    F = fbase[l]
    base = nbase[l]
    for o in range(n_out):
        acc = 0.0
        w = 0.0
        for i in range(n_in):
            xi = act[a_in + i]
            t = (xi - lo[F]) * scale[F]
            # The common path needs no clamp of j: t lies in [0, P-1).
            # t == P-1 (x on the upper bound) counts as outside, as in
            # the published code.
            if t < 0.0 or t >= top:
                if train:
                    _stretch(F, xi, lo, hi, scale, P)
                    stretches += 1
                    t = (xi - lo[F]) * scale[F]
                else:
                    t = 0.0 if t < 0.0 else top
                if t >= top:  # rounding on a fresh bound, or clamped high
                    j = P - 2
                else:
                    j = int(t)
            else:
                j = int(t)
            f = t - j
            k = base + j
            v0 = values[k]
            dv = values[k + 1] - v0
            acc += v0 + f * dv
            node[F] = k
            frac[F] = f
            if l > 0:
                slope[F] = dv * scale[F]
            if kacz:
                w += (1.0 - f) * (1.0 - f) + f * f
            F += 1
            base += P
        act[a_out + o] = acc
        if kacz:
            wsum[a_out + o] = w
    return stretches


@njit(**_JIT_ORDERED)
def _first_layer_shared(act, sizes, points, fbase, abase, T, lo, hi, scale,
                        j0, f0, train, wsum):
    """Layer 0 when every unit's function of input ``i`` has the same domain
    (always so from the initialisation: they see the same input and stretch
    alike): the coordinate, segment and offset are found once per input and
    kept in ``j0``/``f0``, and the tables are read from ``T``, the layer's
    nodes transposed to ``(input, point, unit)``, so the units' nodes at one
    grid point are contiguous and the sum runs as vector operations over the
    units. Each unit still adds its inputs' terms in input order with the
    same operations as :func:`_layer_forward`: the same bits."""
    kacz = wsum.size > 0
    stretches = 0
    n_in = sizes[0]
    n_out = sizes[1]
    P = points[0]
    top = P - 1.0
    fb = fbase[0]
    w = 0.0
    for i in range(n_in):
        xi = act[i]
        F = fb + i
        t = (xi - lo[F]) * scale[F]
        if t < 0.0 or t >= top:
            if train:
                for o in range(n_out):
                    _stretch(fb + o * n_in + i, xi, lo, hi, scale, P)
                stretches += n_out
                t = (xi - lo[F]) * scale[F]
            else:
                t = 0.0 if t < 0.0 else top
            if t >= top:
                j = P - 2
            else:
                j = int(t)
        else:
            j = int(t)
        f = t - j
        j0[i] = j
        f0[i] = f
        if kacz:
            w += (1.0 - f) * (1.0 - f) + f * f
    a_out = abase[1]
    for o in range(n_out):
        act[a_out + o] = 0.0
    for i in range(n_in):
        r0 = T[i, j0[i]]
        r1 = T[i, j0[i] + 1]
        f = f0[i]
        for o in range(n_out):
            v0 = r0[o]
            act[a_out + o] += v0 + f * (r1[o] - v0)
    if kacz:
        for o in range(n_out):
            wsum[a_out + o] = w
    return stretches


@njit(**_JIT)
def transpose_first(values, sizes, points, T, back):
    """``T[i, p, o]`` = node ``p`` of unit ``o``'s function of input ``i``;
    with ``back``, copy ``T`` into ``values`` instead."""
    n_in, n_out, P = sizes[0], sizes[1], points[0]
    for o in range(n_out):
        for i in range(n_in):
            k = (o * n_in + i) * P
            for p in range(P):
                if back:
                    values[k + p] = T[i, p, o]
                else:
                    T[i, p, o] = values[k + p]


@njit(**_JIT)
def _forward(x, act, sizes, points, fbase, nbase, abase, values, lo, hi, scale,
             node, frac, slope, train, wsum, j0, f0, T):
    """Forward pass of one record; returns the number of domain stretches.
    A non-empty ``j0`` selects the shared first-layer path (tables in ``T``)."""
    stretches = 0
    for i in range(sizes[0]):
        act[i] = x[i]
    first = 0
    if j0.size > 0:
        stretches += _first_layer_shared(act, sizes, points, fbase, abase, T, lo, hi, scale,
                                         j0, f0, train, wsum)
        first = 1
    for l in range(first, points.size):
        stretches += _layer_forward(l, act, sizes, points, fbase, nbase, abase, values, lo, hi,
                                    scale, node, frac, slope, train, wsum)
    return stretches


@njit(**_JIT)
def _kaczmarz_gains(sizes, points, fbase, abase, slope, wsum, jac, jac_next, gnorm, n_final):
    """Squared norm of each output's gradient over all touched nodes.

    ``jac[q, o]`` is d(output q)/d(unit o) for the units of the current layer's
    output; the node weights of unit o's functions contribute
    ``jac[q, o]^2 * wsum[o]`` to output q's norm.
    """
    for q in range(n_final):
        gnorm[q] = 0.0
        for o in range(n_final):
            jac[q, o] = 0.0
        jac[q, q] = 1.0
    for l in range(points.size - 1, -1, -1):
        n_in = sizes[l]
        n_out = sizes[l + 1]
        a_out = abase[l + 1]
        for q in range(n_final):
            for o in range(n_out):
                d = jac[q, o]
                gnorm[q] += d * d * wsum[a_out + o]
        if l > 0:
            for q in range(n_final):
                for i in range(n_in):
                    jac_next[q, i] = 0.0
                for o in range(n_out):
                    d = jac[q, o]
                    F = fbase[l] + o * n_in
                    for i in range(n_in):
                        jac_next[q, i] += d * slope[F + i]
                for i in range(n_in):
                    jac[q, i] = jac_next[q, i]


@njit(**_JIT_ORDERED)
def _backward_update(sizes, points, fbase, nbase, abase, values, node, frac, slope, delta,
                     j0, f0, T):
    """Update every touched node; ``delta`` holds the last layer's steps and
    receives the pushed-back steps of the layers below (slopes from the
    forward pass, i.e. taken before any update). A non-empty ``j0``: layer 0
    took the shared path, its segments are per input."""
    last = 0 if j0.size == 0 else 1
    for l in range(points.size - 1, last - 1, -1):
        n_in = sizes[l]
        n_out = sizes[l + 1]
        fb = fbase[l]
        d_in = abase[l]
        d_out = abase[l + 1]
        if l > 0:
            for i in range(n_in):
                delta[d_in + i] = 0.0
        for o in range(n_out):
            d = delta[d_out + o]
            F = fb + o * n_in
            for i in range(n_in):
                f = frac[F]
                k = node[F]
                up = d * f
                values[k] += d - up
                values[k + 1] += up
                if l > 0:
                    delta[d_in + i] += d * slope[F]
                F += 1
    if last == 1:
        d1 = abase[1]
        for i in range(sizes[0]):
            r0 = T[i, j0[i]]
            r1 = T[i, j0[i] + 1]
            f = f0[i]
            for o in range(sizes[1]):
                d = delta[d1 + o]
                up = d * f
                r0[o] += d - up
                r1[o] += up


@njit(**_JIT)
def train_records(X, Y, order, sizes, points, fbase, nbase, abase, values, lo, hi, scale,
                  rule, alpha, mu, resid_out, shared):
    """Train on records ``X[order[r]]`` for every r; returns
    ``(stretches, first_bad)`` where ``first_bad`` is the position of the
    first record that produced a non-finite prediction, or -1. ``shared``:
    the first layer's domains are shared per input (:func:`shared_first`)."""
    n_funcs = fbase[fbase.size - 1]
    n_units = abase[abase.size - 1]
    L = points.size
    n_out = sizes[L]
    width = 0
    for s in sizes:
        width = max(width, s)
    act = np.empty(n_units)
    delta = np.empty(n_units)
    node = np.empty(n_funcs, dtype=np.int32)
    frac = np.empty(n_funcs)
    slope = np.empty(n_funcs)
    jac = np.empty((n_out, width))
    jac_next = np.empty((n_out, width))
    gnorm = np.empty(n_out)
    wsum = np.empty(n_units if rule == RULE_KACZMARZ else 0)
    j0 = np.empty(sizes[0] if shared else 0, dtype=np.int64)
    f0 = np.empty(sizes[0] if shared else 0)
    T = np.empty((sizes[0], points[0], sizes[1]) if shared else (0, 0, 0))
    if shared:
        transpose_first(values, sizes, points, T, False)
    out0 = abase[L]
    stretches = 0
    for r in range(order.size):
        rec = order[r]
        stretches += _forward(X[rec], act, sizes, points, fbase, nbase, abase, values,
                              lo, hi, scale, node, frac, slope, True, wsum, j0, f0, T)
        finite = True
        for q in range(n_out):
            res = Y[rec, q] - act[out0 + q]
            resid_out[r, q] = res
            if not np.isfinite(res):
                finite = False
        if not finite:
            if shared:
                transpose_first(values, sizes, points, T, True)
            return stretches, r
        if rule == RULE_KACZMARZ:
            _kaczmarz_gains(sizes, points, fbase, abase, slope, wsum, jac, jac_next, gnorm, n_out)
            for q in range(n_out):
                g = gnorm[q]
                delta[out0 + q] = alpha * resid_out[r, q] / g if g > 0.0 else 0.0
        else:
            for q in range(n_out):
                delta[out0 + q] = mu * resid_out[r, q]
        _backward_update(sizes, points, fbase, nbase, abase, values, node, frac, slope, delta,
                         j0, f0, T)
    if shared:
        transpose_first(values, sizes, points, T, True)
    return stretches, -1


@njit(**_JIT)
def predict_records(X, sizes, points, fbase, nbase, abase, values, lo, hi, scale, out,
                    shared):
    """Frozen evaluation (arguments clamped to the domains) of every row of X."""
    n_funcs = fbase[fbase.size - 1]
    act = np.empty(abase[abase.size - 1])
    node = np.empty(n_funcs, dtype=np.int32)
    frac = np.empty(n_funcs)
    slope = np.empty(n_funcs)
    wsum = np.empty(0)
    j0 = np.empty(sizes[0] if shared else 0, dtype=np.int64)
    f0 = np.empty(sizes[0] if shared else 0)
    T = np.empty((sizes[0], points[0], sizes[1]) if shared else (0, 0, 0))
    if shared:
        transpose_first(values, sizes, points, T, False)
    L = points.size
    out0 = abase[L]
    for r in range(X.shape[0]):
        _forward(X[r], act, sizes, points, fbase, nbase, abase, values, lo, hi, scale,
                 node, frac, slope, False, wsum, j0, f0, T)
        for q in range(sizes[L]):
            out[r, q] = act[out0 + q]
