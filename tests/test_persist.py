import numpy as np
import pytest

from kanhw import KAN, TrainConfig, datasets, fit, load, persist, predict, save
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


def test_a_writer_killed_mid_write_leaves_the_old_file_whole(tmp_path):
    """The writer is killed (SIGKILL) while the new file is half written:
    the old checkpoint is still there, whole; a write that completes
    replaces it whole."""
    import signal
    import subprocess
    import sys

    from kanhw.arch import Architecture
    from kanhw.model import KAN
    path = tmp_path / "ck.npz"
    old = KAN.initialise(Architecture((3, 4, 1), (4, 6)), np.zeros(3), np.ones(3),
                         np.zeros(1), np.ones(1), seed=1)
    persist.save(old, str(path))
    child = subprocess.Popen([sys.executable, "-c", f"""
import sys, time
import numpy as np
from kanhw import persist
m = persist.load({str(path)!r})
m.values[:] += 1.0
def half(fh, **arrays):       # write part of a file, then hang until killed
    fh.write(b"PK\\x03\\x04" + bytes(1000))
    fh.flush()
    print("writing", flush=True)
    time.sleep(600)
np.savez = half
persist.save(m, {str(path)!r})
"""], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "writing"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(60)
    back = persist.load(str(path))
    assert np.array_equal(back.values, old.values)
    new = KAN.initialise(Architecture((3, 4, 1), (4, 6)), np.zeros(3), np.ones(3),
                         np.zeros(1), np.ones(1), seed=2)
    persist.save(new, str(path))
    assert np.array_equal(persist.load(str(path)).values, new.values)


@pytest.mark.parametrize("damage", ["history5", "meta_list", "meta_null", "version_text",
                                    "values_text", "short_fixed", "short_in_lo", "arch_text",
                                    "contract_int", "bare_npy"])
def test_damaged_model_files_are_one_line(tmp_path, damage):
    """A model or checkpoint file with fields of the wrong type or length is
    one DataError line, never a traceback."""
    import json

    from kanhw.arch import Architecture
    from kanhw.contract import PRESETS
    from kanhw.errors import DataError
    from kanhw.fixed_model import FixedKAN
    arch = Architecture((3, 4, 1), (4, 6))
    fk = FixedKAN.initialise(arch, PRESETS["hw"], np.zeros(3), np.ones(3), np.zeros(1),
                             np.ones(1), seed=1)
    good = tmp_path / "good.npz"
    persist.save(fk, str(good))
    z = dict(np.load(good))
    meta = json.loads(str(z["meta"]))
    bad = tmp_path / "bad.npz"
    if damage == "bare_npy":
        bad = tmp_path / "bad.npy"
        np.save(bad, z["values"])
    else:
        edit = {
            "history5": lambda: meta.update(history=5),
            "meta_list": lambda: [1, 2],
            "meta_null": lambda: None,
            "version_text": lambda: meta.update(version="1"),
            "values_text": lambda: z.update(values=z["values"].astype(str)),
            "short_fixed": lambda: z.update(fixed_values=z["fixed_values"][:-3]),
            "short_in_lo": lambda: meta["fixed"].update(in_lo=meta["fixed"]["in_lo"][:-1]),
            "arch_text": lambda: meta.update(arch="x"),
            "contract_int": lambda: meta["fixed"].update(contract=5),
        }[damage]
        out = edit()
        doc = meta if out is None and damage not in ("meta_null",) else out
        z["meta"] = np.array(json.dumps(doc))
        np.savez(bad, **z)
    loaders = [persist.load_fixed] if damage in ("short_fixed", "short_in_lo",
                                                 "contract_int") else \
        [persist.load, persist.load_fixed]
    for loader in loaders:
        with pytest.raises(DataError) as err:
            loader(str(bad))
        assert "\n" not in str(err.value) and str(bad) in str(err.value)
