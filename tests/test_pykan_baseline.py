"""pykan as the study's spline-KAN baseline: the package trains, the probe
scores it along the way, the study runs it and skips it without its extra."""

import json

import numpy as np
import pytest

pytest.importorskip("kan")

from kanhw import datasets, study
from kanhw.errors import ConfigError
from kanhw.pykan_baseline import train_pykan


def test_pykan_learns_a_formula_and_is_scored_on_the_way():
    d = datasets.builtin("feynman-I.27.6", seed=0, train=600, val=200)
    # float64: pykan's float32 start differs from run to run in its last
    # bits, and four LBFGS steps spread that to 0.987-0.993 (seen); in
    # float64 the scores agree to 1e-11
    res = train_pykan([3, 3, 1], d.X, d.y, d.X_val, d.y_val, "lbfgs", steps=4, score_every=2,
                      float64=True)
    assert res.steps == [2, 4] and len(res.test) == 2 and not res.diverged
    assert res.test[-1] > 0.99
    assert res.test_rmse < 0.15 * d.y_val.std()
    assert res.parameters == (3 * 3 + 3 * 1) * (5 + 3 + 2)  # coefficients + two scales
    assert 0 < res.seconds[0] < res.seconds[1]
    with pytest.raises(ConfigError, match="lbfgs or adam"):
        train_pykan([3, 3, 1], d.X, d.y, d.X_val, d.y_val, "sgd")


def test_pykan_classifies_with_adam():
    d = datasets.builtin("digits")
    res = train_pykan([64, 4, 10], d.X, d.y, d.X_val, d.y_val, "adam", steps=30, classes=10,
                      score_every=10)
    assert res.test[-1] > 0.5 and res.test[-1] > res.test[0] - 0.05


def test_study_runs_pykan_and_hsic_and_skips_missing_extras(tmp_path, monkeypatch, capsys):
    from kanhw.commands import study as cmd

    cfg = study.StudyConfig(datasets=("feynman-I.27.6",), models=("pykan", "hsic_mlp"),
                            schemes=(study.all_schemes()[7],), epochs=2, train=800, test=200,
                            workers=1, pykan_steps=(2, 4))
    runs = study.run_study(cfg)
    assert [(r.model, r.scheme) for r in runs] == [
        ("pykan", "LBFGS, 2 steps"), ("pykan", "Adam, lr 0.01, 4 steps"),
        ("hsic_mlp", "kaiming_normal/adam/0.005")]
    assert runs[0].best_test > 0.9 and runs[1].epochs_to_best in (1, 2, 3, 4)
    # without pykan installed, the default model list skips it with a note
    monkeypatch.setattr(study, "missing_extras", lambda models: {
        "pykan": "pykan (cubic splines) skipped: it needs the 'pykan' extra "
                 "(pip install -e '.[pykan]')"})
    monkeypatch.setattr(study, "MODELS", ("nk_kan", "pykan"))
    parser = cmd.argparse.ArgumentParser()
    cmd.register(parser.add_subparsers())
    args = parser.parse_args(["study", "feynman-I.27.6", "--epochs", "2", "--workers", "1",
                              "--train-records", "500", "--test-records", "100",
                              "-o", str(tmp_path), "--json"])
    assert args.run(args) == 0
    out = capsys.readouterr()
    assert "pip install -e '.[pykan]'" in out.err
    assert [b["model"] for b in json.loads(out.out.splitlines()[-1])["best"]] == ["nk_kan"]
    assert "skipped: it needs the 'pykan' extra" in (tmp_path / "study.md").read_text()
    assert np.isfinite(runs[2].best_test)
