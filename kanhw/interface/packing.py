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


def _columns(a: np.ndarray) -> list[np.ndarray]:
    """The columns of ``a`` (one column for a 1-D array)."""
    a = np.asarray(a)
    return [a.reshape(-1)] if a.ndim == 1 else [a[:, k] for k in range(a.shape[1])]


def record_rows(U: np.ndarray, Y: np.ndarray, coord_width: int, value_bits: int,
                nbytes: int) -> np.ndarray:
    """Records as the link carries them: ``u`` from bit 0 (``coord_width``
    bits per input), then the target (every output's, ``Y`` of shape
    ``(N, outputs)``)."""
    fields = [(U[:, i], coord_width) for i in range(U.shape[1])]
    return pack_fields(fields + [(y, value_bits) for y in _columns(Y)], nbytes)


def records_from_rows(rows: np.ndarray, n_inputs: int, coord_width: int,
                      value_bits: int, n_out: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """(U, Y) from link rows; ``Y`` is ``(N,)`` for one output, else ``(N, n_out)``."""
    *u, = unpack_fields(rows, [coord_width] * n_inputs + [value_bits] * n_out)
    U = np.stack(u[:n_inputs], axis=1) if n_inputs else np.zeros((len(rows), 0), np.int64)
    Y = np.stack([signed_field(y, value_bits) for y in u[n_inputs:]], axis=1)
    return U, (Y[:, 0] if n_out == 1 else Y)


def result_rows(pred: np.ndarray, resid: np.ndarray, value_bits: int, nbytes: int) -> np.ndarray:
    """Results as the link carries them: every prediction, then every residual."""
    return pack_fields([(v, value_bits) for v in _columns(pred) + _columns(resid)], nbytes)


def results_from_rows(rows: np.ndarray, value_bits: int, n_out: int = 1
                      ) -> tuple[np.ndarray, np.ndarray]:
    fields = [signed_field(v, value_bits) for v in unpack_fields(rows, [value_bits] * 2 * n_out)]
    pred, resid = np.stack(fields[:n_out], axis=1), np.stack(fields[n_out:], axis=1)
    return (pred[:, 0], resid[:, 0]) if n_out == 1 else (pred, resid)


def pack_records(U: np.ndarray, Y: np.ndarray, coord_width: int, value_bits: int) -> list[int]:
    """Records as harness words (Python integers)."""
    n_y = len(_columns(Y))
    nbytes = (U.shape[1] * coord_width + n_y * value_bits + 7) // 8
    return [int.from_bytes(row.tobytes(), "little")
            for row in record_rows(U, Y, coord_width, value_bits, nbytes)]


def pack_ctrl(addr_width: int, addrs, writes, data) -> list[int]:
    return [int(a) | int(w) << addr_width | (int(d) & 0xFFFFFFFF) << (addr_width + 1)
            for a, w, d in zip(addrs, writes, data)]


def unpack_results(words: list[int], value_bits: int, n_out: int = 1
                   ) -> tuple[np.ndarray, np.ndarray]:
    """(predictions, residuals) from harness result words."""
    if 2 * n_out * value_bits <= 64:
        w = np.array(words, dtype=np.uint64).reshape(-1)
        mask = np.uint64((1 << value_bits) - 1)
        fields = [signed_field(((w >> np.uint64(k * value_bits)) & mask).astype(np.int64),
                               value_bits) for k in range(2 * n_out)]
    else:
        nbytes = (2 * n_out * value_bits + 7) // 8
        rows = np.frombuffer(b"".join(int(x).to_bytes(nbytes, "little") for x in words),
                             np.uint8).reshape(len(words), nbytes)
        fields = [signed_field(v, value_bits)
                  for v in unpack_fields(rows, [value_bits] * 2 * n_out)]
    pred, resid = np.stack(fields[:n_out], axis=1), np.stack(fields[n_out:], axis=1)
    return (pred[:, 0], resid[:, 0]) if n_out == 1 else (pred, resid)
