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
    Yq: np.ndarray       # (N,) targets, value format; (N, outputs) for a layered core
    train: bool
    pred: np.ndarray     # expected predictions, shaped as Yq
    resid: np.ndarray    # expected residuals, shaped as Yq
    final: FixedKAN      # expected tables after the stream
    counts: np.ndarray   # expected counters: saturated records, clamps, stretches
    stretched: np.ndarray  # (N,) domains each record stretched (each stretch stalls)
    stretch_functions: np.ndarray  # the function of every stretch, in stream order

    @property
    def stretch_addends(self) -> np.ndarray:
        """The addend of every stretch (a two-layer KAN's outer function
        ``k`` is addend ``k``)."""
        return self.stretch_functions - int(self.design.arch.func_base[1])

    @property
    def stretch_records(self) -> int:
        """Records that stretched at least one domain."""
        return int(np.count_nonzero(self.stretched))


def mixed_products(n: int, records: int, rng: np.random.Generator, outputs: int = 1):
    """A generic target for any input count: products of neighbouring
    inputs (output ``k``: neighbours ``k + 1`` apart)."""
    X = rng.uniform(0.0, 1.0, size=(records, n))
    Y = [(X * np.roll(X, -(k + 1), axis=1)).sum(axis=1) - X[:, k % n] ** 2
         for k in range(outputs)]
    return X, np.stack(Y, axis=1)


def mixed_outliers(n: int, records: int, rng: np.random.Generator, outputs: int = 1):
    """:func:`mixed_products` with 3 % of the targets moved far off: their
    large residuals move the outer functions, whose domains then stretch
    now and then all through a stream, not only in its first records."""
    X, y = mixed_products(n, records, rng, outputs)
    far = rng.random(records) < 0.03
    for k in range(outputs):
        y[far, k] += rng.normal(0.0, 3.0 * float(y[:, k].std()) + 1e-3, int(far.sum()))
    return X, y


GENERIC = {"mixed": mixed_products, "mixed-outliers": mixed_outliers}


def dataset_for(design: Design, records: int, seed: int, name: str | None = None):
    """(X, y) with the design's input count: the named built-in dataset, the
    built-in with that many inputs, or :func:`mixed_products`."""
    n, n_out = design.n, design.arch.n_out
    rng = np.random.default_rng(seed)
    if name is None:
        name = {(16, 1): "det4", (25, 1): "det5", (12, 4): "tetra", (6, 1): "triangle",
                (64, 10): "digits"}.get((n, n_out))
    if name is None:
        return mixed_products(n, records, rng, n_out)
    if name in GENERIC:
        return GENERIC[name](n, records, rng, n_out)
    if name == "digits":
        X, y = _digits(records, rng)
    elif name in datasets.BUILTINS:
        X, y = datasets.BUILTINS[name].make(records, rng)
    else:
        raise ConfigError(f"unknown dataset {name!r}")
    if X.shape[1] != n or y.shape[1] != n_out:
        raise ConfigError(f"dataset {name} has {X.shape[1]} inputs and {y.shape[1]} outputs; "
                          f"the design has {n} and {n_out}")
    return X, y


def _digits(records: int, rng: np.random.Generator):
    """scikit-learn's 8x8 digits (one-hot targets), records drawn with
    replacement: the classification case of a ten-output core."""
    data = datasets.load("digits", seed=0)
    X = np.concatenate([data.X, data.X_val])
    Y = np.concatenate([data.y, data.y_val])
    pick = rng.integers(0, len(X), records)
    return X[pick], Y[pick]


def make_vectors(design: Design, records: int, seed: int = 0, train: bool = True,
                 dataset: str | None = None, warm_epochs: int = 0,
                 outer_points: int | None = None,
                 grid: tuple[int, ...] | None = None) -> Vectors:
    """Vectors for ``records`` records. ``warm_epochs`` first trains the
    reference on the same data so the check also covers a trained model.
    ``grid``: a model on those coarser grids (points per layer), which the
    core runs on the same tables (a multilevel schedule's coarse level);
    ``outer_points``: a two-layer model's coarser outer grid."""
    X, y = dataset_for(design, records, seed, dataset)
    if outer_points is not None:
        grid = (design.arch.points[0], outer_points)
    arch = design.arch if grid is None else Architecture(design.arch.sizes, grid)
    model = FixedKAN.initialise(arch, design.contract, X.min(0), X.max(0), y.min(0),
                                y.max(0), seed=design.seed)
    backend = FixedBackend(model)
    U, _ = model.map_inputs(X)
    Yq = model.map_targets(y)
    for _ in range(warm_epochs):
        backend.train_mapped(U, Yq, np.arange(records))
    model.counts[:] = 0
    return segment_vectors(design, model, U, Yq, train)


def segment_vectors(design: Design, model: FixedKAN, U: np.ndarray, Yq: np.ndarray,
                    train: bool) -> Vectors:
    """Vectors of one stream from ``model``'s tables (the model is left as
    the stream leaves it; its counters count this stream only)."""
    records = U.shape[0]
    backend = FixedBackend(model)
    model.counts[:] = 0
    initial = model.copy()
    stretched = np.zeros(records, np.int64)
    functions = np.zeros(0, np.int64)
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
        functions = slog[1:slog[0] + 1].copy()
    else:
        pred, resid = backend.predict_mapped(U, Yq)
    if not design.layered:    # one output: the two-layer core's scalar fields
        Yq, pred, resid = Yq[:, 0], pred[:, 0], resid[:, 0]
    return Vectors(design, initial, U, Yq, train, pred, resid, model.copy(),
                   model.counts[:nkx.C_EVENTS].copy(), stretched, functions)
