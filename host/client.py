"""The host's view of a device: requests with retries, table load and read,
record streaming in frames, mode and counters. Works over any transport."""

from __future__ import annotations

import struct

import numpy as np

from kanhw.design import Design
from kanhw.fixed_model import FixedKAN
from kanhw.interface import geometry_of
from kanhw.interface import protocol as P
from kanhw.interface.geometry import CORE_ID, GLOBAL_REGS
from kanhw.interface.image import (
    outer_points_of,
    table_addresses,
    table_writes,
    tables_from_words,
)

from .transport import Transport


class Device:
    """A training core behind a link. ``timeout`` is per response; a lost or
    corrupted frame is retried ``retries`` times, then :class:`LinkError`."""

    def __init__(self, transport: Transport, design: Design, timeout: float | None = None,
                 retries: int = 3) -> None:
        self.t = transport
        self.design = design
        self.geo = geometry_of(design)
        self.timeout = timeout or getattr(transport, "timeout", 5.0)
        self.retries = retries
        self.seq = 0
        self.parser = P.Parser()
        self.info = self._info()

    # -- requests ------------------------------------------------------------------
    def request(self, cmd: int, payload: bytes = b"", retry: bool = True) -> bytes:
        attempts = self.retries + 1 if retry else 1
        last = "no answer"
        for _ in range(attempts):
            self.seq = (self.seq + 1) & 0xFF
            self.t.write(P.frame(self.seq, cmd, payload))
            answer = self._await(self.seq, cmd)
            if answer is None:
                last = f"no answer within {self.timeout} s"
                continue
            status, body = answer[0], answer[1:]
            if status == P.STATUS_BAD_CRC:
                last = "the device saw a bad CRC"
                continue
            if status != P.STATUS_OK:
                raise P.LinkError(f"device refused command {cmd:#x}: "
                                  f"{P.STATUS_TEXT.get(status, status)}")
            return body
        raise P.LinkError(f"link failed: {last} (after {attempts} attempt(s))")

    def _await(self, seq: int, cmd: int) -> bytes | None:
        import time
        end = time.monotonic() + self.timeout
        while time.monotonic() < end:
            chunk = self.t.read(4096, min(0.05, max(0.0, end - time.monotonic())))
            for f in self.parser.feed(chunk):
                if isinstance(f, P.LinkError) or not f.crc_ok:
                    continue  # a garbled answer: wait out the timeout, then retry
                if f.seq == seq and f.cmd == (cmd | P.RESPONSE) and f.payload:
                    return f.payload
        return None

    def _info(self) -> dict:
        words = P.unpack_words(self.request(P.CMD_INFO))
        if len(words) < 5 or words[0] != CORE_ID:
            raise P.LinkError("the device does not answer as a kanhw core")
        shape = self.geo.shape_word
        if words[1] != shape:
            raise P.LinkError(f"the device's core (shape word {words[1]:#x}) is not the design "
                              f"given ({shape:#x}); regenerate or pass the right --config")
        return {"max_records": words[2], "record_bytes": words[3], "result_bytes": words[4]}

    # -- control words ---------------------------------------------------------------
    def _chunk(self) -> int:
        buf = (self.info["max_records"] * self.info["record_bytes"]) + 2
        return max(1, (buf - 2) // 8)

    def write(self, addrs, words) -> None:
        addrs, words = list(addrs), list(words)
        step = self._chunk()
        for s in range(0, len(addrs), step):
            a, w = addrs[s:s + step], words[s:s + step]
            body = struct.pack("<H", len(a)) + b"".join(
                struct.pack("<II", int(x) & 0xFFFFFFFF, int(y) & 0xFFFFFFFF) for x, y in zip(a, w))
            self.request(P.CMD_WRITE, body)

    def read(self, addrs) -> list[int]:
        addrs = list(addrs)
        step = self._chunk()
        out: list[int] = []
        for s in range(0, len(addrs), step):
            a = addrs[s:s + step]
            body = struct.pack("<H", len(a)) + P.pack_words(a)
            out += P.unpack_words(self.request(P.CMD_READ, body))
        return out

    def set_mode(self, train: bool) -> None:
        self.write([GLOBAL_REGS["mode"]], [int(train)])

    def counters(self) -> dict:
        names = ("records", "saturations", "clamps", "stretches", "cycles")
        return dict(zip(names, self.read([GLOBAL_REGS[n] for n in names])))

    def clear_counters(self) -> None:
        names = ("records", "saturations", "clamps", "stretches", "cycles")
        self.write([GLOBAL_REGS[n] for n in names], [0] * len(names))

    def reset(self) -> None:
        self.request(P.CMD_RESET)

    # -- tables ------------------------------------------------------------------------
    def load_model(self, model: FixedKAN) -> None:
        """Load ``model``'s tables: the design's grids, or a coarser outer
        grid (the core's ``outer_points`` register is set to it)."""
        addrs, words = table_writes(self.geo, model)
        self.write(addrs, words)

    def read_model(self, template: FixedKAN) -> FixedKAN:
        """The tables read back, on ``template``'s grids."""
        P1 = outer_points_of(self.geo, template)
        words = self.read([a for a, _, _ in table_addresses(self.geo, P1)])
        return tables_from_words(self.geo, template, words)

    # -- records -------------------------------------------------------------------------
    def stream(self, U: np.ndarray, Yq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Play records (device format) in frames; predictions and residuals."""
        from kanhw.interface.packing import record_rows, results_from_rows
        V = self.design.contract.value_bits
        n_out = self.design.arch.n_out
        Yq = np.asarray(Yq).reshape(len(U), n_out)
        if n_out == 1:
            Yq = Yq[:, 0]
        rb, qb, step = (self.info["record_bytes"], self.info["result_bytes"],
                        self.info["max_records"])
        pred, resid = [], []
        for s in range(0, len(U), step):
            rows = record_rows(U[s:s + step], Yq[s:s + step], self.geo.coord_width, V, rb)
            body = struct.pack("<H", len(rows)) + rows.tobytes()
            # never retried: a record that reached the core has trained it
            answer = self.request(P.CMD_STREAM, body, retry=False)
            if len(answer) != len(rows) * qb:
                raise P.LinkError(f"the device answered {len(answer)} bytes for {len(rows)} "
                                  f"records ({len(rows) * qb} expected)")
            p, r = results_from_rows(np.frombuffer(answer, np.uint8).reshape(len(rows), qb), V,
                                     n_out)
            pred.append(p)
            resid.append(r)
        return np.concatenate(pred), np.concatenate(resid)
