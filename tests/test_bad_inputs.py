"""Every class of bad input is one line on stderr and exit status 2: a
binary design file, NaN/inf or overflowing or complex data, a bare array
where a model is expected, --batch beyond the data, a negative epoch count,
a broken link."""

import numpy as np
import pytest

from kanhw.cli import main

TRI = "[arch]\ninputs = 6\naddends = 3\npoints = [4, 7]\n[hardware]\nlanes = 2\n"


@pytest.fixture
def files(tmp_path):
    (tmp_path / "bin.toml").write_bytes(bytes(range(256)) * 2)
    (tmp_path / "tri.toml").write_text(TRI)
    rng = np.random.default_rng(0)
    X = rng.random((200, 3))
    table = np.hstack([X, X.sum(1, keepdims=True)])
    for name, edit in (("nan", lambda t: t.__setitem__((4, 0), np.nan)),
                       ("inf", lambda t: t.__setitem__((4, 3), np.inf)),
                       ("big", lambda t: t.__setitem__((5, 1), 1e308))):
        t = table.copy()
        edit(t)
        np.save(tmp_path / f"{name}.npy", t)
    np.save(tmp_path / "complex.npy", table + 1j)
    np.save(tmp_path / "bare.npy", np.zeros(7))
    return tmp_path


CASES = {
    "binary design file (generate)": (["generate", "--config", "bin.toml", "-o", "out"],
                                      "not a design file"),
    "binary design file (sim)": (["sim", "--config", "bin.toml"], "not a design file"),
    "binary design file (stream)": (["stream", "triangle", "--transport", "soft", "--config",
                                     "bin.toml"], "not a design file"),
    "NaN in data": (["train", "nan.npy", "--epochs", "1"], "NaN/inf are not allowed"),
    "inf in data": (["train", "inf.npy", "--epochs", "1"], "NaN/inf are not allowed"),
    "overflowing values": (["train", "big.npy", "--epochs", "1"], "overflow"),
    "complex data": (["train", "complex.npy", "--epochs", "1"], "complex numbers"),
    "array as a model (plot)": (["plot", "bare.npy", "-o", "p"], "not a kanhw model file"),
    "array as a model (train --init)": (["train", "triangle", "--init", "bare.npy",
                                         "--epochs", "1"], "not a kanhw model file"),
    "array as a checkpoint": (["stream", "triangle", "--transport", "soft", "--config",
                               "tri.toml", "--checkpoint", "bare.npy"],
                              "not a kanhw model file"),
    "batch beyond the data": (["train", "triangle", "--workers", "2", "--batch", "1000000000",
                               "--train-records", "500"], "more than the 500 training records"),
    "negative warm epochs": (["sim", "--config", "tri.toml", "--warm-epochs", "-1"],
                             "--warm-epochs must be 0 or more"),
    "broken link": (["stream", "triangle", "--transport", "soft", "--config", "tri.toml",
                     "--faults", "drop=1", "--train-records", "50", "--val-records", "10"],
                    "link failed: no answer"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_one_line_and_status_2(files, case, capsys, monkeypatch):
    monkeypatch.chdir(files)
    argv, words = CASES[case]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err and err[-1].startswith(f"kanhw {argv[0]}: error: ") and words in err[-1], err
    assert not any("Traceback" in line for line in err)
