"""The layered training core: a KAN of any depth and any number of
outputs, a stage of :class:`~.block.StageBlock` per hidden layer, joined by
a wired barrier per stage (AND of the blocks' done, a pipelined adder tree
over their sums, one next-layer unit a cycle).

Streams as the two-layer core (:mod:`kanhw.rtl_gen.core`): ``records`` in
(first-layer grid coordinates and every target), ``results`` out (every
prediction and residual, before the record's update), ``ctrl_req`` /
``ctrl_rsp`` (the address map of :mod:`kanhw.interface.layered`).

Per record, stage after stage: stage 1's blocks run their lanes and
engines; the barrier sums the blocks' values for each unit of layer 2 and
broadcasts them to stage 2's blocks, and so on; the last barrier's sums are
the predictions. Each output's residual and step (``round(r * step_mult /
2^step_shift)``) follow its sum a cycle later, and (training) its step
goes to the last stage's blocks a cycle after that; the result leaves.
Training, the steps go back stage after stage: the last stage's blocks
write their functions back and form their units' steps, which the core
gathers and broadcasts to the stage below, down to stage 1, whose
backward pass and lanes' update run on beside the next record (``lane_update
= "overlapped"``: the core takes the next record as it starts stage 1's
backward pass, as the two-layer core does with its update; after the
record's end with ``"sequential"``). One shared stretch unit serves every
block.
Every phase's length is stated (:mod:`kanhw.interface.layered_cycles`), and
the tests hold the core's cycle counter to their sum.
"""

from __future__ import annotations

from amaranth.hdl import Array, Cat, Const, Module, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from kanhw.interface.cycles import CONTROL_READ_LATENCY
from kanhw.interface.geometry import BARRIER_MIN_STAGES, CORE_ID
from kanhw.interface.layered import LAYERED_REGS, LayeredGeometry
from kanhw.interface.layouts import CTRL_DATA_BITS, ctrl_fields, record_fields, result_fields

from ..arith import round_shift, saturate, times_const
from ..core import amaranth_layout
from ..counters import RecordCounters
from ..stretch import StretchUnit
from ..tree import AdderTree, balanced_sum
from .block import StageBlock, StageBlockInstance

#: Cycles from the core's broadcast to what a block shows back: the block's
#: edge register, then the engine's registered read (sums and steps).
READBACK = 2
#: Cycles after a start before the core samples the blocks' done (the edge
#: register, then the block leaving its done state).
SETTLE = 2
#: Cycles the last saturation test needs to reach a block's flag.
FLAG_SETTLE = 2


class LayeredCore(wiring.Component):
    """NK training core for any depth and outputs (see the module doc)."""

    def __init__(self, geo: LayeredGeometry, shared_blocks: bool = False) -> None:
        """``shared_blocks``: each stage's blocks as instances of one emitted
        module (:class:`~.block.StageBlockInstance`), for Verilog of large
        designs."""
        self.geo = geo
        self.shared_blocks = shared_blocks
        super().__init__({
            "records": In(stream.Signature(amaranth_layout(record_fields(geo)))),
            "results": Out(stream.Signature(amaranth_layout(result_fields(geo)))),
            "ctrl_req": In(stream.Signature(amaranth_layout(ctrl_fields(geo)))),
            "ctrl_rsp": Out(stream.Signature(unsigned(CTRL_DATA_BITS))),
            "busy": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        geo = self.geo
        c = geo.design.contract
        V, EB = c.value_bits, c.step_bits
        stages = geo.stages
        n_out = geo.n_out
        levels = geo.design.tree_levels_per_cycle

        # -- blocks, stage by stage -----------------------------------------------------
        blocks = []          # [stage][block]
        for st in stages:
            row = []
            for b in range(st.blocks):
                blk = (StageBlockInstance if self.shared_blocks else StageBlock)(geo, st)
                m.submodules[f"s{st.index}_b{b}"] = blk
                m.d.comb += blk.unit_base.eq(b * st.units_per_block)
                if st.ragged:
                    m.d.comb += blk.units.eq(st.units_in(b))
                row.append(blk)
            blocks.append(row)
        every = [blk for row in blocks for blk in row]

        u = Signal(data.ArrayLayout(geo.coord_width, geo.n))
        y = Signal(data.ArrayLayout(signed(V), n_out))
        y_hat = Signal(data.ArrayLayout(signed(V), n_out))
        resid = Signal(data.ArrayLayout(signed(V), n_out))
        e_out = Signal(data.ArrayLayout(signed(EB), n_out))
        train = Signal(init=1)
        core_sat = Signal()
        clear = Signal()
        for blk in every:
            m.d.comb += [blk.train.eq(train), blk.clear.eq(clear)]
        uclear = Signal()
        for blk in blocks[0]:
            m.d.comb += [blk.u.eq(u), blk.uclear.eq(uclear)]

        # -- one stretch unit for every block --------------------------------------------
        m.submodules.stretch = su = StretchUnit(c, len(every), max(st.points for st in stages))
        segments = Signal.like(su.segments)
        m.d.comb += su.segments.eq(segments)

        # -- the grid registers: points of each stage's functions in use ------------------
        F = c.frac_bits
        grid, last_seg = {}, {}
        for st, row in zip(stages, blocks):
            top = Signal(unsigned(c.coord_bits(st.points)), name=f"coord_top{st.index}",
                         init=((st.points - 1) << F) - 1)
            if st in geo.grid_stages:
                g_reg = Signal(range(st.points + 1), name=f"grid{st.index}", init=st.points)
                grid[st.index] = g_reg
                last_seg[st.index] = g_reg - 1
                m.d.sync += top.eq(((g_reg - 1) << F) - 1)
            else:
                last_seg[st.index] = st.points - 1
            for blk in row:
                m.d.comb += blk.coord_top.eq(top)
        for k, blk in enumerate(every):
            m.d.comb += [su.req[k].eq(blk.st_req), su.s[k].eq(blk.s_hidden),
                         su.lo[k].eq(blk.dom_lo), su.hi[k].eq(blk.dom_hi),
                         blk.st_grant.eq(su.grant[k]), blk.st_lo.eq(su.new_lo),
                         blk.st_hi.eq(su.new_hi), blk.st_rcp.eq(su.rcp), blk.st_d.eq(su.d),
                         blk.st_sat.eq(su.sat)]

        # -- the barriers: a pipelined adder tree per stage over its blocks' sums -----------
        trees = []
        for st, row in zip(stages, blocks):
            tree = AdderTree(len(row), len(row[0].val), levels, min_stages=BARRIER_MIN_STAGES)
            m.submodules[f"barrier{st.index}"] = tree
            for k, blk in enumerate(row):
                m.d.comb += tree.inputs[k].eq(blk.val)
            trees.append(tree)

        # counters
        tally = RecordCounters()
        n_records, n_sat, n_clamp, n_stretch = (tally.records, tally.saturations, tally.clamps,
                                                tally.stretches)
        n_cycles = Signal(32)
        any_sat = Cat(*(blk.sat for blk in every)).any()
        any_usat = Cat(*(blk.usat for blk in blocks[0])).any()
        all_uidle = Cat(*(blk.uidle for blk in blocks[0])).all()
        clamps = Signal(32)
        stretches = Signal(32)
        m.d.sync += [clamps.eq(balanced_sum([blk.clamps for blk in every])),
                     stretches.eq(balanced_sum([blk.stretches for blk in every]))]

        # -- control requests ------------------------------------------------------------------
        req = Signal(amaranth_layout(ctrl_fields(geo)))
        rsp = Signal(32)
        space = req.addr[-1]
        bb = geo.block_bits
        blk_idx = req.addr[geo.offset_bits + 2:geo.offset_bits + 2 + bb] if bb else Const(0, 1)
        for blk in every:
            m.d.comb += [blk.ctl_region.eq(req.addr[geo.offset_bits:geo.offset_bits + 2]),
                         blk.ctl_offset.eq(req.addr[:geo.offset_bits]),
                         blk.ctl_wdata.eq(req.data), blk.ctl_we.eq(req.write)]
        r_blk = Signal.like(blk_idx)
        ctl_wait = Signal(range(CONTROL_READ_LATENCY))
        block_rdata = Array([blk.ctl_rdata for blk in every])[r_blk]
        g = LAYERED_REGS
        readable = {g["id"]: Const(CORE_ID, 32), g["shape"]: Const(geo.shape_word, 32),
                    g["mode"]: train}
        counters = {g["records"]: n_records, g["saturations"]: n_sat, g["clamps"]: n_clamp,
                    g["stretches"]: n_stretch, g["cycles"]: n_cycles}

        # -- sequencing --------------------------------------------------------------------------
        wait = Signal(range(max(SETTLE, FLAG_SETTLE, READBACK) + 2))
        idx = Signal(range(max(max(st.outputs for st in stages), max(st.units for st in stages),
                               n_out) + 1))          # values issued
        got = Signal.like(idx)                       # values back
        pipe_v = Signal(READBACK)                    # issued reads in flight to the blocks
        pipe_i = [Signal.like(idx, name=f"pipe_i{k}") for k in range(READBACK)]
        m.d.sync += [pipe_v.eq(Cat(0, pipe_v[:-1]))] + \
            [pipe_i[k + 1].eq(pipe_i[k]) for k in range(READBACK - 1)]

        def all_of(row, name):
            return Cat(*(getattr(blk, name) for blk in row)).all()

        def start_stage(h: int, sig: str) -> None:
            for blk in blocks[h - 1]:
                m.d.comb += getattr(blk, sig).eq(1)

        def issue(limit: int) -> Signal:
            """Drive index ``idx`` this cycle (while below ``limit``); returns
            the issue strobe."""
            go = Signal()
            m.d.comb += go.eq(idx < limit)
            with m.If(go):
                m.d.sync += [idx.eq(idx + 1), pipe_v[0].eq(1), pipe_i[0].eq(idx)]
            return go

        arrived = pipe_v[-1]
        arrived_idx = pipe_i[-1]

        # A training record's first-layer update runs beside the next record
        # (stage 1's lanes keep the two apart): its other flags are taken as
        # the update starts, and it is counted once the update is over.
        upd_pending = Signal()
        rec_sat = Signal()
        rec_clamps, rec_stretches = Signal.like(clamps), Signal.like(stretches)
        ending = Signal()
        overlapped = geo.lane_shape.overlapped
        m.d.comb += [ending.eq(upd_pending & all_uidle), uclear.eq(ending)]
        # A record is counted in one of three places (its update ending
        # beside the next record, a frozen record leaving, a training record
        # ending inside it), never two in a cycle: one set of counter adders,
        # the record's flags chosen in front of them.
        counting = Signal()
        c_sat = Signal()
        c_clamps, c_stretches = Signal.like(clamps), Signal.like(stretches)
        m.d.comb += [c_sat.eq(any_sat | core_sat | any_usat), c_clamps.eq(clamps),
                     c_stretches.eq(stretches)]

        def count_record() -> None:
            """Count the record whose flags are the blocks' and the core's now."""
            m.d.comb += counting.eq(1)

        with m.If(counting):
            tally.count(m, c_sat, c_clamps, c_stretches)
        with m.If(ending):
            m.d.sync += upd_pending.eq(0)
            m.d.comb += [counting.eq(1), c_sat.eq(rec_sat | any_usat), c_clamps.eq(rec_clamps),
                         c_stretches.eq(rec_stretches)]

        # Residuals and steps, pipelined behind the last barrier: an output's
        # residual with its sum (REDUCE), its step a cycle later, and a cycle
        # after that (training) the step broadcast to the last stage's
        # blocks. So they cost a record two cycles after the last sum, not
        # two a output. The step is formed from the registered residual, as
        # the two-layer core's STEP does: with the subtraction in the same
        # cycle, that path was the iCEBreaker build's longest (42 ns).
        ob = max(1, (n_out - 1).bit_length())
        o_v, o_idx = Signal(), Signal(ob)
        s_v, s_idx = Signal(), Signal(ob)
        m.d.sync += [o_v.eq(0), s_v.eq(o_v), s_idx.eq(o_idx)]

        def at(values, i):
            """Output ``i`` of ``values`` (with one output, no choice to make)."""
            return values[0] if n_out == 1 else Array(values)[i]

        e, e_over = saturate(round_shift(times_const(at(resid, o_idx), c.step_mult),
                                         c.step_shift), EB)
        with m.If(o_v):
            m.d.sync += at(e_out, o_idx).eq(e)
            with m.If(e_over & train):
                m.d.sync += core_sat.eq(1)
        # (the step's index and data reach the blocks whether written or not)
        for blk in blocks[-1]:
            m.d.comb += [blk.e_we.eq(s_v & train), blk.e_idx.eq(s_idx),
                         blk.e_data.eq(at(e_out, s_idx))]

        def take_record() -> None:
            """Take the next record if one is offered (its stage-1 start)."""
            with m.If(self.records.valid):
                m.d.comb += [self.records.ready.eq(1), clear.eq(1)]
                m.d.sync += [u.eq(self.records.payload.u), y.eq(self.records.payload.y),
                             core_sat.eq(0), wait.eq(SETTLE),
                             segments.eq(last_seg[1])]
                start_stage(1, "start")
                m.next = "FWD1"

        def backward_beside() -> None:
            """Stage 1's backward start when its pass and update run beside
            the next record: the record's other flags are all in (they are
            taken now, its stage-1 tests are the update's, counted as it
            ends), and the core takes the next record in the same cycle (the
            blocks hold its start until the update begins)."""
            start_stage(1, "bstart")
            m.d.sync += [upd_pending.eq(1), rec_sat.eq(any_sat | core_sat),
                         rec_clamps.eq(clamps), rec_stretches.eq(stretches),
                         idx.eq(0), got.eq(0)]
            m.next = "IDLE"
            take_record()

        with m.FSM(name="layered") as fsm:
            with m.State("IDLE"):
                with m.If(self.ctrl_req.valid & ~upd_pending):
                    m.d.comb += self.ctrl_req.ready.eq(1)
                    m.d.sync += req.eq(self.ctrl_req.payload)
                    m.next = "CTRL"
                with m.Else():
                    take_record()

            for h, st in enumerate(stages, 1):
                row, tree = blocks[h - 1], trees[h - 1]
                last = h == len(stages)
                with m.State(f"FWD{h}"):
                    with m.If(wait != 0):
                        m.d.sync += wait.eq(wait - 1)
                    with m.Elif(all_of(row, "fdone")):
                        # the blocks' val_idx rests at 0, so the first unit's
                        # sums are at their outputs with the done: into the
                        # tree at once; the second unit's read leaves now, the
                        # rest from REDUCE
                        m.d.comb += tree.valid_in.eq(1)
                        m.d.sync += got.eq(0)
                        if st.outputs > 1:
                            for blk in row:
                                m.d.comb += blk.val_idx.eq(1)
                            m.d.sync += [idx.eq(2), pipe_v[0].eq(1), pipe_i[0].eq(1)]
                        else:
                            m.d.sync += idx.eq(1)
                        m.next = f"REDUCE{h}"
                with m.State(f"REDUCE{h}"):
                    # ask the stage's blocks for their sums, one output unit a cycle
                    for blk in row:
                        m.d.comb += blk.val_idx.eq(idx)
                    issue(st.outputs)
                    m.d.comb += tree.valid_in.eq(arrived)
                    total, over = saturate(tree.output, V)
                    with m.If(tree.valid_out):
                        m.d.sync += got.eq(got + 1)
                        with m.If(over):
                            m.d.sync += core_sat.eq(1)
                        if last:
                            r, r_over = saturate(at(y, got[:ob]) - total, V)
                            m.d.sync += [at(y_hat, got[:ob]).eq(total),
                                         at(resid, got[:ob]).eq(r),
                                         o_v.eq(1), o_idx.eq(got[:ob])]
                            with m.If(r_over):
                                m.d.sync += core_sat.eq(1)
                        else:
                            for blk in blocks[h]:
                                m.d.comb += [blk.a_we.eq(1), blk.a_idx.eq(got), blk.a_data.eq(total)]
                    with m.If(tree.valid_out & (got == st.outputs - 1)):
                        if last:
                            m.d.sync += idx.eq(0)
                            m.next = "OUTPUTS"
                        else:
                            m.d.sync += [wait.eq(SETTLE), segments.eq(last_seg[h + 1])]
                            m.next = f"START{h + 1}"
                if not last:
                    with m.State(f"START{h + 1}"):
                        # the last value broadcast above passes the blocks' edge
                        # registers with this start, in order
                        start_stage(h + 1, "start")
                        m.next = f"FWD{h + 1}"

            with m.State("OUTPUTS"):
                # the last output's residual and step (the pipeline below)
                m.next = "RESULT"
            with m.State("RESULT"):
                m.d.comb += [self.results.valid.eq(1)]
                for k in range(n_out):
                    m.d.comb += [self.results.payload.pred[k].eq(y_hat[k]),
                                 self.results.payload.resid[k].eq(resid[k])]
                with m.If(self.results.ready):
                    m.d.sync += [idx.eq(0), got.eq(0)]
                    with m.If(train):
                        # the last stage's backward pass starts with the
                        # result: the last output's step is broadcast this
                        # cycle too and passes the blocks' edge registers
                        # with the start, and the engines take it on
                        if len(stages) == 1 and overlapped:
                            backward_beside()
                        else:
                            m.d.sync += wait.eq(SETTLE)
                            start_stage(len(stages), "bstart")
                            m.next = f"BWD{len(stages)}"
                    with m.Else():
                        # frozen: every test landed before the result (the
                        # engines' during the reduction, the residuals' with
                        # them), so the record is counted as it leaves
                        count_record()
                        m.d.comb += uclear.eq(1)
                        m.next = "IDLE"

            for h in range(len(stages), 0, -1):
                st, row = stages[h - 1], blocks[h - 1]
                if h != len(stages):
                    with m.State(f"STEPS{h}"):
                        # the stage above's unit steps into this stage's blocks,
                        # one a cycle, gathered: block q // M, unit q % M
                        above, above_row = stages[h], blocks[h]
                        Mh = above.units_per_block
                        issue(above.units)
                        for blk in above_row:
                            m.d.comb += blk.ek_idx.eq(idx % Mh if Mh > 1 else 0)
                        src = Array([blk.ek for blk in above_row])[arrived_idx // Mh]
                        with m.If(arrived):
                            for blk in row:
                                m.d.comb += [blk.e_we.eq(1), blk.e_idx.eq(arrived_idx),
                                             blk.e_data.eq(src)]
                            m.d.sync += got.eq(got + 1)
                            with m.If(got == above.units - 1):
                                # the start passes the edge registers with the
                                # last step, as at the result
                                if h == 1 and overlapped:
                                    backward_beside()
                                else:
                                    m.d.sync += wait.eq(SETTLE)
                                    start_stage(h, "bstart")
                                    m.next = f"BWD{h}"
                if h == 1 and overlapped:
                    continue
                with m.State(f"BWD{h}"):
                    with m.If(wait != 0):
                        m.d.sync += wait.eq(wait - 1)
                    with m.Elif(all_of(row, "bdone")):
                        m.d.sync += [idx.eq(0), got.eq(0)]
                        if h > 1:
                            m.next = f"STEPS{h - 1}"
                        else:
                            m.d.sync += wait.eq(FLAG_SETTLE)
                            m.next = "END"

            if not overlapped:
                with m.State("END"):
                    # a training record's update ran inside it: its last
                    # saturation tests land, then the record is counted
                    with m.If(wait != 0):
                        m.d.sync += wait.eq(wait - 1)
                    with m.Else():
                        count_record()
                        m.d.comb += uclear.eq(1)
                        m.next = "IDLE"

            with m.State("CTRL"):
                with m.If(space):
                    for k, blk in enumerate(every):
                        m.d.comb += blk.ctl_sel.eq(blk_idx == k)
                    m.d.sync += [r_blk.eq(blk_idx), ctl_wait.eq(CONTROL_READ_LATENCY - 1)]
                    m.next = "CTRL_READ"
                with m.Else():
                    m.d.sync += rsp.eq(req.data)
                    with m.Switch(req.addr[:4]):
                        for a, sig in {**readable, **counters}.items():
                            with m.Case(a):
                                with m.If(~req.write):
                                    m.d.sync += rsp.eq(sig)
                                if a == g["mode"]:
                                    with m.Else():
                                        m.d.sync += train.eq(req.data[0])
                                elif a in counters:
                                    with m.Else():
                                        m.d.sync += sig.eq(0)
                        for st in geo.grid_stages:
                            # a grid register: 2 to the design's points, clamped
                            g_reg = grid[st.index]
                            with m.Case(geo.grid_addr(st)):
                                with m.If(~req.write):
                                    m.d.sync += rsp.eq(g_reg)
                                with m.Elif(req.data < 2):
                                    m.d.sync += g_reg.eq(2)
                                with m.Elif(req.data > st.points):
                                    m.d.sync += g_reg.eq(st.points)
                                with m.Else():
                                    m.d.sync += g_reg.eq(req.data)
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

        in_record = ~Cat(fsm.ongoing(s) for s in ("IDLE", "CTRL", "CTRL_READ",
                                                  "CTRL_RESPOND")).any()
        counted = Signal()
        m.d.sync += counted.eq(in_record | upd_pending)
        with m.If(counted):
            m.d.sync += n_cycles.eq(n_cycles + 1)
        m.d.comb += self.busy.eq(in_record | upd_pending)
        return m

