"""The compiled float NK kernels against the plain specification in nk_spec."""

import nk_spec
import numpy as np
import pytest

from kanhw import KAN, TrainConfig, datasets, fit, predict
from kanhw.arch import Architecture
from kanhw.train import FloatBackend


def random_model(sizes, points, seed):
    rng = np.random.default_rng(seed)
    a = Architecture(sizes, points)
    return KAN.initialise(a, np.zeros(sizes[0]), np.ones(sizes[0]),
                          -np.ones(sizes[-1]), np.ones(sizes[-1]), seed=seed), rng


@pytest.mark.parametrize("sizes,points", [((3, 5, 1), (4, 7)), ((4, 6, 3, 2), (2, 5, 6)),
                                          ((2, 1), (3,))])
@pytest.mark.parametrize("rule", ["constant", "kaczmarz"])
def test_kernel_matches_spec(sizes, points, rule):
    model, rng = random_model(sizes, points, seed=3)
    spec = model.copy()
    # inputs partly outside the initial domains so stretching is exercised
    X = rng.uniform(-0.3, 1.3, size=(60, sizes[0]))
    Y = rng.uniform(-1, 1, size=(60, sizes[-1]))
    cfg = TrainConfig(alpha=0.3, step=rule)
    backend = FloatBackend(model, cfg)
    resid = np.empty((60, sizes[-1]))
    stretches = backend.train(X, Y, np.arange(60), resid)
    assert stretches > 0
    spec_resid = np.array([nk_spec.train_record(spec, X[r], Y[r], rule, 0.3) for r in range(60)])
    np.testing.assert_allclose(resid, spec_resid, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(model.values, spec.values, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(model.lo, spec.lo, rtol=1e-9)
    np.testing.assert_allclose(model.hi, spec.hi, rtol=1e-9)
    Xv = rng.uniform(-0.5, 1.5, size=(20, sizes[0]))
    np.testing.assert_allclose(predict(model, Xv), nk_spec.predict(spec, Xv), rtol=1e-9,
                               atol=1e-9)


def test_kaczmarz_step_solves_a_linear_record():
    """A one-layer KAN is linear in its nodes: one projection with alpha = 1
    makes that record's residual zero."""
    model, rng = random_model((5, 1), (6,), seed=1)
    backend = FloatBackend(model, TrainConfig(alpha=1.0, step="kaczmarz"))
    x = rng.uniform(0, 1, size=(1, 5))
    y = np.array([[3.7]])
    backend.train(x, y, np.arange(1), np.empty((1, 1)))
    assert predict(model, x)[0, 0] == pytest.approx(3.7, abs=1e-12)


def test_constant_step_is_a_gradient_step():
    """Constant rule: the change of every node is mu * r * d(prediction)/d(node)."""
    model, rng = random_model((3, 4, 1), (5, 8), seed=2)
    x = rng.uniform(0.1, 0.9, size=(1, 3))
    before = model.copy()
    y = predict(model, x) + 0.5
    backend = FloatBackend(model, TrainConfig(alpha=0.4))
    backend.train(x, y, np.arange(1), np.empty((1, 1)))
    eps = 1e-6
    grad = np.zeros_like(before.values)
    for k in np.flatnonzero(model.values != before.values):
        plus = before.copy()
        plus.values[k] += eps
        grad[k] = (predict(plus, x)[0, 0] - predict(before, x)[0, 0]) / eps
    mu = 0.4 / 4
    np.testing.assert_allclose(model.values - before.values, mu * 0.5 * grad, atol=1e-6)
    assert np.count_nonzero(model.values != before.values) == 2 * (3 * 4 + 4)


def test_training_stretches_and_frozen_mode_clamps():
    model, _ = random_model((1, 1), (3,), seed=0)
    lo0, hi0 = model.lo[0], model.hi[0]
    clamped = predict(model, np.array([[5.0]]))[0, 0]
    assert clamped == pytest.approx(model.values[-1])
    assert model.hi[0] == hi0  # predicting never changes the domain
    backend = FloatBackend(model, TrainConfig(alpha=0.1))
    backend.train(np.array([[5.0]]), np.array([[0.0]]), np.arange(1), np.empty((1, 1)))
    assert model.lo[0] == pytest.approx(lo0 - 0.01 * (5.0 - lo0))
    assert model.hi[0] == pytest.approx(5.0 + 0.01 * (5.0 - lo0))


def test_same_seed_same_tables_bit_for_bit():
    data = datasets.builtin("medians", seed=4, train=3000, val=500)
    runs = []
    for _ in range(2):
        m = KAN.initialise(Architecture((6, 16, 3), (3, 10)), data.X.min(0), data.X.max(0),
                           data.y.min(0), data.y.max(0), seed=9)
        fit(m, data, TrainConfig(epochs=2, seed=5, alpha=0.3))
        runs.append(m)
    assert runs[0].equals(runs[1])
    other = KAN.initialise(runs[0].arch, data.X.min(0), data.X.max(0), data.y.min(0),
                           data.y.max(0), seed=10)
    fit(other, data, TrainConfig(epochs=2, seed=5, alpha=0.3))
    assert not other.equals(runs[0])


def test_divergence_is_reported():
    from kanhw.errors import TrainingDiverged
    data = datasets.builtin("triangle", seed=0, train=2000, val=200)
    m = KAN.initialise(Architecture((6, 8, 1), (5, 10)), data.X.min(0), data.X.max(0),
                       data.y.min(0), data.y.max(0))
    with pytest.raises(TrainingDiverged):
        fit(m, data, TrainConfig(alpha=1e6, epochs=3))


def test_medians_learn():
    data = datasets.builtin("medians", seed=1)
    r = datasets.recipe(data)
    from kanhw.arch import build_architecture
    m = KAN.initialise(build_architecture(6, 3, None, r["hidden"], r["points"]),
                       data.X.min(0), data.X.max(0), data.y.min(0), data.y.max(0), seed=1)
    res = fit(m, data, TrainConfig(alpha=r["alpha"], epochs=5))
    assert min(res.validation_pearson) > 0.99


def test_det4_learns_in_a_few_epochs():
    data = datasets.builtin("det4", seed=2, train=50_000, val=5_000)
    m = KAN.initialise(Architecture.classical(16, 64), data.X.min(0), data.X.max(0),
                       data.y.min(0), data.y.max(0), seed=2)
    res = fit(m, data, TrainConfig(alpha=0.2, epochs=4))
    assert res.validation_pearson[0] > 0.85
    assert res.history[-1]["validation_pearson"][0] > res.history[0]["validation_pearson"][0]


@pytest.mark.parametrize("sizes,points", [((5, 7, 3, 2), (4, 6, 9)), ((16, 64, 1), (5, 22))])
@pytest.mark.parametrize("rule", ["constant", "kaczmarz"])
def test_shared_first_layer_path_is_bit_identical(rule, sizes, points):
    """The kernels find each input's first-layer segment once when the domains
    are shared per input; that path must give exactly the per-function one,
    stretches included (inputs beyond the data range on purpose)."""
    from kanhw import nk_float as nk
    from kanhw.train import STEP_RULES, layout

    rng = np.random.default_rng(3)
    arch = Architecture(sizes, points)
    n, q = sizes[0], sizes[-1]
    X = rng.uniform(0, 1, size=(300, n))
    Y = rng.uniform(0, 1, size=(300, q))
    X[::17] *= 1.6   # outside the initial domains: first-layer stretches
    base = KAN.initialise(arch, np.zeros(n), np.ones(n), Y.min(0), Y.max(0), seed=2)
    assert nk.shared_first(base.lo, base.hi, arch.sizes)
    g = layout(arch)
    out = []
    for shared in (True, False):
        m = base.copy()
        scale = np.empty(arch.n_functions)
        nk.refresh_scale(m.lo, m.hi, g[2], g[1], scale)
        resid = np.empty((300, q))
        st, bad = nk.train_records(X, Y, np.arange(300), *g, m.values, m.lo, m.hi, scale,
                                   STEP_RULES[rule], 0.3, 0.3 / 3, resid, shared)
        pred = np.empty((50, q))
        nk.predict_records(X[:50] * 1.3, *g, m.values, m.lo, m.hi, scale, pred, shared)
        out.append((m, st, resid, pred))
    (a, sa, ra, pa), (b, sb, rb, pb) = out
    assert sa == sb > 0 and bad == -1
    assert a.equals(b) and np.array_equal(ra, rb) and np.array_equal(pa, pb)
    assert nk.shared_first(a.lo, a.hi, arch.sizes)   # stretching keeps them shared
    a.lo[3] -= 0.5
    assert not nk.shared_first(a.lo, a.hi, arch.sizes)


@pytest.mark.parametrize("checker", ["inline", "thread"])
def test_target_checked_mid_epoch_on_a_snapshot(checker, request):
    """With validate_every, the target is checked on snapshots in a second
    thread; the run ends with the model of the first checked snapshot that
    reached it: exactly the tables of sequential training over that many
    records. With every snapshot checked (inline), that is a mid-epoch one;
    which snapshots the thread checks depends on the machine's load."""
    if checker == "inline":
        request.getfixturevalue("inline_checker")
    from kanhw import metrics

    d = datasets.builtin("triangle", seed=0, train=10_000, val=2_000)
    arch = Architecture((6, 32, 8, 1), (2, 12, 22))
    bounds = (d.X.min(0), d.X.max(0), d.y.min(0), d.y.max(0))
    m = KAN.initialise(arch, *bounds, seed=1)
    cfg = TrainConfig(alpha=0.3, epochs=20, target_pearson=0.97, seed=3, validate_every=1000)
    r = fit(m, d, cfg)
    assert r.reached_target and r.records % 1000 == 0
    if checker == "inline":
        assert r.records % 10_000 != 0
        assert len(r.history) > r.epochs                 # checks inside epochs
    assert r.validation_pearson[0] >= 0.97
    assert metrics.pearson(predict(m, d.X_val), d.y_val)[0] == r.validation_pearson[0]
    # the same records, sequentially, without checks
    ref = KAN.initialise(arch, *bounds, seed=1)
    rng = np.random.default_rng(np.random.SeedSequence(3).spawn(2)[1])
    order = np.concatenate([rng.permutation(10_000) for _ in range(r.epochs)])[:r.records]
    FloatBackend(ref, cfg).train(d.X, d.y, order, np.empty((r.records, 1)))
    assert ref.equals(m)
