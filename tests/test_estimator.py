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


def _blobs(n=400, classes=3, seed=0):
    from sklearn.datasets import make_blobs
    X, y = make_blobs(n_samples=n, centers=classes, n_features=4, random_state=seed)
    return X, np.array(["alpha", "beta", "gamma", "delta"])[y]


def test_classifier_labels_probabilities_and_decision():
    from kanhw import KANClassifier
    X, y = _blobs()
    clf = KANClassifier(epochs=5).fit(X, y)
    assert list(clf.classes_) == ["alpha", "beta", "gamma"]
    assert clf.model_.arch.n_out == 3 and clf.score(X, y) > 0.95
    proba = clf.predict_proba(X)
    assert np.allclose(proba.sum(axis=1), 1) and proba.min() >= 0
    assert (clf.classes_[proba.argmax(axis=1)] == clf.predict(X)).all()
    assert clf.decision_function(X).shape == (len(X), 3)
    # two classes: one output, scores signed around 0 as scikit-learn's
    two = y != "gamma"
    bin_ = KANClassifier(epochs=5).fit(X[two], y[two])
    dec = bin_.decision_function(X[two])
    assert bin_.model_.arch.n_out == 1 and dec.shape == (two.sum(),)
    assert ((dec > 0) == (bin_.predict(X[two]) == "beta")).all()
    with pytest.raises(ValueError, match="class"):
        KANClassifier().fit(X[:10], ["a"] * 10)


def test_dataframe_feature_names():
    pd = pytest.importorskip("pandas")
    X, _ = _blobs(200, 2)
    df = pd.DataFrame(X, columns=["w", "x", "y", "z"])
    reg = KANRegressor(epochs=2).fit(df, X[:, 0] * X[:, 1])
    assert list(reg.feature_names_in_) == ["w", "x", "y", "z"] and reg.n_features_in_ == 4
    assert reg.model_.info["features"] == ["w", "x", "y", "z"]
    with pytest.raises(ValueError, match="feature names"):
        reg.predict(df.rename(columns={"w": "v"}))


def test_pipeline_grid_search_and_cross_validation():
    from sklearn.model_selection import GridSearchCV, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from kanhw import KANClassifier
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(600, 3)) * [1, 10, 100]
    y = X[:, 0] * X[:, 1] / 10 + X[:, 2] / 100
    pipe = make_pipeline(StandardScaler(), KANRegressor(epochs=10))
    assert pipe.fit(X, y).predict(X).shape == (600,)
    scores = cross_val_score(pipe, X, y, cv=3)
    assert np.all(np.isfinite(scores)) and scores.min() > 0.8
    Xc, yc = _blobs(300)
    grid = GridSearchCV(KANClassifier(epochs=3), {"addends": [2, 6]}, cv=3, n_jobs=2)
    grid.fit(Xc, yc)
    assert grid.best_params_["addends"] in (2, 6) and grid.best_score_ > 0.9
    assert np.all(np.isfinite(grid.cv_results_["mean_test_score"]))


@pytest.mark.parametrize("kind", ["float", "fixed", "classifier"])
def test_joblib_memory_mapped_model_predicts(tmp_path, kind):
    import joblib

    from kanhw import KANClassifier
    X, y = _blobs(300)
    if kind == "classifier":
        est = KANClassifier(epochs=2).fit(X, y)
    else:
        est = KANRegressor(epochs=2, fixed="hw" if kind == "fixed" else None).fit(X, X[:, 0])
    joblib.dump(est, tmp_path / "m.joblib")
    loaded = joblib.load(tmp_path / "m.joblib", mmap_mode="r")
    assert isinstance(loaded.model_.values, np.memmap) and not loaded.model_.values.flags.writeable
    Xr = np.load(_readonly(tmp_path, X), mmap_mode="r")
    assert np.array_equal(loaded.predict(Xr), est.predict(X))


def _readonly(tmp_path, X):
    path = tmp_path / "X.npy"
    np.save(path, X)
    return path


def test_cli_and_estimator_share_defaults_and_training(tmp_path):
    """The CLI and the estimator call one entry point with one rule for
    user tables: the same table, split and seed give the same tables."""
    import subprocess
    import sys

    from kanhw import load
    rng = np.random.default_rng(1)
    X = rng.uniform(0, 1, size=(1000, 3))
    y = X[:, 0] * X[:, 1] + X[:, 2]
    np.savetxt(tmp_path / "t.csv", np.column_stack([X, y]), delimiter=",")
    r = subprocess.run([sys.executable, "-m", "kanhw", "train", str(tmp_path / "t.csv"),
                        "--quiet", "--save", str(tmp_path / "cli.npz")],
                       capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    cli = load(str(tmp_path / "cli.npz"))
    est = KANRegressor(validation_fraction=0.2).fit(X, y)
    assert est.model_.arch == cli.arch and est.model_.arch.sizes == (3, 7, 1)  # 2n+1
    assert est.model_.equals(cli)
