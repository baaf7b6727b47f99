"""A processing block's sequencer: which (addend, step) slot the lanes'
forward pass and update pass issue each cycle, and when a forward pass may
begin.

Forward (record t + 1): ``start`` begins a pass of ``M * S`` slots, one a
cycle, :attr:`Sequencer.START_LATENCY` cycle(s) later. Update (record t):
a training ``update`` issues the same slots from the next cycle, beside the
forward pass; its issue state for the next cycle (``n_*``) is out a cycle
early, so that the engine can read a multiplier operand ahead. Record
t + 1's forward reads trail the update's writes by
:data:`~kanhw.interface.cycles.UPDATE_LEAD` cycles (issue, multiply, write,
then the forward port reads the slot written); both sides issue a slot per
cycle, so every later read trails its slot's write too.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from kanhw.interface.cycles import FLAG_DELAY, SEQUENCER_START, UPDATE_LEAD, UPDATE_WRITE
from kanhw.interface.geometry import LaneShape


def issue_signature(geo: LaneShape) -> wiring.Signature:
    """A pass's issue: a slot this cycle, its lane step and addend."""
    S, M = geo.steps, geo.addends_per_block
    return wiring.Signature({
        "valid": Out(1),
        "step": Out(range(max(S, 2))),
        "addend": Out(range(max(M, 2))),
    })


class Sequencer(wiring.Component):
    """See the module docstring. ``begin``: the cycle a forward pass begins
    (the engine's counters restart); ``u_write``: the update's write-back
    stage, :data:`~kanhw.interface.cycles.UPDATE_WRITE` cycles after the
    slot's issue; ``idle``/``uidle`` answer for the block."""

    START_LATENCY = SEQUENCER_START

    def __init__(self, geo: LaneShape, ragged: bool = False) -> None:
        """``ragged``: the block serves ``units`` addends (a port, at most
        ``addends_per_block``), as a layered stage's last block may."""
        self.geo, self.ragged = geo, ragged
        super().__init__({
            "start": In(1),
            "update": In(1),
            "train": In(1),
            "begin": Out(1),
            "fwd": Out(issue_signature(geo)),
            "upd": Out(issue_signature(geo)),
            "upd_next": Out(issue_signature(geo)),
            "u_write": Out(1),
            "idle": Out(1),
            "uidle": Out(1),
            **({"units": In(range(geo.addends_per_block + 1))} if ragged else {}),
        })

    @property
    def write_stage(self) -> int:
        """Cycles from an update slot's issue to its write-back: the cache
        read, multiply and write beside a forward pass; alone, the forward
        pass's table read, its extra lane stages, multiply and write."""
        return UPDATE_WRITE + (0 if self.geo.overlapped else self.geo.extra_lane_stages)

    def elaborate(self, platform):
        m = Module()
        S, M = self.geo.steps, self.geo.addends_per_block
        fwd, upd, nxt = self.fwd, self.upd, self.upd_next
        training_update = self.update & self.train
        last_addend = self.units - 1 if self.ragged else M - 1

        def advance(domain, cur, nxt):
            """``nxt`` = the slot after ``cur``: steps of addend 0, then 1,
            ... and no slot after the last."""
            m.d[domain] += nxt.step.eq(Mux(cur.step == S - 1, 0, cur.step + 1))
            with m.If(cur.step == S - 1):
                m.d[domain] += nxt.addend.eq(Mux(cur.addend == last_addend, 0,
                                                 cur.addend + 1))
                with m.If(cur.addend == last_addend):
                    m.d[domain] += nxt.valid.eq(0)

        with m.If(fwd.valid):
            advance("sync", fwd, fwd)

        # update: the issue state of the next cycle, then registered
        m.d.comb += [nxt.valid.eq(upd.valid), nxt.step.eq(upd.step), nxt.addend.eq(upd.addend)]
        with m.If(training_update):
            m.d.comb += [nxt.valid.eq(1), nxt.step.eq(0), nxt.addend.eq(0)]
        with m.Elif(upd.valid):
            advance("comb", upd, nxt)
        m.d.sync += [upd.valid.eq(nxt.valid), upd.step.eq(nxt.step),
                     upd.addend.eq(nxt.addend)]
        # the update's pipeline behind its issue: multiply, write, and the
        # write's saturation test landing in the block's flag
        write = self.write_stage
        stages = [upd.valid]
        for k in range(write + FLAG_DELAY):
            s = Signal(name=f"upd_stage{k + 1}")
            m.d.sync += s.eq(stages[-1])
            stages.append(s)
        m.d.comb += self.u_write.eq(stages[write])

        # the forward pass's start: at once, or once the update leads by
        # UPDATE_LEAD cycles
        hold = Signal(range(UPDATE_LEAD + 1))   # cycles until a forward pass may begin
        pending = Signal()                   # started, waiting for the lead
        fbusy = Signal()                     # from start until this record's update
        with m.If(hold != 0):
            m.d.sync += hold.eq(hold - 1)
        with m.If(training_update):
            m.d.sync += hold.eq(UPDATE_LEAD)
        may_begin = (hold <= 1) & ~training_update
        with m.If(self.start | pending):
            with m.If(may_begin):
                m.d.comb += self.begin.eq(1)
                m.d.sync += [fwd.step.eq(0), fwd.addend.eq(0), fwd.valid.eq(1),
                             pending.eq(0)]
            with m.Else():
                m.d.sync += pending.eq(1)
        with m.If(self.start):
            m.d.sync += fbusy.eq(1)
        with m.Elif(self.update):
            m.d.sync += fbusy.eq(0)

        # the update pass is over once its last write's test has landed
        upd_busy = Signal()
        m.d.comb += upd_busy.eq(Cat(*stages).any())
        m.d.comb += [self.uidle.eq(~upd_busy & ~training_update),
                     self.idle.eq(~fbusy & ~pending & ~upd_busy & ~self.start & ~self.update)]
        return m
