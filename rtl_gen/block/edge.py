"""A processing block's edge registers: the reset and everything the core
broadcasts to every block (record, step, mode, control requests) pass a
register of the block's own, :data:`~kanhw.interface.cycles.BROADCAST_STAGES`
cycle(s) before the block's datapath sees them.

One driver per block instead of one for the device: the broadcast of the
step into every block's update multiplier, the reset into every flip-flop,
and the control port's write data into every table were in turn the
ECP5-85F build's longest paths (17.6 of 23.3 ns, then 20.2 of 21.1 ns, of
routing).

Synthesis merges registers with the same input, so that the blocks'
identical registers would become one driver for the device again. A
platform that answers ``get_edge_register(q, d, domain)`` (a board's,
through its FPGA family) builds them so that they stay apart, from
flip-flop primitives; elsewhere (simulation) they are plain registers.
"""

from __future__ import annotations

from amaranth.hdl import Module, ResetSignal, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from kanhw.interface.cycles import BROADCAST_STAGES
from kanhw.interface.geometry import Geometry


def request_signature(geo: Geometry) -> wiring.Signature:
    """A control request as the core drives it into a block (its read data
    goes back separately)."""
    return wiring.Signature({
        "sel": Out(1),
        "we": Out(1),
        "region": Out(2),
        "offset": Out(geo.offset_bits),
        "wdata": Out(32),
    })


def broadcast_signature(geo: Geometry) -> wiring.Signature:
    """What the core drives into every block."""
    c = geo.design.contract
    return wiring.Signature({
        "start": Out(1),
        "update": Out(1),
        "train": Out(1, init=1),
        "clear": Out(1),
        "uclear": Out(1),
        "u": Out(data.ArrayLayout(unsigned(geo.coord_width), geo.n)),
        "e": Out(signed(c.step_bits)),
        # the outer coordinate's largest value, ((points - 1) << F) - 1 for
        # the outer grid in use (the core's ``outer_points``)
        "coord_top": Out(unsigned(geo.outer_coord_width)),
        "ctl": Out(request_signature(geo)),
    })


#: Broadcast members that mean nothing until a start, an update or a
#: control select: their registers need no reset.
DATA_MEMBERS = ("u", "e", "coord_top", "ctl.we", "ctl.region", "ctl.offset", "ctl.wdata")


class BlockEdge(wiring.Component):
    """``q`` is ``d`` a cycle later; ``rst`` is the block's reset, the
    core's a cycle later. Latency: :attr:`LATENCY`.

    The reset register is in the block's domain (``sync``), the others in
    the datapath's (``local``, reset by ``rst``): Amaranth's simulator lets a
    domain whose clock is assigned from another's sample that domain's
    registers after they changed (a race the Verilog, which clocks both
    from one net, and the hardware do not have), so a register must sit in
    the domain of the logic that reads it for the two to agree."""

    LATENCY = BROADCAST_STAGES

    def __init__(self, geo: Geometry) -> None:
        sig = broadcast_signature(geo)
        super().__init__({"d": In(sig), "q": Out(sig), "rst": Out(1, init=1)})

    def elaborate(self, platform):
        m = Module()
        rst = Signal(init=1, name="rst")
        regs = [("sync", rst, ResetSignal())]
        m.d.comb += self.rst.eq(rst)
        for path, member, d in self.signature.members["d"].signature.flatten(self.d):
            name = ".".join(str(p) for p in path)
            q_port = self.q
            for p in path:
                q_port = getattr(q_port, p)
            q = Signal(member.shape, name="_".join(str(p) for p in path),
                       init=member.init, reset_less=name in DATA_MEMBERS)
            regs.append(("local", q, d))
            m.d.comb += q_port.eq(q)
        edge_registers(m, platform, regs)
        return m


def edge_registers(m: Module, platform, regs) -> None:
    """``q <= d`` in ``domain`` for every ``(domain, q, d)`` of ``regs``: as
    the platform builds registers that must stay apart from identical ones
    (``get_edge_register``, a board's FPGA family), else plain registers."""
    hook = getattr(platform, "get_edge_register", None)
    for i, (domain, q, d) in enumerate(regs):
        cells = hook(q, d, domain) if hook is not None else None
        if cells is None:
            m.d[domain] += q.eq(d)
        else:
            m.submodules[f"ff{i}"] = cells
