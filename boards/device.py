"""The device behind the link: UART, link engine and training core, with a
soft reset for the core. Board modules wrap it with clocking and pins;
simulation drives its ``rx``/``tx`` pins directly."""

from __future__ import annotations

from amaranth.hdl import Module, ResetInserter, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out, connect

from kanhw.interface.geometry import Geometry
from kanhw.rtl_gen.cores import training_core

from .link import LinkEngine
from .uart import UARTReceiver, UARTTransmitter


class LinkedCore(wiring.Component):
    """``rx``/``tx`` serial pins in and out; ``busy`` and ``activity`` for LEDs."""

    def __init__(self, geo: Geometry, uart_divisor: int, buffer_bytes: int = 2048,
                 shared_blocks: bool = False, timeout: int = 1 << 20) -> None:
        self.geo = geo
        self.uart_divisor = uart_divisor
        self.buffer_bytes = buffer_bytes
        self.shared_blocks = shared_blocks
        self.timeout = timeout
        super().__init__({"rx": In(1, init=1), "tx": Out(1, init=1), "busy": Out(1),
                          "activity": Out(1), "error": Out(1), "idle": Out(1)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.uart_rx = rx = UARTReceiver(self.uart_divisor)
        m.submodules.uart_tx = tx = UARTTransmitter(self.uart_divisor)
        m.submodules.link = link = LinkEngine(self.geo, self.buffer_bytes, self.timeout)
        core_reset = Signal()
        core = training_core(self.geo, shared_blocks=self.shared_blocks)
        m.submodules.core = ResetInserter(core_reset)(core)
        # registered: the link decodes the reset command in logic, and the
        # inserted reset reaches every flip-flop of the core (the 45F
        # build's longest path, 18 ns of routing, ran from the link's state
        # to the stretch unit's reset); the link answers the command over
        # the UART next, so the core misses nothing in the cycle it waits
        m.d.sync += core_reset.eq(link.core_reset)
        m.d.comb += [rx.rx.eq(self.rx), self.tx.eq(tx.tx),
                     self.busy.eq(core.busy), self.activity.eq(link.frames),
                     self.error.eq(link.errors),
                     # nothing received, executing or sending: safe to wait for the host
                     self.idle.eq(link.idle & rx.idle & tx.idle & ~core.busy)]
        connect(m, rx.bytes, link.rx)
        connect(m, link.tx, tx.bytes)
        connect(m, link.records, core.records)
        connect(m, core.results, link.results)
        connect(m, link.ctrl_req, core.ctrl_req)
        connect(m, core.ctrl_rsp, link.ctrl_rsp)
        return m
