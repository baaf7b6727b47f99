"""The HSIC bottleneck: the estimator, the readout's normal equations, and
training of the piecewise-linear KAN and an MLP without back-propagation."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from kanhw import backprop as bp
from kanhw import datasets
from kanhw.hsic import _Layers, gaussian_gram, hat_gram, hsic, train_hsic


def test_hsic_sees_dependence_and_not_independence():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(200, 2, generator=g)
    kx = gaussian_gram(torch, x)
    dependent = hsic(torch, kx, gaussian_gram(torch, x[:, :1] ** 2))
    independent = hsic(torch, kx, gaussian_gram(torch, torch.randn(200, 1, generator=g)))
    assert dependent > 10 * independent > 0
    assert hsic(torch, kx, kx) >= dependent


def test_hat_gram_is_the_dense_normal_equations():
    rng = np.random.default_rng(1)
    n, d, P = 300, 3, 5
    t = rng.uniform(0, P - 1, size=(n, d))
    j = np.minimum(np.floor(t), P - 2).astype(np.int64)
    f = t - j
    y = rng.normal(size=(n, 2))
    A = np.zeros((n, d * P))
    for i in range(d):
        A[np.arange(n), i * P + j[:, i]] += 1 - f[:, i]
        A[np.arange(n), i * P + j[:, i] + 1] += f[:, i]
    G, b = hat_gram(j, f, y, P)
    assert np.allclose(G, A.T @ A) and np.allclose(b, A.T @ y)


@pytest.mark.parametrize("kind", ["kan", "mlp"])
def test_hsic_trains_hidden_layers_and_fits_the_readout(kind):
    d = datasets.builtin("feynman-I.27.6", seed=0, train=3000, val=500)
    scheme = bp.Scheme("kaiming_normal", "adam", 0.005)
    net = (bp.pl_kan([3, 7, 1], [12, 22], d.X, scheme, 0) if kind == "kan"
           else bp.mlp([3, 16, 1], scheme, 0))
    layers = _Layers(torch, net)
    first = [p.detach().clone() for p in layers.params[0]]
    res = train_hsic(net, d.X, d.y, d.X_val, d.y_val, scheme, epochs=3)
    assert len(res.test) == 3 and res.test[-1] > 0.97 and not res.diverged
    assert all(b > a for a, b in zip(res.seconds, res.seconds[1:]))
    # the hidden layer moved under its own objective
    assert any(not torch.equal(a, b) for a, b in zip(first, layers.params[0]))
    # the readout is the ridge solution on the final hidden values: refitting
    # it changes nothing
    net.eval()
    before = bp.predict(torch, net, d.X_val, res.scaler)
    layers.fit_readout(layers.hidden_values(d.X), res.scaler.forward(d.y))
    assert np.allclose(bp.predict(torch, net, d.X_val, res.scaler), before, atol=1e-4)
