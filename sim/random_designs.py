"""Random designs for the generator's sweep: a seeded source of valid
designs across every knob (inputs, addends, points, lanes, addends per
block, lane stages, table RAM, tree levels per cycle, contract widths from
narrow to wide), each checked bit for bit and cycle for cycle against the
fixed-point reference on random data.

One seed names one design and its data, so a failure is replayed with
``python bench/random_designs.py --seed S --designs 1``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from kanhw.design import Design, design_from_dict
from kanhw.errors import ConfigError

from .compare import compare, expected_cycles
from .vectors import Vectors, make_vectors


def _divisors(k: int, most: int) -> list[int]:
    return [d for d in range(1, min(k, most) + 1) if k % d == 0]


def _contract(rng: np.random.Generator) -> dict:
    """Contract widths from narrow (everything saturates now and then) to
    wide; the reciprocal shift and the step are derived as for users."""
    value_bits = int(rng.integers(10, 29))
    value_frac = int(rng.integers(max(2, value_bits - 8), value_bits - 2))
    frac_bits = int(rng.integers(3, 13))
    slope_bits = int(rng.integers(6, 19))
    return {"value_bits": value_bits, "value_frac": value_frac,
            "mul_bits": int(rng.integers(8, 21)), "frac_bits": frac_bits,
            "guard_bits": int(rng.integers(0, min(frac_bits, 4) + 1)),
            "rcp_bits": int(rng.integers(8, 19)), "slope_bits": slope_bits,
            "slope_frac": int(rng.integers(max(0, slope_bits - 8), slope_bits - 1))}


def _spec(rng: np.random.Generator, shape: str) -> dict:
    if shape == "single-block":
        # one block serving every addend needs two steps per lane
        n = int(rng.integers(2, 11))
        lanes = int(rng.integers(1, n))
    else:
        n = int(rng.integers(1, 11))
        lanes = int(rng.integers(1, n + 1))
    steps = -(-n // lanes)
    if shape == "one-addend":           # K = 1: one block, one addend
        K, M = 1, 1
    else:
        K = int(rng.integers(2, 10))
        choices = _divisors(K, 16) if steps >= 2 else [1]
        # a single block serving every addend, when the lanes allow it
        M = min(K, 16) if shape == "single-block" else int(rng.choice(choices))
    spec = {"arch": {"inputs": n, "addends": K,
                     "points": [int(rng.integers(2, 10)), int(rng.integers(2, 14))]},
            "hardware": {"lanes": lanes, "addends_per_block": M,
                         "lane_stages": int(rng.choice([3, 4, 5])),
                         "table_ram": str(rng.choice(["auto", "block", "lut"])),
                         "tree_levels_per_cycle": int(rng.integers(1, 5))},
            "training": {"alpha": float(np.round(rng.uniform(0.05, 0.6), 3)),
                         "seed": int(rng.integers(0, 1000))}}
    if rng.random() < 0.7:
        spec["contract"] = _contract(rng)
    return spec


def _layered_spec(rng: np.random.Generator) -> dict:
    """A layered design: depth 2 to 4 layers, 1 to 4 outputs (a two-layer
    one-output design asks for the layered core), units per block dividing
    each hidden width or not (a stage whose last block serves fewer
    units)."""
    depth = int(rng.integers(2, 5))
    n = int(rng.integers(1, 7))
    hidden = [int(rng.integers(1, 7)) for _ in range(depth - 1)]
    outputs = int(rng.integers(1, 5))
    per_block = [int(rng.choice(_divisors(w, 16))) if rng.random() < 0.5
                 else int(rng.integers(1, w + 1)) for w in hidden]
    lanes = int(rng.integers(1, n + 1))
    if -(-n // lanes) < 2:            # a block serving several units needs two steps
        per_block[0] = 1
    spec = {"arch": {"inputs": n, "layers": [*hidden, outputs],
                     "points": [int(rng.integers(2, 8)) for _ in range(depth)]},
            "hardware": {"lanes": lanes, "units_per_block": per_block,
                         "table_ram": str(rng.choice(["auto", "block", "lut"])),
                         "tree_levels_per_cycle": int(rng.integers(1, 5)),
                         "lane_stages": int(rng.choice([3, 4, 5])),
                         "lane_update": str(rng.choice(["overlapped", "sequential"]))},
            "training": {"alpha": float(np.round(rng.uniform(0.05, 0.6), 3)),
                         "seed": int(rng.integers(0, 1000))}}
    if depth == 2 and outputs == 1:
        spec["hardware"]["core"] = "layered"
    if rng.random() < 0.5:
        spec["contract"] = _contract(rng)
    return spec


def random_layered_design(seed: int, index: int = 0) -> tuple[dict, Design]:
    """The ``index``-th layered design of sweep ``seed`` (spec, design)."""
    rng = np.random.default_rng([seed, index, 1])
    for _ in range(100):
        spec = _layered_spec(rng)
        try:
            return spec, design_from_dict(spec)
        except ConfigError:
            continue
    raise RuntimeError(f"no valid layered design in 100 draws (seed {seed}, index {index})")


#: Shapes the sweep cycles through, so that every run has each kind.
SHAPES = ("any", "single-block", "any", "one-addend")


def random_design(seed: int, index: int = 0) -> tuple[dict, Design]:
    """The ``index``-th design of sweep ``seed`` (its spec and the design).
    Draws that the contract or the initial tables reject are drawn again
    from the same stream, so the result depends on (seed, index) alone."""
    rng = np.random.default_rng([seed, index])
    shape = SHAPES[index % len(SHAPES)]
    for _ in range(100):
        spec = _spec(rng, shape)
        try:
            return spec, design_from_dict(spec)
        except ConfigError:
            continue
    raise RuntimeError(f"no valid design in 100 draws (seed {seed}, index {index})")


@dataclass
class SweepRow:
    """One design's check."""

    index: int
    spec: dict
    mode: str
    records: int
    mismatches: list = field(default_factory=list)
    cycles: int = 0
    cycles_model: int = 0
    counts: tuple[int, int, int] = (0, 0, 0)   # saturations, clamps, stretches
    seconds: float = 0.0
    cells: tuple = ()          # (manifest, Yosys) counts, when asked for

    @property
    def ok(self) -> bool:
        return not self.mismatches and self.cycles == self.cycles_model

    def describe(self) -> str:
        a, h = self.spec["arch"], self.spec["hardware"]
        c = self.spec.get("contract", {})
        if "layers" in a:
            return (f"n{a['inputs']} -> {'-'.join(map(str, a['layers']))} "
                    f"P{'/'.join(map(str, a['points']))} L{h['lanes']} "
                    f"M{'/'.join(map(str, h['units_per_block']))} S{h['lane_stages']} "
                    f"{h['lane_update']} {h['table_ram']} "
                    f"T{h['tree_levels_per_cycle']} V{c.get('value_bits', 24)}/"
                    f"{c.get('value_frac', 20)} mul{c.get('mul_bits', 18)} {self.mode}")
        return (f"n{a['inputs']} K{a['addends']} P{a['points'][0]}/{a['points'][1]} "
                f"L{h['lanes']} M{h['addends_per_block']} S{h['lane_stages']} "
                f"{h['table_ram']} T{h['tree_levels_per_cycle']} "
                f"V{c.get('value_bits', 24)}/{c.get('value_frac', 20)} "
                f"mul{c.get('mul_bits', 18)} {self.mode}")


def vectors_for(design: Design, records: int, seed: int, index: int, train: bool) -> Vectors:
    """Random data for the design: products of neighbouring inputs with a few
    records far outside the rest (they stretch outer domains while
    training and are clamped when frozen); frozen runs start from tables
    trained for an epoch."""
    return make_vectors(design, records, seed=seed * 1000 + index, train=train,
                        dataset="mixed-outliers", warm_epochs=0 if train else 1)


#: Every fifth design runs in frozen mode (the shapes repeat every four).
FROZEN_EVERY = 5


def check_design(seed: int, index: int, records: int, simulator: str = "amaranth",
                 layered: bool = False) -> SweepRow:
    """Simulate design ``index`` of sweep ``seed`` (a layered one with
    ``layered``); every :data:`FROZEN_EVERY`-th design runs in frozen mode
    after a warm-up epoch."""
    from . import runner
    spec, design = (random_layered_design if layered else random_design)(seed, index)
    train = index % FROZEN_EVERY != FROZEN_EVERY - 1
    vec = vectors_for(design, records, seed, index, train)
    t0 = time.perf_counter()
    out = runner.run(vec, simulator)
    row = SweepRow(index, spec, "train" if train else "frozen", records,
                   compare(vec, out), out.cycles, expected_cycles(vec),
                   tuple(int(x) for x in out.counts), time.perf_counter() - t0)
    return row
