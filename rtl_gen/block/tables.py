"""Table storage of a processing block: node tables split into even and
odd banks (:class:`Banks`), and the small per-addend words of a block that
serves several addends (:class:`PerAddend`).

A segment's two nodes ``j`` and ``j + 1`` are always of opposite parity, so
with the nodes split by parity one read port per bank reads the pair, and
one write port per bank writes it back, in a cycle.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib.memory import Memory

from kanhw.interface.geometry import ceil_log2

#: Synthesis attributes of the inner tables per ``[hardware] table_ram``
#: (Yosys' memory mapper reads ``ram_style``).
RAM_STYLE = {"auto": None, "block": {"ram_style": "block"},
             "lut": {"ram_style": "distributed"}}


class Banks:
    """Even/odd node banks of one table (``slots`` functions of ``points``
    nodes), one read and one write port each."""

    def __init__(self, m: Module, name: str, width: int, points: int, slots: int,
                 init: list[list[int]] | None = None, attrs: dict | None = None) -> None:
        self.ne = 1 << ceil_log2((points + 1) // 2)
        self.no = 1 << ceil_log2(points // 2)
        self.slot_bits = ceil_log2(slots)
        even = [0] * (self.ne << self.slot_bits)
        odd = [0] * (self.no << self.slot_bits)
        for s, nodes in enumerate(init or []):
            for p, v in enumerate(nodes):
                if p % 2 == 0:
                    even[s * self.ne + p // 2] = v
                else:
                    odd[s * self.no + p // 2] = v
        shape = signed(width)
        m.submodules[f"{name}_even"] = mem_e = Memory(shape=shape, depth=len(even), init=even,
                                                      attrs=attrs)
        m.submodules[f"{name}_odd"] = mem_o = Memory(shape=shape, depth=len(odd), init=odd,
                                                     attrs=attrs)
        self.rd_even, self.rd_odd = mem_e.read_port(), mem_o.read_port()
        self.wr_even, self.wr_odd = mem_e.write_port(), mem_o.write_port()

    def _addr(self, slot, node_half, depth: int):
        bits = ceil_log2(depth)
        a = node_half[:bits] if bits else Const(0, 0)
        return Cat(a, slot[:self.slot_bits]) if self.slot_bits else a

    def seg_addrs(self, slot, j):
        """(even, odd) bank addresses of segment ``j``'s nodes ``j``, ``j+1``."""
        return self._addr(slot, (j + 1) >> 1, self.ne), self._addr(slot, j >> 1, self.no)

    def node_addrs(self, slot, p):
        """(even, odd) bank addresses of node ``p`` (only one bank holds it)."""
        return self._addr(slot, p >> 1, self.ne), self._addr(slot, p >> 1, self.no)

    @staticmethod
    def pair(odd_first, even_data, odd_data):
        """(v_j, v_j+1) from the banks' data: an odd ``j`` sits in the odd bank."""
        return Mux(odd_first, odd_data, even_data), Mux(odd_first, even_data, odd_data)

    def write_pair(self, m: Module, en, addr_even, addr_odd, odd_first, new_j, new_j1):
        with m.If(en):
            m.d.comb += [self.wr_even.addr.eq(addr_even), self.wr_odd.addr.eq(addr_odd),
                         self.wr_even.data.eq(Mux(odd_first, new_j1, new_j)),
                         self.wr_odd.data.eq(Mux(odd_first, new_j, new_j1)),
                         self.wr_even.en.eq(1), self.wr_odd.en.eq(1)]

    def write_node(self, m: Module, en, slot, p, value):
        a_even, a_odd = self.node_addrs(slot, p)
        with m.If(en & p[0]):
            m.d.comb += [self.wr_odd.addr.eq(a_odd), self.wr_odd.data.eq(value),
                         self.wr_odd.en.eq(1)]
        with m.If(en & ~p[0]):
            m.d.comb += [self.wr_even.addr.eq(a_even), self.wr_even.data.eq(value),
                         self.wr_even.en.eq(1)]


class PerAddend:
    """State kept per addend of a block (domain, reciprocal, coordinate,
    slope, held sum): a register when the block serves one addend; for
    several, a small RAM with asynchronous reads (LUT RAM on ECP5). A
    multiplexer over M registers costs about half a LUT per bit per addend at
    every place it is read; the RAM a slice per 4 bits per read, whatever M.
    Unlike registers, the RAM keeps its contents through a reset, as the node
    tables do (the host loads both after one)."""

    def __init__(self, m: Module, name: str, shape, share: int, init: int = 0,
                 lut_ram: bool = True) -> None:
        """``lut_ram``: the fabric has LUT RAM (the platform's
        ``has_lut_ram``); without it, synthesis builds the words from logic."""
        self.m, self.share = m, share
        if share == 1:
            self.reg = Signal(shape, name=name, init=init)
            return
        self.mem = Memory(shape=shape, depth=share, init=[init] * share,
                          attrs={"ram_style": "distributed"} if lut_ram else None)
        m.submodules[name] = self.mem
        self.wr = self.mem.write_port()

    def read(self, index):
        """The value of addend ``index`` (a new read port per call)."""
        if self.share == 1:
            return self.reg
        port = self.mem.read_port(domain="comb")
        self.m.d.comb += port.addr.eq(index)
        return port.data

    def write(self, m: Module, index, value) -> None:
        """Write ``value`` for addend ``index`` at the next edge, under the
        caller's conditions (callers never write in the same cycle)."""
        if self.share == 1:
            m.d.sync += self.reg.eq(value)
        else:
            m.d.comb += [self.wr.addr.eq(index), self.wr.data.eq(value), self.wr.en.eq(1)]
