"""A processing block's outer engine: the hidden argument of each addend
mapped onto the outer grid (stretching the domain while training, clamping
when frozen), the outer function's value and slope; and in the update pass
each addend's inner step ``e_k = e * slope`` and its outer pair written
back with ``e * t_f``. It owns the outer table and the per-addend words
(domain, reciprocal, coordinate, slope, pair as read).

Forward, one addend at a time: after the take (cycle 0) ``d = a - lo`` in
cycle 1, the map ``d * rcp`` 2, the coordinate and the stretch test 3, the
outer read 4, the value's product 5, the value 6 (``done`` after the last
addend shows a cycle later: :data:`~kanhw.interface.cycles.ENGINE_VALUE_LATENCY`),
the slope's product 7. The three products take turns on one multiplier, so
the engine starts a new addend every
:data:`~kanhw.interface.cycles.ENGINE_TAKE_INTERVAL` cycles (never the cycle
after the previous addend leaves the stretch test: that addend's map would
meet the previous one's slope on the multiplier); hidden sums that arrive
while it is busy wait in ``held``.

An argument outside the domain while training raises ``st.req``
:data:`~kanhw.interface.cycles.ENGINE_STRETCH_REQUEST` cycles after the
take; the core's shared stretch unit (:mod:`kanhw.rtl_gen.stretch`) hands
back the new domain, reciprocal and offset with ``st.grant``, the engine
re-maps the addend and is free
:data:`~kanhw.interface.cycles.ENGINE_REMAP` cycles later.

Update, beside the next record's forward pass: the update's own multiplier
forms ``e * slope`` (each addend's ``e_k``, ready as its first lane step
issues) and ``e * t_f`` (its outer pair, written the cycle after). Every
step mirrors :mod:`kanhw.nk_fixed`.
"""

from __future__ import annotations

from amaranth.hdl import Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from kanhw.interface.geometry import (
    DOMAIN_HI,
    DOMAIN_LO,
    DOMAIN_RCP,
    REGION_DOMAIN,
    REGION_OUTER,
    Geometry,
)

from ..arith import round_shift, saturate
from .lanes import access_signature
from .sequencer import issue_signature
from .tables import Banks, PerAddend
from .writeback import HitFlags, pair_bases, pair_written


def stretch_signature(geo: Geometry) -> wiring.Signature:
    """A block's side of the core's stretch unit (from the block's view)."""
    c = geo.design.contract
    return wiring.Signature({
        "req": Out(1),
        "s_hidden": Out(signed(c.value_bits)),
        "dom_lo": Out(signed(c.value_bits)),
        "dom_hi": Out(signed(c.value_bits)),
        "grant": In(1),
        "lo": In(signed(c.value_bits)),
        "hi": In(signed(c.value_bits)),
        "rcp": In(unsigned(c.rcp_bits)),
        "d": In(signed(c.mul_bits)),
        "sat": In(1),
    })


class OuterEngine(wiring.Component):
    """See the module docstring. Forward: ``sum``/``sum_valid`` from the
    lanes, ``begin`` as a pass begins; ``val`` and ``done`` once the last
    addend's value is in; ``clamp``/``stretch`` count this record's events
    (``clear`` clears them and ``sat``'s source, ``update`` clears
    ``done``). Update: ``t_update`` (a training update starts, with ``e``),
    the sequencer's update issue (``upd``, and ``upd_next`` for the next
    cycle); ``ek`` for the lanes. ``ctl``: the outer and domain regions
    (``region`` tells them apart)."""

    def __init__(self, geo: Geometry, lut_ram: bool = True) -> None:
        """``lut_ram``: the fabric has LUT RAM for the per-addend words."""
        self.geo, self.lut_ram = geo, lut_ram
        c = geo.design.contract
        M = geo.addends_per_block
        super().__init__({
            "sum": In(signed(c.value_bits)),
            "sum_valid": In(1),
            "begin": In(1),
            "train": In(1),
            "coord_top": In(unsigned(geo.outer_coord_width)),
            "update": In(1),
            "clear": In(1),
            "val": Out(signed(c.value_bits + 2 + geo.addend_bits)),
            "done": Out(1),
            "clamp": Out(range(M + 1)),
            "stretch": Out(range(M + 1)),
            "sat": Out(1),
            "t_update": In(1),
            "e": In(signed(c.step_bits)),
            "upd": In(issue_signature(geo.lane_shape)),
            "upd_next": In(issue_signature(geo.lane_shape)),
            "ek": Out(signed(c.step_bits)),
            "usat": Out(1),
            "st": Out(stretch_signature(geo)),
            "ctl": In(access_signature(geo.offset_bits)),
            "ctl_region": In(2),
        })

    def elaborate(self, platform):
        m = Module()
        geo = self.geo
        c = geo.design.contract
        V, F, G, MB, EB = c.value_bits, c.frac_bits, c.guard_bits, c.mul_bits, c.step_bits
        S, M, AB, P1 = geo.steps, geo.addends_per_block, geo.addend_bits, geo.p_outer
        sshift = F + c.rcp_shift - c.slope_frac
        top1 = self.coord_top
        sat, usat = HitFlags(m, "osat"), HitFlags(m, "ousat")

        def per_addend(shape, name, init=0):
            return PerAddend(m, name, shape, M, init, self.lut_ram)

        outer = Banks(m, "outer", V, P1, M)
        lo = per_addend(signed(V), "lo")
        hi = per_addend(signed(V), "hi")
        rcp = per_addend(unsigned(c.rcp_bits), "rcp", init=1)
        tj_arr = per_addend(range(P1), "tj")      # outer coordinate, forward -> update
        tf_arr = per_addend(F, "tf")
        slope_arr = per_addend(signed(c.slope_bits), "slope")
        ov0_arr = per_addend(signed(V), "ov0")    # outer pair as read, forward -> update
        ov1_arr = per_addend(signed(V), "ov1")

        # -- taking the hidden sums, one addend at a time ----------------------------------
        produced = Signal(range(M + 1))      # sums out of the lanes this record
        taken = Signal(range(M + 1))         # addends the engine has started
        held = per_addend(signed(V), "held") if M > 1 else None
        with m.If(self.sum_valid):
            m.d.sync += produced.eq(produced + 1)
            if held is not None:
                held.write(m, produced, self.sum)
        waiting = produced > taken
        avail = (waiting | self.sum_valid) & (taken < M)
        next_sum = Mux(waiting, held.read(taken), self.sum) if held is not None else self.sum
        busy = Signal()                      # an addend in the engine
        cur = Signal(range(max(M, 2)))       # ... its index
        s_reg = Signal(signed(V))            # its hidden sum, kept for a stretch
        d_reg = Signal(signed(MB))           # a - lo, clipped to a multiplier operand
        k_valid = Signal()                   # an addend taken: d_reg next
        d_valid = Signal()
        o_valid = Signal()
        h_valid = Signal()                   # o_valid a cycle later: the value's product
        # The engine takes the next addend as the current one leaves the
        # stretch test (o_valid). Not the cycle after (h_valid): that addend's
        # map would fall on the multiplier with the current one's slope,
        # three cycles after its o_valid (a sum that arrives then, as every
        # fifth cycle with five lane steps per addend or after a stretch,
        # waits a cycle).
        take = avail & (~busy | o_valid) & ~h_valid
        lo_cur, hi_cur, rcp_cur = lo.read(cur), hi.read(cur), rcp.read(cur)
        m.d.sync += [k_valid.eq(take), d_valid.eq(k_valid)]
        stretched = Signal()                 # this addend stretched once already
        with m.If(take):
            m.d.sync += [taken.eq(taken + 1), busy.eq(1), cur.eq(taken), stretched.eq(0),
                         s_reg.eq(next_sum)]
        with m.Elif(o_valid):
            m.d.sync += busy.eq(0)
        with m.If(self.begin):
            m.d.sync += [produced.eq(0), taken.eq(0)]
        # d = a - lo a cycle after the take, from registers: the choice of the
        # sum (held or the lanes'), the domain's read at the new index and the
        # subtraction in one cycle were the 85F build's longest path (17.3 ns).
        # The addend's reciprocal is read in the same cycle: the map multiplier
        # then starts from registers (the LUT RAM's read at ``cur`` into the
        # multiplier was 17.5 ns, 6 ns of it routing on ``cur``).
        rcp_reg = Signal(unsigned(c.rcp_bits))
        with m.If(k_valid):
            m.d.sync += [d_reg.eq(saturate(round_shift(s_reg - lo_cur, G), MB)[0]),
                         rcp_reg.eq(rcp_cur)]

        # -- the forward multiplier, shared in turn ---------------------------------------
        # map d*rcp (d_valid/redo), value t_f*dv (h_valid), slope dv*rcp
        # (sl_valid); the update has its own (it overlaps the next record)
        mul_a = Signal(signed(MB))
        mul_b = Signal(signed(max(c.rcp_bits + 1, F + 1)))
        pq = Signal(signed(len(mul_a) + len(mul_b)), reset_less=True)
        m.d.sync += pq.eq(mul_a * mul_b)

        # -- map, coordinate, read, value and slope -----------------------------------------
        redo = Signal()                      # re-map after a stretch
        p_valid = Signal()
        m.d.sync += p_valid.eq(d_valid | redo)
        t_full = round_shift(pq, c.rcp_shift)
        below, above = t_full < 0, t_full > top1
        t_use = Mux(below, 0, Mux(above, top1, t_full))[:geo.outer_coord_width]
        need_stretch = p_valid & (below | above) & self.train & ~stretched
        # the engine's own copy of the coordinate: the value multiplier reads it
        # without going through the per-addend multiplexer (identical
        # registers merge when the block serves one addend)
        t_f = Signal(F)
        t_j = Signal(range(P1))
        m.d.sync += o_valid.eq(p_valid & ~need_stretch)
        o_addr = outer.seg_addrs(cur, t_use[F:])
        # The coordinate is written whether or not the argument stretches
        # the domain: after a stretch, the re-map writes it again before
        # anything reads it (gating the writes by the stretch test was the
        # ULX3S-85F build's longest path, 15.3 ns).
        with m.If(p_valid):
            m.d.sync += [t_j.eq(t_use[F:]), t_f.eq(t_use[:F])]
            tj_arr.write(m, cur, t_use[F:])
            tf_arr.write(m, cur, t_use[:F])
            with m.If((below | above) & ~self.train):
                m.d.sync += self.clamp.eq(self.clamp + 1 if M > 1 else 1)
        # The outer pair's difference is registered before it reaches the
        # multiplier (block RAM, pair multiplexer, subtraction, rounding and
        # saturation filled a cycle): value t_f*dv two cycles after the read,
        # slope dv*rcp two after that.
        o_v0 = Signal(signed(V))
        o_dv = Signal(signed(MB))
        o_rcp = Signal(unsigned(c.rcp_bits))
        o_cur = Signal.like(cur)             # the addend whose value and slope follow
        v_valid, sl_valid, s_valid = Signal(), Signal(), Signal()
        ov0, ov1 = Banks.pair(t_j[0], outer.rd_even.data, outer.rd_odd.data)
        odv, odv_over = saturate(round_shift(ov1 - ov0, G), MB)
        m.d.sync += [h_valid.eq(o_valid), v_valid.eq(h_valid), sl_valid.eq(v_valid),
                     s_valid.eq(sl_valid)]
        with m.If(o_valid):
            m.d.sync += [o_v0.eq(ov0), o_dv.eq(odv), o_rcp.eq(rcp_reg), o_cur.eq(cur)]
            ov0_arr.write(m, cur, ov0)
            ov1_arr.write(m, cur, ov1)
        sat.flag(o_valid & odv_over)
        value = o_v0 + round_shift(pq, F - G)
        with m.If(v_valid):
            m.d.sync += self.val.eq(Mux(o_cur == 0, 0, self.val) + value if M > 1 else value)
            with m.If(o_cur == M - 1):
                m.d.sync += self.done.eq(1)
        # the last slope lands two cycles after done; the barrier, residual
        # and step take longer than that before ``update`` can use it
        slope_sat, slope_over = saturate(round_shift(pq, sshift), c.slope_bits)
        with m.If(s_valid):
            slope_arr.write(m, o_cur, slope_sat)
        sat.flag(s_valid & slope_over)

        # -- stretch: request the shared unit, take back domain, rcp and offset -----------
        st = self.st
        m.d.comb += [st.s_hidden.eq(s_reg), st.dom_lo.eq(lo_cur), st.dom_hi.eq(hi_cur)]
        with m.If(need_stretch):
            m.d.sync += [st.req.eq(1), stretched.eq(1),
                         self.stretch.eq(self.stretch + 1 if M > 1 else 1)]
        with m.If(st.grant):
            m.d.sync += [st.req.eq(0), d_reg.eq(st.d), rcp_reg.eq(st.rcp)]
            for arr, v in ((lo, st.lo), (hi, st.hi), (rcp, st.rcp)):
                arr.write(m, cur, v)
        sat.flag(st.grant & st.sat)
        m.d.sync += redo.eq(st.grant)
        with m.If(self.update):
            m.d.sync += self.done.eq(0)

        # -- update: e_k and the outer step on the engine's update multiplier ----------------
        upd, nxt = self.upd, self.upd_next
        e_reg = Signal(signed(EB))
        umul_a = Signal(signed(EB))
        umul_b = Signal(signed(max(c.slope_bits, F + 1)))
        upq = Signal(signed(len(umul_a) + len(umul_b)), reset_less=True)
        m.d.sync += upq.eq(umul_a * umul_b)
        # The operands come from registers, read from the per-addend LUT RAMs
        # the cycle before (the RAM's address logic, the read and the
        # multiplier in one cycle were the OrangeCrab build's longest path),
        # and the multiplier takes them every cycle: only the products of the
        # cycles below are used (choosing the operands by the update's step
        # was the ULX3S-85F build's longest path, 16.7 ns). Reading early is
        # safe: the next record's forward pass writes an addend's slope and
        # t_f only after this update has read them.
        #   - before the pass (idle): the first addend's slope, for e * slope
        #     as the update starts;
        #   - an addend's first step: its t_f, for e * t_f;
        #   - its last step: the next addend's slope, for e * slope.
        ub_issue = Signal.like(umul_b)
        with m.If(~nxt.valid):
            m.d.sync += ub_issue.eq(slope_arr.read(0))
        with m.Elif(nxt.step == 0):
            m.d.sync += ub_issue.eq(tf_arr.read(nxt.addend))
        if M > 1:
            with m.If(nxt.valid & (nxt.step == S - 1)):
                m.d.sync += ub_issue.eq(slope_arr.read(Mux(nxt.addend == M - 1, 0,
                                                           nxt.addend + 1)))
        m.d.comb += [umul_a.eq(Mux(self.t_update, self.e, e_reg)), umul_b.eq(ub_issue)]
        with m.If(self.t_update):
            # e * slope of the first addend, ready as its first step issues
            m.d.sync += e_reg.eq(self.e)
        # the outer pair of the addend whose update starts, as its forward
        # pass read it: taken now, written next cycle
        outer_write = Signal()
        ow_odd = Signal()
        ow_e = Signal.like(outer.wr_even.addr)
        ow_o = Signal.like(outer.wr_odd.addr)
        ub0, ub1 = pair_bases(ov0_arr.read(upd.addend), ov1_arr.read(upd.addend), e_reg, F)
        uv0, uv1 = Signal(ub0.shape()), Signal(ub1.shape())
        m.d.sync += outer_write.eq(0)
        tj_u = tj_arr.read(upd.addend)
        u_addr = outer.seg_addrs(upd.addend, tj_u)
        first_step = upd.valid & (upd.step == 0)
        ek_sat, ek_over = saturate(round_shift(upq, c.slope_frac), EB)
        with m.If(first_step):
            # an addend's first step: its e_k from e*slope, and e*t_f for its
            # outer pair
            m.d.sync += [self.ek.eq(ek_sat), outer_write.eq(1), ow_odd.eq(tj_u[0]),
                         ow_e.eq(u_addr[0]), ow_o.eq(u_addr[1]), uv0.eq(ub0), uv1.eq(ub1)]
        usat.flag(first_step & ek_over)
        n0, n1, over = pair_written(uv0, uv1, upq, F, V)
        outer.write_pair(m, outer_write, ow_e, ow_o, ow_odd, n0, n1)
        usat.flag(outer_write & over)

        # the forward multiplier's operands
        with m.If(d_valid | redo):
            m.d.comb += [mul_a.eq(d_reg), mul_b.eq(rcp_reg)]
        with m.Elif(h_valid):
            m.d.comb += [mul_a.eq(o_dv), mul_b.eq(t_f)]
        with m.Elif(sl_valid):
            m.d.comb += [mul_a.eq(o_dv), mul_b.eq(o_rcp)]
        m.d.comb += [outer.rd_even.addr.eq(o_addr[0]), outer.rd_odd.addr.eq(o_addr[1])]
        with m.If(self.clear):
            m.d.sync += [self.clamp.eq(0), self.stretch.eq(0)]
        m.d.comb += [self.sat.eq(sat.any), self.usat.eq(usat.any)]

        # -- control access (idle only): the outer nodes, the domains -----------------------
        ctl = self.ctl
        off = ctl.offset
        nb1 = geo.node_bits_outer
        o_node = off[:max(1, nb1)]
        o_slot = off[nb1:nb1 + AB] if AB else Const(0, 1)
        d_slot = off[2:2 + AB] if AB else Const(0, 1)
        r_outer = Signal()
        r_odd = Signal()
        r_which = Signal(2)
        r_dslot = Signal(max(1, AB))
        with m.If(ctl.sel):
            m.d.sync += [r_outer.eq(self.ctl_region == REGION_OUTER), r_odd.eq(off[0]),
                         r_which.eq(off[:2]), r_dslot.eq(d_slot)]
            with m.If(self.ctl_region == REGION_OUTER):
                a_e, a_o = outer.node_addrs(o_slot, o_node)
                m.d.comb += [outer.rd_even.addr.eq(a_e), outer.rd_odd.addr.eq(a_o)]
                outer.write_node(m, ctl.we, o_slot, o_node, ctl.wdata)
            with m.Elif(self.ctl_region == REGION_DOMAIN):
                with m.If(ctl.we):
                    with m.Switch(off[:2]):
                        with m.Case(DOMAIN_LO):
                            lo.write(m, d_slot, ctl.wdata)
                        with m.Case(DOMAIN_HI):
                            hi.write(m, d_slot, ctl.wdata)
                        with m.Case(DOMAIN_RCP):
                            rcp.write(m, d_slot, ctl.wdata)
        domain = Signal(32)
        with m.Switch(r_which):
            with m.Case(DOMAIN_LO):
                m.d.comb += domain.eq(lo.read(r_dslot))
            with m.Case(DOMAIN_HI):
                m.d.comb += domain.eq(hi.read(r_dslot))
            with m.Case(DOMAIN_RCP):
                m.d.comb += domain.eq(rcp.read(r_dslot))
        m.d.comb += ctl.rdata.eq(Mux(r_outer, Mux(r_odd, outer.rd_odd.data, outer.rd_even.data),
                                     domain))
        return m
