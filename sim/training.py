"""Training a generated core in simulation, epoch after epoch: the fixed-point
reference plans the run (each epoch's shuffled training stream, then the
validation set in frozen mode, until the validation Pearson reaches the
target), the simulator runs every segment back to back on one core, and
each segment is compared with the reference, bit for bit and cycle for
cycle. A multilevel schedule runs its coarse levels on the core's grid
registers (the two-layer core's ``outer_points``, the layered core's per
stage) and loads the refined tables between levels, as the host does."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from kanhw.arch import Architecture
from kanhw.design import Design
from kanhw.errors import ConfigError
from kanhw.fixed_model import FixedKAN
from kanhw.interface import geometry_of
from kanhw.interface.image import grid_of
from kanhw.metrics import pearson
from kanhw.multilevel import Level, refine_fixed

from .compare import Mismatch, Outcome, compare, expected_cycles
from .vectors import Vectors, dataset_for, segment_vectors


@dataclass
class Epoch:
    """One epoch of the plan: its training and validation segments and the
    reference's validation Pearson (the hardware's too, when it matches)."""

    index: int
    grid: tuple[int, ...]              # points per layer the epoch ran on
    train: Vectors
    validation: Vectors
    pearson: float

    @property
    def outer_points(self) -> int:
        """Points of the last layer's functions."""
        return self.grid[-1]


def plan(design: Design, records: int, val_records: int, epochs: int, seed: int = 0,
         dataset: str | None = None, target: float | None = None,
         schedule: list[Level] | None = None,
         log: Callable[[str], None] | None = None) -> list[Epoch]:
    """The reference's run: up to ``epochs`` epochs of ``records`` shuffled
    training records, each followed by ``val_records`` validation records in
    frozen mode; stops after the first epoch whose validation Pearson
    reaches ``target``. ``schedule``: multilevel levels (their epochs count
    towards ``epochs``)."""
    X, y = dataset_for(design, records + val_records, seed, dataset)
    Xv, yv = X[records:], y[records:]
    X, y = X[:records], y[:records]
    levels = schedule or [Level(tuple(design.arch.points), epochs)]
    geo = geometry_of(design)
    for lv in levels:
        try:
            grid_of(geo, Architecture(design.arch.sizes, lv.points))
        except ConfigError as e:
            raise ConfigError(f"the schedule's level {list(lv.points)} cannot run on the core: "
                              f"{e}") from None
    arch = Architecture(design.arch.sizes, levels[0].points)
    model = FixedKAN.initialise(arch, design.contract, X.min(0), X.max(0), y.min(0), y.max(0),
                                seed=design.seed)
    rng = np.random.default_rng(seed + 1)
    U, _ = model.map_inputs(X)
    Uv, _ = model.map_inputs(Xv)
    Yq, Yqv = model.map_targets(y), model.map_targets(yv)
    out: list[Epoch] = []
    for level in levels:
        if tuple(model.arch.points) != tuple(level.points):
            model = refine_fixed(model, level.points)
        for _ in range(level.epochs):
            if len(out) >= epochs:
                return out
            order = rng.permutation(records)
            tr = segment_vectors(design, model, U[order], Yq[order], train=True)
            va = segment_vectors(design, model, Uv, Yqv, train=False)
            r = float(np.mean(pearson(np.asarray(va.pred).reshape(len(Uv), -1).astype(float),
                                      yv)))
            out.append(Epoch(len(out) + 1, tuple(int(p) for p in model.arch.points), tr, va, r))
            if log:
                log(f"reference epoch {len(out)}: grid {'/'.join(map(str, out[-1].grid))}, "
                    f"validation Pearson {r:.4f}")
            if target is not None and r >= target:
                return out
    return out


@dataclass
class EpochCheck:
    """What the simulator did with one epoch."""

    epoch: Epoch
    mismatches: list[Mismatch]
    cycles: tuple[int, int]            # training stream: simulated, modelled
    validation_cycles: tuple[int, int]
    stream_seconds: float


def check(epochs: list[Epoch], outcomes: list[Outcome]) -> list[EpochCheck]:
    """Every segment's outcome against its reference (train, validation
    alternating, as :func:`segments_of` lays them out)."""
    checks = []
    for e, (tr, va) in zip(epochs, zip(outcomes[::2], outcomes[1::2])):
        mm = compare(e.train, tr) + compare(e.validation, va)
        checks.append(EpochCheck(e, mm, (tr.cycles, expected_cycles(e.train)),
                                 (va.cycles, expected_cycles(e.validation)),
                                 tr.stream_seconds + va.stream_seconds))
    return checks


def segments_of(epochs: list[Epoch]) -> list[Vectors]:
    return [v for e in epochs for v in (e.train, e.validation)]
