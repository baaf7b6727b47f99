"""The inner lanes of a layered core's first stage: the first-layer
functions of the block's ``M`` units on ``lanes`` lanes, each lane
evaluating ``steps = ceil(n / lanes)`` of a unit's inputs one after
another, on grid coordinates the host has mapped (no divider, no domain).

Forward, a (unit, step) slot a cycle per lane, :data:`PIPELINE` stages:
A drives the table's read address, B forms ``f * (v1 - v0)``, C adds
``v0 + round(product)`` to the lane's sum; the lanes' sums of a unit meet
in an adder tree, saturate and go to the function engine as the unit's
value. Backward, the same slots again: B forms ``f * e_j`` with the unit's
step from the engine, C writes the pair back. Every step mirrors
:func:`kanhw.nk_fixed.forward` and :func:`kanhw.nk_fixed.backward`.
"""

from __future__ import annotations

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from kanhw.interface.geometry import tree_stages
from kanhw.interface.layered import LayeredGeometry

from ..arith import round_shift, saturate
from ..block import RAM_STYLE, Banks
from ..block.writeback import HitFlags, pair_bases, pair_written
from ..tree import lane_sum

#: Lane pipeline stages: address, product, accumulate or write.
PIPELINE = 3


class InnerLanes(wiring.Component):
    """``fstart``/``bstart`` run a pass over every (unit, step) slot;
    ``u_*`` is each unit's value as it leaves the adder tree (forward);
    ``ek_idx``/``ek`` read the engine's steps (backward, one cycle);
    ``fdone``/``bdone`` when the pass is over; ``tbl_*``: control access to
    the tables (idle only)."""

    def __init__(self, geo: LayeredGeometry) -> None:
        self.geo = geo
        st = geo.stages[0]
        c = geo.design.contract
        super().__init__({
            "u": In(data.ArrayLayout(geo.coord_width, geo.n)),
            "fstart": In(1), "fdone": Out(1),
            "bstart": In(1), "bdone": Out(1),
            "u_we": Out(1), "u_idx": Out(range(max(st.units_per_block, 2))),
            "u_data": Out(signed(c.value_bits)),
            "ek_idx": Out(range(max(st.units_per_block, 2))), "ek": In(signed(c.step_bits)),
            "sat": Out(1), "clear": In(1),
            "tbl_sel": In(1), "tbl_we": In(1),
            "tbl_offset": In(max(1, geo.lane_bits + geo.inner_slot_bits
                                 + geo.node_bits_inner)),
            "tbl_wdata": In(32), "tbl_rdata": Out(32),
            **({"units": In(range(st.units_per_block + 1))} if st.ragged else {}),
        })

    @property
    def tree_stages(self) -> int:
        return tree_stages(self.geo.lanes, self.geo.design.tree_levels_per_cycle)

    def elaborate(self, platform):
        m = Module()
        geo = self.geo
        st = geo.stages[0]
        c = geo.design.contract
        V, F, G, MB, EB = c.value_bits, c.frac_bits, c.guard_bits, c.mul_bits, c.step_bits
        L, S, M = geo.lanes, geo.steps, st.units_per_block
        TB, AB = geo.step_bits, st.unit_bits
        ram = RAM_STYLE[geo.design.table_ram]

        hits = HitFlags(m, "sat")

        # -- the slot sequencer: (unit, step), a slot a cycle ---------------------------
        issuing, backward = Signal(), Signal()
        step = Signal(range(max(S, 2)))
        unit = Signal(range(max(M, 2)))
        last = (step == S - 1) & (unit == (self.units - 1 if st.ragged else M - 1))
        with m.If(self.fstart | self.bstart):
            m.d.sync += [issuing.eq(1), backward.eq(self.bstart), step.eq(0), unit.eq(0)]
        with m.Elif(issuing):
            m.d.sync += step.eq(Mux(step == S - 1, 0, step + 1))
            with m.If(step == S - 1):
                m.d.sync += unit.eq(unit + 1)
            with m.If(last):
                m.d.sync += issuing.eq(0)
        slot = Cat(*([step[:TB]] if TB else []), *([unit[:AB]] if AB else [])) \
            if TB + AB else Const(0, 1)
        m.d.comb += self.ek_idx.eq(unit)

        # pipeline flags: A (issue) -> B -> C
        a_fwd, a_bwd, a_first, a_last = (Signal(name=n) for n in
                                         ("a_fwd", "a_bwd", "a_first", "a_last"))
        b_fwd, b_bwd, b_first, b_last = (Signal(name=n) for n in
                                         ("b_fwd", "b_bwd", "b_first", "b_last"))
        c_last = Signal()
        a_unit, b_unit = Signal.like(unit), Signal.like(unit)
        m.d.sync += [a_fwd.eq(issuing & ~backward), a_bwd.eq(issuing & backward),
                     a_first.eq(step == 0), a_last.eq(step == S - 1), a_unit.eq(unit),
                     b_fwd.eq(a_fwd), b_bwd.eq(a_bwd), b_first.eq(a_first), b_last.eq(a_last),
                     b_unit.eq(a_unit), c_last.eq(b_fwd & b_last)]

        pad = Const(0, geo.coord_width)
        lane_sums = []
        banks = []
        for l in range(L):
            inputs = [s * L + l for s in range(S)]
            real = Array([Const(int(i < geo.n), 1) for i in inputs])
            bank = Banks(m, f"inner{l}", V, geo.p_inner, (1 << TB) << AB, attrs=ram)
            banks.append(bank)
            u_s = Array([self.u[i] if i < geo.n else pad for i in inputs])[step]
            addr_e, addr_o = bank.seg_addrs(slot, u_s[F:])
            with m.If(issuing):
                m.d.comb += [bank.rd_even.addr.eq(addr_e), bank.rd_odd.addr.eq(addr_o)]
            a_u = Signal.like(u_s, name=f"a_u{l}")
            a_real = Signal(name=f"a_real{l}")
            a_ae = Signal.like(addr_e, name=f"a_ae{l}")
            a_ao = Signal.like(addr_o, name=f"a_ao{l}")
            m.d.sync += [a_u.eq(u_s), a_real.eq(real[step]), a_ae.eq(addr_e), a_ao.eq(addr_o)]
            # B: the pair, the product (f * dv forward, f * e backward), the bases
            f, odd = a_u[:F], a_u[F]
            v0, v1 = Banks.pair(odd, bank.rd_even.data, bank.rd_odd.data)
            dv, dv_over = saturate(round_shift(v1 - v0, G), MB)
            hits.flag(a_fwd & a_real & dv_over)
            op = Signal(signed(max(MB, EB)), name=f"op{l}")
            m.d.comb += op.eq(Mux(a_bwd, self.ek, dv))
            b_p = Signal(signed(F + 1 + len(op)), name=f"b_p{l}")
            b_v0 = Signal(signed(V), name=f"b_v0_{l}")
            b_real = Signal(name=f"b_real{l}")
            b_b0 = Signal(signed(V + F + 3), name=f"b_b0_{l}")
            b_b1 = Signal(signed(V + F + 3), name=f"b_b1_{l}")
            b_ae, b_ao, b_odd = (Signal.like(a_ae, name=f"b_ae{l}"),
                                 Signal.like(a_ao, name=f"b_ao{l}"), Signal(name=f"b_odd{l}"))
            m.d.sync += [b_p.eq(f * op), b_v0.eq(v0), b_real.eq(a_real),
                         *(b.eq(base) for b, base in zip((b_b0, b_b1),
                                                          pair_bases(v0, v1, self.ek, F))),
                         b_ae.eq(a_ae), b_ao.eq(a_ao), b_odd.eq(odd)]
            # C: accumulate (forward) or write the pair back (backward)
            acc = Signal(signed(V + 3 + (S + 1).bit_length()), name=f"acc{l}")
            with m.If(b_fwd):
                m.d.sync += acc.eq(Mux(b_first, 0, acc)
                                   + Mux(b_real, b_v0 + round_shift(b_p, F - G), 0))
            lane_sums.append(acc)
            n0, n1, over = pair_written(b_b0, b_b1, b_p, F, V)
            bank.write_pair(m, b_bwd & b_real, b_ae, b_ao, b_odd, n0, n1)
            hits.flag(b_bwd & b_real & over)

        # -- the unit's value: the lanes' sums, saturated ----------------------------------
        tree, s_sat, s_over = lane_sum(m, "tree", lane_sums, len(lane_sums[0]),
                                       geo.design.tree_levels_per_cycle, c_last, V)
        hits.flag(tree.valid_out & s_over)
        produced = Signal(range(M + 1))
        with m.If(self.fstart):
            m.d.sync += produced.eq(0)
        with m.Elif(tree.valid_out):
            m.d.sync += produced.eq(produced + 1)
        m.d.comb += [self.u_we.eq(tree.valid_out), self.u_idx.eq(produced[:len(self.u_idx)]),
                     self.u_data.eq(s_sat)]

        # -- done: every slot issued and its last stage (and the tree) behind it ---------
        in_flight = Signal()
        m.d.comb += in_flight.eq(issuing | a_fwd | a_bwd | b_fwd | b_bwd | c_last)
        tree_busy = Signal()
        depth = self.tree_stages
        if depth:
            pipe = Signal(depth)
            m.d.sync += pipe.eq(Cat(c_last, pipe[:-1]))
            m.d.comb += tree_busy.eq(pipe.any())
        done = ~in_flight & ~tree_busy & ~self.fstart & ~self.bstart
        m.d.comb += [self.fdone.eq(done), self.bdone.eq(done)]
        with m.If(hits.any):
            m.d.sync += self.sat.eq(1)
        with m.If(self.clear):
            m.d.sync += self.sat.eq(0)

        # -- control access (idle only) ----------------------------------------------------
        nb0, sb, lb = geo.node_bits_inner, geo.inner_slot_bits, geo.lane_bits
        off = self.tbl_offset
        c_node = off[:nb0]
        c_slot = off[nb0:nb0 + sb] if sb else Const(0, 1)
        c_lane = off[nb0 + sb:nb0 + sb + lb] if lb else Const(0, 1)
        active = self.tbl_sel & done
        r_lane, r_odd, r_read = Signal(max(1, lb)), Signal(), Signal()
        m.d.sync += r_read.eq(active)
        with m.If(active):
            m.d.sync += [r_lane.eq(c_lane), r_odd.eq(off[0])]
            for l, bank in enumerate(banks):
                a_e, a_o = bank.node_addrs(c_slot, c_node)
                m.d.comb += [bank.rd_even.addr.eq(a_e), bank.rd_odd.addr.eq(a_o)]
                bank.write_node(m, self.tbl_we & (c_lane == l), c_slot, c_node, self.tbl_wdata)
        word = Array([Mux(r_odd, b.rd_odd.data, b.rd_even.data) for b in banks])[r_lane]
        with m.If(r_read):
            m.d.sync += self.tbl_rdata.eq(word)
        return m
