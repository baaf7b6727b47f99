"""A simulation job: one or more stream segments run back to back on one
core, each with the control words that (re)load its tables, set its mode and
clear the counters, its records, and the words read back after it; and what
came back, in reference terms (:class:`~.compare.Outcome`, one per segment).
Every simulator back end runs the same job through the same harness
(:mod:`.harness`).

A segment continues from the tables the previous one left in the core
unless its initial model differs from them (a multilevel schedule's
refinement): then its tables are loaded again first."""

from __future__ import annotations

import numpy as np

from kanhw.interface.geometry import GLOBAL_REGS, Geometry
from kanhw.interface.image import (
    grid_of,
    grid_writes,
    table_addresses,
    table_writes,
    tables_from_words,
)

from .compare import COUNTERS, Outcome, expected_cycles
from .vectors import Vectors

#: Global registers read back after the tables, in this order.
AFTER = ("records", *COUNTERS, "cycles")

#: Record-ring entries of the cocotb harness: a stream of any length runs on
#: one build; half the ring is refilled while the core plays the other half.
RING = 1024


def _same_tables(a, b) -> bool:
    return a.arch == b.arch and all(np.array_equal(getattr(a, k), getattr(b, k))
                                    for k in ("values", "lo", "hi", "rcp"))


def make_job(vecs: Vectors | list[Vectors], geo: Geometry) -> dict:
    """The job of one segment or of several run back to back: per segment a
    table load (the first segment's, and any whose tables are not the last
    one's final tables), the mode and cleared counters, the records, and the
    table and counter addresses read after it."""
    vecs = [vecs] if isinstance(vecs, Vectors) else list(vecs)
    g = GLOBAL_REGS
    load_a, load_d, load_n, read_a, read_n = [], [], [], [], []
    for s, vec in enumerate(vecs):
        if s == 0 or not _same_tables(vec.initial, vecs[s - 1].final):
            la, ld = table_writes(geo, vec.initial)
        else:
            la = ld = np.zeros(0, np.int64)
        load_a.append(la)
        load_d.append(ld)
        load_n.append(len(la))
        grid = grid_of(geo, vec.initial.arch)
        ra = [a for a, _, _ in table_addresses(geo, grid)] + [g[n] for n in AFTER]
        read_a.append(ra)
        read_n.append(len(ra))
    n_out = geo.n_out if vecs[0].design.layered else 1
    return {
        "U": np.concatenate([v.U for v in vecs]),
        "Y": np.concatenate([np.asarray(v.Yq).reshape(len(v.U), -1) for v in vecs]),
        "seg_records": np.array([len(v.U) for v in vecs], np.int64),
        # the model's cycles per record: how long the bench lets a ring half run
        "seg_cycles": np.array([max(1, expected_cycles(v) // max(1, len(v.U))) for v in vecs],
                               np.int64),
        "coord_width": geo.coord_width, "value_bits": vecs[0].design.contract.value_bits,
        "addr_width": geo.addr_width, "n_out": n_out,
        "load_addr": np.concatenate(load_a).astype(np.int64),
        "load_data": np.concatenate(load_d).astype(np.int64),
        "load_count": np.array(load_n, np.int64),
        # before each segment: the mode, and every counter cleared
        "setup_addr": np.array([g["mode"]] + [g[n] for n in AFTER], np.int64),
        "setup_data": np.array([[int(v.train)] + [0] * len(AFTER) for v in vecs], np.int64),
        "read_addr": np.concatenate([np.asarray(r, np.int64) for r in read_a]),
        "read_count": np.array(read_n, np.int64),
    }


def ctrl_capacity(geo: Geometry) -> int:
    """Control-RAM entries any job on the design needs at most: every table
    word and the grid registers (a load), or every table word and the
    counters (a read-back). Fixed per design, so one build serves every
    job."""
    grid = tuple(geo.design.arch.points)
    return len(table_addresses(geo)) + max(len(grid_writes(geo, grid)[0]), len(AFTER))


def segments(job: dict):
    """Per segment: (slice of records, load slice, setup data, read slice)."""
    r = l = q = 0
    for s, (nr, nl, nq) in enumerate(zip(job["seg_records"].tolist(),
                                         job["load_count"].tolist(),
                                         job["read_count"].tolist())):
        yield slice(r, r + nr), slice(l, l + nl), job["setup_data"][s], slice(q, q + nq)
        r, l, q = r + nr, l + nl, q + nq


def outcome(vec: Vectors, geo: Geometry, pred, resid, read, stream_seconds: float = 0.0
            ) -> Outcome:
    """What the harness gave back for one segment, as tables, counters and cycles."""
    n_tables = len(table_addresses(geo, grid_of(geo, vec.initial.arch)))
    final = tables_from_words(geo, vec.initial, read[:n_tables])
    after = dict(zip(AFTER, (int(w) for w in read[n_tables:])))
    return Outcome(np.asarray(pred, np.int64), np.asarray(resid, np.int64), final,
                   np.array([after[n] for n in COUNTERS]), after["records"], after["cycles"],
                   float(stream_seconds))


def outcomes(vecs: list[Vectors], geo: Geometry, job: dict, pred, resid, read,
             stream_seconds) -> list[Outcome]:
    """:func:`outcome` for every segment of a job."""
    out = []
    for v, (rs, _, _, qs), secs in zip(vecs, segments(job), stream_seconds):
        out.append(outcome(v, geo, np.asarray(pred)[rs], np.asarray(resid)[rs],
                           np.asarray(read)[qs], secs))
    return out
