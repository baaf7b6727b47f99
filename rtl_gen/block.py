"""One processing block per KAN addend: its inner function tables, its outer
function table and domain, the forward datapath and the update logic.

Every arithmetic step mirrors :mod:`kanhw.nk_fixed` exactly. Node tables are
split into even and odd banks so that the two nodes of a segment (``j`` and
``j + 1``, always of opposite parity) are read, and written, in one cycle
through one port per bank.

Lane pipeline (shared by the forward pass and the update):

* A: drive the bank addresses of step ``s`` (input ``s * lanes + lane``);
* B: bank data arrive; one multiplier forms ``f * (v1 - v0)`` (forward) or
  ``f * e_k`` (update);
* C: forward: accumulate ``v0 + round(product)``; update: write back
  ``v0 + e_k - up`` and ``v1 + up``.

After the lanes: adder tree, saturation, ``d = s - lo``, the map multiply
``d * rcp``, the outer coordinate and read, the outer value and slope. An
outer argument outside the domain stretches it (training) or is clamped
(frozen). Stretches are rare, so the block does not compute one itself: it
raises ``st_req`` and waits for the core's shared stretch unit
(:mod:`kanhw.rtl_gen.stretch`) to hand back the new domain, reciprocal and
offset. ``done`` holds until ``update``, which applies ``e`` to the outer
nodes and ``e * slope`` to every inner function (training) or only releases
the block (frozen).

The five outer products (map, value, slope, inner step, outer update) take
turns on one multiplier: they fall in different cycles of a record, and a
det4-sized design has DSP blocks for two multipliers per addend, not six.
"""

from __future__ import annotations

from amaranth.hdl import (
    Array,
    Cat,
    ClockSignal,
    Const,
    Instance,
    Module,
    Mux,
    ResetSignal,
    Signal,
    signed,
    unsigned,
)
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .arith import round_shift, saturate
from .memmap import (
    DOMAIN_HI,
    DOMAIN_LO,
    DOMAIN_RCP,
    REGION_DOMAIN,
    REGION_INNER,
    REGION_OUTER,
    Geometry,
    ceil_log2,
)
from .tree import AdderTree


def control_signature(geo: Geometry) -> wiring.Signature:
    """Block-local control port: table and domain access while idle. Read
    data is valid the cycle after the request."""
    return wiring.Signature({
        "sel": Out(1),
        "we": Out(1),
        "region": Out(2),
        "offset": Out(geo.offset_bits),
        "wdata": Out(32),
        "rdata": In(32),
    })


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


def block_signature(geo: Geometry) -> wiring.Signature:
    c = geo.design.contract
    return wiring.Signature({
            "start": In(1),
            "update": In(1),
            "train": In(1),
            "u": In(data.ArrayLayout(unsigned(geo.coord_width), geo.n)),
            "e": In(signed(c.step_bits)),
            "val": Out(signed(c.value_bits + 2)),
            "done": Out(1),
            "idle": Out(1),
            "sat": Out(1),
            "clamp": Out(1),
            "stretch": Out(1),
            "clear": In(1),
            "ctl": In(control_signature(geo)),
            # stretch requests, served by the core's stretch unit
            "st_req": Out(1),
            "s_hidden": Out(signed(c.value_bits)),
            "dom_lo": Out(signed(c.value_bits)),
            "dom_hi": Out(signed(c.value_bits)),
            "st_grant": In(1),
            "st_lo": In(signed(c.value_bits)),
            "st_hi": In(signed(c.value_bits)),
            "st_rcp": In(unsigned(c.rcp_bits)),
            "st_d": In(signed(c.mul_bits)),
            "st_sat": In(1),
        })


#: Synthesis attributes of the inner tables per ``[hardware] table_ram``
#: (Yosys' memory mapper reads ``ram_style``).
RAM_STYLE = {"auto": None, "block": {"ram_style": "block"},
             "lut": {"ram_style": "distributed"}}

#: Module name of the shared block in emitted Verilog.
BLOCK_MODULE = "kanhw_block"


class BlockInstance(wiring.Component):
    """A block as an instance of the separately emitted ``kanhw_block``
    module: the Verilog holds one block definition, not K copies."""

    def __init__(self, geo: Geometry) -> None:
        super().__init__(block_signature(geo))

    def elaborate(self, platform):
        m = Module()
        ports = {"i_clk": ClockSignal(), "i_rst": ResetSignal()}
        for path, member, value in self.signature.flatten(self):
            name = "__".join(str(p) for p in path)
            prefix = "i_" if member.flow == In else "o_"
            ports[prefix + name] = value
        m.submodules.block = Instance(BLOCK_MODULE, **ports)
        return m


class ProcessingBlock(wiring.Component):
    """The datapath of one addend. See the module docstring for the protocol."""

    def __init__(self, geo: Geometry) -> None:
        self.geo = geo
        super().__init__(block_signature(geo))

    def elaborate(self, platform):
        m = Module()
        geo = self.geo
        c = geo.design.contract
        V, F, L, S = c.value_bits, c.frac_bits, geo.lanes, geo.steps
        MB, EB, G = c.mul_bits, c.step_bits, c.guard_bits
        P1 = geo.p_outer
        sshift = F + c.rcp_shift - c.slope_frac
        top1 = ((P1 - 1) << F) - 1

        def flag_sat(cond):
            with m.If(cond):
                m.d.sync += self.sat.eq(1)

        # -- state ---------------------------------------------------------------
        ram = RAM_STYLE[geo.design.table_ram]
        lanes = [Banks(m, f"inner{l}", V, geo.p_inner, S, attrs=ram) for l in range(L)]
        outer = Banks(m, "outer", V, P1, 1)
        lo = Signal(signed(V))
        hi = Signal(signed(V))
        rcp = Signal(unsigned(c.rcp_bits), init=1)
        slot0 = Const(0, 1)

        # -- lane pipeline -----------------------------------------------------------
        fwd_issue = Signal()                 # stage A flags
        upd_issue = Signal()
        step = Signal(range(max(S, 2)))
        a_fwd, a_upd, a_first, a_last = Signal(), Signal(), Signal(), Signal()
        b_fwd, b_upd, b_first, b_last = Signal(), Signal(), Signal(), Signal()
        c_last = Signal()
        m.d.sync += [a_fwd.eq(fwd_issue), a_upd.eq(upd_issue),
                     a_first.eq(step == 0), a_last.eq(step == S - 1),
                     b_fwd.eq(a_fwd), b_upd.eq(a_upd), b_first.eq(a_first),
                     b_last.eq(a_last), c_last.eq(b_fwd & b_last)]
        ek = Signal(signed(c.step_bits))     # step of this addend's inner functions
        lane_sums = []
        for l, bank in enumerate(lanes):
            inputs = [s * L + l for s in range(S)]
            u_sel = Array([self.u[i] if i < geo.n else Const(0, geo.coord_width)
                           for i in inputs])[step]
            real = Array([Const(int(i < geo.n), 1) for i in inputs])[step]
            j = u_sel[F:]
            addr_e, addr_o = bank.seg_addrs(step, j)
            m.d.comb += [bank.rd_even.addr.eq(addr_e), bank.rd_odd.addr.eq(addr_o)]
            # stage A -> B registers
            a_f = Signal(F, name=f"a_f{l}")
            a_odd = Signal(name=f"a_odd{l}")
            a_real = Signal(name=f"a_real{l}")
            a_ae = Signal.like(bank.rd_even.addr, name=f"a_ae{l}")
            a_ao = Signal.like(bank.rd_odd.addr, name=f"a_ao{l}")
            m.d.sync += [a_f.eq(u_sel[:F]), a_odd.eq(j[0]), a_real.eq(real),
                         a_ae.eq(addr_e), a_ao.eq(addr_o)]
            # stage B: one multiplier, forward or update operand
            v0, v1 = Banks.pair(a_odd, bank.rd_even.data, bank.rd_odd.data)
            b_p = Signal(signed(MB + F + 2), name=f"b_p{l}")
            b_v0 = Signal(signed(V), name=f"b_v0_{l}")
            b_v1 = Signal(signed(V), name=f"b_v1_{l}")
            b_odd = Signal(name=f"b_odd{l}")
            b_real = Signal(name=f"b_real{l}")
            b_ae = Signal.like(a_ae, name=f"b_ae{l}")
            b_ao = Signal.like(a_ao, name=f"b_ao{l}")
            dv, dv_over = saturate(round_shift(v1 - v0, G), MB)
            operand = Mux(a_upd, ek, dv)
            flag_sat(a_fwd & a_real & dv_over)
            m.d.sync += [b_p.eq(a_f * operand), b_v0.eq(v0), b_v1.eq(v1), b_odd.eq(a_odd),
                         b_real.eq(a_real), b_ae.eq(a_ae), b_ao.eq(a_ao)]
            # stage C, forward: accumulate this lane's values
            acc = Signal(signed(V + 3 + ceil_log2(S + 1)), name=f"acc{l}")
            val = Mux(b_real, b_v0 + round_shift(b_p, F - G), 0)
            with m.If(b_fwd):
                m.d.sync += acc.eq(Mux(b_first, 0, acc) + val)
            lane_sums.append(acc)
            # stage C, update: write the pair back
            up = round_shift(b_p, F)
            n0, o0 = saturate(b_v0 + (ek - up), V)
            n1, o1 = saturate(b_v1 + up, V)
            bank.write_pair(m, b_upd & b_real, b_ae, b_ao, b_odd, n0, n1)
            flag_sat(b_upd & b_real & (o0 | o1))

        # -- lane reduction, saturation, d = s - lo ----------------------------------
        acc_width = lane_sums[0].shape().width
        m.submodules.lane_tree = tree = AdderTree(L, acc_width, geo.design.tree_levels_per_cycle)
        for l, acc in enumerate(lane_sums):
            m.d.comb += tree.inputs[l].eq(acc)
        m.d.comb += tree.valid_in.eq(c_last)
        s_sat, s_over = saturate(tree.output, V)
        s_reg = Signal(signed(V))            # the hidden sum, kept for a stretch
        d_reg = Signal(signed(MB))           # a - lo, clipped to a multiplier operand
        d_valid = Signal()
        m.d.sync += d_valid.eq(tree.valid_out)
        with m.If(tree.valid_out):
            m.d.sync += [s_reg.eq(s_sat), d_reg.eq(saturate(round_shift(s_sat - lo, G), MB)[0])]
        flag_sat(tree.valid_out & s_over)

        # -- the outer multiplier, shared in turn ---------------------------------
        # map d*rcp (d_valid/redo), value t_f*dv (o_valid), slope dv*rcp
        # (h_valid), inner step e*slope (update), outer step e*t_f (UPDATE_OUTER)
        mul_a = Signal(signed(max(MB, EB)))
        mul_b = Signal(signed(max(c.rcp_bits + 1, F + 1, c.slope_bits)))
        pq = Signal(signed(len(mul_a) + len(mul_b)))
        m.d.sync += pq.eq(mul_a * mul_b)

        # -- outer: map, read, value and slope ---------------------------------------
        redo = Signal()                      # re-map after a stretch
        p_valid = Signal()
        m.d.sync += p_valid.eq(d_valid | redo)
        t_full = round_shift(pq, c.rcp_shift)
        below, above = t_full < 0, t_full > top1
        t_use = Mux(below, 0, Mux(above, top1, t_full))[:geo.outer_coord_width]
        stretched = Signal()                 # this record stretched once already
        need_stretch = p_valid & (below | above) & self.train & ~stretched
        t_j = Signal(range(P1))
        t_f = Signal(F)
        o_valid = Signal()
        m.d.sync += o_valid.eq(p_valid & ~need_stretch)
        addr_e, addr_o = outer.seg_addrs(slot0, t_use[F:])
        m.d.comb += [outer.rd_even.addr.eq(addr_e), outer.rd_odd.addr.eq(addr_o)]
        with m.If(p_valid & ~need_stretch):
            m.d.sync += [t_j.eq(t_use[F:]), t_f.eq(t_use[:F])]
            with m.If((below | above) & ~self.train):
                m.d.sync += self.clamp.eq(1)
        o_v0 = Signal(signed(V))
        o_v1 = Signal(signed(V))
        o_dv = Signal(signed(MB))
        h_valid = Signal()
        s_valid = Signal()
        ov0, ov1 = Banks.pair(t_j[0], outer.rd_even.data, outer.rd_odd.data)
        odv, odv_over = saturate(round_shift(ov1 - ov0, G), MB)
        m.d.sync += [h_valid.eq(o_valid), s_valid.eq(h_valid)]
        with m.If(o_valid):
            m.d.sync += [o_v0.eq(ov0), o_v1.eq(ov1), o_dv.eq(odv)]
        flag_sat(o_valid & odv_over)
        with m.If(h_valid):
            m.d.sync += [self.val.eq(o_v0 + round_shift(pq, F - G)), self.done.eq(1)]
        # the slope lands a cycle after done; the barrier, residual and step
        # take longer than that before ``update`` can use it
        slope = Signal(signed(c.slope_bits))
        slope_sat, slope_over = saturate(round_shift(pq, sshift), c.slope_bits)
        with m.If(s_valid):
            m.d.sync += slope.eq(slope_sat)
        flag_sat(s_valid & slope_over)

        # -- stretch: request the shared unit, take back domain, rcp and offset --------
        m.d.comb += [self.s_hidden.eq(s_reg), self.dom_lo.eq(lo), self.dom_hi.eq(hi)]
        with m.If(need_stretch):
            m.d.sync += [self.st_req.eq(1), stretched.eq(1), self.stretch.eq(1)]
        with m.If(self.st_grant):
            m.d.sync += [self.st_req.eq(0), lo.eq(self.st_lo), hi.eq(self.st_hi),
                         rcp.eq(self.st_rcp), d_reg.eq(self.st_d)]
        flag_sat(self.st_grant & self.st_sat)
        m.d.sync += redo.eq(self.st_grant)

        # -- sequencing ------------------------------------------------------------
        e = self.e
        e_reg = Signal(signed(EB))
        outer_write = Signal()               # the cycle after UPDATE_OUTER
        m.d.sync += outer_write.eq(0)
        with m.If(fwd_issue | upd_issue):
            m.d.sync += step.eq(Mux(step == S - 1, 0, step + 1))
            with m.If(step == S - 1):
                m.d.sync += [fwd_issue.eq(0), upd_issue.eq(0)]
        last_write = b_upd & b_last          # stage C of the last update step

        def begin_record():
            m.d.sync += [step.eq(0), fwd_issue.eq(1), stretched.eq(0)]
            m.next = "FORWARD"

        with m.If(d_valid | redo):
            m.d.comb += [mul_a.eq(d_reg), mul_b.eq(rcp)]
        with m.Elif(o_valid):
            m.d.comb += [mul_a.eq(odv), mul_b.eq(t_f)]
        with m.Elif(h_valid):
            m.d.comb += [mul_a.eq(o_dv), mul_b.eq(rcp)]

        with m.FSM(name="control"):
            with m.State("IDLE"):
                m.d.comb += self.idle.eq(1)
                with m.If(self.start):
                    begin_record()
            with m.State("FORWARD"):
                with m.If(self.done & self.update):
                    m.d.sync += self.done.eq(0)
                    with m.If(self.train):
                        m.d.comb += [mul_a.eq(e), mul_b.eq(slope)]
                        m.d.sync += [e_reg.eq(e), step.eq(0), upd_issue.eq(1)]
                        m.next = "UPDATE_OUTER"
                    with m.Else():
                        m.next = "IDLE"
            with m.State("UPDATE_OUTER"):
                # the inner reads of step 0 are issued in this cycle (stage A)
                m.d.comb += [mul_a.eq(e_reg), mul_b.eq(t_f)]
                ek_sat, ek_over = saturate(round_shift(pq, c.slope_frac), EB)
                m.d.sync += [ek.eq(ek_sat), outer_write.eq(1)]
                flag_sat(ek_over)
                m.next = "UPDATE_INNER"
            with m.State("UPDATE_INNER"):
                # Idle from the cycle of the last write on: a record started now
                # issues its first reads next cycle, after that write landed.
                with m.If(last_write):
                    m.d.comb += self.idle.eq(1)
                    with m.If(self.start):
                        begin_record()
                    with m.Else():
                        m.next = "IDLE"
        # the outer pair, one cycle after UPDATE_OUTER (its step e*t_f is in pq)
        up_o = round_shift(pq, F)
        n0, o0 = saturate(o_v0 + (e_reg - up_o), V)
        n1, o1 = saturate(o_v1 + up_o, V)
        w_e, w_o = outer.seg_addrs(slot0, t_j)
        outer.write_pair(m, outer_write, w_e, w_o, t_j[0], n0, n1)
        flag_sat(outer_write & (o0 | o1))
        # Record flags stay readable until the core has counted them.
        with m.If(self.clear):
            m.d.sync += [self.sat.eq(0), self.clamp.eq(0), self.stretch.eq(0)]

        # -- control access (idle only) ----------------------------------------------
        ctl = self.ctl
        off = ctl.offset
        nb0, sb, lb = geo.node_bits_inner, geo.slot_bits, geo.lane_bits
        c_node = off[:nb0]
        c_slot = off[nb0:nb0 + sb] if sb else Const(0, 1)
        c_lane = off[nb0 + sb:nb0 + sb + lb] if lb else Const(0, 1)
        o_node = off[:max(1, ceil_log2(P1))]
        r_region = Signal(2)
        r_lane = Signal(max(1, lb))
        r_odd = Signal()
        r_which = Signal(2)
        active = ctl.sel & self.idle
        with m.If(active):
            m.d.sync += [r_region.eq(ctl.region), r_lane.eq(c_lane), r_odd.eq(off[0]),
                         r_which.eq(off[:2])]
            with m.Switch(ctl.region):
                with m.Case(REGION_INNER):
                    for l, bank in enumerate(lanes):
                        a_e, a_o = bank.node_addrs(c_slot, c_node)
                        m.d.comb += [bank.rd_even.addr.eq(a_e), bank.rd_odd.addr.eq(a_o)]
                        bank.write_node(m, ctl.we & (c_lane == l), c_slot, c_node, ctl.wdata)
                with m.Case(REGION_OUTER):
                    a_e, a_o = outer.node_addrs(slot0, o_node)
                    m.d.comb += [outer.rd_even.addr.eq(a_e), outer.rd_odd.addr.eq(a_o)]
                    outer.write_node(m, ctl.we, slot0, o_node, ctl.wdata)
                with m.Case(REGION_DOMAIN):
                    with m.If(ctl.we):
                        with m.Switch(off[:2]):
                            with m.Case(DOMAIN_LO):
                                m.d.sync += lo.eq(ctl.wdata)
                            with m.Case(DOMAIN_HI):
                                m.d.sync += hi.eq(ctl.wdata)
                            with m.Case(DOMAIN_RCP):
                                m.d.sync += rcp.eq(ctl.wdata)
        lane_data = Array([Mux(r_odd, b.rd_odd.data, b.rd_even.data) for b in lanes])[r_lane]
        with m.Switch(r_region):
            with m.Case(REGION_INNER):
                m.d.comb += ctl.rdata.eq(lane_data)
            with m.Case(REGION_OUTER):
                m.d.comb += ctl.rdata.eq(Mux(r_odd, outer.rd_odd.data, outer.rd_even.data))
            with m.Default():
                with m.Switch(r_which):
                    with m.Case(DOMAIN_LO):
                        m.d.comb += ctl.rdata.eq(lo)
                    with m.Case(DOMAIN_HI):
                        m.d.comb += ctl.rdata.eq(hi)
                    with m.Case(DOMAIN_RCP):
                        m.d.comb += ctl.rdata.eq(rcp)
        return m
