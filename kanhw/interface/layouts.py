"""Bit layouts of what crosses between the host and the core: the record,
result and control-request payloads of the core's streams (fields from bit
0 up, little-endian on the link), and the link's sizes derived from them.
The generator builds its stream signatures from these fields; the host
packs and unpacks the same bits (:mod:`.packing`). ``geo`` is either
core's geometry (:class:`.geometry.Geometry`, :class:`.layered.LayeredGeometry`)."""

from __future__ import annotations

from dataclasses import dataclass

#: Width of a control word (data of every control request and response).
CTRL_DATA_BITS = 32


@dataclass(frozen=True)
class Field:
    """``width`` bits (``count`` of them, an array, when ``count`` is set)."""

    name: str
    width: int
    signed: bool = False
    count: int | None = None

    @property
    def bits(self) -> int:
        return self.width * (self.count or 1)


def _outputs(geo) -> int | None:
    """Targets per record as a field count: ``None`` (one scalar) for the
    two-layer core, the output count for a layered core."""
    return geo.n_out if geo.design.layered else None


def record_fields(geo) -> list[Field]:
    """A training record: the first layer's grid coordinates, then the
    target (every output's, in order, for a layered core)."""
    return [Field("u", geo.coord_width, count=geo.n),
            Field("y", geo.design.contract.value_bits, signed=True, count=_outputs(geo))]


def result_fields(geo) -> list[Field]:
    """A record's result: the predictions, then the residuals (before its
    update), one per output."""
    V = geo.design.contract.value_bits
    n = _outputs(geo)
    return [Field("pred", V, signed=True, count=n), Field("resid", V, signed=True, count=n)]


def ctrl_fields(geo) -> list[Field]:
    """A control request: word address, write flag, data."""
    return [Field("addr", geo.addr_width), Field("write", 1), Field("data", CTRL_DATA_BITS)]


def payload_bits(fields: list[Field]) -> int:
    return sum(f.bits for f in fields)


def link_sizes(geo, buffer_bytes: int) -> dict:
    """Bytes of a record and a result on the link, and the most records a
    STREAM frame carries with ``buffer_bytes`` of frame buffer each way."""
    rec = (payload_bits(record_fields(geo)) + 7) // 8
    res = (payload_bits(result_fields(geo)) + 7) // 8
    max_records = min((buffer_bytes - 2) // rec, (buffer_bytes - 1) // res)
    if max_records < 1:
        raise ValueError(f"a {buffer_bytes}-byte link buffer cannot hold one record")
    return {"record_bytes": rec, "result_bytes": res, "max_records": max_records,
            "buffer_bytes": buffer_bytes, "record_gap": record_gap(rec, res)}


def record_gap(record_bytes: int, result_bytes: int) -> int:
    """Cycles from the core's result to the next record of a STREAM frame
    on the link engine (:mod:`kanhw.boards.link`): the result into the TX
    buffer a byte a cycle, a cycle to the next entry, its bytes out of the
    frame buffer two cycles each, then the record offered. A core that is
    back in its idle state sooner waits that long for the record."""
    return result_bytes + 2 + 2 * record_bytes
