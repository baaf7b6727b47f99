"""Iterative divider for the stretch slow path: the reciprocal
``floor(((points - 1) << shift) / width)``, saturated to ``quotient_bits``
(and to at least 1), one quotient bit per cycle. ``points - 1`` is an input
(the core's outer grid, set at run time), ``shift`` a constant.
Mirrors :func:`kanhw.nk_fixed.reciprocal`."""

from __future__ import annotations

from amaranth.hdl import Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out


class Divider(wiring.Component):
    """``start`` (one cycle) with ``width`` and ``segments`` (held until
    ``done``); ``done`` pulses with ``quotient`` ``quotient_bits + 1`` cycles
    later at most."""

    def __init__(self, max_segments: int, shift: int, width_bits: int,
                 quotient_bits: int) -> None:
        self.max_segments = max_segments
        self.shift = shift
        self.quotient_bits = quotient_bits
        super().__init__({
            "start": In(1),
            "segments": In(range(max_segments + 1)),
            "width": In(signed(width_bits)),
            "done": Out(1),
            "quotient": Out(unsigned(quotient_bits)),
            "saturated": Out(1),
        })
        self.width_bits = width_bits

    @property
    def latency(self) -> int:
        """Cycles from ``start`` to ``done`` (fixed, saturated or not)."""
        return self.quotient_bits + 1

    def elaborate(self, platform):
        m = Module()
        QB = self.quotient_bits
        N = self.segments << self.shift
        top = (1 << QB) - 1
        shifted_w = self.width_bits + QB
        rem = Signal(max((self.max_segments << self.shift).bit_length(), 1) + 1)
        divisor = Signal(shifted_w)          # width << bit, shifted right each cycle
        mask = Signal(QB)                    # the quotient bit being decided
        q = Signal(QB)
        sat_early = Signal()
        w = Mux(self.width < 1, Const(1, self.width_bits - 1), self.width[:self.width_bits - 1])
        m.d.sync += self.done.eq(0)
        with m.If(self.start):
            m.d.sync += [rem.eq(N), divisor.eq(w << (QB - 1)), q.eq(0),
                         mask.eq(1 << (QB - 1)),
                         sat_early.eq(N >= (w << QB))]
        with m.Elif(mask != 0):
            m.d.sync += [divisor.eq(divisor >> 1), mask.eq(mask >> 1)]
            with m.If((rem >= divisor) & ~sat_early):
                m.d.sync += [rem.eq(rem - divisor), q.eq(q | mask)]
            with m.If(mask == 1):
                m.d.sync += self.done.eq(1)
        m.d.comb += [
            self.quotient.eq(Mux(sat_early, top, Mux(q == 0, 1, q))),
            self.saturated.eq(sat_early | (q == 0)),
        ]
        return m
