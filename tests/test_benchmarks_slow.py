"""The issue's accuracy figures at full size (slow; ``pytest --runslow``).
Speed is measured by bench/float_reference.py, never asserted here."""

import pytest

from kanhw import KAN, TrainConfig, datasets, fit
from kanhw.arch import Architecture, build_architecture

pytestmark = pytest.mark.slow


def test_det4_reaches_097_within_15_epochs():
    data = datasets.builtin("det4", seed=0)
    m = KAN.initialise(Architecture.classical(16, 64, 1, 5, 22), data.X.min(0), data.X.max(0),
                       data.y.min(0), data.y.max(0), seed=0)
    res = fit(m, data, TrainConfig(alpha=0.2, epochs=15, target_pearson=0.97, seed=0))
    assert res.reached_target and res.validation_pearson[0] >= 0.97


def test_tetrahedra_three_layer_reaches_0975_on_every_output():
    data = datasets.builtin("tetra", seed=0)
    r = datasets.recipe(data)
    m = KAN.initialise(build_architecture(12, 4, None, r["hidden"], r["points"]),
                       data.X.min(0), data.X.max(0), data.y.min(0), data.y.max(0), seed=0)
    res = fit(m, data, TrainConfig(alpha=r["alpha"], epochs=r["epochs"], target_pearson=0.975))
    assert m.arch.n_layers == 3
    assert min(res.validation_pearson) >= 0.975
