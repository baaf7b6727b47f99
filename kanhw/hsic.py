"""The HSIC bottleneck (Ma, Lewis and Kleijn, AAAI 2020): seed 001's
back-propagation-free training, for the study's piecewise-linear KAN and
MLPs.

Every hidden layer ``l`` has its own objective on each minibatch,

    minimise  HSIC(Z_l, X) - beta * HSIC(Z_l, Y)

where ``Z_l`` is the layer's output computed from the *detached* output of
the layer below: no gradient crosses a layer, each layer's optimiser step
uses only its own objective. ``HSIC(A, B) = tr(K_A H K_B H) / (m - 1)^2``
with Gaussian kernels ``exp(-|a - a'|^2 / (2 sigma^2))``, ``H`` the centring
matrix, ``m`` the batch; ``sigma`` is the batch's median pairwise distance
of each representation (a constant of the step, not differentiated).
``beta`` is the balance factor between compressing the input and keeping
what predicts the target.

The output layer is then fitted (the "post-training" of the method), after
every epoch: given the last hidden representation it is linear in its
parameters (an MLP's weights and bias; a KAN layer's node values, through
the hat weights of its grid), so it is solved by ridge regression on the
training set, for standardised targets or one-hot classes (prediction by
argmax). The scores of an epoch are those of that readout.
"""

from __future__ import annotations

import time

import numpy as np

from .backprop import BackpropResult, Scaler, count_parameters, optimiser, predict, score
from .backprop import require_torch as _require_torch
from .errors import DataError
from .jit import njit
from .model import DOMAIN_MARGIN

#: Default balance factor: the target term dominates, the input term keeps
#: the representation from copying the input (the paper's settings are of
#: this order).
BETA = 100.0
#: Ridge penalty of the readout, relative to the mean diagonal of its Gram matrix.
RIDGE = 1e-6


def gaussian_gram(torch, Z):
    """Gaussian kernel matrix of the rows of ``Z`` (B, d) with the median
    heuristic width (taken without gradient)."""
    sq = (Z * Z).sum(dim=1)
    d2 = (sq[:, None] + sq[None, :] - 2.0 * Z @ Z.T).clamp(min=0.0)
    with torch.no_grad():
        off = d2[~torch.eye(Z.shape[0], dtype=torch.bool)]
        s2 = off.median().clamp(min=1e-12)
    return torch.exp(-d2 / (2.0 * s2))  # sigma^2 = median squared distance


def hsic(torch, K, L):
    """The biased HSIC estimate ``tr(K H L H) / (m - 1)^2`` of two kernel matrices."""
    m = K.shape[0]
    Kc = K - K.mean(dim=0, keepdim=True)
    Kc = Kc - Kc.mean(dim=1, keepdim=True)
    return (Kc * L).sum() / (m - 1) ** 2


# -- the readout ----------------------------------------------------------------

@njit(cache=True, nogil=True)
def hat_gram(j, f, y, P):
    """Normal equations of a piecewise-linear layer: ``j``/``f`` (n, d) are
    each record's segment and offset on each input's grid of ``P`` nodes;
    the layer's value is ``sum_i v_i[j] (1-f) + v_i[j+1] f``. Returns
    ``A^T A`` and ``A^T y`` for the (n, d*P) hat-weight matrix ``A``, which
    has only two non-zeros per input and record."""
    n, d = j.shape
    G = np.zeros((d * P, d * P))
    b = np.zeros((d * P, y.shape[1]))
    cols = np.empty(2 * d, np.int64)
    w = np.empty(2 * d)
    for r in range(n):
        for i in range(d):
            cols[2 * i] = i * P + j[r, i]
            cols[2 * i + 1] = i * P + j[r, i] + 1
            w[2 * i] = 1.0 - f[r, i]
            w[2 * i + 1] = f[r, i]
        for a in range(2 * d):
            ca, wa = cols[a], w[a]
            for q in range(y.shape[1]):
                b[ca, q] += wa * y[r, q]
            for c in range(2 * d):
                G[ca, cols[c]] += wa * w[c]
    return G, b


def _ridge(G: np.ndarray, b: np.ndarray) -> np.ndarray:
    lam = RIDGE * max(float(np.trace(G)) / G.shape[0], 1e-12)
    return np.linalg.solve(G + lam * np.eye(G.shape[0]), b)


def fit_kan_readout(torch, net, H: np.ndarray, target: np.ndarray) -> None:
    """Put the last layer's grids on the hidden values ``H`` (their range,
    widened by the domain margin) and solve its node values by ridge."""
    last = len(net.points) - 1
    P = net.points[last]
    lo, hi = H.min(axis=0), H.max(axis=0)
    width = np.where(hi > lo, hi - lo, 1.0)
    lo, hi = lo - DOMAIN_MARGIN * width, lo + (1 + DOMAIN_MARGIN) * width
    net.set_domain(last, lo, hi)
    t = np.clip((H - lo) * ((P - 1) / (hi - lo)), 0.0, P - 1.0)
    j = np.minimum(np.floor(t), P - 2).astype(np.int64)
    G, b = hat_gram(j, t - j, np.ascontiguousarray(target, dtype=np.float64), P)
    v = _ridge(G, b)  # (d*P, n_out)
    with torch.no_grad():
        net.values[last].copy_(torch.as_tensor(
            v.T.reshape(net.values[last].shape), dtype=net.values[last].dtype))


def fit_linear_readout(torch, linear, H: np.ndarray, target: np.ndarray) -> None:
    """Weights and bias of the MLP's output layer by ridge on ``[H, 1]``."""
    A = np.hstack([H, np.ones((H.shape[0], 1))])
    v = _ridge(A.T @ A, A.T @ target)
    with torch.no_grad():
        linear.weight.copy_(torch.as_tensor(v[:-1].T, dtype=linear.weight.dtype))
        linear.bias.copy_(torch.as_tensor(v[-1], dtype=linear.bias.dtype))


# -- the layers of the two model kinds --------------------------------------------

class _Layers:
    """Hidden layers one at a time, and the readout, of a PLNet or an MLP."""

    def __init__(self, torch, net) -> None:
        self.torch = torch
        self.net = net
        self.kan = hasattr(net, "points")
        if self.kan:
            self.hidden = len(net.points) - 1
            self.params = [[net.values[l]] for l in range(self.hidden)]
        else:
            linears = [m for m in net if isinstance(m, torch.nn.Linear)]
            self.hidden = len(linears) - 1
            self.params = [list(m.parameters()) for m in linears[:-1]]
            self.linears = linears
            self.acts = [m for m in net if not isinstance(m, torch.nn.Linear)]

    def layer(self, l: int, x):
        """Layer ``l``'s output from its input ``x`` (detached by the caller);
        a KAN layer stretches its grids to the input while training."""
        from .backprop import pl_eval
        if self.kan:
            if self.net.training:
                self.net._stretch(l, x)
            return pl_eval(self.torch, x, self.net.values[l], getattr(self.net, f"lo{l}"),
                           getattr(self.net, f"scale{l}"))
        # an MLP's hidden layer: Linear then its activation (and dropout, if any)
        out = self.linears[l](x)
        for m in self._after(l):
            out = m(out)
        return out

    def _after(self, l: int) -> list:
        mods = list(self.net)
        i = mods.index(self.linears[l]) + 1
        after = []
        while i < len(mods) and not isinstance(mods[i], self.torch.nn.Linear):
            after.append(mods[i])
            i += 1
        return after

    def hidden_values(self, X: np.ndarray, chunk: int = 8192) -> np.ndarray:
        torch = self.torch
        out = []
        with torch.no_grad():
            for s in range(0, X.shape[0], chunk):
                h = torch.as_tensor(X[s:s + chunk], dtype=torch.float32)
                for l in range(self.hidden):
                    h = self.layer(l, h)
                out.append(h.double().numpy())
        return np.concatenate(out)

    def fit_readout(self, H: np.ndarray, target: np.ndarray) -> None:
        if self.kan:
            fit_kan_readout(self.torch, self.net, H, target)
        else:
            fit_linear_readout(self.torch, self.linears[-1], H, target)


def train_hsic(model, X: np.ndarray, y: np.ndarray, X_test: np.ndarray, y_test: np.ndarray,
               scheme, epochs: int, batch: int = 64, classes: int = 0, seed: int = 0,
               beta: float = BETA) -> BackpropResult:
    """HSIC-bottleneck training of ``model`` (a :func:`~kanhw.backprop.pl_kan`
    or :func:`~kanhw.backprop.mlp`): the scheme's optimiser on each hidden
    layer's own objective, then the readout by ridge, scored after every
    epoch. Training seconds include the readout fit, not the scoring."""
    torch = _require_torch()
    if X.shape[0] < 2 or X_test.shape[0] == 0:
        raise DataError("HSIC training needs at least two training records and a test set")
    torch.manual_seed(seed)
    layers = _Layers(torch, model)
    if layers.hidden < 1:
        raise DataError("the HSIC bottleneck trains hidden layers; the model has none")
    scaler = Scaler(y, classes)
    target = y if classes else scaler.forward(y)
    Xt = torch.as_tensor(X, dtype=torch.float32)
    Yt = torch.as_tensor(target, dtype=torch.float32)
    opts = [optimiser(torch, p, scheme) for p in layers.params]
    res = BackpropResult(parameters=count_parameters(model), scaler=scaler)
    gen = torch.Generator().manual_seed(seed)
    n = X.shape[0]
    elapsed = 0.0
    for _ in range(epochs):
        t = time.perf_counter()
        model.train()
        order = torch.randperm(n, generator=gen)
        for s in range(0, n - 1, batch):
            idx = order[s:s + batch]
            if idx.numel() < 2:
                break
            xb = Xt[idx]
            kx = gaussian_gram(torch, xb)
            ky = gaussian_gram(torch, Yt[idx])
            h = xb
            for l in range(layers.hidden):
                z = layers.layer(l, h.detach())
                kz = gaussian_gram(torch, z)
                loss = hsic(torch, kz, kx) - beta * hsic(torch, kz, ky)
                if not torch.isfinite(loss):
                    res.diverged = True
                    break
                opts[l].zero_grad(set_to_none=True)
                loss.backward()
                opts[l].step()
                h = z
            if res.diverged:
                break
        if res.diverged:
            break
        model.eval()
        H = layers.hidden_values(X)
        if not np.all(np.isfinite(H)):
            res.diverged = True
            break
        layers.fit_readout(H, target)
        elapsed += time.perf_counter() - t
        res.seconds.append(elapsed)
        res.train.append(score(predict(torch, model, X, scaler), y, classes))
        res.test.append(score(predict(torch, model, X_test, scaler), y_test, classes))
    return res
