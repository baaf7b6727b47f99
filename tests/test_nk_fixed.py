"""The compiled integer kernels against the plain specification, and the
fixed-point trainer against the float one."""

import fixed_spec
import numpy as np
import pytest

from kanhw import KAN, TrainConfig, datasets, fit
from kanhw.arch import Architecture
from kanhw.contract import PRESETS, Contract
from kanhw.design import resolve_contract
from kanhw.errors import ConfigError
from kanhw.fixed_model import FixedBackend, FixedKAN

TIGHT = Contract(value_bits=14, value_frac=10, mul_bits=12, rcp_bits=10, slope_bits=10,
                 slope_frac=6, frac_bits=6)


def make(sizes, points, contract, seed=0, alpha=0.5):
    rng = np.random.default_rng(seed)
    arch = Architecture(sizes, points)
    contract = resolve_contract(contract, arch, alpha)
    model = FixedKAN.initialise(arch, contract, np.zeros(sizes[0]), np.ones(sizes[0]),
                                -np.ones(sizes[-1]), np.ones(sizes[-1]), seed=seed)
    X = rng.uniform(-0.05, 1.05, size=(150, sizes[0]))
    Y = rng.uniform(-1.2, 1.2, size=(150, sizes[-1])) * rng.uniform(0, 3)
    return model, X, Y


@pytest.mark.parametrize("sizes,points", [((3, 5, 1), (4, 7)), ((4, 6, 3, 2), (2, 5, 6)),
                                          ((2, 3, 1), (2, 3))])
@pytest.mark.parametrize("contract", [PRESETS["hw"], PRESETS["deep"], TIGHT],
                         ids=["hw", "deep", "tight"])
def test_kernel_matches_spec(sizes, points, contract):
    model, X, Y = make(sizes, points, contract)
    spec = fixed_spec.Spec(model)
    backend = FixedBackend(model)
    U, _ = model.map_inputs(X)
    c = model.contract
    Yq = model.map_targets(np.clip(Y, -1, 1))
    extreme = np.random.default_rng(1).random(Yq.shape) < 0.2  # drive values to the limits
    Yq[extreme] = np.where(Yq[extreme] > 0, c.value_max, c.value_min)
    pred, resid, _ = backend.train_mapped(U, Yq, np.arange(len(U)))
    for r in range(len(U)):
        p, q = spec.train(U[r], Yq[r])
        assert list(pred[r]) == p and list(resid[r]) == q, f"record {r}"
    for name in ("values", "lo", "hi", "rcp"):
        assert np.array_equal(getattr(model, name), getattr(spec.m, name)), name
    assert list(model.counts[:3]) == [spec.sat_records, spec.clamps, spec.stretches]
    assert spec.stretches > 0
    if contract is TIGHT:
        assert spec.sat_records > 0  # the narrow contract exercises saturation


def test_frozen_mode_clamps_and_changes_nothing():
    model, _, _ = make((3, 4, 1), (3, 5), PRESETS["hw"])
    before = model.copy()
    backend = FixedBackend(model)
    Xfar = np.full((5, 3), 0.5)
    Ufar, _ = model.map_inputs(Xfar)
    model.values[:] = model.values * 8  # hidden sums far outside the outer domains
    backend.predict_mapped(Ufar)
    assert model.counts[1] > 0  # clamps counted
    assert np.array_equal(model.lo, before.lo) and np.array_equal(model.rcp, before.rcp)


def test_input_mapping_and_clamping():
    model, _, _ = make((2, 3, 1), (5, 6), PRESETS["hw"])
    F = model.contract.frac_bits
    U, clamped = model.map_inputs(np.array([[0.0, 1.0], [0.5, 2.0], [-1.0, 0.25]]))
    assert clamped == 2
    top = (4 << F) - 1
    assert U.min() >= 0 and U.max() <= top
    assert U[1, 1] == top and U[2, 0] == 0


def test_contract_validation_and_step():
    with pytest.raises(ConfigError):
        Contract(value_bits=4)
    with pytest.raises(ConfigError):
        Contract(value_frac=30, value_bits=20)
    with pytest.raises(ConfigError):
        Contract.from_dict({"nonsense": 1})
    c = Contract().with_step(0.2, 64)
    assert abs(c.mu - 0.2 / 64) / (0.2 / 64) < 0.005 and c.step_mult < 256


def test_fixed_trainer_follows_float():
    """Same data, initialisation and order: the hardware contract ends within
    a few thousandths of float (the full det4 and tetra figures are measured
    by bench/fixed_vs_float.py)."""
    data = datasets.builtin("medians", seed=3)
    arch = Architecture((6, 24, 3), (5, 12))
    cfg = TrainConfig(alpha=0.3, epochs=8, seed=3)
    fl = KAN.initialise(arch, data.X.min(0), data.X.max(0), data.y.min(0), data.y.max(0), seed=3)
    rf = fit(fl, data, cfg)
    contract = resolve_contract(PRESETS["hw"], arch, 0.3)
    fx = FixedKAN.initialise(arch, contract, data.X.min(0), data.X.max(0), data.y.min(0),
                             data.y.max(0), seed=3)
    rx = fit(fx, data, cfg, backend=FixedBackend(fx))
    assert min(rx.validation_pearson) > 0.98
    assert np.all(np.abs(np.subtract(rx.validation_pearson, rf.validation_pearson)) < 0.01)
    assert fx.counts[0] < 1e-3 * rx.records  # saturation is rare (early, large steps)


def test_fixed_save_load_round_trip(tmp_path):
    from kanhw import persist
    model, X, Y = make((3, 4, 1), (3, 5), PRESETS["hw"])
    FixedBackend(model).train_mapped(model.map_inputs(X)[0],
                                     model.map_targets(np.clip(Y, -1, 1)), np.arange(50))
    path = str(tmp_path / "f.npz")
    persist.save(model, path)
    back = persist.load_fixed(path)
    assert back.equals(model)
    assert np.array_equal(back.in_lo, model.in_lo) and np.array_equal(back.t_half, model.t_half)
    view = persist.load(path)  # the float view predicts like the fixed model
    Xv = np.random.default_rng(1).uniform(0.1, 0.9, size=(50, 3))
    from kanhw import predict
    fixed_pred = FixedBackend(back).predict(Xv)
    assert np.allclose(predict(view, Xv), fixed_pred, atol=0.02 * np.abs(fixed_pred).max())
    with pytest.raises(Exception, match="float model"):
        float_path = str(tmp_path / "g.npz")
        persist.save(view, float_path)
        persist.load_fixed(float_path)


@pytest.mark.parametrize("checker", ["inline", "thread"])
def test_fixed_target_checked_mid_epoch_on_a_snapshot(checker, request):
    """Background target checks work for the fixed-point model too: it ends
    on the first checked snapshot that reached the target, with the integer
    tables of sequential fixed training over exactly those records. With
    every snapshot checked, that is a mid-epoch one; with the thread, which
    snapshots get checked depends on timing, the tables must still match."""
    if checker == "inline":
        request.getfixturevalue("inline_checker")
    d = datasets.builtin("feynman-I.27.6", seed=0, train=10_000, val=2_000)
    arch = Architecture((3, 7, 1), (12, 22))
    contract = resolve_contract(PRESETS["hw"], arch, 0.3)
    bounds = (d.X.min(0), d.X.max(0), d.y.min(0), d.y.max(0))
    m = FixedKAN.initialise(arch, contract, *bounds, seed=1)
    cfg = TrainConfig(alpha=0.3, epochs=20, target_pearson=0.998, seed=3, validate_every=1000)
    r = fit(m, d, cfg, backend=FixedBackend(m, cfg))
    assert r.reached_target and r.records % 1000 == 0
    if checker == "inline":
        assert r.records % 10_000 != 0
    ref = FixedKAN.initialise(arch, contract, *bounds, seed=1)
    rng = np.random.default_rng(np.random.SeedSequence(3).spawn(2)[1])
    order = np.concatenate([rng.permutation(10_000) for _ in range(r.epochs)])[:r.records]
    FixedBackend(ref, cfg).train(d.X, d.y, order, np.empty((r.records, 1)))
    assert ref.equals(m)
