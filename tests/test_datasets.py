import numpy as np
import pytest

from kanhw import datasets, metrics
from kanhw.errors import DataError


def test_validation_rows_are_independent_of_training_rows():
    d = datasets.builtin("det4", seed=7, train=5000, val=1000)
    rows = {r.tobytes() for r in d.X}
    assert not any(r.tobytes() in rows for r in d.X_val)
    # the same seed reproduces both sets; another seed gives other data
    d2 = datasets.builtin("det4", seed=7, train=5000, val=1000)
    assert np.array_equal(d.X, d2.X) and np.array_equal(d.X_val, d2.X_val)
    assert not np.array_equal(d.X, datasets.builtin("det4", seed=8, train=5000, val=1).X)


def test_determinant_targets():
    d = datasets.builtin("det5", seed=0, train=10, val=10)
    assert d.X.shape == (10, 25) and d.X.min() >= 0 and d.X.max() <= 10
    np.testing.assert_allclose(d.y[:, 0], np.linalg.det(d.X.reshape(10, 5, 5)))


def test_geometry_targets():
    t = datasets.builtin("tetra", seed=0, train=50, val=5)
    P = t.X[3].reshape(4, 3)
    area = lambda a, b, c: 0.5 * np.linalg.norm(np.cross(P[b] - P[a], P[c] - P[a]))
    np.testing.assert_allclose(t.y[3], [area(0, 1, 2), area(0, 1, 3), area(0, 2, 3),
                                        area(1, 2, 3)])
    tri = datasets.builtin("triangle", seed=0, train=50, val=5)
    (x1, y1), (x2, y2), (x3, y3) = tri.X[0].reshape(3, 2)
    assert tri.y[0, 0] == pytest.approx(0.5 * abs(x1 * (y2 - y3) + x2 * (y3 - y1) + x3 * (y1 - y2)))
    med = datasets.builtin("medians", seed=0, train=50, val=5)
    A, B, C = med.X[0].reshape(3, 2)
    np.testing.assert_allclose(med.y[0], [np.linalg.norm(A - (B + C) / 2),
                                          np.linalg.norm(B - (A + C) / 2),
                                          np.linalg.norm(C - (A + B) / 2)])


def test_csv_with_header_and_named_targets(tmp_path):
    p = tmp_path / "data.csv"
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(100, 3))
    lines = ["a,b,c,t1,t2"] + [f"{r[0]},{r[1]},{r[2]},{r.sum()},{r[0] * 2}" for r in X]
    p.write_text("\n".join(lines) + "\n")
    d = datasets.load(str(p), target=["t1", "4"], val_split=0.25, seed=1)
    assert d.feature_names == ["a", "b", "c"] and d.target_names == ["t1", "t2"]
    assert d.X.shape == (75, 3) and d.X_val.shape == (25, 3)
    np.testing.assert_allclose(d.y[:, 0], d.X.sum(axis=1))


def test_npy_and_npz(tmp_path):
    table = np.arange(40.0).reshape(10, 4)
    np.save(tmp_path / "t.npy", table)
    d = datasets.load(str(tmp_path / "t.npy"), val_split=0.2)
    assert d.y.shape == (8, 1) and set(d.y[:, 0]) | set(d.y_val[:, 0]) == set(table[:, 3])
    np.savez(tmp_path / "xy.npz", X=table[:, :3], y=table[:, 3], X_val=table[:2, :3],
             y_val=table[:2, 3])
    d = datasets.load(str(tmp_path / "xy.npz"))
    assert d.X.shape == (10, 3) and d.X_val.shape == (2, 3)


@pytest.mark.parametrize("content,message", [
    ("a,b\n1,2\n3\n", "fields"),
    ("a,b\n1,2\n3,x\n", "non-numeric"),
    ("a,b\n1,2\nnan,4\n", "NaN"),
    ("a,b\n1,inf\n3,4\n", "NaN/inf"),
    ("", "no data"),
])
def test_bad_csv_is_a_one_line_error(tmp_path, content, message):
    p = tmp_path / "bad.csv"
    p.write_text(content)
    with pytest.raises(DataError, match=message) as e:
        datasets.load(str(p))
    assert "\n" not in str(e.value)


def test_unknown_dataset_and_columns(tmp_path):
    with pytest.raises(DataError, match="unknown dataset"):
        datasets.load("nosuch")
    p = tmp_path / "d.csv"
    p.write_text("a,b\n1,2\n3,4\n5,6\n")
    with pytest.raises(DataError, match="no column named"):
        datasets.load(str(p), target=["zz"])
    with pytest.raises(DataError, match="every column is a target"):
        datasets.load(str(p), target=["a", "b"])


def test_metrics():
    t = np.array([[1.0, 0.0], [2.0, 1.0], [3.0, 0.0], [4.0, 1.0]])
    p = np.array([[2.0, 5.0], [4.0, 5.0], [6.0, 5.0], [8.0, 5.0]])
    np.testing.assert_allclose(metrics.pearson(p, t), [1.0, 0.0])
    np.testing.assert_allclose(metrics.rmse(t, t), [0.0, 0.0])
    np.testing.assert_allclose(metrics.relative_rmse(t + 0.3, t), [0.1, 0.3])


def test_label_column_classes_and_stratified_split(tmp_path):
    from kanhw import recipes
    p = tmp_path / "l.csv"
    rng = np.random.default_rng(0)
    labels = np.repeat(["cat", "dog", "eel"], [60, 30, 10])
    rows = [f"{a},{b},{lab}" for (a, b), lab in zip(rng.uniform(size=(100, 2)), labels)]
    p.write_text("u,v,animal\n" + "\n".join(rows) + "\n")     # header: text over numbers
    d = datasets.load(str(p), classify=True, val_split=0.2, seed=3)
    assert d.classes == 3 and d.class_names == ["cat", "dog", "eel"]
    assert d.feature_names == ["u", "v"] and d.target_names == ["is_cat", "is_dog", "is_eel"]
    np.testing.assert_array_equal(d.y_val.sum(axis=0), [12, 6, 2])   # each class's share
    np.testing.assert_array_equal(d.y.sum(axis=0), [48, 24, 8])
    assert datasets.recipe_of(d) == recipes.for_table(2)
    # integer labels sort as numbers; two classes take one output
    q = tmp_path / "n.csv"
    q.write_text("\n".join(f"{i},{10 if i % 2 else 9}" for i in range(40)) + "\n")
    d = datasets.load(str(q), classify=True, val=10, train=20)
    assert d.class_names == ["9", "10"] and d.y.shape == (20, 1) and d.X_val.shape == (10, 1)
    with pytest.raises(DataError, match="non-numeric"):
        datasets.load(str(p))                   # a text target needs classify
    np.savez(tmp_path / "c.npz", X=np.zeros((6, 2)), y=[0, 1, 2, 0, 1, 2],
             X_val=np.zeros((3, 2)), y_val=[2, 1, 0])
    d = datasets.load(str(tmp_path / "c.npz"), classify=True)
    assert d.classes == 3 and d.y_val.argmax(axis=1).tolist() == [2, 1, 0]


def test_record_counts_for_tables(tmp_path):
    np.save(tmp_path / "t.npy", np.arange(300.0).reshape(100, 3))
    d = datasets.load(str(tmp_path / "t.npy"), train=50, val=30)
    assert d.X.shape == (50, 2) and d.X_val.shape == (30, 2)
    assert not set(d.y[:, 0]) & set(d.y_val[:, 0])
    with pytest.raises(DataError, match="asked for"):
        datasets.load(str(tmp_path / "t.npy"), train=90)
    assert isinstance(DataError("x"), ValueError)
