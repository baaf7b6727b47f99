"""The function engine of a layered core's block: the outgoing functions of
the block's units (``M`` units x ``Q`` functions each, one *slot* per
function), mapped from each unit's value, evaluated and trained.

Forward, slot after slot (``j`` outer, ``p`` inner), :data:`FORWARD_SLOT`
cycles each: map the unit's value ``a`` to the function's grid
(``t = round(sat(round(a - lo)) * rcp / 2^rcp_shift)``; outside the domain a
training record stretches it through the core's shared stretch unit, a
frozen one clamps), read the segment's node pair, add the function's value
``v0 + round(f * dv)`` to the block's sum for output ``p``, and keep the
segment's slope ``round(dv * rcp)`` and coordinate for the backward pass.
One multiplier serves the map, the value and the slope in turn.

Backward, :data:`BACKWARD_SLOT` cycles a slot: with ``e_p``, the step of the
function's output unit, write the pair back (``v0 + e_p - round(f e_p)``,
``v1 + round(f e_p)``) and sum ``e_p * slope`` over the unit's functions;
the unit's own step is that sum rounded (``round(sum / 2^slope_frac)``), as
:func:`kanhw.nk_fixed.backward` forms it. A second multiplier serves both
products. Every step mirrors :mod:`kanhw.nk_fixed`.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from kanhw.interface.geometry import DOMAIN_HI, DOMAIN_LO, DOMAIN_RCP, ceil_log2
from kanhw.interface.layered import LayeredGeometry, Stage

from ..arith import round_shift, rounded_base, saturate
from ..block import Banks

#: Cycles of one forward slot without a stretch: take, map, test, read,
#: value, accumulate, slope.
FORWARD_SLOT = 7
#: Cycles of one backward slot: read, product e * slope, product e * f, write.
BACKWARD_SLOT = 4
#: Cycles from a forward slot's take to its stretch request (the test).
STRETCH_REQUEST = 3
#: Cycles from a grant to the next slot's take: the grant, re-map, test,
#: then the slot's last four (read, value, accumulate, slope).
AFTER_GRANT = 7


def slot_ram(m: Module, name: str, shape, depth: int, lut_ram: bool, init: int = 0):
    """A per-slot (or per-unit) word store with asynchronous reads: LUT RAM
    where the fabric has it, logic elsewhere."""
    mem = Memory(shape=shape, depth=max(2, depth), init=[init] * max(2, depth),
                 attrs={"ram_style": "distributed"} if lut_ram else None)
    m.submodules[name] = mem
    return mem


class FunctionEngine(wiring.Component):
    """See the module docstring. Ports:

    * ``fstart``: the forward pass; ``arg_count`` units' values are in
      ``args`` (written through ``arg_we``/``arg_idx``/``arg_data``) or
      arrive while it runs; ``fdone`` when every slot is done;
    * ``bstart``: the backward pass with the steps in ``e`` (written through
      ``e_we``/``e_idx``/``e_data``); ``bdone`` when done; each unit's step
      then reads at ``ek_idx`` -> ``ek``;
    * ``val_idx`` -> ``val``: the block's sum for output ``p``;
    * the stretch request/grant of the core's shared unit;
    * ``tbl_*``: control access to the outgoing nodes and domains (idle only).
    """

    def __init__(self, geo: LayeredGeometry, stage: Stage, lut_ram: bool = True) -> None:
        self.geo, self.stage, self.lut_ram = geo, stage, lut_ram
        c = geo.design.contract
        V, EB = c.value_bits, c.step_bits
        M, Q = stage.units_per_block, stage.outputs
        self.val_width = V + 2 + ceil_log2(M)
        super().__init__({
            "train": In(1),
            "fstart": In(1), "fdone": Out(1),
            "bstart": In(1), "bdone": Out(1),
            "arg_we": In(1), "arg_idx": In(range(max(M, 2))), "arg_data": In(signed(V)),
            "arg_count": In(range(M + 1)),
            "e_we": In(1), "e_idx": In(range(max(Q, 2))), "e_data": In(signed(EB)),
            "val_idx": In(range(max(Q, 2))), "val": Out(signed(self.val_width)),
            "ek_idx": In(range(max(M, 2))), "ek": Out(signed(EB)),
            "ek_we": Out(1), "ek_unit": Out(range(max(M, 2))), "ek_data": Out(signed(EB)),
            "sat": Out(1), "clamps": Out(range(M * Q + 1)), "stretches": Out(range(M * Q + 1)),
            "clear": In(1),
            "st_req": Out(1), "s_hidden": Out(signed(V)), "dom_lo": Out(signed(V)),
            "dom_hi": Out(signed(V)),
            "st_grant": In(1), "st_lo": In(signed(V)), "st_hi": In(signed(V)),
            "st_rcp": In(unsigned(c.rcp_bits)), "st_d": In(signed(c.mul_bits)),
            "st_sat": In(1),
            "tbl_sel": In(1), "tbl_we": In(1), "tbl_domain": In(1),
            "tbl_offset": In(max(1, stage.slot_bits + max(stage.node_bits, 2))),
            "tbl_wdata": In(32), "tbl_rdata": Out(32),
        })

    def elaborate(self, platform):
        m = Module()
        geo, st = self.geo, self.stage
        c = geo.design.contract
        V, F, G, MB, EB, RB = (c.value_bits, c.frac_bits, c.guard_bits, c.mul_bits,
                               c.step_bits, c.rcp_bits)
        SB, SF = c.slope_bits, c.slope_frac
        M, Q, P = st.units_per_block, st.outputs, st.points
        QB, slots = st.out_bits, 1 << st.slot_bits
        top = ((P - 1) << F) - 1
        sshift = F + c.rcp_shift - SF
        lut = self.lut_ram

        # -- per-slot and per-unit state --------------------------------------------
        lo = slot_ram(m, "lo", signed(V), slots, lut)
        hi = slot_ram(m, "hi", signed(V), slots, lut)
        rcp = slot_ram(m, "rcp", unsigned(RB), slots, lut, init=1)
        tj_m = slot_ram(m, "tj", range(P), slots, lut)
        tf_m = slot_ram(m, "tf", unsigned(F), slots, lut)
        slope_m = slot_ram(m, "slope", signed(SB), slots, lut)
        args = slot_ram(m, "args", signed(V), M, lut)
        vals = slot_ram(m, "vals", signed(self.val_width), Q, lut)
        e_m = slot_ram(m, "e", signed(EB), Q, lut)
        ek_m = slot_ram(m, "ek", signed(EB), M, lut)
        outer = Banks(m, "outer", V, P, slots)

        def rd(mem, addr):
            port = mem.read_port(domain="comb")
            m.d.comb += port.addr.eq(addr)
            return port.data

        def wr(mem):
            return mem.write_port()

        # writes from outside: the unit values and the steps
        w_args, w_e = wr(args), wr(e_m)
        m.d.comb += [w_args.addr.eq(self.arg_idx), w_args.data.eq(self.arg_data),
                     w_args.en.eq(self.arg_we),
                     w_e.addr.eq(self.e_idx), w_e.data.eq(self.e_data), w_e.en.eq(self.e_we)]
        # reads for the core: the block's sums and the units' steps, registered
        m.d.sync += [self.val.eq(rd(vals, self.val_idx)), self.ek.eq(rd(ek_m, self.ek_idx))]

        # saturation tests each pass a register before the block's flag
        hits = []

        def flag(cond):
            hit = Signal(name=f"sat_hit{len(hits)}")
            m.d.sync += hit.eq(cond)
            hits.append(hit)

        # -- slot sequencing --------------------------------------------------------------
        j = Signal(range(max(M, 2)))
        p = Signal(range(max(Q, 2)))
        slot = Cat(p[:QB], j[:st.unit_bits]) if st.slot_bits else Const(0, 1)
        last_p, last_j = p == Q - 1, j == M - 1

        # -- the forward multiplier (map, value, slope in turn) ----------------------------
        mul_a = Signal(signed(MB))
        mul_b = Signal(signed(max(RB + 1, F + 1)))
        pq = Signal(signed(len(mul_a) + len(mul_b)))
        m.d.sync += pq.eq(mul_a * mul_b)
        # -- the backward multiplier (e * slope, e * f) ------------------------------------
        umul_a = Signal(signed(EB))
        umul_b = Signal(signed(max(SB, F + 1)))
        upq = Signal(signed(len(umul_a) + len(umul_b)))
        m.d.sync += upq.eq(umul_a * umul_b)

        s_reg = Signal(signed(V))           # the unit's value
        d_reg = Signal(signed(MB))          # a - lo, as a multiplier operand
        rcp_reg = Signal(unsigned(RB))
        stretched = Signal()
        tj = Signal(range(P))
        tf = Signal(unsigned(F))
        o_v0 = Signal(signed(V))
        o_dv = Signal(signed(MB))
        e_reg = Signal(signed(EB))
        b0 = Signal(signed(V + F + 3))
        b1 = Signal(signed(V + F + 3))
        acc = Signal(signed(EB + SB + ceil_log2(Q) + 1))
        w_tj, w_tf, w_slope = wr(tj_m), wr(tf_m), wr(slope_m)
        w_lo, w_hi, w_rcp = wr(lo), wr(hi), wr(rcp)
        w_vals, w_ek = wr(vals), wr(ek_m)

        lo_cur, hi_cur, rcp_cur = rd(lo, slot), rd(hi, slot), rd(rcp, slot)
        m.d.comb += [self.s_hidden.eq(s_reg), self.dom_lo.eq(lo_cur), self.dom_hi.eq(hi_cur)]

        t_full = round_shift(pq, c.rcp_shift)
        below, above = t_full < 0, t_full > top
        t_use = Mux(below, 0, Mux(above, top, t_full))[:c.coord_bits(P)]
        ov0, ov1 = Banks.pair(tj[0], outer.rd_even.data, outer.rd_odd.data)
        odv, odv_over = saturate(round_shift(ov1 - ov0, G), MB)
        value = o_v0 + round_shift(pq, F - G)
        slope_sat, slope_over = saturate(round_shift(pq, sshift), SB)
        acc_next = Mux(p == 0, 0, acc) + upq
        ek_sat, ek_over = saturate(round_shift(acc, SF), EB)

        taken = self.arg_count              # units whose value is here

        with m.FSM(name="engine") as fsm:
            with m.State("IDLE"):
                with m.If(self.fstart):
                    m.d.sync += [j.eq(0), p.eq(0)]
                    m.next = "WAIT_ARG"
                with m.Elif(self.bstart):
                    m.d.sync += [j.eq(0), p.eq(0)]
                    m.next = "B_READ"
            with m.State("WAIT_ARG"):
                with m.If(taken > j):
                    m.next = "TAKE"
            with m.State("TAKE"):
                s = rd(args, j)
                m.d.sync += [s_reg.eq(s), rcp_reg.eq(rcp_cur), stretched.eq(0),
                             d_reg.eq(saturate(round_shift(s - lo_cur, G), MB)[0])]
                m.next = "MAP"
            with m.State("MAP"):
                m.d.comb += [mul_a.eq(d_reg), mul_b.eq(rcp_reg)]
                m.next = "TEST"
            with m.State("TEST"):
                with m.If((below | above) & self.train & ~stretched):
                    m.d.sync += [self.st_req.eq(1), stretched.eq(1),
                                 self.stretches.eq(self.stretches + 1)]
                    m.next = "STRETCH"
                with m.Else():
                    with m.If((below | above) & ~self.train):
                        m.d.sync += self.clamps.eq(self.clamps + 1)
                    m.d.sync += [tj.eq(t_use[F:]), tf.eq(t_use[:F])]
                    m.d.comb += [w_tj.addr.eq(slot), w_tj.data.eq(t_use[F:]), w_tj.en.eq(1),
                                 w_tf.addr.eq(slot), w_tf.data.eq(t_use[:F]), w_tf.en.eq(1)]
                    a_e, a_o = outer.seg_addrs(slot, t_use[F:])
                    m.d.comb += [outer.rd_even.addr.eq(a_e), outer.rd_odd.addr.eq(a_o)]
                    m.next = "READ"
            with m.State("STRETCH"):
                with m.If(self.st_grant):
                    m.d.sync += [self.st_req.eq(0), d_reg.eq(self.st_d),
                                 rcp_reg.eq(self.st_rcp)]
                    m.d.comb += [w_lo.addr.eq(slot), w_lo.data.eq(self.st_lo), w_lo.en.eq(1),
                                 w_hi.addr.eq(slot), w_hi.data.eq(self.st_hi), w_hi.en.eq(1),
                                 w_rcp.addr.eq(slot), w_rcp.data.eq(self.st_rcp),
                                 w_rcp.en.eq(1)]
                    m.next = "MAP"
            with m.State("READ"):
                m.d.sync += [o_v0.eq(ov0), o_dv.eq(odv)]
                m.next = "VALUE"
            with m.State("VALUE"):
                m.d.comb += [mul_a.eq(o_dv), mul_b.eq(tf)]
                m.next = "ACC"
            with m.State("ACC"):
                old = rd(vals, p)
                m.d.comb += [w_vals.addr.eq(p), w_vals.data.eq(Mux(j == 0, 0, old) + value),
                             w_vals.en.eq(1), mul_a.eq(o_dv), mul_b.eq(rcp_reg)]
                m.next = "SLOPE"
            with m.State("SLOPE"):
                m.d.comb += [w_slope.addr.eq(slot), w_slope.data.eq(slope_sat),
                             w_slope.en.eq(1)]
                m.d.sync += p.eq(Mux(last_p, 0, p + 1))
                with m.If(last_p):
                    m.d.sync += j.eq(j + 1)
                with m.If(last_p & last_j):
                    m.next = "F_DONE"
                with m.Elif(last_p):
                    m.next = "WAIT_ARG"
                with m.Else():
                    m.next = "TAKE"
            with m.State("F_DONE"):
                m.d.comb += self.fdone.eq(1)
                with m.If(self.bstart):
                    m.d.sync += [j.eq(0), p.eq(0)]
                    m.next = "B_READ"
                with m.Elif(self.fstart):
                    m.d.sync += [j.eq(0), p.eq(0)]
                    m.next = "WAIT_ARG"

            # -- backward ----------------------------------------------------------------
            with m.State("B_READ"):
                tj_s = rd(tj_m, slot)
                a_e, a_o = outer.seg_addrs(slot, tj_s)
                m.d.comb += [outer.rd_even.addr.eq(a_e), outer.rd_odd.addr.eq(a_o)]
                m.d.sync += [tj.eq(tj_s), tf.eq(rd(tf_m, slot)), e_reg.eq(rd(e_m, p))]
                m.next = "B_SLOPE"
            with m.State("B_SLOPE"):
                # e * slope; the pair arrives: bases for the write-back
                base0 = rounded_base(ov0 + e_reg, F, subtract=True)
                base1 = rounded_base(ov1, F)
                m.d.comb += [umul_a.eq(e_reg), umul_b.eq(rd(slope_m, slot))]
                m.d.sync += [b0.eq(base0), b1.eq(base1)]
                m.next = "B_FRAC"
            with m.State("B_FRAC"):
                m.d.comb += [umul_a.eq(e_reg), umul_b.eq(tf)]
                m.d.sync += acc.eq(acc_next)
                m.next = "B_WRITE"
            with m.State("B_WRITE"):
                n0 = saturate((b0 - upq) >> F, V)[0]
                n1 = saturate((b1 + upq) >> F, V)[0]
                a_e, a_o = outer.seg_addrs(slot, tj)
                outer.write_pair(m, Const(1, 1), a_e, a_o, tj[0], n0, n1)
                with m.If(last_p):
                    m.d.comb += [w_ek.addr.eq(j), w_ek.data.eq(ek_sat), w_ek.en.eq(1),
                                 self.ek_we.eq(1), self.ek_unit.eq(j), self.ek_data.eq(ek_sat)]
                m.d.sync += p.eq(Mux(last_p, 0, p + 1))
                with m.If(last_p):
                    m.d.sync += j.eq(j + 1)
                with m.If(last_p & last_j):
                    m.next = "B_DONE"
                with m.Else():
                    m.next = "B_READ"
            with m.State("B_DONE"):
                m.d.comb += self.bdone.eq(1)
                with m.If(self.fstart):
                    m.d.sync += [j.eq(0), p.eq(0)]
                    m.next = "WAIT_ARG"
                with m.Elif(self.bstart):
                    m.d.sync += [j.eq(0), p.eq(0)]
                    m.next = "B_READ"

        # saturation flags (each test registered first, then one sticky flag)
        w_over = saturate((b0 - upq) >> F, V)[1] | saturate((b1 + upq) >> F, V)[1]
        flag(odv_over & fsm.ongoing("READ"))
        flag(slope_over & fsm.ongoing("SLOPE"))
        flag(w_over & fsm.ongoing("B_WRITE"))
        flag(ek_over & last_p & fsm.ongoing("B_WRITE"))
        flag(self.st_grant & self.st_sat)
        idle = fsm.ongoing("IDLE") | fsm.ongoing("F_DONE") | fsm.ongoing("B_DONE")
        with m.If(Cat(*hits).any()):
            m.d.sync += self.sat.eq(1)
        with m.If(self.clear):
            m.d.sync += [self.sat.eq(0), self.clamps.eq(0), self.stretches.eq(0)]

        # -- control access (idle only) -----------------------------------------------------
        off = self.tbl_offset
        nb = st.node_bits
        o_node = off[:max(1, nb)]
        o_slot = off[nb:nb + st.slot_bits] if st.slot_bits else Const(0, 1)
        d_slot = off[2:2 + st.slot_bits] if st.slot_bits else Const(0, 1)
        active = self.tbl_sel & idle
        r_domain, r_odd, r_which = Signal(), Signal(), Signal(2)
        r_dslot = Signal(max(1, st.slot_bits))
        r_read = Signal()
        m.d.sync += r_read.eq(active)
        with m.If(active):
            m.d.sync += [r_domain.eq(self.tbl_domain), r_odd.eq(off[0]), r_which.eq(off[:2]),
                         r_dslot.eq(d_slot)]
            with m.If(self.tbl_domain):
                with m.If(self.tbl_we):
                    with m.Switch(off[:2]):
                        for which, w in ((DOMAIN_LO, w_lo), (DOMAIN_HI, w_hi),
                                         (DOMAIN_RCP, w_rcp)):
                            with m.Case(which):
                                m.d.comb += [w.addr.eq(d_slot), w.data.eq(self.tbl_wdata),
                                             w.en.eq(1)]
            with m.Else():
                a_e, a_o = outer.node_addrs(o_slot, o_node)
                m.d.comb += [outer.rd_even.addr.eq(a_e), outer.rd_odd.addr.eq(a_o)]
                outer.write_node(m, self.tbl_we, o_slot, o_node, self.tbl_wdata)
        domain_word = Mux(r_which == DOMAIN_LO, rd(lo, r_dslot),
                          Mux(r_which == DOMAIN_HI, rd(hi, r_dslot), rd(rcp, r_dslot)))
        node_word = Mux(r_odd, outer.rd_odd.data, outer.rd_even.data)
        with m.If(r_read):
            m.d.sync += self.tbl_rdata.eq(Mux(r_domain, domain_word, node_word))
        return m
