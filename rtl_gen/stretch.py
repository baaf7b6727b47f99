"""The core's stretch unit: one slow path that stretches outer domains for
every block, one request at a time.

A block whose outer argument falls outside its domain while training raises
``req`` and waits. The unit takes the lowest requesting block, reads its
hidden sum and domain, moves the bound past the sum and adds the margins,
divides for the new reciprocal, forms the block's new map offset, and hands
the results back with a one-cycle ``grant``. Every step mirrors
:func:`kanhw.nk_fixed.stretch` and :func:`kanhw.nk_fixed.reciprocal`.

Stretches are rare (a few per thousand records once training settles), so
sharing the unit costs almost no throughput and saves each block a divider,
two comparators and the margin arithmetic: about a third of a det4 block.
"""

from __future__ import annotations

from amaranth.hdl import Array, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from kanhw.contract import Contract

from .arith import round_shift, saturate, times_const
from .divider import Divider


class StretchUnit(wiring.Component):
    """See the module docstring. The time one request holds the unit is
    :attr:`~kanhw.interface.cycles.CycleModel.stretch_service`."""

    def __init__(self, contract: Contract, blocks: int, max_points: int) -> None:
        """``blocks`` requesters; ``max_points``: the most points a mapped
        function has (the grid in use is ``segments + 1`` points)."""
        self.contract, self.blocks, self.max_points = contract, blocks, max_points
        c = contract
        V, K = c.value_bits, blocks
        super().__init__({
            "req": In(K),
            # the grid's segments (points - 1) of the requester, set at run time
            "segments": In(range(max_points)),
            "s": In(data.ArrayLayout(signed(V), K)),
            "lo": In(data.ArrayLayout(signed(V), K)),
            "hi": In(data.ArrayLayout(signed(V), K)),
            "grant": Out(K),
            "new_lo": Out(signed(V)),
            "new_hi": Out(signed(V)),
            "rcp": Out(unsigned(c.rcp_bits)),
            "d": Out(signed(c.mul_bits)),
            "sat": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        c = self.contract
        V, K, MB, G = c.value_bits, self.blocks, c.mul_bits, c.guard_bits
        P1 = self.max_points

        m.submodules.divider = div = Divider(
            P1 - 1, c.frac_bits + c.rcp_shift + G, width_bits=V + 1, quotient_bits=c.rcp_bits)
        m.d.comb += div.segments.eq(self.segments)

        # the lowest requesting block, as a one-hot word (req & -req: one carry
        # chain) and as an index (OR trees over the one-hot bits)
        req = self.req
        lowest = Signal(K)
        m.d.comb += lowest.eq(req & (~req + 1)[:K])
        pick = Signal(range(max(K, 2)))
        for b in range(len(pick)):
            bits = [lowest[k] for k in range(K) if (k >> b) & 1]
            if bits:
                acc = bits[0]
                for x in bits[1:]:
                    acc = acc | x
                m.d.comb += pick[b].eq(acc)

        idx = Signal.like(pick)
        onehot = Signal(K)
        s_r = Signal(signed(V))
        st_lo = Signal(signed(V))
        st_hi = Signal(signed(V))
        gap = Signal(signed(V + 1))
        sat = Signal()
        sv = Array(list(self.s))[idx]
        lov = Array(list(self.lo))[idx]
        hiv = Array(list(self.hi))[idx]
        with m.FSM(name="stretch"):
            with m.State("IDLE"):
                with m.If(req.any()):
                    m.d.sync += [idx.eq(pick), onehot.eq(lowest), sat.eq(0)]
                    m.next = "LOAD"
            with m.State("LOAD"):
                # the block's sum and domain first pass registers: the choice
                # among the blocks, the domain's read in the block and the
                # comparisons in one cycle were the 85F build's longest path
                m.d.sync += [s_r.eq(sv), st_lo.eq(lov), st_hi.eq(hiv)]
                m.next = "SELECT"
            with m.State("SELECT"):
                # the sum below lo moves lo; otherwise (at or above hi) it moves hi
                m.d.sync += [st_lo.eq(Mux(s_r < st_lo, s_r, st_lo)),
                             st_hi.eq(Mux((s_r >= st_lo) & (s_r >= st_hi), s_r, st_hi))]
                m.next = "GAP"
            with m.State("GAP"):
                g = round_shift(times_const(st_hi - st_lo, c.margin_mult), c.margin_shift)
                m.d.sync += gap.eq(Mux(g < 1, 1, g))
                m.next = "BOUNDS"
            with m.State("BOUNDS"):
                new_lo, lo_over = saturate(st_lo - gap, V)
                new_hi, hi_over = saturate(st_hi + gap, V)
                m.d.sync += [self.new_lo.eq(new_lo), self.new_hi.eq(new_hi),
                             sat.eq(lo_over | hi_over)]
                m.next = "DIVIDE"
            with m.State("DIVIDE"):
                width = self.new_hi - self.new_lo
                m.d.comb += [div.start.eq(1), div.width.eq(width)]
                # a domain wider than a multiplier operand would clip offsets
                with m.If(width >= (1 << (MB - 1 + G))):
                    m.d.sync += sat.eq(1)
                m.next = "WAIT"
            with m.State("WAIT"):
                with m.If(div.done):
                    m.d.sync += [self.rcp.eq(div.quotient),
                                 self.d.eq(saturate(round_shift(s_r - self.new_lo, G), MB)[0])]
                    with m.If(div.saturated):
                        m.d.sync += sat.eq(1)
                    m.next = "GRANT"
            with m.State("GRANT"):
                m.d.comb += self.grant.eq(onehot)
                m.next = "IDLE"
        m.d.comb += self.sat.eq(sat)
        return m
