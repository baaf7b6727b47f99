"""A UART in Amaranth: 8 data bits, no parity, one stop bit, bytes as
``lib.stream`` streams. The receiver samples mid-bit after a 2-flop
synchroniser; the transmitter shifts a start bit, the byte LSB first and a
stop bit."""

from __future__ import annotations

from amaranth.hdl import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.cdc import FFSynchronizer
from amaranth.lib.wiring import In, Out


class UARTReceiver(wiring.Component):
    """``rx`` pin in, ``bytes`` out. A byte not taken before the next one
    completes is dropped and flagged in ``overrun`` (sticky)."""

    def __init__(self, divisor: int) -> None:
        if divisor < 4:
            raise ValueError("UART divisor must be at least 4 clocks per bit")
        self.divisor = divisor
        super().__init__({"rx": In(1, init=1), "bytes": Out(stream.Signature(8)),
                          "overrun": Out(1), "idle": Out(1)})

    def elaborate(self, platform):
        m = Module()
        rx = Signal(init=1)
        m.submodules.sync = FFSynchronizer(self.rx, rx, init=1)
        timer = Signal(range(self.divisor))
        bits = Signal(8)
        count = Signal(range(9))
        with m.If(self.bytes.valid & self.bytes.ready):
            m.d.sync += self.bytes.valid.eq(0)
        with m.FSM():
            with m.State("IDLE"):
                m.d.comb += self.idle.eq(~self.bytes.valid)
                with m.If(~rx):
                    m.d.sync += timer.eq(self.divisor // 2)
                    m.next = "START"
            with m.State("START"):
                with m.If(timer == 0):
                    m.d.sync += [timer.eq(self.divisor - 1), count.eq(0)]
                    with m.If(rx):  # a glitch, not a start bit
                        m.next = "IDLE"
                    with m.Else():
                        m.next = "DATA"
                with m.Else():
                    m.d.sync += timer.eq(timer - 1)
            with m.State("DATA"):
                with m.If(timer == 0):
                    m.d.sync += [bits.eq((bits >> 1) | (rx << 7)), count.eq(count + 1),
                                 timer.eq(self.divisor - 1)]
                    with m.If(count == 7):
                        m.next = "STOP"
                with m.Else():
                    m.d.sync += timer.eq(timer - 1)
            with m.State("STOP"):
                with m.If(timer == 0):
                    with m.If(rx):  # a valid stop bit
                        m.d.sync += [self.bytes.payload.eq(bits), self.bytes.valid.eq(1)]
                        with m.If(self.bytes.valid & ~self.bytes.ready):
                            m.d.sync += self.overrun.eq(1)
                    m.next = "IDLE"
                with m.Else():
                    m.d.sync += timer.eq(timer - 1)
        return m


class UARTTransmitter(wiring.Component):
    """``bytes`` in, ``tx`` pin out (idle high)."""

    def __init__(self, divisor: int) -> None:
        if divisor < 4:
            raise ValueError("UART divisor must be at least 4 clocks per bit")
        self.divisor = divisor
        super().__init__({"bytes": In(stream.Signature(8)), "tx": Out(1, init=1),
                          "idle": Out(1)})

    def elaborate(self, platform):
        m = Module()
        timer = Signal(range(self.divisor))
        shift = Signal(10)
        left = Signal(range(11))
        with m.If(timer != 0):
            m.d.sync += timer.eq(timer - 1)
        with m.Elif(left != 0):  # put the next bit on the line for one bit time
            m.d.sync += [self.tx.eq(shift[0]), shift.eq(shift >> 1), left.eq(left - 1),
                         timer.eq(self.divisor - 1)]
        with m.Else():  # the stop bit has had its full time
            m.d.comb += [self.bytes.ready.eq(1), self.idle.eq(~self.bytes.valid)]
            with m.If(self.bytes.valid):
                # start bit, the byte LSB first, stop bit (sent from bit 0 up)
                m.d.sync += [shift.eq((1 << 9) | (self.bytes.payload << 1)), left.eq(10)]
        return m
