"""Compare what a simulated core produced with the fixed-point reference."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kanhw.interface.cycles import CycleModel
from kanhw.interface.geometry import Geometry

from .vectors import Vectors

COUNTERS = ("saturations", "clamps", "stretches")


@dataclass
class Mismatch:
    record: int | None   # None for tables and counters checked after the stream
    signal: str
    expected: int
    got: int

    def __str__(self) -> str:
        where = f"record {self.record}" if self.record is not None else "after the stream"
        return f"mismatch at {where}: {self.signal} expected {self.expected}, got {self.got}"


@dataclass
class Outcome:
    """Everything a simulation run produced, in reference terms."""

    pred: np.ndarray
    resid: np.ndarray
    final: object          # FixedKAN read back from the core
    counts: np.ndarray     # saturations, clamps, stretches
    records: int
    cycles: int
    stream_seconds: float = 0.0   # wall time of the record stream alone (cocotb)


def compare(vec: Vectors, out: Outcome, limit: int = 20) -> list[Mismatch]:
    """Every difference, in stream order (at most ``limit``)."""
    found: list[Mismatch] = []
    N = vec.U.shape[0]
    for r in range(N):
        for name, exp, got in (("prediction", vec.pred, out.pred),
                               ("residual", vec.resid, out.resid)):
            if exp[r] != got[r]:
                found.append(Mismatch(r, name, int(exp[r]), int(got[r])))
        if len(found) >= limit:
            return found
    a = vec.design.arch
    for kind in ("values", "lo", "hi", "rcp"):
        exp, got = getattr(vec.final, kind), getattr(out.final, kind)
        if kind != "values":  # only the outer functions carry a domain
            exp, got = exp[a.func_base[1]:], got[a.func_base[1]:]
        for idx in np.flatnonzero(exp != got)[:limit - len(found)]:
            found.append(Mismatch(None, f"{kind}[{_describe(vec, kind, int(idx))}]",
                                  int(exp[idx]), int(got[idx])))
    for k, name in enumerate(COUNTERS):
        if vec.counts[k] != out.counts[k]:
            found.append(Mismatch(None, f"counter {name}", int(vec.counts[k]),
                                  int(out.counts[k])))
    if out.records != N:
        found.append(Mismatch(None, "counter records", N, out.records))
    return found[:limit]


def _describe(vec: Vectors, kind: str, idx: int) -> str:
    a = vec.initial.arch        # the design's grids, or a coarser outer grid
    if kind != "values":
        return f"addend {idx}"
    n, P0, P1 = a.sizes[0], a.points[0], a.points[1]
    nb1 = int(a.node_base[1])
    if idx < nb1:
        k, rest = divmod(idx, n * P0)
        i, p = divmod(rest, P0)
        return f"inner addend {k} input {i} node {p}"
    k, p = divmod(idx - nb1, P1)
    return f"outer addend {k} node {p}"


def expected_cycles(vec: Vectors) -> int:
    """The cycle model's count for the whole stream, every stretch's stall
    included (exact, for any addends per block)."""
    geo = Geometry(vec.design)
    cyc = CycleModel(geo)
    return cyc.stream(vec.U.shape[0], vec.train) \
        + cyc.stream_stalls(vec.stretched, vec.stretch_addends)
