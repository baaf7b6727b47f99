"""A processing block's lane pipeline: the inner function tables of its
addends on ``lanes`` lanes, forward (the hidden sum of each addend) and
update (each inner function's pair written back), and the lanes' adder
tree.

Forward (record t + 1), a slot a cycle per lane:

* A: drive the table's read addresses for step ``s`` (input ``s * lanes + lane``);
* B: bank data arrive; the lane's first multiplier forms ``f * (v1 - v0)``;
* C: accumulate ``v0 + round(product)``.

With ``lane_stages = 4`` stage B is split: the pair and its saturated
difference are registered, and the multiply takes the next cycle (the path
from block RAM through the subtraction into the multiplier was the longest
in one-addend builds). ``lane_stages = 5`` also registers the table data as
they leave the block RAM. After an addend's last step the lanes' sums meet
in the adder tree and leave saturated: ``sum_valid`` rises
:attr:`LanePipeline.latency` cycles after the addend's last slot issued.

The forward pass keeps each slot's coordinate and pair in a small cache (a
word per addend and step; LUT RAM on ECP5), since the update of the same
record needs them again while the tables' read port already serves the
next record. Update (record t, beside it): A reads the cache; B forms
``f * e_k`` on the lane's second multiplier and the write addresses; C
writes back ``v0 + e_k - up`` and ``v1 + up`` through the tables' write
port. Every step mirrors :mod:`kanhw.nk_fixed`.

The same pipeline is a layered core's stage-1 lanes (a unit in place of an
addend; sizes from :class:`~kanhw.interface.geometry.LaneShape`). There the
update may instead run alone (``LaneShape.overlapped`` false, a layered
design's ``lane_update = "sequential"``): it then issues through the
forward pass's table reads and lane stages, and one multiplier per lane
forms ``f * dv`` forward and ``f * e_k`` updating; no cache.
"""

from __future__ import annotations

from amaranth.hdl import Array, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from kanhw.interface.cycles import LANE_STAGES
from kanhw.interface.geometry import LaneShape, ceil_log2

from ..arith import round_shift, saturate
from ..tree import lane_sum
from .sequencer import issue_signature
from .tables import RAM_STYLE, Banks
from .writeback import HitFlags, pair_bases, pair_written, slot_of


def access_signature(offset_bits: int) -> wiring.Signature:
    """Control access to a component's tables (the block is idle): ``sel``
    this cycle, a write if ``we``; ``rdata`` is the word read, valid the
    cycle after ``sel`` and held until the next."""
    return wiring.Signature({
        "sel": Out(1),
        "we": Out(1),
        "offset": Out(max(1, offset_bits)),
        "wdata": Out(32),
        "rdata": In(32),
    })


class LanePipeline(wiring.Component):
    """See the module docstring. ``fwd``/``upd``: the sequencer's issues;
    ``u_write``: the update's write-back stage; ``ek``: the issued addend's
    inner step, from the engine; ``ctl``: the inner region (offset: lane,
    slot, node)."""

    def __init__(self, geo: LaneShape) -> None:
        self.geo = geo
        c = geo.design.contract
        super().__init__({
            "u": In(data.ArrayLayout(unsigned(geo.coord_width), geo.n)),
            "fwd": In(issue_signature(geo)),
            "upd": In(issue_signature(geo)),
            "u_write": In(1),
            "ek": In(signed(c.step_bits)),
            "sum": Out(signed(c.value_bits)),
            "sum_valid": Out(1),
            "sat": Out(1),
            "usat": Out(1),
            "ctl": In(access_signature(geo.lane_bits + geo.slot_bits + geo.node_bits_inner)),
        })

    @property
    def _acc_width(self) -> int:
        return self.geo.design.contract.value_bits + 3 + ceil_log2(self.geo.steps + 1)

    @property
    def latency(self) -> int:
        """Cycles from an addend's last slot issuing to its sum."""
        return LANE_STAGES + self.geo.extra_lane_stages + self.geo.lane_tree_stages

    def _sequential_lane(self, m, l, bank, b_fwd, b_first, q_fwd, m_upd, m_ek, q_u, q_slot,
                         q_real, v0, v1, sat, usat, to_multiply):
        """Lane ``l`` past its table read when the update runs alone: one
        multiplier forms ``f * dv`` forward and ``f * e_k`` updating, and
        stage C accumulates or writes the pair back. Returns the lane's sum."""
        c = self.geo.design.contract
        V, F, G, MB, EB = c.value_bits, c.frac_bits, c.guard_bits, c.mul_bits, c.step_bits
        dv, dv_over = saturate(round_shift(v1 - v0, G), MB)
        sat.flag(q_fwd & q_real & dv_over)
        x_u, x_slot, x_v0, x_v1, x_dv, x_real = to_multiply(
            f"lane{l}_", q_u, q_slot, v0, v1, dv, q_real)
        op = Signal(signed(max(MB, EB)), name=f"op{l}")
        m.d.comb += op.eq(Mux(m_upd, m_ek, x_dv))
        prod = x_u[:F] * op
        b_p = Signal(prod.shape(), name=f"b_p{l}", reset_less=True)
        b_v0 = Signal(signed(V), name=f"b_v0_{l}")
        b_real = Signal(name=f"b_real{l}")
        base0, base1 = pair_bases(x_v0, x_v1, m_ek, F)
        b_b0 = Signal(base0.shape(), name=f"b_b0_{l}")
        b_b1 = Signal(base1.shape(), name=f"b_b1_{l}")
        ae, ao = bank.seg_addrs(x_slot, x_u[F:])
        b_ae, b_ao = Signal.like(ae, name=f"b_ae{l}"), Signal.like(ao, name=f"b_ao{l}")
        b_odd = Signal(name=f"b_odd{l}")
        m.d.sync += [b_p.eq(prod), b_v0.eq(x_v0), b_real.eq(x_real), b_b0.eq(base0),
                     b_b1.eq(base1), b_ae.eq(ae), b_ao.eq(ao), b_odd.eq(x_u[F])]
        # stage C: accumulate (forward) or write the pair back (update)
        acc = Signal(signed(self._acc_width), name=f"acc{l}")
        with m.If(b_fwd):
            m.d.sync += acc.eq(Mux(b_first, 0, acc)
                               + Mux(b_real, b_v0 + round_shift(b_p, F - G), 0))
        n0, n1, over = pair_written(b_b0, b_b1, b_p, F, V)
        bank.write_pair(m, self.u_write & b_real, b_ae, b_ao, b_odd, n0, n1)
        usat.flag(self.u_write & b_real & over)
        return acc

    def elaborate(self, platform):
        m = Module()
        geo = self.geo
        c = geo.design.contract
        V, F, G, MB = c.value_bits, c.frac_bits, c.guard_bits, c.mul_bits
        L, S, TB, AB = geo.lanes, geo.steps, geo.step_bits, geo.addend_bits
        u, fwd, upd, ek = self.u, self.fwd, self.upd, self.ek
        sat, usat = HitFlags(m, "sat"), HitFlags(m, "usat")

        def stage(name, on, values):
            """``values`` registered once more when ``on``, else as they are."""
            if not on:
                return values
            regs = [Signal.like(v, name=f"{name}{i}") for i, v in enumerate(values)]
            m.d.sync += [r.eq(v) for r, v in zip(regs, values)]
            return regs

        def from_ram(name, *values):
            """``values`` as the pair stage sees them: as they are (three or
            four lane stages), or registered at the block RAM's output (five:
            its 5.6 ns clock-to-output then leaves the pair, difference and
            saturation a cycle of their own)."""
            return stage(f"q_{name}", geo.extra_lane_stages >= 2, values)

        def to_multiply(name, *values):
            """``values`` as the multiply stage sees them: as they are (three
            lane stages), or registered once more (four or five: the table
            data and its difference get a cycle of their own before the
            multiplier)."""
            return stage(f"r_{name}", geo.extra_lane_stages >= 1, values)

        # the stage flags, shared by the lanes
        a_fwd, a_first, a_last = (Signal(name=n) for n in ("a_fwd", "a_first", "a_last"))
        b_fwd, b_first, b_last = (Signal(name=n) for n in ("b_fwd", "b_first", "b_last"))
        c_last = Signal()
        m.d.sync += [a_fwd.eq(fwd.valid), a_first.eq(fwd.step == 0),
                     a_last.eq(fwd.step == S - 1)]
        q_fwd, q_first, q_last = from_ram("flags", a_fwd, a_first, a_last)
        m_fwd, m_first, m_last = to_multiply("flags", q_fwd, q_first, q_last)
        m.d.sync += [b_fwd.eq(m_fwd), b_first.eq(m_first), b_last.eq(m_last),
                     c_last.eq(b_fwd & b_last)]

        ram = RAM_STYLE[geo.design.table_ram]
        banks = [Banks(m, f"inner{l}", V, geo.p_inner, (1 << TB) << AB, attrs=ram)
                 for l in range(L)]
        lane_sums = []
        if geo.overlapped:
            step_i, slot_i = fwd.step, slot_of(fwd.step, fwd.addend, TB, AB)
        else:
            # the update alone: it issues through the forward pass's table
            # reads and multiplier, its unit's step staged beside the data
            step_i = Mux(upd.valid, upd.step, fwd.step)
            slot_i = slot_of(step_i, Mux(upd.valid, upd.addend, fwd.addend), TB, AB)
            a_upd = Signal()
            m.d.sync += a_upd.eq(upd.valid)
            q_upd, q_ek = from_ram("upd", a_upd, ek)
            m_upd, m_ek = to_multiply("upd", q_upd, q_ek)
        slot_u = slot_of(upd.step, upd.addend, TB, AB)
        pad = Const(0, geo.coord_width)
        for l, bank in enumerate(banks):
            inputs = [s * L + l for s in range(S)]
            real = Array([Const(int(i < geo.n), 1) for i in inputs])

            # forward, stage A: drive the read ports
            u_f = Array([u[i] if i < geo.n else pad for i in inputs])[step_i]
            addr_e, addr_o = bank.seg_addrs(slot_i, u_f[F:])
            m.d.comb += [bank.rd_even.addr.eq(addr_e), bank.rd_odd.addr.eq(addr_o)]
            a_u = Signal.like(u_f, name=f"a_u{l}")
            a_slot = Signal.like(slot_i, name=f"a_slot{l}")
            a_real = Signal(name=f"a_real{l}")
            m.d.sync += [a_u.eq(u_f), a_slot.eq(slot_i), a_real.eq(real[step_i])]
            q_even, q_odd, q_u, q_slot, q_real = from_ram(
                f"lane{l}_", bank.rd_even.data, bank.rd_odd.data, a_u, a_slot, a_real)
            q_f, q_odd_first = q_u[:F], q_u[F]
            # stage B: the pair, its difference, f * (v1 - v0)
            v0, v1 = Banks.pair(q_odd_first, q_even, q_odd)
            if not geo.overlapped:
                lane_sums.append(self._sequential_lane(
                    m, l, bank, b_fwd, b_first, q_fwd, m_upd, m_ek, q_u, q_slot, q_real, v0, v1,
                    sat, usat, to_multiply))
                continue
            cache_layout = data.StructLayout({"u": unsigned(geo.coord_width),
                                              "v0": signed(V), "v1": signed(V)})
            m.submodules[f"cache{l}"] = cache = Memory(shape=cache_layout,
                                                       depth=max(2, (1 << TB) << AB),
                                                       init=[])
            cw_port = cache.write_port()
            cr_port = cache.read_port()
            m.d.comb += [cw_port.addr.eq(q_slot), cw_port.en.eq(q_fwd),
                         cw_port.data.u.eq(q_u), cw_port.data.v0.eq(v0),
                         cw_port.data.v1.eq(v1)]
            dv, dv_over = saturate(round_shift(v1 - v0, G), MB)
            sat.flag(q_fwd & q_real & dv_over)
            x_f, x_v0, x_dv, x_real = to_multiply(f"lane{l}_", q_f, v0, dv, q_real)
            prod = x_f * x_dv
            b_p = Signal(prod.shape(), name=f"b_p{l}", reset_less=True)
            b_v0 = Signal(signed(V), name=f"b_v0_{l}")
            b_real = Signal(name=f"b_real{l}")
            m.d.sync += [b_p.eq(prod), b_v0.eq(x_v0), b_real.eq(x_real)]
            # stage C: accumulate this lane's values
            acc = Signal(signed(self._acc_width), name=f"acc{l}")
            val = Mux(b_real, b_v0 + round_shift(b_p, F - G), 0)
            with m.If(b_fwd):
                m.d.sync += acc.eq(Mux(b_first, 0, acc) + val)
            lane_sums.append(acc)

            # update, stage A: read record t's coordinate and pair from the cache
            m.d.comb += cr_port.addr.eq(slot_u)
            ua_slot = Signal.like(slot_u, name=f"ua_slot{l}")
            ua_real = Signal(name=f"ua_real{l}")
            m.d.sync += [ua_slot.eq(slot_u), ua_real.eq(real[upd.step])]
            # stage B: f * e_k on the lane's second multiplier (the first is
            # busy with the next record), the write addresses
            cu = cr_port.data
            uprod = cu.u[:F] * ek
            uae, uao = bank.seg_addrs(ua_slot, cu.u[F:])
            ub_p = Signal(uprod.shape(), name=f"ub_p{l}", reset_less=True)
            base0, base1 = pair_bases(cu.v0, cu.v1, ek, F)
            ub_b0 = Signal(base0.shape(), name=f"ub_b0_{l}")
            ub_b1 = Signal(base1.shape(), name=f"ub_b1_{l}")
            ub_odd = Signal(name=f"ub_odd{l}")
            ub_real = Signal(name=f"ub_real{l}")
            ub_ae = Signal.like(uae, name=f"ub_ae{l}")
            ub_ao = Signal.like(uao, name=f"ub_ao{l}")
            m.d.sync += [ub_p.eq(uprod), ub_b0.eq(base0), ub_b1.eq(base1),
                         ub_odd.eq(cu.u[F]), ub_real.eq(ua_real), ub_ae.eq(uae),
                         ub_ao.eq(uao)]
            # stage C: write the pair back
            n0, n1, over = pair_written(ub_b0, ub_b1, ub_p, F, V)
            bank.write_pair(m, self.u_write & ub_real, ub_ae, ub_ao, ub_odd, n0, n1)
            usat.flag(self.u_write & ub_real & over)

        # -- the lanes' sums: one hidden sum per addend -----------------------------------
        tree, s_sat, s_over = lane_sum(m, "lane_tree", lane_sums, self._acc_width,
                                       geo.design.tree_levels_per_cycle, c_last, V)
        sat.flag(tree.valid_out & s_over)
        m.d.comb += [self.sum.eq(s_sat), self.sum_valid.eq(tree.valid_out),
                     self.sat.eq(sat.any), self.usat.eq(usat.any)]

        # -- control access (idle only): read or write a node of one lane ---------------
        ctl = self.ctl
        nb0, sb, lb = geo.node_bits_inner, geo.slot_bits, geo.lane_bits
        off = ctl.offset
        c_node = off[:nb0]
        c_slot = off[nb0:nb0 + sb] if sb else Const(0, 1)
        c_lane = off[nb0 + sb:nb0 + sb + lb] if lb else Const(0, 1)
        r_lane = Signal(max(1, lb))
        r_odd = Signal()
        with m.If(ctl.sel):
            m.d.sync += [r_lane.eq(c_lane), r_odd.eq(off[0])]
            for l, bank in enumerate(banks):
                a_e, a_o = bank.node_addrs(c_slot, c_node)
                m.d.comb += [bank.rd_even.addr.eq(a_e), bank.rd_odd.addr.eq(a_o)]
                bank.write_node(m, ctl.we & (c_lane == l), c_slot, c_node, ctl.wdata)
        m.d.comb += ctl.rdata.eq(
            Array([Mux(r_odd, b.rd_odd.data, b.rd_even.data) for b in banks])[r_lane])
        return m
