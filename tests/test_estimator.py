import numpy as np
import pytest

from kanhw import KANRegressor, datasets
from kanhw.errors import DataError


def test_fit_predict_score():
    d = datasets.builtin("medians", seed=3, train=8000, val=1000)
    est = KANRegressor(hidden=[16, 6], points=[2, 8, 12], alpha=0.3, epochs=6, seed=1)
    assert est.fit(d.X, d.y) is est
    pred = est.predict(d.X_val)
    assert pred.shape == d.y_val.shape
    assert est.score(d.X_val, d.y_val) > 0.95
    assert np.all(est.pearson(d.X_val, d.y_val) > 0.97)
    assert len(est.history_) == 6


def test_one_dimensional_target_and_params():
    d = datasets.builtin("triangle", seed=0, train=3000, val=10)
    est = KANRegressor(addends=9, points=(3, 8), epochs=2, validation_fraction=0.0)
    est.fit(d.X, d.y[:, 0])
    assert est.predict(d.X_val).shape == (10,)
    assert est.get_params()["addends"] == 9
    est.set_params(alpha=0.05)
    assert est.alpha == 0.05
    with pytest.raises(ValueError):
        est.set_params(nonsense=1)


def test_errors_are_value_errors():
    from sklearn.exceptions import NotFittedError
    with pytest.raises(NotFittedError, match="not fitted"):
        KANRegressor().predict(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        KANRegressor().fit(np.zeros((5, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="NaN"):
        KANRegressor().fit(np.array([[0.0, np.nan], [1, 2]]), np.zeros(2))
    # kanhw's own input errors are ValueErrors too
    with pytest.raises(ValueError, match="points"):
        KANRegressor(points=(1, 5)).fit(np.zeros((20, 2)), np.arange(20.0))
    assert issubclass(DataError, ValueError)


def test_estimator_merges_fixed_and_multilevel():
    """workers/rounds/batch, fixed point and multilevel through the estimator."""
    from kanhw import datasets
    from kanhw.fixed_model import FixedKAN
    data = datasets.builtin("triangle", seed=0, train=6000, val=2000)
    y, yv = data.y[:, 0], data.y_val[:, 0]
    par = KANRegressor(hidden=[8], points=(5, 10), workers=2, rounds=6, batch=1000,
                       validation_fraction=0).fit(data.X, y)
    assert par.result_.records == 12_000 and par.score(data.X_val, yv) > 0.3
    fx = KANRegressor(hidden=[8], points=(5, 10), fixed="hw", workers=2, rounds=6,
                      batch=1000, validation_fraction=0).fit(data.X, y)
    assert isinstance(fx.model_, FixedKAN) and fx.score(data.X_val, yv) > 0.3
    ml = KANRegressor(hidden=[8], points=(5, 10), multilevel="3,4x2 5,10x2",
                      validation_fraction=0.2).fit(data.X, y)
    assert ml.model_.arch.points == (5, 10) and len(ml.history_) == 4
    # multilevel with merging: every level's records, split over two copies
    mm = KANRegressor(hidden=[8], points=(5, 10), multilevel="3,4x2 5,10x2", workers=2,
                      batch=500, validation_fraction=0.2).fit(data.X, y)
    # per level round(2 epochs x 4,800 records / 1,000) = 10 rounds of 2 x 500
    assert mm.model_.arch.points == (5, 10) and mm.result_.records == 2 * 10 * 1000
    assert [h["level"] for h in mm.history_][-1] == 2 and mm.score(data.X_val, yv) > 0.3
