"""Multilevel grids: prolongation keeps the function."""

import numpy as np
import pytest

from kanhw.arch import Architecture
from kanhw.errors import ConfigError
from kanhw.model import KAN
from kanhw.multilevel import prolong_table, refine
from kanhw.train import predict


def random_kan(rng, sizes, points):
    arch = Architecture(sizes, points)
    lo = rng.uniform(-2, 0, arch.n_functions)
    return KAN(arch, rng.normal(size=arch.n_parameters), lo,
               lo + rng.uniform(0.5, 3, arch.n_functions))


@pytest.mark.parametrize("seed", range(5))
def test_refined_tables_compute_the_same_function(seed):
    rng = np.random.default_rng(seed)
    model = random_kan(rng, (4, 6, 3, 2), (3, 5, 4))
    fine = refine(model, [5, 9, 10])
    X = rng.uniform(-2.5, 3.5, (500, 4))  # inside and outside the domains
    assert np.allclose(predict(fine, X), predict(model, X), rtol=0, atol=1e-12)
    # every old node kept its value exactly
    for layer, (p, q) in enumerate(zip((3, 5, 4), (5, 9, 10))):
        m = (q - 1) // (p - 1)
        assert np.array_equal(fine.layer_values(layer)[..., ::m], model.layer_values(layer))
    assert np.array_equal(fine.lo, model.lo) and np.array_equal(fine.hi, model.hi)


def test_inserted_nodes_interpolate():
    t = prolong_table(np.array([[0.0, 4.0, 2.0]]), 5)
    assert t.tolist() == [[0.0, 2.0, 4.0, 3.0, 2.0]]


def test_grids_must_nest():
    rng = np.random.default_rng(0)
    with pytest.raises(ConfigError, match="nest"):
        refine(random_kan(rng, (2, 3, 1), (5, 22)), [7, 22])


def test_fixed_refinement_keeps_nodes_and_the_function():
    from kanhw.contract import PRESETS
    from kanhw.design import resolve_contract
    from kanhw.fixed_model import FixedBackend, FixedKAN
    from kanhw.multilevel import refine_fixed
    rng = np.random.default_rng(4)
    coarse_arch = Architecture((3, 4, 1), (3, 8))
    fine_arch = Architecture((3, 4, 1), (5, 22))
    contract = resolve_contract(PRESETS["hw"], fine_arch, 0.2)
    m = FixedKAN.initialise(coarse_arch, contract, np.zeros(3), np.ones(3), [-1.0], [1.0],
                            seed=1)
    m.values[:] = rng.integers(-50_000, 50_000, m.values.size)
    fine = refine_fixed(m, [5, 22])
    for layer, (p, q) in enumerate(((3, 5), (8, 22))):
        step = (q - 1) // (p - 1)
        old = m.values[m.arch.node_base[layer]:m.arch.node_base[layer + 1]].reshape(-1, p)
        new = fine.values[fine.arch.node_base[layer]:fine.arch.node_base[layer + 1]]
        assert np.array_equal(new.reshape(-1, q)[:, ::step], old)
    # the same function up to the rounding of inserted nodes and coordinates
    X = rng.uniform(0, 1, (400, 3))
    a = FixedBackend(m).predict(X)
    b = FixedBackend(fine).predict(X)
    assert np.abs(a - b).max() < 5e-4  # targets span [-1, 1]
    assert (fine.rcp[fine.arch.func_base[1]:] > m.rcp[m.arch.func_base[1]:]).all()


def test_schedule_parsing():
    from kanhw.multilevel import parse_schedule
    s = parse_schedule("5,8x3; 5,22x7", 2)
    assert [(lv.points, lv.epochs) for lv in s] == [((5, 8), 3), ((5, 22), 7)]
    for bad in ("5,8x3 5,23x2", "5x2", "5,8x0", ""):
        with pytest.raises(ConfigError):
            parse_schedule(bad, 2)


def test_multilevel_beats_fine_only_on_det4_at_equal_records():
    """Coarse-then-fine learns det4 faster than the fine grid alone (the
    figure in the README: 0.97 in about 4 epochs against 10)."""
    from kanhw import TrainConfig, datasets, fit
    from kanhw.arch import build_architecture
    from kanhw.multilevel import fit_multilevel, parse_schedule
    data = datasets.builtin("det4", seed=0, train=30_000, val=5_000)
    init = {"x_min": data.X.min(0), "x_max": data.X.max(0), "t_min": data.y.min(0),
            "t_max": data.y.max(0), "seed": 0}
    fine = KAN.initialise(build_architecture(16, 1, None, [64], [5, 22]), **init)
    r_fine = fit(fine, data, TrainConfig(alpha=0.2, epochs=6, seed=0))
    coarse = KAN.initialise(build_architecture(16, 1, None, [64], [5, 8]), **init)
    _, r_ml = fit_multilevel(coarse, data, TrainConfig(alpha=0.2, seed=0),
                             parse_schedule("5,8x2 5,22x4", 2))
    assert r_ml.records == r_fine.records
    assert r_ml.validation_pearson[0] > r_fine.validation_pearson[0] + 0.01
