"""Backprop models of the study and MetaKAN (skipped without the study extra):
the piecewise-linear layer evaluates as the NK reference does, training
learns, expand() gives an ordinary KAN that saves, loads, fine-tunes by NK
and loads into the device, and ``kanhw study`` writes its table and plots."""

import json
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from kanhw import backprop as bp
from kanhw import datasets, persist, study
from kanhw.arch import Architecture
from kanhw.design import design_from_dict
from kanhw.fixed_model import FixedKAN
from kanhw.metakan import compare, metakan, plain_parameters
from kanhw.train import TrainConfig, fit, predict

torch.set_num_threads(1)


def test_pl_layer_matches_the_reference_evaluation_including_clamps():
    """Random tables and grids, inputs inside, on and beyond the domain: the
    hat-basis product equals kanhw's frozen evaluation."""
    rng = np.random.default_rng(1)
    arch = Architecture((3, 5, 2), (4, 7))
    X = rng.uniform(-0.5, 1.5, size=(400, 3))
    X[:5] = [[0, 0, 0], [1, 1, 1], [-1, 2, 0.5], [0.25, 0.5, 0.75], [1.0, 0.0, 1.0]]
    net = bp.pl_kan(arch.sizes, arch.points, rng.uniform(0, 1, size=(100, 3)),
                    bp.Scheme("orthogonal", "sgd", 0.05))
    net.eval()
    kan = bp.expand(net)
    with torch.no_grad():
        ours = net(torch.as_tensor(X, dtype=torch.float32)).double().numpy()
    np.testing.assert_allclose(ours, predict(kan, X), rtol=1e-5, atol=1e-5)


def test_backprop_kan_and_mlps_learn_a_formula():
    d = datasets.builtin("feynman-I.27.6", seed=0, train=3000, val=1000)
    arch = study.kan_architecture(d)
    s = bp.Scheme("kaiming_normal", "adam", 0.005)
    kan = bp.pl_kan(arch.sizes, arch.points, d.X, s)
    r = bp.train(kan, d.X, d.y, d.X_val, d.y_val, s, epochs=4, batch=64)
    assert r.parameters == arch.n_parameters and len(r.train) == 4
    assert r.test[-1] > 0.95 and r.test[-1] > r.test[0] + 0.2
    wide = bp.matched_widths(arch.sizes, arch.n_parameters)
    assert abs(bp.mlp_parameters(wide) - arch.n_parameters) <= 0.05 * arch.n_parameters
    m = bp.mlp(wide, s)
    assert bp.count_parameters(m) == bp.mlp_parameters(wide)
    assert bp.train(m, d.X, d.y, d.X_val, d.y_val, s, epochs=4).test[-1] > 0.95
    # the paper's point: a small learning rate with plain SGD barely moves
    slow = bp.Scheme("kaiming_normal", "sgd", 0.0005)
    assert bp.train(bp.pl_kan(arch.sizes, arch.points, d.X, slow), d.X, d.y, d.X_val, d.y_val,
                    slow, epochs=1).test[-1] < r.test[-1]


def test_all_27_schemes():
    schemes = bp.all_schemes()
    assert len(schemes) == 27 and len({s.label for s in schemes}) == 27
    assert bp.parse_scheme("orthogonal/sgd_momentum/0.05") == bp.Scheme(
        "orthogonal", "sgd_momentum", 0.05)
    with pytest.raises(bp.ConfigError):
        bp.parse_scheme("xavier/adam/0.1")


def test_metakan_expands_to_an_ordinary_kan(tmp_path):
    """Fewer trainable parameters; the expanded KAN predicts what the
    MetaKAN predicts, saves and loads exactly, fine-tunes by NK and loads into
    the (soft) device, whose frozen predictions match the float model."""
    d = datasets.builtin("feynman-I.6.2", seed=0, train=4000, val=1000)
    c, kan = compare(d, [16], [16, 22], embed=1, meta_hidden=8, epochs=3)
    assert c.plain_parameters == plain_parameters(c.sizes, c.points) == 16 * 3 * 16 + 16 * 22
    assert c.meta_parameters == 48 + 16 + (8 + 8 + 8 * 16 + 16) + (8 + 8 + 8 * 22 + 22)
    assert c.parameter_ratio == pytest.approx(1120 / 438, abs=0.01) and c.meta_best > 0.9 and c.plain_peak_bytes > 0
    assert c.expanded_score == pytest.approx(bp.score(predict(kan, d.X_val), d.y_val, 0))
    persist.save(kan, str(tmp_path / "m.npz"))
    back = persist.load(str(tmp_path / "m.npz"))
    assert back.equals(kan)
    # NK fine-tuning from the expanded tables
    before = bp.score(predict(back, d.X_val), d.y_val, 0)
    fit(back, d, TrainConfig(alpha=0.3, epochs=2))
    assert bp.score(predict(back, d.X_val), d.y_val, 0) > before - 0.002
    # into the device: quantised, loaded over the link protocol, streamed frozen
    from kanhw.host.client import Device
    from kanhw.host.transport import open_transport

    design = design_from_dict({"arch": {"inputs": 3, "addends": 16, "points": [16, 22]},
                               "hardware": {"lanes": 3}, "training": {"alpha": 0.3}})
    assert design.arch == kan.arch
    fixed = FixedKAN.from_model(kan, design.contract, d.y.min(0), d.y.max(0))
    dev = Device(open_transport("soft", design), design)
    dev.reset()
    dev.load_model(fixed)
    assert dev.read_model(fixed).equals(fixed)
    dev.set_mode(False)
    U, _ = fixed.map_inputs(d.X_val)
    pred_q, _ = dev.stream(U, fixed.map_targets(d.y_val))
    pred = fixed.unmap_outputs(np.asarray(pred_q).reshape(-1, 1))
    np.testing.assert_allclose(pred, predict(kan, d.X_val), atol=2e-3 * np.ptp(d.y))


def test_metakan_shares_or_separates_meta_learners():
    X = np.random.default_rng(0).uniform(size=(50, 4))
    per_layer = metakan([4, 6, 1], [5, 5], X, embed=2, hidden=4)
    shared = metakan([4, 6, 1], [5, 5], X, embed=2, hidden=4, shared=True)
    assert len(per_layer.meta) == 2 and len(shared.meta) == 1
    assert bp.count_parameters(per_layer) - bp.count_parameters(shared) == 2 * 4 + 4 + 4 * 5 + 5
    with pytest.raises(bp.ConfigError):
        metakan([4, 6, 1], [5, 7], X, shared=True)


def test_study_cli_writes_table_json_and_plots(tmp_path):
    r = subprocess.run([sys.executable, "-m", "kanhw", "study", "digits", "feynman-I.27.6",
                        "--schemes", "kaiming_normal/adam/0.005,orthogonal/sgd/0.0005",
                        "--models", "nk_kan,bp_kan,mlp,mlp_wide",
                        "--epochs", "3", "--workers", "2", "-o", str(tmp_path), "--json"],
                       capture_output=True, text=True, timeout=900, check=False)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    # 2 datasets x (NK + 3 backprop models x 2 schemes) + the scikit-learn reference
    assert out["runs"] == 2 * 7 + 1
    best = {(b["dataset"], b["model"]): b for b in out["best"]}
    assert best[("digits", "nk_kan")]["best_test"] > 0.9
    assert best[("digits", "sklearn_mlp")]["best_test"] > 0.9
    assert best[("digits", "mlp_wide")]["parameters"] == pytest.approx(
        best[("digits", "bp_kan")]["parameters"], rel=0.05)
    runs = json.loads((tmp_path / "study.json").read_text())
    assert len(runs) == 15 and all(len(r["test_curve"]) >= 1 for r in runs)
    md = (tmp_path / "study.md").read_text()
    assert "digits:" in md and "TwoNN" in md and md.count("| feynman-I.27.6 |") == 7 + 4
    assert (tmp_path / "study-digits.png").stat().st_size > 10_000
