"""The CLI end to end, as a user runs it (a subprocess per call)."""

import json
import subprocess
import sys

import numpy as np
import pytest

from kanhw import load


def kanhw(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "kanhw", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=600, check=False)


def test_train_json_save_and_plot(tmp_path):
    model = tmp_path / "m.npz"
    r = kanhw("train", "medians", "--epochs", "3", "--seed", "2", "--save", str(model), "--json")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    for key in ("validation_pearson", "epochs", "records", "seconds", "records_per_s"):
        assert key in summary
    assert len(summary["validation_pearson"]) == 3 and min(summary["validation_pearson"]) > 0.98
    assert summary["epochs"] == 3 and summary["records"] == 30_000
    assert "epoch   3" in r.stderr  # per-epoch progress lines
    m = load(str(model))
    assert m.arch.sizes == (6, 32, 8, 3) and len(m.history) == 3
    r = kanhw("plot", str(model), "-o", str(tmp_path / "plots"))
    assert r.returncode == 0, r.stderr
    for name in ("layer0.png", "layer1.png", "layer2.png", "training.png"):
        png = tmp_path / "plots" / name
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_target_pearson_stops_early_and_options_apply():
    r = kanhw("train", "det4", "--train-records", "20000", "--val-records", "2000",
              "--addends", "16", "--points", "3,12", "--step", "kaczmarz", "--alpha", "0.5",
              "--epochs", "30", "--target-pearson", "0.5", "--json", "--quiet")
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout.strip().splitlines()[-1])
    assert s["architecture"] == {"sizes": [16, 16, 1], "points": [3, 12]}
    assert s["step"] == "kaczmarz" and s["reached_target"] is True and s["epochs"] < 30


def test_user_csv(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(3000, 2))
    y = X[:, 0] * X[:, 1]
    path = tmp_path / "xy.csv"
    np.savetxt(path, np.column_stack([X, y]), delimiter=",", header="u,v,prod", comments="")
    r = kanhw("train", str(path), "--target", "prod", "--epochs", "20", "--points", "8,16",
              "--json", "--quiet")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.splitlines()[-1])["validation_pearson"][0] > 0.95


@pytest.mark.parametrize("args,message", [
    (["train", "nosuch"], "unknown dataset"),
    (["train", "det4", "--addends", "0"], "at least 1"),
    (["train", "det4", "--points", "1,5"], "at least 2 grid points"),
    (["train", "det4", "--points", "a,b"], "comma-separated"),
    (["train", "det4", "--alpha", "-1"], "alpha"),
    (["train", "BAD_CSV"], "non-numeric"),
    (["train", "NAN_CSV"], "NaN"),
    (["train", "SHAPE_NPZ"], "rows"),
    (["plot", "BAD_MODEL", "-o", "out"], "not a kanhw model"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    (tmp_path / "bad.csv").write_text("a,b\n1,2\nx,3\n")
    (tmp_path / "nan.csv").write_text("a,b\n1,2\nnan,3\n")
    np.savez(tmp_path / "shape.npz", X=np.zeros((5, 2)), y=np.zeros(4))
    (tmp_path / "bad.npz").write_bytes(b"garbage")
    subst = {"BAD_CSV": "bad.csv", "NAN_CSV": "nan.csv", "SHAPE_NPZ": "shape.npz",
             "BAD_MODEL": "bad.npz"}
    r = kanhw(*[subst.get(a, a) for a in args], cwd=tmp_path)
    assert r.returncode == 2
    err = r.stderr.strip().splitlines()
    assert len(err) == 1 and message in err[0], r.stderr
    assert "Traceback" not in r.stderr
