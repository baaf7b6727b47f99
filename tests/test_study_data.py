"""Study data and figures of merit that need no PyTorch: digits, the Feynman
formulas, the intrinsic-dimension estimate, the efficiency metric, NK on
digits through the CLI, and the one-line error when PyTorch is missing."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from kanhw import datasets, study


def kanhw(*args, cwd, env_code="pass"):
    code = f"import sys; {env_code}; from kanhw.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          cwd=cwd, timeout=600, check=False)


def test_digits_is_a_stratified_one_hot_split():
    d = datasets.load("digits")
    assert d.classes == 10 and d.X.shape == (1437, 64) and d.X_val.shape == (360, 64)
    assert d.X.min() == 0.0 and d.X.max() == 1.0
    assert np.all(d.y.sum(axis=1) == 1) and set(np.unique(d.y)) == {0.0, 1.0}
    counts = d.y_val.sum(axis=0)
    assert counts.min() >= 35 and counts.max() <= 37      # stratified: ~36 per class
    rows = {r.tobytes() for r in d.X}
    other = datasets.load("digits", seed=1)
    assert not np.array_equal(other.X, d.X)
    assert sum(r.tobytes() in rows for r in d.X_val) < 10  # held out (a few duplicates exist)
    with pytest.raises(datasets.DataError, match="fixed size"):
        datasets.builtin("digits", train=100)


def test_feynman_formulas():
    g = datasets.builtin("feynman-I.6.2", seed=0, train=20, val=5)
    th, th1, s = g.X[0]
    assert g.y[0, 0] == pytest.approx(math.exp(-((th - th1) / s) ** 2 / 2)
                                      / (math.sqrt(2 * math.pi) * s))
    lens = datasets.builtin("feynman-I.27.6", seed=0, train=20, val=5)
    d1, d2, n = lens.X[1]
    assert lens.y[1, 0] == pytest.approx(1 / (1 / d1 + n / d2))
    waves = datasets.builtin("feynman-I.29.16", seed=0, train=20, val=5)
    x1, x2, t1, t2 = waves.X[2]
    # the law of cosines: the distance between two points at radii x1, x2
    p = np.array([x1 * math.cos(t1), x1 * math.sin(t1)])
    q = np.array([x2 * math.cos(t2), x2 * math.sin(t2)])
    assert waves.y[2, 0] == pytest.approx(np.linalg.norm(p - q))
    lor = datasets.builtin("feynman-I.12.11", seed=0, train=20, val=5)
    q_, E, B, v, th = lor.X[3]
    assert lor.y[3, 0] == pytest.approx(q_ * (E + B * v * math.sin(th)))
    assert lor.X.min() >= 1 and lor.X.max() <= 5


def test_two_nn_finds_the_dimension_of_a_subspace():
    rng = np.random.default_rng(0)
    Z = rng.uniform(size=(1500, 3))
    X = Z @ rng.normal(size=(3, 12))       # a 3-D flat inside 12-D
    assert study.two_nn_dimension(X) == pytest.approx(3.0, abs=0.4)
    assert study.two_nn_dimension(rng.uniform(size=(1500, 6))) == pytest.approx(6.0, abs=0.8)


def test_efficiency_metric():
    # best / (epochs to best + 1) / ln(1 + parameters - intrinsic dimension)
    assert study.efficiency(0.9, 4, 1000, 16.0) == pytest.approx(0.9 / 5 / math.log(985.0))
    assert math.isnan(study.efficiency(0.9, 1, 10, 16.0))   # fewer parameters than dimension
    assert math.isnan(study.efficiency(float("nan"), 1, 1000, 2.0))


def test_nk_kan_classifies_digits_from_the_cli(tmp_path):
    r = kanhw("train", "digits", "--json", "--quiet", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout.strip().splitlines()[-1])
    assert s["validation_accuracy"] >= 0.95
    assert s["architecture"]["sizes"] == [64, 32, 10]


def test_nk_only_study_and_missing_torch(tmp_path):
    """The NK-only study runs without PyTorch; asking for a backprop model
    without it is a one-line error."""
    block = "sys.modules['torch'] = None"  # makes 'import torch' fail
    r = kanhw("study", "feynman-I.27.6", "--models", "nk_kan", "--epochs", "3",
              "--workers", "1", "-o", str(tmp_path / "s"), "--json", cwd=tmp_path,
              env_code=block)
    assert r.returncode == 0, r.stderr
    best = json.loads(r.stdout.strip().splitlines()[-1])["best"]
    assert [b["model"] for b in best] == ["nk_kan"] and best[0]["best_test"] > 0.99
    assert (tmp_path / "s" / "study.md").exists() and (tmp_path / "s" / "study-feynman-I.27.6.png").exists()
    r = kanhw("study", "feynman-I.27.6", "--models", "mlp", "-o", str(tmp_path / "t"),
              cwd=tmp_path, env_code=block)
    assert r.returncode == 2 and "pip install -e '.[study]'" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    r = kanhw("metakan", "feynman-I.27.6", cwd=tmp_path, env_code=block)
    assert r.returncode == 2 and "PyTorch" in r.stderr and "Traceback" not in r.stderr


def test_init_from_a_saved_model_for_train_and_stream(tmp_path):
    """NK fine-tuning (float and fixed) and streaming start from saved tables;
    a model that does not match the data or the design is a one-line error."""
    r = kanhw("train", "feynman-I.27.6", "--epochs", "3", "--save", "m.npz", "--json",
              "--quiet", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    first = json.loads(r.stdout.strip().splitlines()[-1])["validation_pearson"][0]
    for extra in ([], ["--fixed", "hw"]):
        r = kanhw("train", "feynman-I.27.6", "--init", "m.npz", "--epochs", "1", "--json",
                  "--quiet", *extra, cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        s = json.loads(r.stdout.strip().splitlines()[-1])
        assert s["architecture"]["sizes"] == [3, 7, 1]
        assert s["validation_pearson"][0] > first - 2e-4   # starts where it left off
    bad = kanhw("train", "det4", "--init", "m.npz", cwd=tmp_path)
    assert bad.returncode == 2 and "3 inputs" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    (tmp_path / "d.toml").write_text("[arch]\ninputs = 3\naddends = 7\npoints = [12, 22]\n"
                                     "[hardware]\nlanes = 3\n[training]\nalpha = 0.3\n")
    r = kanhw("stream", "feynman-I.27.6", "--transport", "soft", "--config", "d.toml",
              "--init", "m.npz", "--epochs", "1", "--json", "--quiet", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.strip().splitlines()[-1])["validation_pearson"][0] > first - 0.002
    (tmp_path / "e.toml").write_text("[arch]\ninputs = 3\naddends = 5\npoints = [12, 22]\n")
    bad = kanhw("stream", "feynman-I.27.6", "--transport", "soft", "--config", "e.toml",
                "--init", "m.npz", cwd=tmp_path)
    assert bad.returncode == 2 and "the design is" in bad.stderr
