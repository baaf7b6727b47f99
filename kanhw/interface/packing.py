"""Bit packing of what crosses between host and core (:mod:`.layouts`):
records and results as link bytes, and as words of the simulation
harness (records, control requests, results), vectorised over rows."""

from __future__ import annotations

import numpy as np


def pack_fields(fields: list[tuple[np.ndarray, int]], nbytes: int) -> np.ndarray:
    """Rows of ``nbytes`` bytes (uint8, little-endian) holding ``fields``,
    each (values, width) with width <= 63, from bit 0 up; vectorised over
    the rows."""
    n = len(fields[0][0]) if fields else 0
    bits = np.zeros((n, nbytes * 8), np.uint8)
    pos = 0
    for values, width in fields:
        v = np.asarray(values, np.int64) & ((1 << width) - 1)
        bits[:, pos:pos + width] = (v[:, None] >> np.arange(width)) & 1
        pos += width
    return np.packbits(bits, axis=1, bitorder="little")


def unpack_fields(rows: np.ndarray, widths: list[int]) -> list[np.ndarray]:
    """The signed fields of ``widths`` from rows of bytes (see :func:`pack_fields`)."""
    bits = np.unpackbits(np.asarray(rows, np.uint8).reshape(len(rows), -1), axis=1,
                         bitorder="little").astype(np.int64)
    out, pos = [], 0
    for width in widths:
        v = (bits[:, pos:pos + width] << np.arange(width)).sum(axis=1)
        out.append(v)
        pos += width
    return out


def signed_field(v: np.ndarray, width: int) -> np.ndarray:
    return np.where(v >> (width - 1), v - (1 << width), v)


def record_rows(U: np.ndarray, Y: np.ndarray, coord_width: int, value_bits: int,
                nbytes: int) -> np.ndarray:
    """Records as the link carries them: ``u`` from bit 0 (``coord_width``
    bits per input), then the target ``y``."""
    fields = [(U[:, i], coord_width) for i in range(U.shape[1])]
    return pack_fields(fields + [(np.asarray(Y).reshape(-1), value_bits)], nbytes)


def records_from_rows(rows: np.ndarray, n_inputs: int, coord_width: int,
                      value_bits: int) -> tuple[np.ndarray, np.ndarray]:
    *u, y = unpack_fields(rows, [coord_width] * n_inputs + [value_bits])
    U = np.stack(u, axis=1) if u else np.zeros((len(rows), 0), np.int64)
    return U, signed_field(y, value_bits)


def result_rows(pred: np.ndarray, resid: np.ndarray, value_bits: int, nbytes: int) -> np.ndarray:
    """Results as the link carries them: prediction, then residual."""
    return pack_fields([(pred, value_bits), (resid, value_bits)], nbytes)


def results_from_rows(rows: np.ndarray, value_bits: int) -> tuple[np.ndarray, np.ndarray]:
    pred, resid = unpack_fields(rows, [value_bits, value_bits])
    return signed_field(pred, value_bits), signed_field(resid, value_bits)


def pack_records(U: np.ndarray, Y: np.ndarray, coord_width: int, value_bits: int) -> list[int]:
    """Records as harness words (Python integers)."""
    nbytes = (U.shape[1] * coord_width + value_bits + 7) // 8
    return [int.from_bytes(row.tobytes(), "little")
            for row in record_rows(U, Y, coord_width, value_bits, nbytes)]


def pack_ctrl(addr_width: int, addrs, writes, data) -> list[int]:
    return [int(a) | int(w) << addr_width | (int(d) & 0xFFFFFFFF) << (addr_width + 1)
            for a, w, d in zip(addrs, writes, data)]


def unpack_results(words: list[int], value_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """(predictions, residuals) from harness result words."""
    w = np.array(words, dtype=np.uint64).reshape(-1)
    mask = np.uint64((1 << value_bits) - 1)
    return (signed_field((w & mask).astype(np.int64), value_bits),
            signed_field(((w >> np.uint64(value_bits)) & mask).astype(np.int64), value_bits))
