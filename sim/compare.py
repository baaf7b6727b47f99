"""Compare what a simulated core produced with the fixed-point reference."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kanhw.interface.cycles import CycleModel
from kanhw.interface.geometry import Geometry
from kanhw.interface.layered import LayeredGeometry

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
    for name, exp, got in (("prediction", vec.pred, out.pred),
                           ("residual", vec.resid, out.resid)):
        exp = np.asarray(exp).reshape(N, -1)
        got = np.asarray(got).reshape(N, -1)
        for r, k in zip(*np.nonzero(exp != got)):
            label = name if exp.shape[1] == 1 else f"{name} {k}"
            found.append(Mismatch(int(r), label, int(exp[r, k]), int(got[r, k])))
    found.sort(key=lambda mm: mm.record)
    if len(found) >= limit:
        return found[:limit]
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
    if a.n_layers > 2 or a.n_out > 1:
        fb, nb = a.func_base, a.node_base
        if kind != "values":
            F = idx + int(fb[1])
            layer = int(np.searchsorted(fb, F, side="right")) - 1
            return f"layer {layer} function {F - int(fb[layer])}"
        layer = int(np.searchsorted(nb, idx, side="right")) - 1
        F, node = divmod(idx - int(nb[layer]), a.points[layer])
        o, i = divmod(F, a.sizes[layer])
        return f"layer {layer} function ({o}, {i}) node {node}"
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
    included (exact, for any addends per block, and for layered cores)."""
    if vec.design.layered:
        from kanhw.interface.layered_cycles import LayeredCycleModel
        return LayeredCycleModel(LayeredGeometry(vec.design)).stream(
            vec.U.shape[0], vec.train, vec.stretched, vec.stretch_functions)
    geo = Geometry(vec.design)
    cyc = CycleModel(geo)
    return cyc.stream(vec.U.shape[0], vec.train) \
        + cyc.stream_stalls(vec.stretched, vec.stretch_addends)
