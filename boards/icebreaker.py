"""iCEBreaker (iCE40UP5K-SG48): 12 MHz clock, FT2232H USB bridge (UART on
channel B), two LEDs. Programmed with iceprog or openFPGALoader."""

from amaranth_boards.icebreaker import ICEBreakerPlatform

from .board import Board

BOARD = Board(
    name="icebreaker",
    description="iCEBreaker, Lattice iCE40UP5K (5280 LUT4, 8 DSP 16x16, 30 EBR 4 kbit)",
    family="ice40",
    platform=ICEBreakerPlatform,
    clock="clk12", clock_hz=12e6, default_hz=24e6,
    baud=1_000_000,  # FT2232H; 24 clocks per bit at 24 MHz
    leds=(("led", 0, None), ("led", 1, None)),
    buffer_bytes=1024,
    programmers=(("iceprog", ["{bitstream}"]),
                 ("openFPGALoader", ["-b", "ice40_generic", "{bitstream}"])),
    capacity={"lut": 5280, "dsp": 8, "bram": 30},
)
