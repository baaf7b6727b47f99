"""The top-level training core: processing blocks joined by a wired barrier.

Streams (``amaranth.lib.stream``):

* ``records`` in: grid coordinates ``u`` of the first layer and target ``y``;
* ``results`` out: prediction and residual of each record (before its update);
* ``ctrl_req`` in / ``ctrl_rsp`` out: word reads and writes of the global
  registers and of every block's tables and domain (see
  :mod:`kanhw.interface.geometry`), served only between records; every request
  gets one response (a write echoes its data).

Per record: accept, broadcast ``u`` and ``start``; wait until every block's
``done`` (the barrier: a wired AND); reduce the block values in a pipelined
adder tree; ``y_hat = sat(sum)``, ``r = sat(y - y_hat)``,
``e = sat(round(r * step_mult / 2^step_shift))``; emit the result; broadcast
``e`` and ``update``, and in the same cycle accept the next record: its
forward pass runs beside this record's update (the blocks keep the two
apart, see :mod:`kanhw.rtl_gen.block`). A record is counted once every
block's update pass is over; control requests wait for that.
"""

from __future__ import annotations

from amaranth.hdl import (
    Array,
    Cat,
    ClockDomain,
    ClockSignal,
    Const,
    DomainRenamer,
    Module,
    ResetSignal,
    Signal,
    signed,
    unsigned,
)
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from kanhw.interface.cycles import CONTROL_READ_LATENCY
from kanhw.interface.geometry import BARRIER_MIN_STAGES, CORE_ID, GLOBAL_REGS, Geometry
from kanhw.interface.layouts import CTRL_DATA_BITS, Field, ctrl_fields, record_fields, result_fields

from .arith import round_shift, saturate, times_const
from .block import BlockInstance, ProcessingBlock
from .counters import RecordCounters
from .stretch import StretchUnit
from .tree import AdderTree, balanced_sum


def amaranth_layout(fields: list[Field]) -> data.StructLayout:
    """The stream payload of ``fields`` (:mod:`kanhw.interface.layouts`)."""
    members = {}
    for f in fields:
        shape = signed(f.width) if f.signed else unsigned(f.width)
        members[f.name] = shape if f.count is None else data.ArrayLayout(shape, f.count)
    return data.StructLayout(members)


def record_layout(geo: Geometry) -> data.StructLayout:
    return amaranth_layout(record_fields(geo))


def result_layout(geo: Geometry) -> data.StructLayout:
    return amaranth_layout(result_fields(geo))


def ctrl_layout(geo: Geometry) -> data.StructLayout:
    return amaranth_layout(ctrl_fields(geo))


class TrainingCore(wiring.Component):
    """NK training core for a two-layer, single-output KAN (see module doc)."""

    def __init__(self, geo: Geometry, shared_blocks: bool = False) -> None:
        """``shared_blocks``: instantiate the separately emitted block module
        (:class:`BlockInstance`) instead of elaborating K copies; for Verilog
        emission of large designs."""
        self.geo = geo
        self.shared_blocks = shared_blocks
        super().__init__({
            "records": In(stream.Signature(record_layout(geo))),
            "results": Out(stream.Signature(result_layout(geo))),
            "ctrl_req": In(stream.Signature(ctrl_layout(geo))),
            "ctrl_rsp": Out(stream.Signature(unsigned(CTRL_DATA_BITS))),
            "busy": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        geo = self.geo
        c = geo.design.contract
        V, K = c.value_bits, geo.K

        blocks = []
        for k in range(geo.blocks):
            blk = BlockInstance(geo) if self.shared_blocks else ProcessingBlock(geo)
            # Each block takes its reset from a register of its own, one cycle
            # after the core's: one net from one driver to every flip-flop
            # of the device was the longest path of the ECP5-85F build (16 ns
            # of routing). The register is not reset-less, so a reset
            # inserted around the core (the link's reset command) reaches the
            # blocks too.
            dom = f"block{k}"
            cd = ClockDomain(dom, local=True)
            m.domains += cd
            rst = Signal(init=1, name=f"block{k}_rst")
            m.d.sync += rst.eq(ResetSignal())
            m.d.comb += [cd.clk.eq(ClockSignal()), cd.rst.eq(rst)]
            m.submodules[f"block{k}"] = DomainRenamer(dom)(blk)
            blocks.append(blk)

        u = Signal(data.ArrayLayout(unsigned(geo.coord_width), geo.n))
        y = Signal(signed(V))
        train = Signal(init=1)
        start = Signal()
        update = Signal()
        e = Signal(signed(c.step_bits))
        # The outer grid in use (``outer_points``): the design's, or a coarser
        # one on the same tables for the coarse levels of a multilevel
        # schedule. The blocks take the coordinate's top from a register
        # (written between records only, like every global register).
        P1, F = geo.p_outer, c.frac_bits
        segments = Signal(range(P1), init=P1 - 1)
        coord_top = Signal(unsigned(geo.outer_coord_width), init=((P1 - 1) << F) - 1)
        m.d.sync += coord_top.eq((segments << F) - 1)
        for blk in blocks:
            m.d.comb += [blk.u.eq(u), blk.train.eq(train), blk.start.eq(start),
                         blk.update.eq(update), blk.e.eq(e), blk.coord_top.eq(coord_top)]

        # -- one stretch unit serves every block's rare domain stretches ------------------
        m.submodules.stretch = st = StretchUnit(c, geo.blocks, geo.p_outer)
        m.d.comb += st.segments.eq(segments)
        for k, blk in enumerate(blocks):
            m.d.comb += [st.req[k].eq(blk.st.req), st.s[k].eq(blk.st.s_hidden),
                         st.lo[k].eq(blk.st.dom_lo), st.hi[k].eq(blk.st.dom_hi),
                         blk.st.grant.eq(st.grant[k]), blk.st.lo.eq(st.new_lo),
                         blk.st.hi.eq(st.new_hi), blk.st.rcp.eq(st.rcp), blk.st.d.eq(st.d),
                         blk.st.sat.eq(st.sat)]

        # -- the barrier: AND of done, adder tree, residual, step --------------------
        all_done = Const(1, 1)
        all_uidle = Const(1, 1)
        any_sat = Const(0, 1)
        any_usat = Const(0, 1)
        for blk in blocks:
            all_done = all_done & blk.done
            all_uidle = all_uidle & blk.uidle
            any_sat = any_sat | blk.sat
            any_usat = any_usat | blk.usat
        # At least one register, even over one block: REDUCE waits for the
        # tree's valid, which a tree without registers raises only with its
        # input, in FORWARD; and a block's last saturation flag lands two
        # cycles after its ``done``, in time for ``update`` only if the
        # barrier takes a cycle (see ProcessingBlock).
        m.submodules.barrier_tree = tree = AdderTree(geo.blocks, V + 2 + geo.addend_bits,
                                                     geo.design.tree_levels_per_cycle,
                                                     min_stages=BARRIER_MIN_STAGES)
        for k, blk in enumerate(blocks):
            m.d.comb += tree.inputs[k].eq(blk.val)
        clamps = Signal(range(K + 1))
        stretches = Signal(range(K + 1))
        m.d.sync += [clamps.eq(balanced_sum([b.clamp for b in blocks])),
                     stretches.eq(balanced_sum([b.stretch for b in blocks]))]

        y_hat = Signal(signed(V))
        resid = Signal(signed(V))
        core_sat = Signal()
        tally = RecordCounters()
        n_records, n_sat, n_clamp, n_stretch = (tally.records, tally.saturations, tally.clamps,
                                                tally.stretches)
        n_cycles = Signal(32)

        # -- control requests ----------------------------------------------------------
        req = Signal(ctrl_layout(geo))
        rsp = Signal(32)
        space = req.addr[-1]
        blk_idx = req.addr[geo.offset_bits + 2:geo.offset_bits + 2 + geo.block_bits] \
            if geo.block_bits else Const(0, 1)
        for k, blk in enumerate(blocks):
            m.d.comb += [blk.ctl.region.eq(req.addr[geo.offset_bits:geo.offset_bits + 2]),
                         blk.ctl.offset.eq(req.addr[:geo.offset_bits]),
                         blk.ctl.wdata.eq(req.data), blk.ctl.we.eq(req.write)]
        r_blk = Signal.like(blk_idx)
        ctl_wait = Signal(range(CONTROL_READ_LATENCY))   # cycles until the read data
        block_rdata = Array([blk.ctl.rdata for blk in blocks])[r_blk]
        g = GLOBAL_REGS
        readable = {g["id"]: Const(CORE_ID, 32), g["shape"]: Const(geo.shape_word, 32),
                    g["mode"]: train, g["outer_points"]: segments + 1}
        counters = {g["records"]: n_records, g["saturations"]: n_sat, g["clamps"]: n_clamp,
                    g["stretches"]: n_stretch, g["cycles"]: n_cycles}  # a write clears

        # A record's forward flags are taken (and the blocks' cleared) as its
        # update starts; it is counted once the update pass is over.
        upd_pending = Signal()
        rec_sat = Signal()
        rec_clamps = Signal.like(clamps)
        rec_stretches = Signal.like(stretches)
        ending = Signal()
        m.d.comb += ending.eq(upd_pending & all_uidle)
        for blk in blocks:
            m.d.comb += [blk.clear.eq(update), blk.uclear.eq(ending)]
        with m.If(update):
            m.d.sync += [upd_pending.eq(1), rec_sat.eq(any_sat | core_sat),
                         rec_clamps.eq(clamps), rec_stretches.eq(stretches)]
        with m.If(ending):
            m.d.sync += upd_pending.eq(0)
            tally.count(m, rec_sat | any_usat, rec_clamps, rec_stretches)

        def accept(control: bool = True):
            """Serve a control request (once the last update is over) or take
            the next record; ``control=False`` as an update starts."""
            ctrl = self.ctrl_req.valid if control else Const(0, 1)
            with m.If(ctrl):
                with m.If(~upd_pending):
                    m.d.comb += self.ctrl_req.ready.eq(1)
                    m.d.sync += req.eq(self.ctrl_req.payload)
                    m.next = "CTRL"
                with m.Else():
                    m.next = "IDLE"
            with m.Elif(self.records.valid):
                m.d.comb += [self.records.ready.eq(1), start.eq(1)]
                m.d.sync += [u.eq(self.records.payload.u), y.eq(self.records.payload.y),
                             core_sat.eq(0)]
                m.next = "FORWARD"
            with m.Else():
                m.next = "IDLE"

        with m.FSM(name="core") as fsm:
            with m.State("IDLE"):
                accept()
            with m.State("FORWARD"):
                with m.If(all_done):
                    m.d.comb += tree.valid_in.eq(1)
                    m.next = "REDUCE"
            with m.State("REDUCE"):
                y_sat, y_over = saturate(tree.output, V)
                r_sat, r_over = saturate(y - y_sat, V)
                with m.If(tree.valid_out):
                    m.d.sync += [y_hat.eq(y_sat), resid.eq(r_sat)]
                    with m.If(y_over | r_over):
                        m.d.sync += core_sat.eq(1)
                    m.next = "STEP"
            with m.State("STEP"):
                e_sat, e_over = saturate(round_shift(times_const(resid, c.step_mult),
                                                     c.step_shift), c.step_bits)
                m.d.sync += e.eq(e_sat)
                with m.If(e_over & train):  # the step exists only when training
                    m.d.sync += core_sat.eq(1)
                m.next = "RESULT"
            with m.State("RESULT"):
                m.d.comb += [self.results.valid.eq(1), self.results.payload.pred.eq(y_hat),
                             self.results.payload.resid.eq(resid)]
                with m.If(self.results.ready):
                    m.d.comb += update.eq(1)
                    accept(control=False)
            with m.State("CTRL"):
                with m.If(space):
                    for k, blk in enumerate(blocks):
                        m.d.comb += blk.ctl.sel.eq(blk_idx == k)
                    m.d.sync += [r_blk.eq(blk_idx), ctl_wait.eq(CONTROL_READ_LATENCY - 1)]
                    m.next = "CTRL_READ"
                with m.Else():
                    # a write answers with the data written; a read with the register
                    m.d.sync += rsp.eq(req.data)
                    with m.Switch(req.addr[:4]):
                        for a, sig in {**readable, **counters}.items():
                            with m.Case(a):
                                with m.If(~req.write):
                                    m.d.sync += rsp.eq(sig)
                                if a == g["mode"]:
                                    with m.Else():
                                        m.d.sync += train.eq(req.data[0])
                                elif a == g["outer_points"]:
                                    with m.Elif(req.data < 2):
                                        m.d.sync += segments.eq(1)
                                    with m.Elif(req.data > P1):
                                        m.d.sync += segments.eq(P1 - 1)
                                    with m.Else():
                                        m.d.sync += segments.eq(req.data - 1)
                                elif a in counters:
                                    with m.Else():
                                        m.d.sync += sig.eq(0)
                    m.next = "CTRL_RESPOND"
            with m.State("CTRL_READ"):
                m.d.sync += ctl_wait.eq(ctl_wait - 1)
                with m.If(ctl_wait == 0):
                    m.d.sync += rsp.eq(block_rdata)
                    with m.If(req.write):
                        m.d.sync += rsp.eq(req.data)
                    m.next = "CTRL_RESPOND"
            with m.State("CTRL_RESPOND"):
                m.d.comb += [self.ctrl_rsp.valid.eq(1), self.ctrl_rsp.payload.eq(rsp)]
                with m.If(self.ctrl_rsp.ready):
                    m.next = "IDLE"

        in_record = ~Cat(fsm.ongoing(s) for s in
                         ("IDLE", "CTRL", "CTRL_READ", "CTRL_RESPOND")).any()
        # a counted cycle lands a cycle later: the FSM's state, the link's
        # record handshake and the 32-bit carry in one cycle were the
        # OrangeCrab build's longest path; a read comes two cycles after the
        # last counted one at the earliest
        counted = Signal()
        m.d.sync += counted.eq(in_record | start | upd_pending)
        with m.If(counted):
            m.d.sync += n_cycles.eq(n_cycles + 1)
        m.d.comb += self.busy.eq(in_record | upd_pending)
        return m
