"""Disjoint-dataset training with model averaging."""

import numpy as np

from kanhw import KAN, TrainConfig, datasets, fit
from kanhw.arch import build_architecture
from kanhw.contract import PRESETS
from kanhw.design import resolve_contract
from kanhw.fixed_model import FixedBackend, FixedKAN
from kanhw.merge import MergeConfig, average, fit_merged


def small(seed=0):
    data = datasets.builtin("triangle", seed=seed, train=6000, val=2000)
    arch = build_architecture(6, 1, 8, None, [5, 10])
    return data, arch


def float_model(data, arch, seed=0):
    return KAN.initialise(arch, data.X.min(0), data.X.max(0), data.y.min(0), data.y.max(0),
                          seed=seed)


def test_one_worker_is_sequential_training_bit_for_bit():
    """One copy, rounds of a whole pass: the same records in the same order
    as the epoch driver, so the same tables."""
    data, arch = small()
    cfg = TrainConfig(alpha=0.2, epochs=2, seed=3, chunk=6000)
    a, b = float_model(data, arch), float_model(data, arch)
    fit(a, data, cfg)
    fit_merged(b, data, cfg, MergeConfig(workers=1, rounds=2, batch=6000))
    assert a.equals(b)


def test_average_of_copies():
    data, arch = small()
    m = float_model(data, arch)
    c1 = [a + 1.0 for a in (m.values, m.lo, m.hi)]
    c2 = [a - 3.0 for a in (m.values, m.lo, m.hi)]
    ref = m.copy()
    average(m, [c1, c2])
    assert np.allclose(m.values, ref.values - 1.0) and np.allclose(m.hi, ref.hi - 1.0)


def test_two_workers_learn_float_and_fixed():
    data, arch = small()
    cfg = TrainConfig(alpha=0.2, seed=1)
    seq = float_model(data, arch)
    r_seq = fit(seq, data, TrainConfig(alpha=0.2, seed=1, epochs=3))
    par = float_model(data, arch)
    r = fit_merged(par, data, cfg, MergeConfig(workers=2, rounds=9, batch=1000))
    assert r.records == r_seq.records == 18000
    assert r.validation_pearson[0] > r_seq.validation_pearson[0] - 0.03
    contract = resolve_contract(PRESETS["hw"], arch, 0.2)
    fx = FixedKAN.initialise(arch, contract, data.X.min(0), data.X.max(0), data.y.min(0),
                             data.y.max(0), seed=1)
    before = FixedBackend(fx).predict(data.X_val)
    rf = fit_merged(fx, data, cfg, MergeConfig(workers=2, rounds=9, batch=1000))
    assert rf.validation_pearson[0] > r_seq.validation_pearson[0] - 0.05
    assert not np.array_equal(before, FixedBackend(fx).predict(data.X_val))
    outer = slice(int(arch.func_base[1]), None)  # layer 0 maps on the host: no rcp
    assert fx.values.dtype == np.int64 and (fx.rcp[outer] >= 1).all()


def test_dask_local_cluster_matches_local_processes():
    """The same merge rounds on a Dask LocalCluster give the same tables as
    the local process pool, bit for bit."""
    import pytest
    distributed = pytest.importorskip("distributed")
    data, arch = small()
    cfg = TrainConfig(alpha=0.2, seed=1)
    merge = MergeConfig(workers=2, rounds=4, batch=1000)
    a, b = float_model(data, arch, seed=1), float_model(data, arch, seed=1)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        fit_merged(a, data, cfg, merge, client=client)
    fit_merged(b, data, cfg, merge)
    assert a.equals(b)


def test_cli_workers_rounds_batch(tmp_path):
    import json
    import subprocess
    import sys
    r = subprocess.run([sys.executable, "-m", "kanhw", "train", "triangle", "--layers", "8",
                        "--points", "5,10", "--train-records", "4000", "--val-records", "1000",
                        "--workers", "2", "--rounds", "4", "--batch", "500", "--json",
                        "--quiet"], capture_output=True, text=True, cwd=tmp_path, timeout=300,
                       check=False)
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout.strip().splitlines()[-1])
    assert s["records"] == 4 * 2 * 500 and len(s["validation_pearson"]) == 1
    r = subprocess.run([sys.executable, "-m", "kanhw", "train", "triangle", "--workers", "0"],
                       capture_output=True, text=True, cwd=tmp_path, timeout=60, check=False)
    assert r.returncode == 2 and "Traceback" not in r.stderr
