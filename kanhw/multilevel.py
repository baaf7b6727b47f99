"""Multilevel grids: prolongation of piecewise-linear tables onto refined
grids (seed 002's multilevel training, for NK).

A function with ``P`` points on ``[lo, hi]`` moves to ``P'`` points on the
same domain. Refinement is nested, ``P' - 1 = m (P - 1)``: every old node
is a new node and keeps its value, and the ``m - 1`` nodes inserted in each
segment take the linear interpolation of its two ends, so the function is
the same piecewise-linear function (exactly, up to float rounding of the
interpolation weights; exactly at every old node).

Multilevel training follows a schedule of levels (points per layer and
epochs): train, prolong, train on the finer grid. The fixed-point model
keeps its contract, which must be resolved for the finest grid.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np

from . import nk_fixed as nkx
from .arch import Architecture
from .datasets import Dataset
from .errors import ConfigError
from .fixed_model import FixedBackend, FixedKAN
from .model import KAN
from .train import TrainConfig, TrainResult, fit


def refinement_factor(old: int, new: int) -> int:
    """``m`` with ``new - 1 = m (old - 1)``; an error unless the grids nest."""
    if old < 2 or new < old or (new - 1) % (old - 1):
        raise ConfigError(f"cannot refine {old} points to {new}: the new grid must nest the "
                          f"old one (new - 1 a multiple of {old - 1}, e.g. {2 * old - 1})")
    return (new - 1) // (old - 1)


def prolong_table(values: np.ndarray, new_points: int) -> np.ndarray:
    """Prolong tables ``(..., P)`` to ``(..., new_points)`` (nested grids)."""
    P = values.shape[-1]
    m = refinement_factor(P, new_points)
    if m == 1:
        return values.copy()
    v0 = values[..., :-1, None]
    v1 = values[..., 1:, None]
    w = np.arange(m) / m                      # weights of the inserted nodes
    seg = v0 + (v1 - v0) * w                  # (..., P-1, m): old node, then inserts
    out = np.empty(values.shape[:-1] + (new_points,))
    out[..., :-1] = seg.reshape(values.shape[:-1] + ((P - 1) * m,))
    out[..., -1] = values[..., -1]
    return out


def refine(model: KAN, points: list[int] | tuple[int, ...]) -> KAN:
    """A copy of ``model`` on finer grids (one point count per layer),
    computing the same function; domains and history are kept."""
    a = model.arch
    if len(points) != a.n_layers:
        raise ConfigError(f"give one point count per layer ({a.n_layers}), got {len(points)}")
    new_arch = Architecture(a.sizes, tuple(points))
    parts = [prolong_table(model.layer_values(layer), points[layer]).ravel()
             for layer in range(a.n_layers)]
    out = KAN(new_arch, np.concatenate(parts), model.lo.copy(), model.hi.copy(),
              [dict(h) for h in model.history], dict(model.info))
    return out


# -- fixed point ------------------------------------------------------------------

def prolong_table_fixed(values: np.ndarray, new_points: int) -> np.ndarray:
    """Integer prolongation: inserted node ``k`` of ``m`` in a segment takes
    ``v0 + round((v1 - v0) * k / m)`` (round half up), old nodes are kept."""
    P = values.shape[-1]
    m = refinement_factor(P, new_points)
    if m == 1:
        return values.copy()
    v0 = values[..., :-1, None].astype(np.int64)
    dv = values[..., 1:, None].astype(np.int64) - v0
    k = np.arange(m, dtype=np.int64)
    seg = v0 + np.floor_divide(2 * k * dv + m, 2 * m)
    out = np.empty(values.shape[:-1] + (new_points,), np.int64)
    out[..., :-1] = seg.reshape(values.shape[:-1] + ((P - 1) * m,))
    out[..., -1] = values[..., -1]
    return out


def refine_fixed(model: FixedKAN, points: list[int] | tuple[int, ...]) -> FixedKAN:
    """A copy of a fixed-point model on finer grids: tables prolonged, domains
    kept, reciprocals recomputed for the new point counts. The contract must
    have been resolved for the finest grid (its reciprocal shift), as the
    hardware design for that grid is."""
    a = model.arch
    if len(points) != a.n_layers:
        raise ConfigError(f"give one point count per layer ({a.n_layers}), got {len(points)}")
    new_arch = Architecture(a.sizes, tuple(points))
    nb = a.node_base
    parts = []
    for layer in range(a.n_layers):
        t = model.values[nb[layer]:nb[layer + 1]].reshape(a.sizes[layer + 1], a.sizes[layer],
                                                          a.points[layer])
        parts.append(prolong_table_fixed(t, points[layer]).ravel())
    out = model.copy()
    out.arch = new_arch
    out.values = np.concatenate(parts)
    c = model.contract.kernel_vector()
    fb = a.func_base
    for layer in range(1, a.n_layers):
        for f in range(int(fb[layer]), int(fb[layer + 1])):
            out.rcp[f] = nkx.reciprocal(out.hi[f] - out.lo[f], points[layer], c, out.counts)
    return out


# -- schedules ----------------------------------------------------------------------

@dataclass(frozen=True)
class Level:
    """Points per layer and epochs of one level of a multilevel schedule."""

    points: tuple[int, ...]
    epochs: int


def parse_schedule(text: str, n_layers: int) -> list[Level]:
    """``"5,6x3 5,11x3 5,22x6"``: levels separated by spaces or ``;``, each
    the points per layer (inner to outer) and ``x`` the epochs at that level.
    Inner and outer functions refine independently (repeat a count to keep
    it); every level must nest the previous one."""
    levels = []
    for item in text.replace(";", " ").split():
        pts, _, ep = item.partition("x")
        try:
            points = tuple(int(p) for p in pts.split(","))
            epochs = int(ep) if ep else 1
        except ValueError:
            raise ConfigError(f"bad multilevel schedule item {item!r}; expected e.g. "
                              "5,11x3 (points per layer, x epochs)") from None
        if len(points) != n_layers:
            raise ConfigError(f"schedule level {item!r} gives {len(points)} point counts; "
                              f"the network has {n_layers} layers")
        if epochs < 1:
            raise ConfigError(f"schedule level {item!r}: epochs must be at least 1")
        if levels:
            for old, new in zip(levels[-1].points, points):
                refinement_factor(old, new)
        elif min(points) < 2:
            raise ConfigError("every function needs at least 2 points")
        levels.append(Level(points, epochs))
    if not levels:
        raise ConfigError("empty multilevel schedule")
    return levels


def fit_multilevel(model: KAN | FixedKAN, data: Dataset, cfg: TrainConfig,
                   schedule: list[Level], progress=None, workers: int = 1,
                   batch: int | None = None, client=None
                   ) -> tuple[KAN | FixedKAN, TrainResult]:
    """Train level by level, refining the grids between levels; ``model``
    must have the first level's points. With ``workers`` > 1 (or a Dask
    ``client``) each level trains by merge rounds of ``batch`` records per
    copy, as many as its epochs' records. Returns the final (finest) model
    and one result over all levels (history entries carry their level)."""
    from .merge import MergeConfig, fit_merged
    if tuple(model.arch.points) != schedule[0].points:
        raise ConfigError(f"the model's points {list(model.arch.points)} differ from the "
                          f"schedule's first level {list(schedule[0].points)}")
    if cfg.anneal > schedule[-1].epochs:
        raise ConfigError(f"anneal ({cfg.anneal} epochs) exceeds the last level's "
                          f"{schedule[-1].epochs} epochs")
    t0 = time.perf_counter()
    history: list[dict] = []
    totals = {"records": 0, "train_seconds": 0.0, "jit_seconds": 0.0, "stretches": 0,
              "epochs": 0}
    result = None
    for i, level in enumerate(schedule):
        if i:
            model = (refine_fixed(model, level.points) if isinstance(model, FixedKAN)
                     else refine(model, level.points))
        if workers > 1 or client is not None:
            n = data.X.shape[0]
            merge = MergeConfig.for_epochs(workers, n, level.epochs, batch)
            # validate once per pass over the data, or every cfg.validate_every
            # records (and at the level's end)
            every = cfg.validate_every or n
            merge.validate_every = max(1, round(every / (merge.workers * merge.batch)))
            result = fit_merged(model, data, cfg, merge, client=client)
            new = result.history
        else:
            backend = FixedBackend(model, cfg) if isinstance(model, FixedKAN) else None
            before = len(model.history)
            # the anneal ends the run: it belongs to the finest level only
            last = i == len(schedule) - 1
            result = fit(model, data, replace(cfg, epochs=level.epochs,
                                              anneal=cfg.anneal if last else 0),
                         backend=backend, progress=progress)
            new = result.history[before:]
        for h in new:
            h["level"] = i + 1
            h["points"] = list(level.points)
        history.extend(new)
        totals["records"] += result.records
        totals["train_seconds"] += result.train_seconds
        totals["jit_seconds"] += result.jit_seconds
        totals["stretches"] += result.stretches
        totals["epochs"] += result.epochs
        if result.reached_target:
            break
    seconds = time.perf_counter() - t0
    out = replace(result, epochs=totals["epochs"], records=totals["records"],
                  seconds=round(seconds, 4), train_seconds=round(totals["train_seconds"], 4),
                  jit_seconds=round(totals["jit_seconds"], 4), stretches=totals["stretches"],
                  records_per_s=round(totals["records"] / totals["train_seconds"], 1)
                  if totals["train_seconds"] > 0 else 0.0, history=history)
    return model, out
