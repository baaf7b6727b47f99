"""OrangeCrab r0.2 (ECP5-25F or -85F): 48 MHz clock, an RGB LED, native USB
only. The UART link uses the Feather header: pin 0 is RX, pin 1 is TX, for a
3.3 V USB-serial adapter. Programmed over USB DFU with dfu-util (the DFU
suffix is added at programming time, so building needs no dfu-suffix)."""

from typing import ClassVar

from amaranth.build import Attrs
from amaranth_boards import orangecrab_r0_2 as oc
from amaranth_boards.resources import UARTResource

from .board import Board
from .ulx3s import CAPACITY


def _platform(cls):
    class Platform(cls):
        resources: ClassVar[list] = [*cls.resources, UARTResource(
            0, rx="0", tx="1", conn=("io", 0), attrs=Attrs(IO_TYPE="LVCMOS33", PULLMODE="UP"))]

        @property
        def required_tools(self):
            return [t for t in super().required_tools if t != "dfu-suffix"]

        @property
        def command_templates(self):
            return [t for t in super().command_templates if "dfu-suffix" not in t]

    return Platform


def board(device: str = "85F") -> Board:
    cls = {"25F": oc.OrangeCrabR0_2_25FPlatform, "85F": oc.OrangeCrabR0_2_85FPlatform}[device]
    return Board(
        name=f"orangecrab-{device.lower()}",
        description=f"OrangeCrab r0.2, Lattice ECP5 LFE5U-{device}",
        family="ecp5", platform=_platform(cls),
        clock="clk", clock_hz=48e6, default_hz=72e6,
        baud=1_000_000,  # a common 3.3 V USB-serial adapter; 72 clocks per bit
        leds=(("rgb_led", 0, "g"), ("rgb_led", 0, "b"), ("rgb_led", 0, "r")),
        buffer_bytes=8192,
        programmers=(("dfu-util", ["-a", "0", "-D", "{bitstream}"]),),
        notes="UART on Feather pins 0 (RX) and 1 (TX)",
        capacity=CAPACITY[device],
    )
