"""Pretraining of addend groups (seed 003, section 6.1).

The addends of a two-layer KAN are split at random into groups (pairs by
default). Each group, alone, is a small KAN; it is trained by NK on the
whole dataset to predict its equal share of the target (``g / K`` of it),
all groups concurrently in worker processes. The trained groups are put
back together: their sum predicts the whole target, a strong start for the
main training.
"""

from __future__ import annotations

import time

import numpy as np

from .arch import Architecture
from .datasets import Dataset
from .errors import ConfigError
from .model import KAN
from .train import FloatBackend, TrainConfig
from .workers import WorkerPool

_WORKER: dict = {}


def _split(model: KAN, group: np.ndarray) -> KAN:
    """The sub-KAN of the addends in ``group`` (tables copied)."""
    a = model.arch
    sub = Architecture((a.sizes[0], group.size, a.sizes[2]), a.points)
    lo0, hi0 = model.layer_domain(0)
    lo1, hi1 = model.layer_domain(1)
    values = np.concatenate([model.layer_values(0)[group].ravel(),
                             model.layer_values(1)[:, group].ravel()])
    lo = np.concatenate([lo0[group].ravel(), lo1[:, group].ravel()])
    hi = np.concatenate([hi0[group].ravel(), hi1[:, group].ravel()])
    return KAN(sub, values, lo, hi)


def _join(model: KAN, group: np.ndarray, sub: KAN) -> None:
    model.layer_values(0)[group] = sub.layer_values(0)
    model.layer_values(1)[:, group] = sub.layer_values(1)
    for layer, idx in ((0, (group,)), (1, (slice(None), group))):
        lo, hi = model.layer_domain(layer)
        s_lo, s_hi = sub.layer_domain(layer)
        lo[idx] = s_lo
        hi[idx] = s_hi


def _init(model: KAN, X: np.ndarray, Y: np.ndarray, cfg: TrainConfig, share: float) -> None:
    _WORKER.update(model=model, X=X, Y=Y, cfg=cfg, share=share)


def _train_group(group: np.ndarray) -> tuple[np.ndarray, KAN, int]:
    model, X, cfg = _WORKER["model"], _WORKER["X"], _WORKER["cfg"]
    sub = _split(model, group)
    Y = _WORKER["Y"] * _WORKER["share"]
    backend = FloatBackend(sub, cfg)
    rng = np.random.default_rng(np.random.SeedSequence([cfg.seed, int(group[0])]))
    resid = np.empty((X.shape[0], Y.shape[1]))
    stretches = 0
    for _ in range(cfg.epochs):
        stretches += backend.train(X, Y, rng.permutation(X.shape[0]), resid)
    return group, sub, stretches


def pretrain(model: KAN, data: Dataset, alpha: float, epochs: int = 1, group: int = 2,
             workers: int = 2, seed: int = 0) -> dict:
    """Pretrain ``model`` (in place) group by group; returns timing figures."""
    a = model.arch
    if a.n_layers != 2:
        raise ConfigError("pretraining splits the addends of a two-layer KAN "
                          f"(inputs -> addends -> outputs); got {a.n_layers} layers")
    if not 1 <= group <= a.addends:
        raise ConfigError(f"pretraining group size must lie in 1..{a.addends}, got {group}")
    if epochs < 1 or workers < 1:
        raise ConfigError("pretraining epochs and workers must be at least 1")
    t0 = time.perf_counter()
    rng = np.random.default_rng(np.random.SeedSequence([seed, 7]))
    perm = rng.permutation(a.addends)
    groups = [perm[i:i + group] for i in range(0, a.addends, group)]
    # the main training's step mu = alpha / K, on the group's equal share
    share = group / a.addends
    cfg = TrainConfig(alpha=alpha * share, epochs=epochs, seed=seed)
    X, Y = data.X, data.y
    if workers > 1:
        with WorkerPool(workers, _init, (model, X, Y, cfg, share)) as pool:
            out = pool.map(_train_group, groups)
    else:
        _init(model, X, Y, cfg, share)
        out = [_train_group(g) for g in groups]
    stretches = 0
    for g, sub, s in out:
        _join(model, g, sub)
        stretches += s
    return {"groups": len(groups), "group_size": group, "epochs": epochs,
            "records": epochs * X.shape[0] * len(groups), "stretches": stretches,
            "seconds": round(time.perf_counter() - t0, 4)}
