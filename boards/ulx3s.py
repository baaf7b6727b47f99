"""ULX3S (ECP5-85F; the 12F/25F/45F variants are the same board with another
device): 25 MHz clock, FT231X USB bridge (UART up to 3 Mbaud), eight LEDs.
Programmed with openFPGALoader (or fujprog)."""

from amaranth_boards import ulx3s

from .board import Board


def _platform(cls):
    class Platform(cls):
        # openFPGALoader is needed to program, not to build
        @property
        def required_tools(self):
            return [t for t in super().required_tools if t != "openFPGALoader"]

    return Platform


#: Per device (nextpnr's counts): LUT4, FF, 18x18 multipliers, 18 kbit EBR.
CAPACITY = {"12F": {"lut": 12144, "ff": 12144, "dsp": 28, "bram": 32},
            "25F": {"lut": 24288, "ff": 24288, "dsp": 28, "bram": 56},
            "45F": {"lut": 43848, "ff": 43848, "dsp": 72, "bram": 108},
            "85F": {"lut": 83640, "ff": 83640, "dsp": 156, "bram": 208}}


def board(device: str = "85F") -> Board:
    cls = {"12F": ulx3s.ULX3S_12F_Platform, "25F": ulx3s.ULX3S_25F_Platform,
           "45F": ulx3s.ULX3S_45F_Platform, "85F": ulx3s.ULX3S_85F_Platform}[device]
    return Board(
        name=f"ulx3s-{device.lower()}",
        description=f"ULX3S, Lattice ECP5 LFE5U-{device}",
        family="ecp5", platform=_platform(cls),
        clock="clk25", clock_hz=25e6, default_hz=75e6,
        baud=3_000_000,  # FT231X maximum; 25 clocks per bit at 75 MHz
        leds=(("led", 0, None), ("led", 1, None), ("led", 2, None)),
        buffer_bytes=8192,
        programmers=(("openFPGALoader", ["-b", "ulx3s", "{bitstream}"]),
                     ("fujprog", ["{bitstream}"])),
        capacity=CAPACITY[device],
    )
