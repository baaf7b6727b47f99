"""What every board module provides, and the top-level design for a board:
clocking (a PLL to the design clock), power-on reset, the UART link to the
training core, and status LEDs (heartbeat, link activity, busy/error)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from amaranth.hdl import Elaboratable, Module, Signal

from kanhw.interface.geometry import Geometry

from .clocks import sync_domain
from .device import LinkedCore
from .families import Family, get_family, with_family


@dataclass(frozen=True)
class Board:
    """A supported board: its amaranth-boards platform and how we use it."""

    name: str
    description: str
    family: str                       # "ice40" or "ecp5"
    platform: Callable[[], object]    # builds the amaranth-boards platform
    clock: str                        # clock resource name
    clock_hz: float                   # its frequency
    default_hz: float                 # design clock the PLL makes by default
    baud: int                         # UART rate the board's USB bridge supports
    leds: tuple = ()                  # (resource, number, subsignal or None), up to three
    uart: tuple = ("uart", 0)
    buffer_bytes: int = 2048          # link frame buffer (each way)
    programmers: tuple = ()           # (tool, argument template) tried in order
    notes: str = ""
    variants: dict = field(default_factory=dict)
    capacity: dict = field(default_factory=dict)  # lut, ff, dsp, bram available

    @property
    def fpga(self) -> Family:
        """The board's FPGA family module."""
        return get_family(self.family)

    def new_platform(self):
        """A new Amaranth platform for the board, answering the generator's
        family hooks (primitive registers, LUT RAM)."""
        return with_family(self.platform, self.fpga)()


class BoardTop(Elaboratable):
    """The bitstream's top: clock, reset, UART link and core, LEDs."""

    def __init__(self, board: Board, geo: Geometry, clock_hz: float) -> None:
        self.board = board
        self.geo = geo
        self.clock_hz = clock_hz
        self.achieved_hz = None
        self.divisor = None

    def elaborate(self, platform):
        m = Module()
        b = self.board
        if b.fpga.pll_from_pad and abs(self.clock_hz - b.clock_hz) >= 1e3:
            clk_in = platform.request(b.clock, 0, dir="-").io  # the PLL takes the pad
        else:
            clk_in = platform.request(b.clock, 0).i
        self.achieved_hz, sync = sync_domain(m, b.fpga, clk_in, b.clock_hz, self.clock_hz)
        platform.add_clock_constraint(sync.clk, self.achieved_hz)
        self.divisor = round(self.achieved_hz / b.baud)
        uart = platform.request(*b.uart)
        core = LinkedCore(self.geo, self.divisor, b.buffer_bytes, shared_blocks=True,
                          timeout=int(self.achieved_hz // 100))  # 10 ms
        m.submodules.device = core
        m.d.comb += [core.rx.eq(uart.rx.i), uart.tx.o.eq(core.tx)]
        beat = Signal(26)
        m.d.sync += beat.eq(beat + 1)
        status = [beat[-1], core.activity, core.busy | core.error]
        requested = {}
        for (name, number, sub), value in zip(b.leds, status):
            if (name, number) not in requested:
                requested[name, number] = platform.request(name, number)
            led = requested[name, number]
            m.d.comb += (getattr(led, sub) if sub else led).o.eq(value)
        return m
