"""A processing block's control port: table and domain access between
records. The request (from the block's edge register) goes to the lanes
(inner region) or the outer engine (outer and domain regions); the word
read leaves the block through a register of its own,
:data:`~kanhw.interface.cycles.CONTROL_READ_LATENCY` cycles after the core's
request."""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from kanhw.interface.geometry import REGION_INNER, Geometry

from .edge import request_signature
from .lanes import access_signature


class ControlPort(wiring.Component):
    """``req`` a cycle after the core's (the edge register); ``idle``: the
    block has no pass in flight (requests are served only then);
    ``inner``/``outer``: the two targets; ``rdata`` the word read."""

    def __init__(self, geo: Geometry) -> None:
        self.geo = geo
        super().__init__({
            "req": In(request_signature(geo)),
            "idle": In(1),
            "inner": Out(access_signature(geo.lane_bits + geo.slot_bits + geo.node_bits_inner)),
            "outer": Out(access_signature(geo.offset_bits)),
            "outer_region": Out(2),
            "rdata": Out(32),
        })

    def elaborate(self, platform):
        m = Module()
        req = self.req
        active = req.sel & self.idle
        inner = req.region == REGION_INNER
        for port, on in ((self.inner, inner), (self.outer, ~inner)):
            m.d.comb += [port.sel.eq(active & on), port.we.eq(req.we),
                         port.offset.eq(req.offset), port.wdata.eq(req.wdata)]
        m.d.comb += self.outer_region.eq(req.region)
        # The read data leaves through a register: the multiplexer from the
        # tables into it, and the core's choice among the blocks after it,
        # were one path across the device (the 85F build's longest).
        r_inner = Signal()
        r_read = Signal()                    # the table's read data is out
        m.d.sync += r_read.eq(active)
        with m.If(active):
            m.d.sync += r_inner.eq(inner)
        # Held until the next read, so that the core may take it any cycle
        # from CONTROL_READ_LATENCY on: in Amaranth's simulator the request
        # can pass the edge register a cycle early (the derived-clock race,
        # see BlockEdge), in Verilog and hardware it does not.
        with m.If(r_read):
            m.d.sync += self.rdata.eq(Mux(r_inner, self.inner.rdata, self.outer.rdata))
        return m
