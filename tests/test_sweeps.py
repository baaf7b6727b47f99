"""The depth sweep and the width-against-points experiment: the networks
they compare, and a small run of each through the CLI."""

import json
import subprocess
import sys

import pytest

from kanhw import sweeps
from kanhw.arch import Architecture


def test_width_and_points_series_have_equal_parameters():
    cfg = sweeps.SweepConfig(experiment="width", datasets=("feynman-I.29.16",),
                             multipliers=(1, 2, 4), train=200, test=50)
    vs = sweeps.variants(cfg)
    params = {}
    for v in vs:
        if v.model == "nk_kan":
            params[v.label] = Architecture((4, *v.hidden, 1), v.points).n_parameters
    assert params["width x2"] == params["points x2"] == 2 * params["width x1"]
    assert params["width x4"] == params["points x4"] == 4 * params["width x1"]
    mlps = [v.mlp_target for v in vs if v.model == "mlp_wide"]
    assert mlps == [params["width x1"] * m for m in (1, 2, 4)]


def test_depth_variants_are_shallow_medium_deep():
    cfg = sweeps.SweepConfig(experiment="depth", datasets=("digits",))
    vs = [v for v in sweeps.variants(cfg) if v.model == "nk_kan"]
    assert [v.hidden for v in vs] == [(32,), (32, 32), (32, 32, 32)]
    assert [v.points for v in vs] == [(2, 12), (2, 12, 12), (2, 12, 12, 12)]


def test_sweep_cli_writes_table_json_and_plot(tmp_path):
    pytest.importorskip("torch")
    r = subprocess.run([sys.executable, "-m", "kanhw", "sweep", "width", "feynman-I.27.6",
                        "--multipliers", "1,2", "--epochs", "2", "--train-records", "1000",
                        "--test-records", "300", "--workers", "1", "-o", str(tmp_path),
                        "--json"], capture_output=True, text=True, timeout=600, check=False)
    assert r.returncode == 0, r.stderr
    runs = json.loads(r.stdout.strip().splitlines()[-1])["runs"]
    labels = sorted((x["model"], x["scheme"].split(";")[0]) for x in runs)
    assert labels == sorted([("nk_kan", "width x1"), ("bp_kan", "width x1"),
                             ("nk_kan", "width x2"), ("nk_kan", "points x2"),
                             ("bp_kan", "width x2"), ("bp_kan", "points x2"),
                             ("mlp_wide", "MLP, KAN x1 parameters"),
                             ("mlp_wide", "MLP, KAN x2 parameters")])
    nk = {x["scheme"].split(";")[0]: x for x in runs if x["model"] == "nk_kan"}
    assert nk["width x1"]["best_test"] > 0.5 and len(nk["width x2"]["test_curve"]) == 2
    assert "dropout 0.2" in (tmp_path / "width.md").read_text()
    assert (tmp_path / "width.png").stat().st_size > 10_000
    r = subprocess.run([sys.executable, "-m", "kanhw", "sweep", "depth", "--dropout", "1.5",
                        "-o", str(tmp_path)], capture_output=True, text=True, timeout=300,
                       check=False)
    assert r.returncode == 2 and "dropout" in r.stderr and "Traceback" not in r.stderr
