"""Disjoint-dataset training with model averaging (seed 003, sections 3-5).

Copies of one model train in parallel worker processes, each on its own
batch of records; after each round every parameter (node values and domains
alike) is averaged and all copies restart from the average. With one worker
this is plain sequential NK over the same record order, bit for bit.

Workers are forked processes that inherit the data, so a round ships only
the tables (a det4 model is 6.5k numbers) and the record indices. Works for
the float64 and the bit-exact fixed-point models.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass

import numpy as np

from . import metrics
from . import nk_fixed as nkx
from .datasets import Dataset
from .errors import ConfigError
from .fixed_model import FixedBackend, FixedKAN
from .model import KAN
from .train import FloatBackend, TrainConfig, TrainResult
from .workers import WorkerPool

_WORKER: dict = {}   # per worker process: the model template and the data


@dataclass
class MergeConfig:
    """``workers`` copies, ``rounds`` merges, ``batch`` records per copy and
    round; validation after every ``validate_every`` rounds and the last.
    ``round_timeout``: seconds after which a round of worker processes counts
    as hung (default: :class:`~kanhw.workers.WorkerPool`'s)."""

    workers: int = 2
    rounds: int = 10
    batch: int = 10_000
    validate_every: int = 1
    round_timeout: float | None = None

    @classmethod
    def for_epochs(cls, workers: int, n: int, epochs: int, batch: int | None = None,
                   rounds: int | None = None, validate_every: int = 1) -> MergeConfig:
        """Defaults from a record count: batches of at most 10,000 records, and
        as many rounds as ``epochs`` passes over ``n`` records take."""
        workers = max(1, workers)
        if batch is not None and batch > n:
            raise ConfigError(f"--batch {batch:,} is more than the {n:,} training records; "
                              f"give at most {n:,}")
        batch = batch or min(10_000, max(1, n // workers))
        rounds = rounds or max(1, round(epochs * n / (workers * batch)))
        return cls(workers, rounds, batch, validate_every)

    def __post_init__(self) -> None:
        for name in ("workers", "rounds", "batch", "validate_every"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")


def _arrays(model: KAN | FixedKAN) -> list[np.ndarray]:
    if isinstance(model, FixedKAN):
        return [model.values, model.lo, model.hi, model.rcp]
    return [model.values, model.lo, model.hi]


def _backend(model, cfg: TrainConfig):
    return FixedBackend(model, cfg) if isinstance(model, FixedKAN) else FloatBackend(model, cfg)


def _init_worker(model, X, Y, cfg) -> None:
    _WORKER.update(model=model, X=X, Y=Y, cfg=cfg)


def _train_tables(model, tables: list[np.ndarray], part: np.ndarray, X: np.ndarray,
                  Y: np.ndarray, cfg: TrainConfig
                  ) -> tuple[list[np.ndarray], int, np.ndarray | None]:
    """One copy's round: restart ``model`` from ``tables``, train it on
    records ``part``; returns its tables, stretches and (fixed point) the
    counters the round added. A Dask task calls it directly (model template
    and scattered data travel with the task)."""
    for dst, src in zip(_arrays(model), tables):
        dst[:] = src
    resid = np.empty((part.size, Y.shape[1]))
    before = model.counts.copy() if isinstance(model, FixedKAN) else None
    stretches = _backend(model, cfg).train(X, Y, part, resid)
    counts = None if before is None else model.counts - before
    return [a.copy() for a in _arrays(model)], stretches, counts


def _train_copy(job: tuple[list[np.ndarray], np.ndarray]
                ) -> tuple[list[np.ndarray], int, np.ndarray | None]:
    """A process-pool worker's round on the data it inherited."""
    tables, part = job
    w = _WORKER
    return _train_tables(w["model"], tables, part, w["X"], w["Y"], w["cfg"])


def average(model: KAN | FixedKAN, copies: list[list[np.ndarray]]) -> None:
    """Set ``model``'s tables to the mean of ``copies`` (fixed point: integer
    mean rounded half up, and each reciprocal recomputed from the averaged
    domain, as the device would)."""
    W = len(copies)
    if isinstance(model, FixedKAN):
        for i, dst in enumerate(_arrays(model)[:3]):
            total = np.sum([c[i] for c in copies], axis=0)
            dst[:] = np.floor_divide(2 * total + W, 2 * W)
        c = model.contract.kernel_vector()
        a = model.arch
        for layer in range(1, a.n_layers):
            P = a.points[layer]
            for f in range(int(a.func_base[layer]), int(a.func_base[layer + 1])):
                model.rcp[f] = nkx.reciprocal(model.hi[f] - model.lo[f], P, c, model.counts)
    else:
        for i, dst in enumerate(_arrays(model)):
            dst[:] = np.mean([c[i] for c in copies], axis=0)


def fit_merged(model: KAN | FixedKAN, data: Dataset, cfg: TrainConfig, merge: MergeConfig,
               progress=None, client=None) -> TrainResult:
    """Train ``model`` in place by merge rounds; validates after every
    ``merge.validate_every`` rounds. With a ``dask.distributed`` ``client``
    the copies train on the cluster's workers instead of local processes."""
    if merge.batch > data.X.shape[0]:
        raise ConfigError(f"a batch of {merge.batch:,} records is more than the "
                          f"{data.X.shape[0]:,} training records")

    def log(msg: str) -> None:
        print(f"kanhw: {msg}", file=sys.stderr, flush=True)

    if cfg.anneal:
        raise ConfigError("anneal works with sequential training; drop --workers/--rounds/"
                          "--batch/--scheduler")
    t0 = time.perf_counter()
    X, Y = data.X, data.y
    backend = _backend(model, cfg)
    backend.compile()
    jit_seconds = time.perf_counter() - t0
    rng = np.random.default_rng(np.random.SeedSequence(cfg.seed).spawn(2)[1])
    n = X.shape[0]
    order, pos = rng.permutation(n), 0
    per_round = merge.workers * merge.batch
    pool = None
    remote = None
    if client is not None:
        X_f, Y_f = client.scatter([X, Y], broadcast=True)
        template = model.copy()
        remote = (template, X_f, Y_f)
    elif merge.workers > 1:
        pool = WorkerPool(merge.workers, _init_worker, (model.copy(), X, Y, cfg),
                          round_timeout=merge.round_timeout, log=log)
    else:
        _init_worker(model.copy(), X, Y, cfg)
    history, stretches, records, reached = [], 0, 0, None
    train_seconds = 0.0
    try:
        for rnd in range(1, merge.rounds + 1):
            parts = []
            for _ in range(merge.workers):
                if pos + merge.batch > n:       # a new pass over the data
                    order, pos = rng.permutation(n), 0
                parts.append(order[pos:pos + merge.batch])
                pos += merge.batch
            tables = [a.copy() for a in _arrays(model)]
            t = time.perf_counter()
            jobs = [(tables, p) for p in parts]
            if remote:
                futures = [client.submit(_train_tables, remote[0], tables, p, remote[1],
                                         remote[2], cfg, pure=False) for p in parts]
                out = client.gather(futures)
            elif pool:
                out = pool.map(_train_copy, jobs)
            else:
                out = [_train_copy(j) for j in jobs]
            average(model, [o[0] for o in out])
            train_seconds += time.perf_counter() - t
            stretches += sum(o[1] for o in out)
            for o in out:       # the copies' counters add up in the merged model
                if o[2] is not None:
                    model.counts += o[2]
            records += per_round
            if rnd % merge.validate_every and rnd != merge.rounds:
                continue
            m = metrics.summary(backend.predict(data.X_val), data.y_val) \
                if data.X_val.shape[0] else {"pearson": [], "rmse": [], "relative_rmse": []}
            entry = {"round": rnd, "records": records, "train_seconds": round(train_seconds, 4),
                     "seconds": round(time.perf_counter() - t0, 4),
                     "validation_pearson": m["pearson"], "validation_rmse": m["rmse"],
                     "validation_relative_rmse": m["relative_rmse"], "stretches": stretches}
            history.append(entry)
            model.history.append(entry)
            if progress:
                progress(entry)
            if cfg.target_pearson is not None and m["pearson"]:
                reached = min(m["pearson"]) >= cfg.target_pearson
                if reached:
                    break
    finally:
        if pool:
            pool.close()
    last = history[-1]
    seconds = time.perf_counter() - t0
    return TrainResult(
        validation_pearson=last["validation_pearson"], validation_rmse=last["validation_rmse"],
        validation_relative_rmse=last["validation_relative_rmse"],
        epochs=-(-records // n), records=records, seconds=round(seconds, 4),
        train_seconds=round(train_seconds, 4), jit_seconds=round(jit_seconds, 4),
        records_per_s=round(records / train_seconds, 1) if train_seconds > 0 else 0.0,
        stretches=stretches, reached_target=reached, history=history)
