"""The annealed step (the last epochs halve it): exactly a run whose step is
halved by hand, in float and in fixed point; it lowers the error where the
constant step leaves the tables noisy; every front end passes it through."""

import subprocess
import sys

import numpy as np
import pytest

from kanhw import KAN, KANRegressor, TrainConfig, datasets, fit
from kanhw.arch import Architecture
from kanhw.contract import PRESETS
from kanhw.design import resolve_contract
from kanhw.errors import ConfigError
from kanhw.fixed_model import FixedBackend, FixedKAN
from kanhw.multilevel import fit_multilevel, parse_schedule
from kanhw.train import predict


def _data(n=3000):
    return datasets.builtin("feynman-I.27.6", seed=1, train=n, val=500)


def _float_model(data, points=(5, 12)):
    arch = Architecture((3, 6, 1), points)
    return KAN.initialise(arch, data.X.min(0), data.X.max(0), data.y.min(0), data.y.max(0),
                          seed=2)


def test_float_anneal_is_the_hand_halved_run_bit_for_bit():
    data = _data()
    annealed = _float_model(data)
    fit(annealed, data, TrainConfig(alpha=0.4, epochs=4, anneal=2, shuffle=False))
    by_hand = _float_model(data)
    for alpha, epochs in ((0.4, 2), (0.2, 1), (0.1, 1)):
        fit(by_hand, data, TrainConfig(alpha=alpha, epochs=epochs, shuffle=False))
    assert annealed.equals(by_hand)
    assert [h["step_halvings"] for h in annealed.history] == [0, 0, 1, 2]
    # without anneal nothing changes: the same bits as a plain run
    plain, default = _float_model(data), _float_model(data)
    fit(plain, data, TrainConfig(alpha=0.4, epochs=2, shuffle=False, anneal=0))
    fit(default, data, TrainConfig(alpha=0.4, epochs=2, shuffle=False))
    assert plain.equals(default) and "step_halvings" not in plain.history[-1]


def test_fixed_anneal_adds_one_bit_of_shift_per_epoch():
    data = _data()
    arch = Architecture((3, 6, 1), (5, 12))
    contract = resolve_contract(PRESETS["hw"], arch, 0.4)
    bounds = (data.X.min(0), data.X.max(0), data.y.min(0), data.y.max(0))

    def model(c):
        return FixedKAN.initialise(arch, c, *bounds, seed=2)

    annealed = model(contract)
    cfg = TrainConfig(alpha=0.4, epochs=3, anneal=2, shuffle=False)
    fit(annealed, data, cfg, backend=FixedBackend(annealed, cfg))
    by_hand = model(contract)
    for k in range(3):
        c = contract.replace(step_shift=contract.step_shift + k)
        step = by_hand.copy()
        step.contract = c
        one = TrainConfig(alpha=0.4, epochs=1, shuffle=False)
        fit(step, data, one, backend=FixedBackend(step, one))
        by_hand = step
        by_hand.contract = contract
    assert np.array_equal(annealed.values, by_hand.values)
    assert np.array_equal(annealed.lo, by_hand.lo) and np.array_equal(annealed.rcp, by_hand.rcp)
    # the model keeps the design's contract: the anneal lives in the trainer
    assert annealed.contract == contract


def test_anneal_settles_a_large_step():
    """Feynman I.34.8 at its recipe's large step: halving the step in the last
    ten epochs lowers the test RMSE well below the constant step's."""
    data = datasets.builtin("feynman-I.34.8", seed=0, train=16_000, val=4_000)
    rmse = {}
    for anneal in (0, 10):
        est = KANRegressor(addends=9, points=(5, 22), alpha=2.0, epochs=100, anneal=anneal,
                           validation_fraction=0).fit(data.X, data.y)
        rmse[anneal] = float(np.sqrt(np.mean((est.predict(data.X_val) - data.y_val) ** 2)))
        assert (anneal > 0) == ("step_halvings" in est.history_[-1])
    assert rmse[10] < 0.8 * rmse[0], rmse


def test_multilevel_anneals_the_last_level_only():
    data = _data()
    cfg = TrainConfig(alpha=0.4, epochs=1, anneal=2)
    model = _float_model(data, (3, 6))
    model, _ = fit_multilevel(model, data, cfg, parse_schedule("3,6x2 5,11x3", 2))
    halvings = [(h["level"], h.get("step_halvings", 0)) for h in model.history]
    assert halvings == [(1, 0), (1, 0), (2, 0), (2, 1), (2, 2)]
    assert np.isfinite(predict(model, data.X_val)).all()
    with pytest.raises(ConfigError, match="last level"):
        fit_multilevel(_float_model(data, (3, 6)), data, TrainConfig(anneal=4),
                       parse_schedule("3,6x2 5,11x3", 2))


def test_anneal_errors():
    data = _data(500)
    with pytest.raises(ConfigError, match="exceeds"):
        fit(_float_model(data), data, TrainConfig(epochs=2, anneal=3))
    with pytest.raises(ConfigError, match="anneal must lie"):
        TrainConfig(anneal=-1)
    with pytest.raises(ConfigError, match="sequential"):
        KANRegressor(addends=4, points=(3, 5), epochs=2, anneal=1, workers=2,
                     validation_fraction=0).fit(data.X, data.y)
    r = subprocess.run([sys.executable, "-m", "kanhw", "train", "feynman-I.27.6", "--epochs",
                        "2", "--anneal", "5"], capture_output=True, text=True, timeout=300,
                       check=False)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "exceeds" in r.stderr
