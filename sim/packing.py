"""Bit packing of harness words (records, control requests, results), shared
by the cocotb bench and the Amaranth-simulator bench. No HDL imports, so the
cocotb side stays light."""

from __future__ import annotations

import numpy as np

#: Harness jobs: play records, or issue control requests.
JOB_RECORDS, JOB_CTRL = 0, 1


def pack_records(U: np.ndarray, Y: np.ndarray, coord_width: int, value_bits: int) -> list[int]:
    words = []
    for r in range(U.shape[0]):
        w = 0
        for i in range(U.shape[1]):
            w |= int(U[r, i]) << (i * coord_width)
        words.append(w | (int(Y[r]) & ((1 << value_bits) - 1)) << (U.shape[1] * coord_width))
    return words


def pack_ctrl(addr_width: int, addrs, writes, data) -> list[int]:
    return [int(a) | int(w) << addr_width | (int(d) & 0xFFFFFFFF) << (addr_width + 1)
            for a, w, d in zip(addrs, writes, data)]


def unpack_results(words: list[int], value_bits: int) -> tuple[np.ndarray, np.ndarray]:
    mask = (1 << value_bits) - 1

    def signed(x):
        return x - (1 << value_bits) if x >> (value_bits - 1) else x

    return (np.array([signed(w & mask) for w in words], np.int64),
            np.array([signed((w >> value_bits) & mask) for w in words], np.int64))
