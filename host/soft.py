"""The ``soft`` device: the fixed-point reference behind the link protocol.

It answers exactly what the gateware answers: the same frames, the same
control address map, tables that start zeroed as after a reset, the same
counters, and training by the integer kernels the hardware is proven equal
to. Training through ``soft`` and through the simulated board therefore
gives bit-identical tables.
"""

from __future__ import annotations

import struct
import time

import numpy as np

from kanhw import nk_fixed as nkx
from kanhw.arch import Architecture
from kanhw.design import Design
from kanhw.fixed_model import FixedKAN
from kanhw.interface import geometry_of
from kanhw.interface import protocol as P
from kanhw.interface.cycles import CycleModel
from kanhw.interface.geometry import CORE_ID, GLOBAL_REGS
from kanhw.interface.image import grid_writes, table_addresses
from kanhw.interface.layered_cycles import LayeredCycleModel
from kanhw.interface.layouts import link_sizes
from kanhw.interface.packing import records_from_rows, result_rows
from kanhw.train import layout


class SoftDevice:
    """Frames in, frames out; the model lives in integer tables."""

    def __init__(self, design: Design, buffer_bytes: int = 8192,
                 frame_timeout: float = 0.02) -> None:
        """``frame_timeout``: seconds of silence after which a partly
        received frame is dropped (the gateware counts clock cycles)."""
        self.design = design
        self.frame_timeout = frame_timeout
        self.geo = geometry_of(design)
        self.sizes = link_sizes(self.geo, buffer_bytes)
        a = design.arch
        z = np.zeros
        # a zeroed core, as after reset (rcp resets to 1)
        self.model = FixedKAN(a, design.contract, z(a.n_parameters, np.int64),
                              z(a.n_functions, np.int64), z(a.n_functions, np.int64),
                              np.ones(a.n_functions, np.int64), z(a.n_in), np.ones(a.n_in),
                              z(a.n_out), np.ones(a.n_out))
        self.addresses = {addr: (kind, idx) for addr, kind, idx in table_addresses(self.geo)}
        self.parser = P.Parser(max_payload=self.sizes["buffer_bytes"])
        self.last_byte = 0.0
        #: (seq, cmd, answer frame) of the last frame executed: a repeat of
        #: it is answered from here, not executed again
        self.saved: tuple[int, int, bytes] | None = None
        #: records trained or predicted since the device was made (never cleared)
        self.records_total = 0
        self.reset()

    def reset(self) -> None:
        self.regs = {name: 0 for name in GLOBAL_REGS if name != "outer_points"}
        self.regs["id"] = CORE_ID
        self.regs["shape"] = self.geo.shape_word
        self.regs["mode"] = 1
        #: the grid registers: address -> (layer, points in use), the design's
        #: after a reset (the two-layer core's outer_points, the layered
        #: core's per stage)
        addrs, points = grid_writes(self.geo, tuple(self.design.arch.points))
        self.grid = {a: [h, p] for h, (a, p) in enumerate(zip(addrs, points), 1)}
        self.model.counts[:] = 0

    # -- control space -------------------------------------------------------------
    def _write(self, addr: int, data: int) -> None:
        if addr in self.addresses:
            kind, idx = self.addresses[addr]
            getattr(self.model, kind)[idx] = self._from_word(kind, data)
            return
        if addr in self.grid:                       # clamped, as the core does
            h = self.grid[addr][0]
            self.grid[addr][1] = min(max(data, 2), int(self.design.arch.points[h]))
            return
        names = {v: k for k, v in GLOBAL_REGS.items()}
        name = names.get(addr & 0xF) if addr < 16 else None
        if name == "mode":
            self.regs["mode"] = data & 1
        elif name in ("records", "saturations", "clamps", "stretches", "cycles"):
            self.regs[name] = 0
            if name in ("saturations", "clamps", "stretches"):
                self.model.counts[{"saturations": 0, "clamps": 1, "stretches": 2}[name]] = 0

    def _read(self, addr: int) -> int:
        if addr in self.addresses:
            kind, idx = self.addresses[addr]
            return int(getattr(self.model, kind)[idx]) & 0xFFFFFFFF
        if addr in self.grid:
            return self.grid[addr][1]
        names = {v: k for k, v in GLOBAL_REGS.items()}
        name = names.get(addr & 0xF) if addr < 16 else None
        if name in ("saturations", "clamps", "stretches"):
            return int(self.model.counts[{"saturations": 0, "clamps": 1,
                                          "stretches": 2}[name]]) & 0xFFFFFFFF
        return self.regs.get(name, 0) & 0xFFFFFFFF if name else 0

    def _from_word(self, kind: str, data: int) -> int:
        if kind == "rcp":
            return data & ((1 << self.design.contract.rcp_bits) - 1)
        V = self.design.contract.value_bits
        data &= (1 << V) - 1
        return data - (1 << V) if data >> (V - 1) else data

    # -- records ---------------------------------------------------------------------
    def _in_use(self) -> tuple[Architecture, list[np.ndarray]]:
        """The grids the registers set, and per layer the view of the
        model's tables that holds them: the first nodes of each table, as
        the core reads them."""
        m = self.model
        points = list(m.arch.points)
        for h, p in self.grid.values():
            points[h] = p
        arch = Architecture(m.arch.sizes, tuple(points))
        nb = m.arch.node_base
        views = [m.values[nb[h]:nb[h + 1]].reshape(-1, m.arch.points[h])[:, :points[h]]
                 for h in range(m.arch.n_layers)]
        return arch, views

    def _stream(self, payload: bytes) -> bytes:
        geo, c = self.geo, self.design.contract
        rb, qb = self.sizes["record_bytes"], self.sizes["result_bytes"]
        n = (len(payload)) // rb
        V = c.value_bits
        n_out = self.design.arch.n_out
        U, y = records_from_rows(np.frombuffer(payload[:n * rb], np.uint8).reshape(n, rb),
                                 geo.n, geo.coord_width, V, n_out)
        Y = y.reshape(n, n_out)
        arch, views = self._in_use()
        values = np.concatenate([v.ravel() for v in views])
        run = self._stream_layered if self.design.layered else self._stream_two_layer
        pred, resid = run(U, Y, arch, values)
        for v, part in zip(views, np.split(values, arch.node_base[1:-1])):
            v[...] = part.reshape(v.shape)
        self.regs["records"] += n
        self.records_total += n
        return result_rows(pred, resid, V, qb).tobytes()

    def _stream_two_layer(self, U: np.ndarray, Y: np.ndarray, arch: Architecture,
                          values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The two-layer core's records, one output, on the grids in use
        (``values``: their tables, trained in place); the predictions and
        residuals."""
        m, c, geo = self.model, self.design.contract, self.geo
        n = len(U)
        g = layout(arch)
        pred = np.zeros((n, 1), np.int64)
        resid = np.zeros((n, 1), np.int64)
        cv = c.kernel_vector()
        if self.regs["mode"]:
            stretched = np.zeros(n, np.int64)
            # room for a stretch per addend and record: the log never fills
            slog = np.zeros(n * geo.K + 1, np.int64)
            nkx.train_records(U, Y, np.arange(n), *g, values, m.lo, m.hi, m.rcp, cv,
                              m.counts, pred, resid, stretched, slog)
            # records come from the link one at a time: none overlaps the
            # previous record's update
            cyc = CycleModel(geo)
            self.regs["cycles"] += cyc.stream(n, True, back_to_back=False) + \
                cyc.stream_stalls(stretched, slog[1:slog[0] + 1] - int(arch.func_base[1]))
        else:
            nkx.predict_records(U, Y, *g, values, m.lo, m.hi, m.rcp, cv, m.counts, pred, resid)
            self.regs["cycles"] += CycleModel(geo).stream(n, False, back_to_back=False)
        return pred[:, 0], resid[:, 0]

    def _stream_layered(self, U: np.ndarray, Y: np.ndarray, arch: Architecture,
                        values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A layered core's records, every output, on the grids in use."""
        m, c = self.model, self.design.contract
        n, n_out = len(U), Y.shape[1]
        g = layout(arch)
        pred = np.zeros((n, n_out), np.int64)
        resid = np.zeros((n, n_out), np.int64)
        cv = c.kernel_vector()
        cycles = LayeredCycleModel(self.geo)
        if self.regs["mode"]:
            stretched = np.zeros(n, np.int64)
            slog = np.zeros(n * m.arch.n_functions + 1, np.int64)
            nkx.train_records(U, Y, np.arange(n), *g, values, m.lo, m.hi, m.rcp, cv,
                              m.counts, pred, resid, stretched, slog)
            # the link engine offers each record of a frame a fixed time after
            # the previous result: a core idle sooner waits for it
            self.regs["cycles"] += cycles.stream(n, True, stretched, slog[1:slog[0] + 1],
                                                 gap=self.sizes["record_gap"])
        else:
            nkx.predict_records(U, Y, *g, values, m.lo, m.hi, m.rcp, cv, m.counts, pred,
                                resid)
            self.regs["cycles"] += cycles.stream(n, False)
        return pred, resid

    # -- frames -----------------------------------------------------------------------
    def handle(self, f: P.Frame) -> bytes:
        """The answer to one received frame: an error answer for a bad CRC or
        an oversized frame, the kept answer for a repeat of the last frame
        executed, or the frame executed."""
        if f.too_long or not f.crc_ok:
            status = P.STATUS_TOO_LONG if f.too_long else P.STATUS_BAD_CRC
            return P.frame(f.seq, f.cmd | P.RESPONSE, bytes([status]))
        if self.saved is not None and self.saved[:2] == (f.seq, f.cmd):
            return self.saved[2]
        answer = self.execute(f)
        self.saved = (f.seq, f.cmd, answer)
        return answer

    def execute(self, f: P.Frame) -> bytes:
        s = self.sizes
        body = f.payload
        status, answer = P.STATUS_OK, b""
        if f.cmd == P.CMD_INFO:
            answer = P.pack_words([CORE_ID, self.regs["shape"], s["max_records"],
                                   s["record_bytes"], s["result_bytes"]])
        elif f.cmd == P.CMD_RESET:
            self.reset()
        elif f.cmd in (P.CMD_WRITE, P.CMD_READ, P.CMD_STREAM) and len(body) >= 2:
            (n,) = struct.unpack_from("<H", body)
            entry = {P.CMD_WRITE: 8, P.CMD_READ: 4, P.CMD_STREAM: s["record_bytes"]}[f.cmd]
            if len(body) != 2 + n * entry or (f.cmd == P.CMD_STREAM and n > s["max_records"]):
                status = P.STATUS_BAD_COMMAND
            elif f.cmd == P.CMD_WRITE:
                for k in range(n):
                    addr, data = struct.unpack_from("<II", body, 2 + 8 * k)
                    self._write(addr, data)
            elif f.cmd == P.CMD_READ:
                answer = P.pack_words(self._read(a) for a in
                                      struct.unpack_from(f"<{n}I", body, 2))
            elif n:
                answer = self._stream(body[2:])
        else:
            status = P.STATUS_BAD_COMMAND
        return P.frame(f.seq, f.cmd | P.RESPONSE, bytes([status]) + answer)

    def expire(self) -> None:
        """The partial-frame timeout has passed: drop a partly received frame."""
        self.parser.expire()

    def feed(self, data: bytes, now: float | None = None) -> bytes:
        """Bytes from the host in; the bytes the device sends back. A frame
        left partly received for ``frame_timeout`` seconds before ``data``
        arrives is dropped first (``now``: the arrival time, by default the
        monotonic clock)."""
        now = time.monotonic() if now is None else now
        if self.parser.partial and now - self.last_byte > self.frame_timeout:
            self.parser.expire()
        if data:
            self.last_byte = now
        out = b""
        for item in self.parser.feed(data):
            out += self.handle(item)
        return out
