"""A simulation job: the control words that load the core, the records it
plays, the words read back after them, and what came back in reference
terms (:class:`~.compare.Outcome`). Every simulator back end runs the same
job through the same harness (:mod:`.harness`)."""

from __future__ import annotations

import numpy as np

from kanhw.interface.geometry import GLOBAL_REGS, Geometry
from kanhw.interface.image import outer_points_of, table_addresses, table_writes, tables_from_words

from .compare import COUNTERS, Outcome
from .vectors import Vectors

#: Global registers read back after the tables, in this order.
AFTER = ("records", *COUNTERS, "cycles")


def make_job(vec: Vectors, geo: Geometry) -> dict:
    """Load (tables, mode, cleared counters), records and read-back addresses."""
    la, ld = table_writes(geo, vec.initial)
    g = GLOBAL_REGS
    extra_a = [g["mode"]] + [g[n] for n in AFTER]
    extra_d = [int(vec.train)] + [0] * len(AFTER)
    P1 = outer_points_of(geo, vec.initial)
    read = [a for a, _, _ in table_addresses(geo, P1)] + [g[n] for n in AFTER]
    c = vec.design.contract
    return {"U": vec.U, "Y": vec.Yq, "coord_width": geo.coord_width, "value_bits": c.value_bits,
            "addr_width": geo.addr_width, "n_out": geo.n_out if vec.design.layered else 1,
            "load_addr": np.concatenate([la, extra_a]).astype(np.int64),
            "load_data": np.concatenate([ld, extra_d]).astype(np.int64),
            "read_addr": np.array(read, np.int64)}


def outcome(vec: Vectors, geo: Geometry, pred, resid, read, stream_seconds: float = 0.0
            ) -> Outcome:
    """What the harness gave back, as tables, counters and cycles."""
    n_tables = len(table_addresses(geo, outer_points_of(geo, vec.initial)))
    final = tables_from_words(geo, vec.initial, read[:n_tables])
    after = dict(zip(AFTER, (int(w) for w in read[n_tables:])))
    return Outcome(np.asarray(pred, np.int64), np.asarray(resid, np.int64), final,
                   np.array([after[n] for n in COUNTERS]), after["records"], after["cycles"],
                   float(stream_seconds))
