import numpy as np
import pytest

from kanhw import KAN, TrainConfig, datasets, fit, load, predict, save
from kanhw.arch import Architecture
from kanhw.errors import DataError


def test_round_trip_is_exact(tmp_path):
    data = datasets.builtin("medians", seed=0, train=2000, val=300)
    m = KAN.initialise(Architecture((6, 8, 4, 3), (2, 6, 9)), data.X.min(0), data.X.max(0),
                       data.y.min(0), data.y.max(0), seed=1)
    fit(m, data, TrainConfig(epochs=2))
    m.info["note"] = "round trip"
    path = str(tmp_path / "m.npz")
    save(m, path)
    back = load(path)
    assert back.equals(m)
    assert back.history == m.history and back.info == m.info
    assert np.array_equal(predict(back, data.X_val), predict(m, data.X_val))


@pytest.mark.parametrize("content", [b"", b"not a zip", b"PK\x03\x04broken"])
def test_unreadable_model_is_a_one_line_error(tmp_path, content):
    p = tmp_path / "bad.npz"
    p.write_bytes(content)
    with pytest.raises(DataError) as e:
        load(str(p))
    assert "\n" not in str(e.value)


def test_wrong_arrays_are_rejected(tmp_path):
    p = str(tmp_path / "other.npz")
    np.savez(p, a=np.zeros(3))
    with pytest.raises(DataError, match="missing"):
        load(p)
    with pytest.raises(DataError, match="no such"):
        load(str(tmp_path / "absent.npz"))
