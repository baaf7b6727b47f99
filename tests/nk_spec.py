"""A deliberately plain, loop-by-loop NK implementation used as the
specification the compiled kernels are checked against. Nothing here is
shared with the kernels except the documented flat layout."""

import numpy as np


def forward(model, x, train):
    a = model.arch
    acts = [np.array(x, dtype=float)]
    cache = []  # per layer: list of (o, i, j, f, slope)
    for l in range(a.n_layers):
        vals = model.layer_values(l)
        lo, hi = model.layer_domain(l)
        P = a.points[l]
        out = np.zeros(a.sizes[l + 1])
        layer_cache = []
        for o in range(a.sizes[l + 1]):
            for i in range(a.sizes[l]):
                xi = acts[-1][i]
                t = (xi - lo[o, i]) * (P - 1) / (hi[o, i] - lo[o, i])
                if t < 0 or t > P - 1:
                    if train:
                        if xi < lo[o, i]:
                            lo[o, i] = xi
                        elif xi > hi[o, i]:
                            hi[o, i] = xi
                        gap = 0.01 * (hi[o, i] - lo[o, i])
                        lo[o, i] -= gap
                        hi[o, i] += gap
                        t = (xi - lo[o, i]) * (P - 1) / (hi[o, i] - lo[o, i])
                    else:
                        t = min(max(t, 0.0), P - 1.0)
                j = min(int(t), P - 2)
                f = t - j
                v0, v1 = vals[o, i, j], vals[o, i, j + 1]
                out[o] += v0 + f * (v1 - v0)
                layer_cache.append((o, i, j, f, (v1 - v0) * (P - 1) / (hi[o, i] - lo[o, i])))
        acts.append(out)
        cache.append(layer_cache)
    return acts, cache


def train_record(model, x, y, rule, alpha):
    """One NK step; returns the residual vector."""
    a = model.arch
    acts, cache = forward(model, x, train=True)
    r = np.asarray(y, dtype=float) - acts[-1]
    L = a.n_layers
    # Gradient of every output w.r.t. every touched node, by the chain rule.
    # jac[l][q, o]: d y_q / d (output o of layer l)
    jac = [None] * (L + 1)
    jac[L] = np.eye(a.n_out)
    for l in range(L - 1, 0, -1):
        S = np.zeros((a.sizes[l + 1], a.sizes[l]))
        for (o, i, j, f, s) in cache[l]:
            S[o, i] = s
        jac[l] = jac[l + 1] @ S
    if rule == "constant":
        e = alpha / a.addends * r
    else:
        g2 = np.zeros(a.n_out)
        for l in range(L):
            for (o, i, j, f, s) in cache[l]:
                g2 += jac[l + 1][:, o] ** 2 * ((1 - f) ** 2 + f ** 2)
        e = np.where(g2 > 0, alpha * r / np.where(g2 > 0, g2, 1), 0.0)
    for l in range(L):
        vals = model.layer_values(l)
        step = e @ jac[l + 1]  # per output unit of layer l
        for (o, i, j, f, s) in cache[l]:
            vals[o, i, j] += step[o] * (1 - f)
            vals[o, i, j + 1] += step[o] * f
    return r


def predict(model, X):
    return np.array([forward(model, x, train=False)[0][-1] for x in X])
