"""Epoch driver shared by the float and fixed-point trainers.

The driver owns what is common to every backend: seeded shuffling, slicing
each epoch into chunks (so long epochs show progress), validation in frozen
mode after each epoch, early stop at a target Pearson, the training history
and the timing figures. A backend owns the arithmetic: it trains a chunk of
records in compiled code and predicts in frozen mode.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from . import metrics
from . import nk_float as nk
from .arch import layout
from .datasets import Dataset
from .errors import ConfigError, TrainingDiverged
from .model import KAN, writable

STEP_RULES = {"constant": nk.RULE_CONSTANT, "kaczmarz": nk.RULE_KACZMARZ}
#: A residual this many times the training-target span means the run diverged.
DIVERGENCE_FACTOR = 1e6
#: Longest anneal: the fixed-point step shift grows by one per halving and
#: must stay within the contract's range.
MAX_HALVINGS = 24


@dataclass
class TrainConfig:
    """Hyper-parameters of NK training."""

    alpha: float = 0.2
    step: str = "constant"
    epochs: int = 15
    target_pearson: float | None = None
    seed: int = 0
    shuffle: bool = True
    chunk: int = 20_000
    #: Also validate after every this many records within an epoch (so a
    #: target is noticed without finishing the pass); None: once per epoch.
    validate_every: int | None = None
    #: The last ``anneal`` epochs halve the step each epoch (the k-th of them
    #: trains with step / 2^k): small, steady steps to end on, so the last
    #: updates stop scattering the tables around the optimum. 0: constant step.
    anneal: int = 0

    def __post_init__(self) -> None:
        if self.step not in STEP_RULES:
            raise ConfigError(f"unknown step rule {self.step!r}; use constant or kaczmarz")
        if not (np.isfinite(self.alpha) and self.alpha > 0):
            raise ConfigError(f"alpha must be a positive number, got {self.alpha}")
        if self.epochs < 1:
            raise ConfigError(f"epochs must be at least 1, got {self.epochs}")
        if self.target_pearson is not None and not -1.0 <= self.target_pearson <= 1.0:
            raise ConfigError(f"target Pearson must lie in [-1, 1], got {self.target_pearson}")
        if self.chunk < 1:
            raise ConfigError("chunk must be at least 1 record")
        if self.validate_every is not None and self.validate_every < 1:
            raise ConfigError("validate_every must be at least 1 record")
        if not 0 <= self.anneal <= MAX_HALVINGS:
            raise ConfigError(f"anneal must lie in 0..{MAX_HALVINGS} epochs, got {self.anneal}")

    def halvings(self, epoch: int) -> int:
        """How many times the step is halved in ``epoch`` (1-based) of this run."""
        return max(0, epoch - (self.epochs - self.anneal))


class Backend(Protocol):
    """Arithmetic of one trainer (float64 or fixed point)."""

    def compile(self, step: Callable[[str], None] | None = None) -> None:
        """Compile (or load from numba's cache) every kernel; ``step`` is
        called with each kernel's name as it is done."""
    def train(self, X: np.ndarray, Y: np.ndarray, order: np.ndarray,
              resid: np.ndarray) -> int: ...
    def predict(self, X: np.ndarray) -> np.ndarray: ...
    def frozen(self, snap) -> Callable[[np.ndarray], np.ndarray]:
        """Frozen prediction on ``snap``, a copy of the model's tables, for
        validation in a background thread while training goes on."""
    def halve_step(self, k: int) -> None:
        """Train with the configured step divided by ``2^k`` from now on."""


def restore(model, snap) -> None:
    """Copy a snapshot's tables (and counters) back into ``model``."""
    for name in ("values", "lo", "hi", "rcp", "counts"):
        if hasattr(model, name):
            getattr(model, name)[...] = getattr(snap, name)


class Progress(Protocol):
    def start_epoch(self, epoch: int, epochs: int, records: int) -> None: ...
    def advance(self, records: int) -> None: ...
    def end_epoch(self, entry: dict) -> None: ...


class FloatBackend:
    """float64 NK on the model's own arrays (updated in place)."""

    def __init__(self, model: KAN, cfg: TrainConfig) -> None:
        a = model.arch
        self.model = model
        self.rule = STEP_RULES[cfg.step]
        self.base_alpha = float(cfg.alpha)
        self.alpha = float(cfg.alpha)
        self.mu = float(cfg.alpha) / a.addends
        self.geometry = layout(a)
        self.scale = np.empty(a.n_functions)

    def compile(self, step: Callable[[str], None] | None = None) -> None:
        step = step or (lambda name: None)
        tiny = KAN.initialise(self.model.arch, np.zeros(self.model.arch.n_in),
                              np.ones(self.model.arch.n_in), np.zeros(self.model.arch.n_out),
                              np.ones(self.model.arch.n_out))
        X = np.zeros((1, tiny.arch.n_in))
        Y = np.zeros((1, tiny.arch.n_out))
        scale = np.empty(tiny.arch.n_functions)
        g = self.geometry
        nk.refresh_scale(tiny.lo, tiny.hi, g[2], g[1], scale)
        step("refresh_scale")
        nk.train_records(X, Y, np.zeros(1, np.int64), *g, tiny.values, tiny.lo, tiny.hi, scale,
                         self.rule, self.alpha, self.mu, np.empty((1, tiny.arch.n_out)), True)
        step("train_records")
        nk.predict_records(X, *g, tiny.values, tiny.lo, tiny.hi, scale, np.empty(Y.shape), True)
        step("predict_records")

    #: Kernels :meth:`compile` goes through (for progress).
    KERNELS = 3

    def train(self, X: np.ndarray, Y: np.ndarray, order: np.ndarray, resid: np.ndarray) -> int:
        m, g = self.model, self.geometry
        nk.refresh_scale(m.lo, m.hi, g[2], g[1], self.scale)
        stretches, bad = nk.train_records(X, Y, order, *g, m.values, m.lo, m.hi, self.scale,
                                          self.rule, self.alpha, self.mu, resid,
                                          nk.shared_first(m.lo, m.hi, g[0]))
        if bad >= 0:
            raise TrainingDiverged(f"training diverged (non-finite prediction at record "
                                   f"{int(order[bad])}); lower --alpha")
        return int(stretches)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return predict(self.model, X)

    def frozen(self, snap: KAN) -> Callable[[np.ndarray], np.ndarray]:
        return lambda X: predict(snap, X)

    def halve_step(self, k: int) -> None:
        """Train with the configured step divided by ``2^k`` from now on (both
        rules: the constant mu and the Kaczmarz alpha)."""
        self.alpha = self.base_alpha / 2.0 ** k
        self.mu = self.alpha / self.model.arch.addends


def predict(model: KAN, X: np.ndarray) -> np.ndarray:
    """Frozen-mode float prediction (arguments clamped to the domains)."""
    X = writable(np.ascontiguousarray(X, dtype=np.float64))
    model.own_tables()
    g = layout(model.arch)
    scale = np.empty(model.arch.n_functions)
    nk.refresh_scale(model.lo, model.hi, g[2], g[1], scale)
    out = np.empty((X.shape[0], model.arch.n_out))
    nk.predict_records(X, *g, model.values, model.lo, model.hi, scale, out,
                       nk.shared_first(model.lo, model.hi, g[0]))
    return out


@dataclass
class TrainResult:
    """Summary of one training run (what ``kanhw train --json`` prints)."""

    validation_pearson: list[float]
    validation_rmse: list[float]
    validation_relative_rmse: list[float]
    epochs: int
    records: int
    seconds: float
    train_seconds: float
    jit_seconds: float
    records_per_s: float
    stretches: int
    reached_target: bool | None
    history: list[dict] = field(default_factory=list)
    validation_accuracy: float | None = None

    def to_dict(self) -> dict:
        d = {k: v for k, v in self.__dict__.items() if k != "history"}
        if d["validation_accuracy"] is None:
            del d["validation_accuracy"]
        return d


def fit(model: KAN, data: Dataset, cfg: TrainConfig, backend: Backend | None = None,
        progress: Progress | None = None,
        compile_step: Callable[[str], None] | None = None) -> TrainResult:
    """Train ``model`` in place on ``data`` and validate after every epoch
    (and every ``cfg.validate_every`` records, on a snapshot in a second
    thread). ``compile_step`` follows the kernels' compilation."""
    if data.X.shape[1] != model.arch.n_in or data.y.shape[1] != model.arch.n_out:
        raise ConfigError(f"dataset {data.name} has {data.X.shape[1]} inputs and "
                          f"{data.y.shape[1]} outputs; the model has {model.arch.n_in} and "
                          f"{model.arch.n_out}")
    if cfg.anneal > cfg.epochs:
        raise ConfigError(f"anneal ({cfg.anneal} epochs) exceeds the run's {cfg.epochs} epochs")
    t0 = time.perf_counter()
    backend = backend or FloatBackend(model, cfg)
    backend.compile(compile_step)
    jit_seconds = time.perf_counter() - t0
    rng = np.random.default_rng(np.random.SeedSequence(cfg.seed).spawn(2)[1])
    n = data.X.shape[0]
    resid = np.empty((min(n, cfg.chunk), model.arch.n_out))
    done_records = model.history[-1]["records"] if model.history else 0
    span = float((data.y.max(axis=0) - data.y.min(axis=0)).max())
    limit = DIVERGENCE_FACTOR * (span if span > 0 else 1.0)
    train_seconds = 0.0
    stretches = 0
    reached = None
    epoch_entry: dict = {}
    step = min(cfg.chunk, cfg.validate_every or cfg.chunk)
    records = 0

    prior_epochs = max((int(h.get("epoch", 0)) for h in model.history), default=0)

    def record(m: dict, pred: np.ndarray | None, at: int, sq_res: np.ndarray, seen: int,
               st: int) -> tuple[dict, bool | None]:
        # mid-epoch checks carry the epoch they fall in; "records" tells them apart
        entry = {
            "epoch": prior_epochs + epoch,
            "records": done_records + at,
            "seconds": round(time.perf_counter() - t0, 4),
            "train_rmse": [float(v) for v in np.sqrt(sq_res / max(seen, 1))],
            "validation_pearson": m["pearson"],
            "validation_rmse": m["rmse"],
            "validation_relative_rmse": m["relative_rmse"],
            "stretches": st,
        }
        if cfg.anneal:
            entry["step_halvings"] = cfg.halvings(epoch)
        if data.classes and pred is not None:
            entry["validation_accuracy"] = metrics.accuracy(pred, data.y_val)
        model.history.append(entry)
        hit = None
        if cfg.target_pearson is not None and m["pearson"]:
            hit = min(m["pearson"]) >= cfg.target_pearson
        return entry, hit

    def validate(sq_res: np.ndarray, seen: int) -> tuple[dict, bool | None]:
        if data.X_val.shape[0]:
            pred = backend.predict(data.X_val)
            m = metrics.summary(pred, data.y_val)
        else:
            pred, m = None, {"pearson": [], "rmse": [], "relative_rmse": []}
        return record(m, pred, records, sq_res, seen, stretches)

    # Mid-epoch validations run in a second thread on a snapshot of the
    # tables while training goes on (the kernels release the GIL): the
    # check costs the trainer nothing. When a snapshot reaches the target,
    # the model goes back to it and the records after it do not count.
    checker = ThreadPoolExecutor(1) if (cfg.validate_every and data.X_val.shape[0]) else None
    pending: tuple | None = None

    def settle(wait: bool) -> tuple[dict, bool] | None:
        nonlocal pending, records, stretches
        if pending is None or not (wait or pending[0].done()):
            return None
        fut, snap, at, sq, seen, st = pending
        pending = None
        pred = fut.result()
        entry, hit = record(metrics.summary(pred, data.y_val), pred, at, sq, seen, st)
        if hit:
            restore(model, snap)
            records, stretches = at, st
        return entry, bool(hit)

    try:
        for epoch in range(1, cfg.epochs + 1):
            if cfg.anneal:
                backend.halve_step(cfg.halvings(epoch))
            order = rng.permutation(n) if cfg.shuffle else np.arange(n)
            sq_res = np.zeros(model.arch.n_out)
            if progress:
                progress.start_epoch(epoch, cfg.epochs, n)
            since = 0
            for s in range(0, n, step):
                part = order[s:s + step]
                r = resid[:part.size]
                t = time.perf_counter()
                stretches += backend.train(data.X, data.y, part, r)
                train_seconds += time.perf_counter() - t
                worst = float(np.abs(r).max())
                if not worst <= limit:
                    raise TrainingDiverged(f"training diverged in epoch {epoch} (residual "
                                           f"{worst:.3g} against a target span of "
                                           f"{span:.3g}); lower --alpha")
                sq_res += (r * r).sum(axis=0)
                records += part.size
                since += part.size
                if progress:
                    progress.advance(part.size)
                done = settle(wait=False)
                if done:
                    epoch_entry, reached = done
                    if reached:
                        break
                if checker and since >= cfg.validate_every and s + step < n \
                        and pending is None:
                    since = 0
                    snap = model.copy()
                    fut: Future = checker.submit(backend.frozen(snap), data.X_val)
                    pending = (fut, snap, records, sq_res.copy(), s + part.size, stretches)
            if not reached:
                done = settle(wait=True)
                if done:
                    epoch_entry, reached = done
            if reached:
                if progress:
                    progress.end_epoch(epoch_entry)
                break
            epoch_entry, reached = validate(sq_res, n)
            if progress:
                progress.end_epoch(epoch_entry)
            if reached:
                break
    finally:
        if checker:
            checker.shutdown(wait=True)
    seconds = time.perf_counter() - t0
    return TrainResult(
        validation_pearson=epoch_entry["validation_pearson"],
        validation_rmse=epoch_entry["validation_rmse"],
        validation_relative_rmse=epoch_entry["validation_relative_rmse"],
        epochs=epoch,
        records=records,
        seconds=round(seconds, 4),
        train_seconds=round(train_seconds, 4),
        jit_seconds=round(jit_seconds, 4),
        records_per_s=round(records / train_seconds, 1) if train_seconds > 0 else 0.0,
        stretches=stretches,
        reached_target=reached,
        history=list(model.history),
        validation_accuracy=epoch_entry.get("validation_accuracy"),
    )
