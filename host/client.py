"""The host's view of a device: requests with retries, table load and read,
record streaming in frames, mode and counters. Works over any transport."""

from __future__ import annotations

import struct
import time

import numpy as np

from kanhw.design import Design
from kanhw.fixed_model import FixedKAN
from kanhw.interface import geometry_of
from kanhw.interface import protocol as P
from kanhw.interface.geometry import CORE_ID, GLOBAL_REGS
from kanhw.interface.image import (
    grid_of,
    table_addresses,
    table_writes,
    tables_from_words,
)

from .transport import Transport


class Device:
    """A training core behind a link.

    Every request is retried, with the same sequence number, after a
    bad-CRC answer, a timeout or a garbled answer; the device executes a
    sequence number once and answers its repeats with the kept answer, so a
    retried training frame trains its records once. After ``retries``
    failed retries of one frame: :class:`LinkError`, one line. ``timeout``
    is the wait for an answer beyond the frame's transfer time (default:
    the transport's). New frames are sized to the link: after a failed
    attempt the next frames carry half as much, after a run of clean frames
    twice as much, up to what the device holds.
    """

    #: clean frames in a row after which frames may grow again
    GROW_AFTER = 16
    #: payload bytes of the first frames of a session
    FIRST_BUDGET = 256

    def __init__(self, transport: Transport, design: Design, timeout: float | None = None,
                 retries: int = 12) -> None:
        self.t = transport
        self.design = design
        self.geo = geometry_of(design)
        self.timeout = timeout or getattr(transport, "timeout", 5.0)
        self.byte_seconds = float(getattr(transport, "byte_seconds", 0.0) or 0.0)
        self.retries = retries
        self.seq = 0
        self.parser = P.Parser()
        self.budget = self.FIRST_BUDGET
        self.clean = 0
        #: attempts that failed and were retried, over the session
        self.retried = 0
        #: records whose STREAM frame was answered; records of a STREAM frame
        #: that never was (trained once or not at all)
        self.records_acked = 0
        self.records_unacked = 0
        self.info = self._info()

    # -- requests ------------------------------------------------------------------
    def request(self, cmd: int, payload: bytes = b"", answer_bytes: int = 64) -> bytes:
        """Send one request until it is answered; its answer's payload after
        the status byte. ``answer_bytes``: the answer's expected size (for
        the wait)."""
        self.seq = (self.seq + 1) & P.SEQ_MASK
        data = P.frame(self.seq, cmd, payload)
        wait = self.timeout + (len(data) + answer_bytes + P.OVERHEAD) * self.byte_seconds
        attempts = self.retries + 1
        last = "no answer"
        for attempt in range(attempts):
            if attempt:
                self.parser.expire()       # a half-received answer is not coming
            self.t.write(data)
            status, body = self._await(self.seq, cmd, wait)
            if status == P.STATUS_OK:
                self._adapt(attempt == 0)
                return body
            if status == P.STATUS_BAD_COMMAND:
                raise P.LinkError(f"device refused command {cmd:#x}: "
                                  f"{P.STATUS_TEXT[status]}")
            last = {None: f"no answer within {wait:.3g} s", -1: "garbled answers",
                    P.STATUS_BAD_CRC: "the device saw bad CRCs",
                    P.STATUS_TOO_LONG: "the device saw an impossible length"}.get(
                        status, f"status {status}")
            self.retried += 1
        raise P.LinkError(f"link failed: {last} ({attempts} attempts at frame "
                          f"{self.seq}); check the cable and baud rate, then resume from "
                          "the last checkpoint")

    def _adapt(self, clean: bool) -> None:
        if not clean:
            self.budget = max(1, self.budget // 2)
            self.clean = 0
            return
        self.clean += 1
        if self.clean >= self.GROW_AFTER:
            self.budget = min(self.budget * 2, 1 << 16)
            self.clean = 0

    def _await(self, seq: int, cmd: int, wait: float) -> tuple[int | None, bytes]:
        """(status, body) of the answer to ``seq``; status None after
        ``wait`` seconds with no answer, -1 for a garbled one. Answers to
        other sequence numbers (late or repeated) are skipped."""
        end = time.monotonic() + wait
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return None, b""
            chunk = self.t.read(65536, min(0.05, left))
            for f in self.parser.feed(chunk):
                if f.seq != seq or f.cmd != (cmd | P.RESPONSE):
                    continue
                if not f.crc_ok or f.too_long or not f.payload:
                    return -1, b""
                return f.payload[0], f.payload[1:]

    def _entries(self, entry_bytes: int, limit: int) -> int:
        """Entries of ``entry_bytes`` for the next frame: the link's budget,
        at least one, at most ``limit``."""
        return max(1, min(limit, (self.budget - 2) // entry_bytes))

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
    def _limit(self, entry_bytes: int) -> int:
        """The most entries of ``entry_bytes`` one frame may carry."""
        buf = (self.info["max_records"] * self.info["record_bytes"]) + 2
        return max(1, (buf - 2) // entry_bytes)

    def write(self, addrs, words) -> None:
        addrs = np.asarray(list(addrs), np.int64) & 0xFFFFFFFF
        words = np.asarray(list(words), np.int64) & 0xFFFFFFFF
        pairs = np.stack([addrs, words], 1).astype("<u4") if len(addrs) else \
            np.zeros((0, 2), "<u4")
        s, limit = 0, self._limit(8)
        while s < len(pairs):
            k = self._entries(8, limit)
            part = pairs[s:s + k]
            self.request(P.CMD_WRITE, struct.pack("<H", len(part)) + part.tobytes(), 1)
            s += len(part)

    def read(self, addrs) -> list[int]:
        addrs = (np.asarray(list(addrs), np.int64) & 0xFFFFFFFF).astype("<u4")
        out: list[int] = []
        s, limit = 0, min(self._limit(4), (self.info["max_records"] * self.info["result_bytes"])
                          // 4)
        while s < len(addrs):
            k = self._entries(4, limit)
            part = addrs[s:s + k]
            words = P.unpack_words(self.request(P.CMD_READ, struct.pack("<H", len(part))
                                                + part.tobytes(), 4 * len(part)))
            if len(words) != len(part):
                raise P.LinkError(f"the device answered {len(words)} words for {len(part)} "
                                  "addresses")
            out += words
            s += len(part)
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
        grid = grid_of(self.geo, template.arch)
        words = self.read([a for a, _, _ in table_addresses(self.geo, grid)])
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
        rb, qb, limit = (self.info["record_bytes"], self.info["result_bytes"],
                         self.info["max_records"])
        pred, resid = [], []
        allrows = record_rows(U, Yq, self.geo.coord_width, V, rb)
        s = 0
        while s < len(U):
            rows = allrows[s:s + self._entries(rb, limit)]
            s += len(rows)
            body = struct.pack("<H", len(rows)) + rows.tobytes()
            # retried with the same sequence number: the device trains it once
            self.records_unacked = len(rows)
            answer = self.request(P.CMD_STREAM, body, len(rows) * qb)
            self.records_acked += len(rows)
            self.records_unacked = 0
            if len(answer) != len(rows) * qb:
                raise P.LinkError(f"the device answered {len(answer)} bytes for {len(rows)} "
                                  f"records ({len(rows) * qb} expected)")
            p, r = results_from_rows(np.frombuffer(answer, np.uint8).reshape(len(rows), qb), V,
                                     n_out)
            pred.append(p)
            resid.append(r)
        return np.concatenate(pred), np.concatenate(resid)
