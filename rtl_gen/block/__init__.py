"""A processing block: the inner function tables, outer function table and
domain of one KAN addend (or of ``addends_per_block`` addends served in
turn), the forward datapath and the update logic, built from parts that
each have a module, a signature and a stated latency:

* :class:`~.edge.BlockEdge` (``edge``): what the core broadcasts, and the
  reset, through registers of the block's own (``BROADCAST_STAGES``);
* :class:`~.sequencer.Sequencer` (``sequencer``): the (addend, step) slots
  the forward and update passes issue, and when a forward pass may begin
  (``SEQUENCER_START``, ``UPDATE_LEAD``);
* :class:`~.lanes.LanePipeline` (``lanes``): the inner tables on
  ``lanes`` lanes, forward to each addend's hidden sum and update
  write-backs (``LANE_STAGES`` plus the lane tree);
* :class:`~.engine.OuterEngine` (``engine``): the hidden argument mapped
  onto the outer grid, stretched or clamped, the outer value and slope;
  each addend's inner step and outer write-back (``ENGINE_VALUE_LATENCY``,
  ``ENGINE_TAKE_INTERVAL``, ``ENGINE_STRETCH_REQUEST``, ``ENGINE_REMAP``);
* :class:`~.control.ControlPort` (``control``): table and domain access
  between records (``CONTROL_READ_LATENCY``).

The latencies are stated once, in :mod:`kanhw.interface.cycles`; the cycle
model there is their sum, and the tests hold simulation to it to the
cycle. Every arithmetic step mirrors :mod:`kanhw.nk_fixed` exactly.

Training overlaps records: record t + 1's forward pass starts with record
t's update and trails it by ``UPDATE_LEAD`` cycles, so it reads each slot
the cycle after the update wrote it: the arithmetic is that of sequential
NK, record after record, but the update costs no time of its own. ``done``
holds until ``update``, which applies ``e`` to the outer nodes and
``e * slope`` to every inner function (training) or only releases the block
(frozen).

A block serving M addends (``addends_per_block``) keeps their inner tables
in the same RAMs (slot = addend, then step) and runs the lanes over the M
addends back to back; the outer engine takes one addend at a time. Fewer,
larger blocks: the outer path, about two thirds of a one-addend det4 block,
is paid once per M addends.
"""

from __future__ import annotations

from amaranth.hdl import (
    ClockDomain,
    ClockSignal,
    DomainRenamer,
    Instance,
    Module,
    ResetSignal,
    signed,
)
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from kanhw.interface.geometry import Geometry

from .control import ControlPort
from .edge import BlockEdge, broadcast_signature, edge_registers, request_signature
from .engine import OuterEngine, stretch_signature
from .lanes import LanePipeline
from .sequencer import Sequencer
from .tables import RAM_STYLE, Banks, PerAddend

__all__ = ["BLOCK_MODULE", "RAM_STYLE", "Banks", "BlockEdge", "BlockInstance", "PerAddend",
           "ProcessingBlock", "block_signature", "broadcast_signature", "control_signature",
           "edge_registers", "request_signature"]


def control_signature(geo: Geometry) -> wiring.Signature:
    """Block-local control port: table and domain access while idle. Read
    data is valid :data:`~kanhw.interface.cycles.CONTROL_READ_LATENCY` cycles after the
    request."""
    return wiring.Signature({**request_signature(geo).members, "rdata": In(32)})


def block_signature(geo: Geometry) -> wiring.Signature:
    c = geo.design.contract
    # what the core broadcasts, as the block takes it in (the shapes of
    # broadcast_signature; the control request comes with its read data)
    cast = broadcast_signature(geo).members

    def taken(*names: str) -> dict:
        return {n: In(cast[n].shape) for n in names}

    return wiring.Signature({
            **taken("start", "update", "train", "u", "e", "coord_top"),
            "val": Out(signed(c.value_bits + 2 + geo.addend_bits)),
            "done": Out(1),
            "idle": Out(1),
            # no update pass in flight (its last write has landed)
            "uidle": Out(1),
            # saturation in the forward pass / in the update pass
            "sat": Out(1),
            "usat": Out(1),
            # clamped arguments and stretched domains of this record, of up to
            # ``share`` addends
            "clamp": Out(range(geo.addends_per_block + 1)),
            "stretch": Out(range(geo.addends_per_block + 1)),
            # clear the forward flags (sat, clamp, stretch) / the update's usat
            **taken("clear", "uclear"),
            "ctl": In(control_signature(geo)),
            # stretch requests, served by the core's stretch unit
            "st": Out(stretch_signature(geo)),
        })


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
    """A block of ``addends_per_block`` addends: its parts, wired (see the
    module docstring for the protocol)."""

    def __init__(self, geo: Geometry) -> None:
        self.geo = geo
        super().__init__(block_signature(geo))

    def elaborate(self, platform):
        top = Module()
        top.submodules.edge = edge = BlockEdge(self.geo)
        d = edge.d
        top.d.comb += [d.start.eq(self.start), d.update.eq(self.update),
                       d.train.eq(self.train), d.clear.eq(self.clear),
                       d.uclear.eq(self.uclear), d.u.eq(self.u), d.e.eq(self.e),
                       d.coord_top.eq(self.coord_top),
                       *(getattr(d.ctl, n).eq(getattr(self.ctl, n))
                         for n in ("sel", "we", "region", "offset", "wdata"))]
        top.domains.local = cd = ClockDomain("local", local=True)
        top.d.comb += [cd.clk.eq(ClockSignal()), cd.rst.eq(edge.rst)]
        top.submodules.datapath = DomainRenamer("local")(
            self._datapath(edge.q, getattr(platform, "has_lut_ram", True)))
        return top

    def _datapath(self, q, lut_ram: bool) -> Module:
        """The parts behind the edge register ``q`` (the broadcast as the
        block sees it, a cycle late)."""
        m = Module()
        geo = self.geo
        m.submodules.sequencer = seq = Sequencer(geo.lane_shape)
        m.submodules.lanes = lanes = LanePipeline(geo.lane_shape)
        m.submodules.engine = engine = OuterEngine(geo, lut_ram)
        m.submodules.control = control = ControlPort(geo)
        training_update = q.update & q.train
        m.d.comb += [seq.start.eq(q.start), seq.update.eq(q.update), seq.train.eq(q.train)]
        wiring.connect(m, seq.fwd, lanes.fwd)
        # the update issue goes to the lanes and the engine
        for dst in (lanes.upd, engine.upd):
            m.d.comb += [dst.valid.eq(seq.upd.valid), dst.step.eq(seq.upd.step),
                         dst.addend.eq(seq.upd.addend)]
        wiring.connect(m, seq.upd_next, engine.upd_next)
        m.d.comb += [lanes.u.eq(q.u), lanes.u_write.eq(seq.u_write), lanes.ek.eq(engine.ek),
                     engine.sum.eq(lanes.sum), engine.sum_valid.eq(lanes.sum_valid),
                     engine.begin.eq(seq.begin), engine.train.eq(q.train),
                     engine.coord_top.eq(q.coord_top), engine.update.eq(q.update),
                     engine.clear.eq(q.clear), engine.t_update.eq(training_update),
                     engine.e.eq(q.e)]
        # ``done`` and ``uidle`` answer for the broadcast still in the edge
        # register: the core looks at the barrier the cycle after it raised
        # ``update``, before the block has seen it.
        m.d.comb += [self.done.eq(engine.done & ~q.update), self.val.eq(engine.val),
                     self.clamp.eq(engine.clamp), self.stretch.eq(engine.stretch),
                     self.idle.eq(seq.idle), self.uidle.eq(seq.uidle)]
        wiring.connect(m, engine.st, wiring.flipped(self.st))
        # Record flags stay readable until the core has counted them.
        with m.If(lanes.sat | engine.sat):
            m.d.sync += self.sat.eq(1)
        with m.If(q.clear):
            m.d.sync += self.sat.eq(0)
        with m.If(lanes.usat | engine.usat):
            m.d.sync += self.usat.eq(1)
        with m.If(q.uclear):
            m.d.sync += self.usat.eq(0)
        # control access
        wiring.connect(m, q.ctl, control.req)
        m.d.comb += control.idle.eq(seq.idle)
        wiring.connect(m, control.inner, lanes.ctl)
        wiring.connect(m, control.outer, engine.ctl)
        m.d.comb += [engine.ctl_region.eq(control.outer_region),
                     self.ctl.rdata.eq(control.rdata)]
        return m
