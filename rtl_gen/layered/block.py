"""A block of a layered core's stage: ``M`` units of one hidden layer, with
their first-layer functions (stage 1 only: the two-layer block's
:class:`~kanhw.rtl_gen.block.sequencer.Sequencer` and
:class:`~kanhw.rtl_gen.block.lanes.LanePipeline`, a unit in place of an
addend) and their outgoing functions (:class:`~.engine.FunctionEngine`),
behind edge registers of the block's own, and a control port into every
table.

Forward (``start``): stage 1 runs the lanes, whose unit values feed the
engine as they leave the lanes' adder tree; a later stage's unit values
arrive first, broadcast by the core (``a_*``), each block keeping its own.
Backward (``bstart``, with the next layer's steps broadcast in ``e_*``):
the engine writes the outgoing functions back and forms each unit's step;
then (stage 1) the lanes' update pass writes the first-layer functions
back with it. In stage 1 with ``lane_update = "overlapped"`` both run
beside the next record, whose start the core sends with the backward
start: the lanes' update starts
:func:`~kanhw.interface.layered_cycles.update_after` cycles after the
engine's backward pass (as soon as every unit's step is ready before the
update reaches the unit; with it, for one output), the block holds the
next record's start until then, and that record's lanes trail the update
through the same slots, as in the two-layer block; its engine pass waits
for the backward one. ``uidle`` says both are over, ``usat`` holds their
saturations until ``uclear``. With ``"sequential"``, and in later stages,
the backward pass and the update finish inside the record.
"""

from __future__ import annotations

from amaranth.hdl import (
    ClockDomain,
    ClockSignal,
    DomainRenamer,
    Instance,
    Module,
    Mux,
    ResetSignal,
    Signal,
    signed,
    unsigned,
)
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from kanhw.interface.geometry import REGION_DOMAIN, REGION_INNER, ceil_log2
from kanhw.interface.layered import LayeredGeometry, Stage
from kanhw.interface.layered_cycles import update_after

from ..block import edge_registers
from ..block.lanes import LanePipeline
from ..block.sequencer import Sequencer
from .engine import FunctionEngine


def stage_block_signature(geo: LayeredGeometry, stage: Stage) -> wiring.Signature:
    c = geo.design.contract
    V, EB = c.value_bits, c.step_bits
    M, Q = stage.units_per_block, stage.outputs
    first = stage.index == 1
    members = {
        "start": In(1), "bstart": In(1), "train": In(1), "clear": In(1),
        # the last coordinate of the stage's grid in use (the core's register)
        "coord_top": In(unsigned(c.coord_bits(stage.points))),
        "unit_base": In(range(max(stage.units, 2))),   # the block's first unit (a constant)
        "a_we": In(1), "a_idx": In(range(max(stage.units, 2))), "a_data": In(signed(V)),
        "e_we": In(1), "e_idx": In(range(max(Q, 2))), "e_data": In(signed(EB)),
        "val_idx": In(range(max(Q, 2))), "val": Out(signed(V + 2 + ceil_log2(M))),
        "ek_idx": In(range(max(M, 2))), "ek": Out(signed(EB)),
        "fdone": Out(1), "bdone": Out(1),
        "sat": Out(1), "clamps": Out(range(M * Q + 1)), "stretches": Out(range(M * Q + 1)),
        "st_req": Out(1), "s_hidden": Out(signed(V)), "dom_lo": Out(signed(V)),
        "dom_hi": Out(signed(V)),
        "st_grant": In(1), "st_lo": In(signed(V)), "st_hi": In(signed(V)),
        "st_rcp": In(c.rcp_bits), "st_d": In(signed(c.mul_bits)), "st_sat": In(1),
        "ctl_sel": In(1), "ctl_we": In(1), "ctl_region": In(2),
        "ctl_offset": In(geo.offset_bits), "ctl_wdata": In(32), "ctl_rdata": Out(32),
    }
    if first:
        members["u"] = In(data.ArrayLayout(geo.coord_width, geo.n))
        members["uclear"] = In(1)
        members["uidle"] = Out(1)
        members["usat"] = Out(1)
    if stage.ragged:
        # units this block serves (a constant; M but for the stage's last block)
        members["units"] = In(range(M + 1))
    return wiring.Signature(members)


#: Broadcast inputs that pass the block's edge registers (the reset too).
EDGE_INPUTS = ("start", "bstart", "train", "clear", "uclear", "u", "a_we", "a_idx", "a_data", "e_we",
               "e_idx", "e_data", "val_idx", "ek_idx", "ctl_sel", "ctl_we", "ctl_region",
               "ctl_offset", "ctl_wdata", "coord_top")
#: Of those, the ones that are data: meaningless without their strobe, no reset.
EDGE_DATA = ("u", "a_idx", "a_data", "e_idx", "e_data", "val_idx", "ek_idx", "ctl_we",
             "ctl_region", "ctl_offset", "ctl_wdata", "coord_top")


class StageBlock(wiring.Component):
    """See the module docstring."""

    def __init__(self, geo: LayeredGeometry, stage: Stage) -> None:
        self.geo, self.stage = geo, stage
        super().__init__(stage_block_signature(geo, stage))

    def elaborate(self, platform):
        top = Module()
        # the reset and every broadcast reach the datapath through registers
        # of the block's own, a cycle later (one driver per block)
        rst = Signal(init=1)
        edge = {}
        regs = [("sync", rst, ResetSignal())]
        for name in EDGE_INPUTS:
            if not hasattr(self, name):
                continue
            src = getattr(self, name)
            q = Signal.like(src, name=f"e_{name}", reset_less=name in EDGE_DATA)
            edge[name] = q
            regs.append(("local", q, src))
        edge_registers(top, platform, regs)
        top.domains.local = cd = ClockDomain("local", local=True)
        top.d.comb += [cd.clk.eq(ClockSignal()), cd.rst.eq(rst)]
        top.submodules.datapath = DomainRenamer("local")(
            self._datapath(edge, getattr(platform, "has_lut_ram", True)))
        return top

    def _datapath(self, edge: dict, lut_ram: bool) -> Module:
        m = Module()
        geo, st = self.geo, self.stage
        M = st.units_per_block
        first = st.index == 1
        m.submodules.engine = eng = FunctionEngine(geo, st, lut_ram)
        m.d.comb += [eng.train.eq(edge["train"]), eng.clear.eq(edge["clear"]),
                     eng.coord_top.eq(edge["coord_top"]),
                     eng.e_we.eq(edge["e_we"]), eng.e_idx.eq(edge["e_idx"]),
                     eng.e_data.eq(edge["e_data"]), eng.val_idx.eq(edge["val_idx"]),
                     self.val.eq(eng.val), self.ek.eq(eng.ek),
                     self.clamps.eq(eng.clamps), self.stretches.eq(eng.stretches),
                     self.st_req.eq(eng.st_req), self.s_hidden.eq(eng.s_hidden),
                     self.dom_lo.eq(eng.dom_lo), self.dom_hi.eq(eng.dom_hi),
                     eng.st_grant.eq(self.st_grant), eng.st_lo.eq(self.st_lo),
                     eng.st_hi.eq(self.st_hi), eng.st_rcp.eq(self.st_rcp),
                     eng.st_d.eq(self.st_d), eng.st_sat.eq(self.st_sat)]
        # stage 1 with its update beside the next record: the engine's backward
        # pass runs there too, the lanes' update trailing it (see below)
        beside = first and geo.lane_shape.overlapped
        count = Signal(range(M + 1))          # units whose value the engine has
        m.d.comb += eng.arg_count.eq(count)
        units = self.units if st.ragged else M
        if st.ragged:
            m.d.comb += eng.units.eq(units)
        if first:
            shape = geo.lane_shape
            m.submodules.sequencer = seq = Sequencer(shape, ragged=st.ragged)
            m.submodules.lanes = lanes = LanePipeline(shape)
            if st.ragged:
                m.d.comb += seq.units.eq(units)
            # the sequencer's passes: forward at ``start``; the update (always
            # training: only a training record goes backward) once the engine
            # has every unit's step
            update = Signal()
            m.d.comb += [seq.start.eq(edge["start"]), seq.update.eq(update), seq.train.eq(1),
                         lanes.u.eq(edge["u"]), lanes.u_write.eq(seq.u_write)]
            wiring.connect(m, seq.fwd, lanes.fwd)
            m.d.comb += [lanes.upd.valid.eq(seq.upd.valid), lanes.upd.step.eq(seq.upd.step),
                         lanes.upd.addend.eq(seq.upd.addend)]
            # the unit's step reaches the lanes the cycle after its slot issues
            # (the engine's registered read), as their stage B takes it
            m.d.comb += [eng.ek_idx.eq(seq.upd.addend), lanes.ek.eq(eng.ek)]
            # the lanes' sums come in unit order: the next one is unit ``count``
            m.d.comb += [eng.arg_we.eq(lanes.sum_valid), eng.arg_idx.eq(count[:len(eng.arg_idx)]),
                         eng.arg_data.eq(lanes.sum)]
            with m.If(edge["start"]):
                m.d.sync += count.eq(0)
            with m.Elif(lanes.sum_valid):
                m.d.sync += count.eq(count + 1)
            # the lanes' tests are pulses: held until the core clears them
            lanes_sat = Signal()
            with m.If(lanes.sat):
                m.d.sync += lanes_sat.eq(1)
            with m.If(edge["clear"]):
                m.d.sync += lanes_sat.eq(0)
            lanes_usat = Signal()
            with m.If(lanes.usat):
                m.d.sync += lanes_usat.eq(1)
            with m.If(edge["uclear"]):
                m.d.sync += lanes_usat.eq(0)
            if beside:
                # the engine's backward pass belongs to the update: its
                # saturations are the update's, and it ends the update too
                m.d.comb += [self.sat.eq(eng.sat | lanes_sat),
                             self.usat.eq(lanes_usat | eng.bsat), eng.bclear.eq(edge["uclear"])]
            else:
                m.d.comb += [self.sat.eq(eng.sat | eng.bsat | lanes_sat),
                             self.usat.eq(lanes_usat), eng.bclear.eq(edge["clear"])]
        else:
            # this stage's unit values, broadcast by the core: keep the block's own
            mine = (edge["a_idx"] >= self.unit_base) & (edge["a_idx"] < self.unit_base + units)
            m.d.comb += [eng.arg_we.eq(edge["a_we"] & mine),
                         eng.arg_idx.eq((edge["a_idx"] - self.unit_base)[:len(eng.arg_idx)]),
                         eng.arg_data.eq(edge["a_data"]), eng.ek_idx.eq(edge["ek_idx"])]
            m.d.sync += count.eq(units)
            m.d.comb += [self.sat.eq(eng.sat | eng.bsat), eng.bclear.eq(edge["clear"])]

        # -- sequencing: forward; backward: the engine, then (stage 1) the update --------
        m.d.comb += eng.fstart.eq(edge["start"])
        if beside:
            self._backward_beside(m, edge, eng, seq, update)
        else:
            self._backward_inside(m, edge, eng, seq if first else None,
                                  update if first else None)
        self._control(m, edge, eng, lanes if first else None)
        return m

    def _backward_beside(self, m: Module, edge: dict, eng: FunctionEngine, seq: Sequencer,
                         update: Signal) -> None:
        """Stage 1, its backward pass and update beside the next record: the
        lanes' update starts :func:`update_after` cycles after the engine's
        backward pass (with it, when that is 0), when each unit's step is
        ready before the update reaches the unit. The core sends the next
        record's start with the backward start or after it: a start that
        comes before the update is held for it, so that the sequencer lets
        the forward pass trail the update through the same slots, and the
        engine's forward pass waits for its backward one."""
        lead = update_after(self.geo.lane_shape, self.stage)
        held = Signal()                       # a start waiting for the update
        m.d.comb += seq.start.eq(edge["start"])
        with m.FSM(name="block") as fsm:
            with m.State("IDLE"):
                with m.If(edge["bstart"]):
                    m.d.comb += eng.bstart.eq(1)
                    if lead == 0:
                        m.d.comb += update.eq(1)
                    else:
                        m.d.comb += seq.start.eq(0)
                        m.d.sync += held.eq(edge["start"])
                        m.next = "B_LEAD"
            if lead:
                wait = Signal(range(lead + 1), init=lead - 1)
                with m.State("B_LEAD"):
                    m.d.comb += seq.start.eq(0)
                    m.d.sync += wait.eq(wait - 1)
                    with m.If(edge["start"]):
                        m.d.sync += held.eq(1)
                    with m.If(wait == 0):
                        m.d.comb += [update.eq(1), seq.start.eq(held | edge["start"])]
                        m.d.sync += [held.eq(0), wait.eq(lead - 1)]
                        m.next = "IDLE"
        backward_idle = fsm.ongoing("IDLE") & ~edge["bstart"]
        m.d.comb += [self.fdone.eq(eng.fdone & backward_idle),
                     self.bdone.eq(backward_idle),
                     self.uidle.eq(seq.uidle & ~eng.bbusy & backward_idle)]

    def _backward_inside(self, m: Module, edge: dict, eng: FunctionEngine,
                         seq: Sequencer | None, update: Signal | None) -> None:
        """The backward pass inside the record: the engine's, then (stage 1,
        ``seq`` given) the lanes' update alone, holding the block."""
        first = seq is not None
        with m.FSM(name="block") as fsm:
            with m.State("IDLE"):
                with m.If(edge["bstart"]):
                    m.d.comb += eng.bstart.eq(1)
                    m.next = "B_ENGINE"
            with m.State("B_ENGINE"):
                with m.If(eng.bdone):
                    if first:
                        m.d.comb += update.eq(1)
                    m.next = "B_LANES" if first else "IDLE"
            if first:
                with m.State("B_LANES"):
                    with m.If(seq.uidle):
                        m.next = "IDLE"
        backward_idle = fsm.ongoing("IDLE") & ~edge["bstart"]
        m.d.comb += [self.fdone.eq(eng.fdone & backward_idle),
                     self.bdone.eq(eng.bdone & backward_idle)]
        if first:
            m.d.comb += self.uidle.eq(seq.uidle)

    def _control(self, m: Module, edge: dict, eng: FunctionEngine,
                 lanes: LanePipeline | None) -> None:
        """Control access: the inner tables (the lanes') and the outgoing
        nodes and domains (the engine's)."""
        first = lanes is not None

        m.d.comb += [eng.tbl_sel.eq(edge["ctl_sel"] & (edge["ctl_region"] != REGION_INNER)),
                     eng.tbl_we.eq(edge["ctl_we"]),
                     eng.tbl_domain.eq(edge["ctl_region"] == REGION_DOMAIN),
                     eng.tbl_offset.eq(edge["ctl_offset"]), eng.tbl_wdata.eq(edge["ctl_wdata"])]
        r_inner = Signal()
        with m.If(edge["ctl_sel"]):
            m.d.sync += r_inner.eq(edge["ctl_region"] == REGION_INNER)
        if first:
            # the core sends requests only between records, the update over
            ctl = lanes.ctl
            m.d.comb += [ctl.sel.eq(edge["ctl_sel"] & (edge["ctl_region"] == REGION_INNER)),
                         ctl.we.eq(edge["ctl_we"]), ctl.offset.eq(edge["ctl_offset"]),
                         ctl.wdata.eq(edge["ctl_wdata"])]
            # the lanes' word is there the cycle after the select; the engine's
            # a cycle later: register the lanes' to meet it
            r_word = Signal(32)
            m.d.sync += r_word.eq(ctl.rdata)
            m.d.comb += self.ctl_rdata.eq(Mux(r_inner, r_word, eng.tbl_rdata))
        else:
            m.d.comb += self.ctl_rdata.eq(eng.tbl_rdata)


def stage_module(stage: Stage) -> str:
    """Module name of a stage's block in emitted Verilog."""
    return f"kanhw_stage{stage.index}"


class StageBlockInstance(wiring.Component):
    """A stage's block as an instance of the separately emitted module
    (:func:`stage_module`): the Verilog holds one definition per stage, not
    one per block (each block's first unit is a port, not a constant)."""

    def __init__(self, geo: LayeredGeometry, stage: Stage) -> None:
        self.stage = stage
        super().__init__(stage_block_signature(geo, stage))

    def elaborate(self, platform):
        m = Module()
        ports = {"i_clk": ClockSignal(), "i_rst": ResetSignal()}
        for path, member, value in self.signature.flatten(self):
            name = "__".join(str(p) for p in path)
            ports[("i_" if member.flow == In else "o_") + name] = value
        m.submodules.block = Instance(stage_module(self.stage), **ports)
        return m
