"""Test vectors for a generated core, computed by the fixed-point reference:
initial tables, the record stream in device format, and every expected
prediction, residual, counter and final table."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kanhw import datasets
from kanhw import nk_fixed as nkx
from kanhw.arch import Architecture
from kanhw.design import Design
from kanhw.errors import ConfigError
from kanhw.fixed_model import FixedBackend, FixedKAN


@dataclass
class Vectors:
    design: Design
    initial: FixedKAN
    U: np.ndarray        # (N, n) grid coordinates
    Yq: np.ndarray       # (N,) targets, value format
    train: bool
    pred: np.ndarray     # (N,) expected predictions
    resid: np.ndarray    # (N,) expected residuals
    final: FixedKAN      # expected tables after the stream
    counts: np.ndarray   # expected counters: saturated records, clamps, stretches
    stretched: np.ndarray  # (N,) domains each record stretched (each stretch stalls)
    stretch_addends: np.ndarray  # the addend of every stretch, in stream order

    @property
    def stretch_records(self) -> int:
        """Records that stretched at least one domain."""
        return int(np.count_nonzero(self.stretched))


def mixed_products(n: int, records: int, rng: np.random.Generator):
    """A generic target for any input count: products of neighbouring inputs."""
    X = rng.uniform(0.0, 1.0, size=(records, n))
    y = (X * np.roll(X, -1, axis=1)).sum(axis=1) - X[:, 0] ** 2
    return X, y[:, None]


def mixed_outliers(n: int, records: int, rng: np.random.Generator):
    """:func:`mixed_products` with 3 % of the targets moved far off: their
    large residuals move the outer functions, whose domains then stretch
    now and then all through a stream, not only in its first records."""
    X, y = mixed_products(n, records, rng)
    far = rng.random(records) < 0.03
    y[far, 0] += rng.normal(0.0, 3.0 * float(y.std()) + 1e-3, int(far.sum()))
    return X, y


GENERIC = {"mixed": mixed_products, "mixed-outliers": mixed_outliers}


def dataset_for(design: Design, records: int, seed: int, name: str | None = None):
    """(X, y) with the design's input count: the named built-in dataset, the
    built-in with that many inputs, or :func:`mixed_products`."""
    n = design.n
    rng = np.random.default_rng(seed)
    if name is None:
        name = {16: "det4", 25: "det5", 12: "tetra", 6: "triangle"}.get(n)
    if name is None:
        return mixed_products(n, records, rng)
    if name in GENERIC:
        return GENERIC[name](n, records, rng)
    if name not in datasets.BUILTINS:
        raise ConfigError(f"unknown dataset {name!r}")
    X, y = datasets.BUILTINS[name].make(records, rng)
    if X.shape[1] != n:
        raise ConfigError(f"dataset {name} has {X.shape[1]} inputs; the design has {n}")
    return X, y[:, :1]


def make_vectors(design: Design, records: int, seed: int = 0, train: bool = True,
                 dataset: str | None = None, warm_epochs: int = 0,
                 outer_points: int | None = None) -> Vectors:
    """Vectors for ``records`` records. ``warm_epochs`` first trains the
    reference on the same data so the check also covers a trained model.
    ``outer_points``: a model on that coarser outer grid, which the core runs
    on the same tables (a multilevel schedule's coarse level)."""
    X, y = dataset_for(design, records, seed, dataset)
    arch = design.arch if outer_points is None else \
        Architecture(design.arch.sizes, (design.arch.points[0], outer_points))
    model = FixedKAN.initialise(arch, design.contract, X.min(0), X.max(0), y.min(0),
                                y.max(0), seed=design.seed)
    backend = FixedBackend(model)
    U, _ = model.map_inputs(X)
    Yq = model.map_targets(y)
    for _ in range(warm_epochs):
        backend.train_mapped(U, Yq, np.arange(records))
    model.counts[:] = 0
    initial = model.copy()
    stretched = np.zeros(records, np.int64)
    addends = np.zeros(0, np.int64)
    if train:
        # the stretch log has room for a stretch per record; a stream with
        # more runs again from the same tables with room for all of them
        slog = np.zeros(records + 1, np.int64)
        pred, resid, stretched = backend.train_mapped(U, Yq, np.arange(records), slog)
        if slog[0] >= slog.size:
            model.values[:], model.lo[:], model.hi[:], model.rcp[:], model.counts[:] = (
                initial.values, initial.lo, initial.hi, initial.rcp, initial.counts)
            slog = np.zeros(slog[0] + 1, np.int64)
            pred, resid, stretched = backend.train_mapped(U, Yq, np.arange(records), slog)
        # only layer-1 functions stretch; with one output, function = addend
        addends = slog[1:slog[0] + 1] - int(arch.func_base[1])
    else:
        pred, resid = backend.predict_mapped(U, Yq)
    return Vectors(design, initial, U, Yq[:, 0], train, pred[:, 0], resid[:, 0], model,
                   model.counts[:nkx.C_EVENTS].copy(), stretched, addends)
